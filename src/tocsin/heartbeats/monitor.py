"""The engine job for heartbeats: an up heartbeat whose ping is overdue goes down and triggers its alert.

One short unit of work; the ping that resolves the alert arrives on the ingest path (ingest/writer.py).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from tocsin.heartbeats.models import Heartbeat, alert_key
from tocsin.inbound.types import Action, AlertSeverity, Event, Source, clip_summary
from tocsin.jobs import JobContext
from tocsin.pipeline.ingest import Incoming, ingest

HEARTBEAT_BATCH = 200


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "never"


def heartbeats(ec: JobContext) -> int:
    """Mark up-heartbeats whose ping is overdue as down and trigger their alerts; return how many.

    A heartbeat in state "new" has never pinged and never alerts; a "down" one has alerted
    already and waits for the ping that resolves it (inbound/writer.py).
    """
    with ec.db.unit_of_work() as s:
        # SKIP LOCKED on PostgreSQL: a second engine takes other rows instead of waiting, and a
        # row a ping is updating is left for the next tick. SQLite ignores it (one writer anyway).
        rows = s.execute(
            sa.select(Heartbeat).where(Heartbeat.state == "up", Heartbeat.due_at <= ec.now)
            .order_by(Heartbeat.due_at, Heartbeat.id).limit(HEARTBEAT_BATCH)
            .with_for_update(skip_locked=True)
        ).scalars().all()
        items = []
        for hb in rows:
            hb.state = "down"
            every = f"expected every {hb.interval_seconds} s, grace {hb.grace_seconds} s"
            items.append(Incoming(Event(
                action=Action.trigger, dedup_key=alert_key(hb.id),
                summary=clip_summary(f"Heartbeat '{hb.name}' missed: no ping since {_when(hb.last_ping_at)} ({every})"),
                severity=AlertSeverity.critical, source="tocsin heartbeat", labels={"heartbeat": hb.name},
                details={"heartbeat_id": str(hb.id), "last_ping_at": hb.last_ping_at.isoformat()
                         if hb.last_ping_at else None, "due_at": hb.due_at.isoformat() if hb.due_at else None,
                         "interval_seconds": hb.interval_seconds, "grace_seconds": hb.grace_seconds},
                occurred_at=hb.due_at,
            ), hb.service_id, None, Source.heartbeat.value))
        s.flush()
        ingest(s, items, now=ec.now)
        return len(rows)
