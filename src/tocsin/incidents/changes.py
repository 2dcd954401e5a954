"""Change events (deploys, config changes) of an incident's services around the incident: from
CHANGE_LOOKBACK before it was detected until it resolved (or now), newest first. The API's
/incidents/{key}/changes and the incident room both show these."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.incidents.models import Incident, IncidentService
from tocsin.integrations.models import ChangeEvent

CHANGE_LOOKBACK = timedelta(hours=24)


def for_incident(session: Session, incident: Incident, *, limit: int = 50) -> list[ChangeEvent]:
    ids = list(session.execute(sa.select(IncidentService.service_id)
                               .where(IncidentService.incident_id == incident.id)).scalars())
    if not ids:
        return []
    stmt = (sa.select(ChangeEvent).where(ChangeEvent.service_id.in_(ids),
                                         ChangeEvent.occurred_at >= incident.detected_at - CHANGE_LOOKBACK)
            .order_by(ChangeEvent.occurred_at.desc(), ChangeEvent.id.desc()).limit(limit))
    if incident.resolved_at is not None:
        stmt = stmt.where(ChangeEvent.occurred_at <= incident.resolved_at)
    return list(session.execute(stmt).scalars())
