"""Retention of alert history: the events and decisions of alerts that are long over.

An alert's `alert_events` (every occurrence, with its payload) and `alert_decisions` (why it was
routed, grouped, held, paged) are its record while anyone may still look at it. They go once the
alert has been resolved for longer than the retention period and its incident, if it has one, is
closed or declined (a resolved incident still waits for its postmortem, which reads them). The
alert row itself stays: incidents, reports and the dedup history point at it.

Never deleted: events the pipeline has not applied yet (`outcome` NULL), the rows of an alert that
is open or resolved more recently than `before`, and those of an alert of an open incident. An
event that made no alert (ignored, rejected) goes by its own age.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert, AlertDecision, AlertEvent
from tocsin.db.base import table_of
from tocsin.db.prune import delete_batch
from tocsin.incidents.models import Incident
from tocsin.incidents.types import Status

FINAL_INCIDENT = (Status.closed.value, Status.declined.value)  # nothing more is written about these


def still_needed(alert_id: sa.ColumnElement[object], before: datetime) -> sa.ColumnElement[bool]:
    """Whether the alert `alert_id` names still needs its history: it is open, was resolved at or
    after `before`, or belongs to an incident that is not closed or declined."""
    open_incident = sa.exists().where(Incident.id == Alert.incident_id, Incident.status.not_in(FINAL_INCIDENT))
    return sa.exists().where(Alert.id == alert_id, sa.or_(
        Alert.status != "resolved", Alert.resolved_at.is_(None), Alert.resolved_at >= before, open_incident))


def prune_events(session: Session, *, before: datetime, limit: int) -> int:
    """Delete up to `limit` applied events received before `before` whose alert no longer needs
    them (see the module docstring); return how many went."""
    e = table_of(AlertEvent)
    return delete_batch(session, AlertEvent, e.c.received_at < before, e.c.outcome.is_not(None),
                        sa.or_(e.c.alert_id.is_(None), sa.not_(still_needed(e.c.alert_id, before))),
                        oldest_first=e.c.received_at, limit=limit)


def prune_decisions(session: Session, *, before: datetime, limit: int) -> int:
    """Delete up to `limit` decisions taken before `before` about alerts that no longer need them;
    return how many went."""
    d = table_of(AlertDecision)
    return delete_batch(session, AlertDecision, d.c.at < before, sa.not_(still_needed(d.c.alert_id, before)),
                        oldest_first=d.c.at, limit=limit)
