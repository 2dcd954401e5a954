"""Retention of the paging outbox: notifications long since sent, failed or cancelled.

A notification goes once it was created before `before`, is finished (sent, delivered, failed,
cancelled, or sent in a bundle), and what it paged for no longer needs it: its alert's history
goes at the same time (`alerts.retention.still_needed`) and its incident is closed or declined.
A queued or sending row, or one bundled into a send that has not happened, is never deleted.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.retention import FINAL_INCIDENT, still_needed
from tocsin.db.base import table_of
from tocsin.db.prune import delete_batch
from tocsin.escalation.models import Notification
from tocsin.incidents.models import Incident

FINISHED = ("sent", "delivered", "failed", "cancelled")


def prune_notifications(session: Session, *, before: datetime, limit: int) -> int:
    """Delete up to `limit` finished notifications created before `before` that nothing open needs;
    return how many went."""
    n = table_of(Notification)
    open_incident = sa.exists().where(Incident.id == n.c.incident_id, Incident.status.not_in(FINAL_INCIDENT))
    return delete_batch(
        session, Notification, n.c.created_at < before,
        sa.or_(n.c.status.in_(FINISHED), sa.and_(n.c.status == "bundled", n.c.sent_at.is_not(None))),
        sa.or_(n.c.alert_id.is_(None), sa.not_(still_needed(n.c.alert_id, before))),
        sa.or_(n.c.incident_id.is_(None), sa.not_(open_incident)),
        oldest_first=n.c.created_at, limit=limit)
