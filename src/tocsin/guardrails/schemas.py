"""API shapes of guardrail trips."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from tocsin.schemas import Out


class TripOut(Out):
    rule: str = Field(description="The guardrail's key, e.g. no_scribe (docs/guardrails.md)")
    label: str
    detail: str = Field(description="Why it tripped")
    tripped_at: datetime
    cleared_at: datetime | None = Field(description="When it stopped holding; null while it still does")
