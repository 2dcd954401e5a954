"""The Runbooks panel: the runbooks attached to the incident (by service and alert labels), each step with done/skip controls (issue 19).

`panel` returns the template's values, or None for no panel (then room_runbooks.html is not included).
The room has checked need-to-know (`require_incident`) before asking."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tocsin.config import Settings
from tocsin.incidents.models import Incident
from tocsin.incidents.service import ref as incident_ref
from tocsin.principal import Principal
from tocsin.runbooks.present import incident_runbooks
from tocsin.runbooks.steps import render_inline


def panel(s: Session, me: Principal, incident: Incident, tz: ZoneInfo | str, now: datetime, settings: Settings
          ) -> dict[str, Any] | None:
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    items = incident_runbooks(s, incident, "")
    if not items:
        return None
    for rb in items:
        rb["path"] = rb["url"]
        rb["done"] = sum(1 for st in rb["steps"] if st["state"])
        for st in rb["steps"]:
            st["html"] = render_inline(st["text"])
            st["when"] = st["at"].astimezone(zone).strftime("%H:%M") if st["at"] else ""
            st["by"] = st["by"]["name"] if st["by"] else None
    return {"items": items, "base": f"/incidents/{incident_ref(incident)}"}
