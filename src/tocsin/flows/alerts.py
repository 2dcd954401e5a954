"""What acknowledging or resolving alerts does beyond the alert: their paging stops at once."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts import service as alerts
from tocsin.alerts.models import Alert, AlertGroup
from tocsin.escalation.service import stop_for_alerts
from tocsin.incidents.models import Incident
from tocsin.principal import Principal


def closed(session: Session, alert_ids: Iterable[uuid.UUID], *, reason: str | None, now: datetime) -> int:
    """These alerts were acknowledged or resolved: stop their escalations now (the fence epoch moves,
    so a step an engine already selected cannot fire). `reason` None says the alert's status.
    Return how many escalations stopped."""
    return stop_for_alerts(session, alert_ids, reason, now)


def incidents_acknowledged(session: Session, found: Iterable[Alert], *, actor: Principal, now: datetime) -> None:
    """A person acknowledged these alerts: an incident they are attached to that nobody had
    acknowledged yet (one an auto-incident rule declared) is acknowledged now. Acks the sender
    sends through its integration are not a person's and do not come here."""
    if actor.user_id is None:
        return
    ids = {a.incident_id for a in found if a.incident_id is not None}
    if ids:
        for incident in session.execute(sa.select(Incident).where(Incident.id.in_(ids),
                                                                  Incident.acknowledged_at.is_(None))).scalars():
            incident.acknowledged_at = now


def acknowledge(session: Session, *, alert: Alert, actor: Principal, now: datetime) -> Alert:
    """Acknowledge the alert and stop its paging; raise as `alerts.service.acknowledge` does."""
    alerts.acknowledge(session, alert=alert, actor=actor, now=now)
    closed(session, {alert.id}, reason=f"acknowledged by {actor.label}", now=now)
    incidents_acknowledged(session, [alert], actor=actor, now=now)
    return alert


def resolve(session: Session, *, alert: Alert, actor: Principal, now: datetime) -> Alert:
    """Resolve the alert and stop its paging; raise as `alerts.service.resolve` does."""
    alerts.resolve(session, alert=alert, actor=actor, now=now)
    closed(session, {alert.id}, reason=f"resolved by {actor.label}", now=now)
    return alert


def acknowledge_group(session: Session, *, group: AlertGroup, actor: Principal, now: datetime) -> list[Alert]:
    """Acknowledge every triggered alert of the group and stop its paging (the group's escalation, and
    those of its alerts on their own); raise as `alerts.service.acknowledge_group` does."""
    found = alerts.acknowledge_group(session, group=group, actor=actor, now=now)
    closed(session, {a.id for a in found}, reason=f"acknowledged by {actor.label}", now=now)
    incidents_acknowledged(session, found, actor=actor, now=now)
    return found


def resolve_group(session: Session, *, group: AlertGroup, actor: Principal, now: datetime) -> list[Alert]:
    """Resolve every open alert of the group and stop its paging; raise as `alerts.service.resolve_group`."""
    found = alerts.resolve_group(session, group=group, actor=actor, now=now)
    closed(session, {a.id for a in found}, reason=f"resolved by {actor.label}", now=now)
    return found
