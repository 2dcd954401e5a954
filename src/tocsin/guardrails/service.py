"""Guardrails: the seed's classic mistakes, caught live (issue 19). To be built."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from tocsin.guardrails.types import Tripped


def tripped(s: Session, incident_id: uuid.UUID) -> list[Tripped]:
    """Every guardrail trip of the incident, oldest first (cleared ones too)."""
    return []
