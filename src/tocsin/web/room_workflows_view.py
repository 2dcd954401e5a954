"""The Workflow panel: the incident type and its custom fields, and the workflow steps that ran for this incident (issue 19).

`panel` returns the template's values, or None for no panel (then room_workflows.html is not included)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.config import Settings
from tocsin.incidents.models import Incident
from tocsin.principal import Principal


def panel(s: Session, me: Principal, incident: Incident, tz: str, now: datetime, settings: Settings
          ) -> dict[str, Any] | None:
    return None
