"""The Communication panel: the next update due (cadence per severity), the templates to start an update from, the stakeholders who will receive it and the audience choice (issue 19).

`panel` returns the template's values, or None for no panel (then room_comms.html is not included)."""

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
