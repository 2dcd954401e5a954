"""The per-minute counts behind every SLO: adding to a bucket, and summing windows.

A bucket is one SLO's good and total events in one UTC minute. Adding is one upsert (two writers
adding to the same minute both count), and every window an evaluation needs is one query: a
conditional sum per window over the index on (slo_id, start), so a 30-day window reads at most
43,200 small rows of one SLO.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from tocsin.db.prune import delete_batch
from tocsin.slo.budget import Counts
from tocsin.slo.models import SloBucket, SloEventKey

BUCKET = timedelta(minutes=1)
# Kept a little over the longest SLO window (30 days), so a window is always whole.
RETENTION = timedelta(days=32)


def bucket_start(at: datetime) -> datetime:
    """The start of the minute `at` falls in."""
    return at.replace(second=0, microsecond=0)


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def add(session: Session, slo_id: uuid.UUID, counts: Iterable[tuple[datetime, float, float]]) -> None:
    """Add (at, good, total) counts to their minutes' buckets."""
    merged: dict[datetime, tuple[float, float]] = {}
    for at, good, total in counts:
        start = bucket_start(at)
        g, t = merged.get(start, (0.0, 0.0))
        merged[start] = (g + good, t + total)
    col = SloBucket.__table__.c
    for start, (good, total) in sorted(merged.items()):
        stmt = _insert(session)(SloBucket).values(slo_id=slo_id, start=start, good=good, total=total)
        session.execute(stmt.on_conflict_do_update(
            index_elements=[col.slo_id, col.start],
            set_={"good": col.good + stmt.excluded.good, "total": col.total + stmt.excluded.total}))


def windows(session: Session, slo_id: uuid.UUID, now: datetime, spans: Sequence[timedelta]) -> list[Counts]:
    """The counts over each of `spans` ending at `now` (buckets from the minute `now - span` falls in
    up to now), in the order given; one query."""
    col = SloBucket.__table__.c
    longest = max(spans)
    columns: list[Any] = []
    for span in spans:
        inside = col.start >= bucket_start(now - span)
        columns += [sa.func.coalesce(sa.func.sum(sa.case((inside, col.good), else_=0.0)), 0.0),
                    sa.func.coalesce(sa.func.sum(sa.case((inside, col.total), else_=0.0)), 0.0)]
    row = session.execute(sa.select(*columns).where(
        col.slo_id == slo_id, col.start >= bucket_start(now - longest), col.start <= now)).one()
    return [Counts(float(row[2 * i]), float(row[2 * i + 1])) for i in range(len(spans))]


def between(session: Session, slo_ids: Sequence[uuid.UUID], since: datetime, until: datetime
            ) -> dict[uuid.UUID, Counts]:
    """The counts of each SLO in [since, until) (for reports); SLOs without buckets are left out."""
    if not slo_ids:
        return {}
    col = SloBucket.__table__.c
    rows = session.execute(sa.select(col.slo_id, sa.func.sum(col.good), sa.func.sum(col.total))
                           .where(col.slo_id.in_(slo_ids), col.start >= since, col.start < until)
                           .group_by(col.slo_id)).all()
    return {r[0]: Counts(float(r[1] or 0), float(r[2] or 0)) for r in rows}


def prune_buckets(session: Session, *, before: datetime, limit: int) -> int:
    """Retention: delete up to `limit` buckets that started before `before`, oldest first."""
    return delete_batch(session, SloBucket, SloBucket.start < before, oldest_first=SloBucket.start, limit=limit)


def prune_keys(session: Session, *, before: datetime, limit: int) -> int:
    """Retention: delete up to `limit` idempotency keys used before `before`, oldest first."""
    return delete_batch(session, SloEventKey, SloEventKey.at < before, oldest_first=SloEventKey.at, limit=limit)
