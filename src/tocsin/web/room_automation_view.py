"""The Approved actions panel: actions a responder may run (form with typed parameters, dry-run), runs waiting for a second person's approval, recent runs (issue 19).

`panel` returns the template's values, or None for no panel (then room_automation.html is not included)."""

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
