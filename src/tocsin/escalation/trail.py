"""The paging trail: each step of an escalation and each delivery outcome, written where people
look for it: on the alert's decisions and, when the alert belongs to an incident (or the page
is the incident's own, for an Incident Commander), on the incident's timeline too.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert, AlertDecision
from tocsin.ids import new_id
from tocsin.incidents.models import TimelineEntry
from tocsin.incidents.types import TimelineKind


def note(session: Session, *, now: datetime, kind: str, reason: str, alert: Alert | None = None,
         alert_id: uuid.UUID | None = None, incident_id: uuid.UUID | None = None, **data: Any) -> None:
    """Record one paging step with its reason. Pass the alert (or its id) for an alert's page, or
    `incident_id` alone for an incident's own page; an alert attached to an incident is noted on both."""
    clean = {k: v for k, v in data.items() if v is not None}
    aid = alert.id if alert is not None else alert_id
    if aid is not None:
        session.add(AlertDecision(id=new_id(), alert_id=aid, at=now, kind=kind, reason=reason, data=clean))
        if incident_id is None and alert is not None:
            incident_id = alert.incident_id
    if incident_id is not None:
        if aid is not None:
            clean = {**clean, "alert_id": str(aid)}
        session.add(TimelineEntry(id=new_id(), incident_id=incident_id, kind=TimelineKind.paging.value,
                                  actor_id=None, occurred_at=now, recorded_at=now, text=reason,
                                  data={"step": kind, **clean}, key_event=False))
