"""Deleting old rows in bounded batches, for retention.

One batch is one statement, `DELETE FROM t WHERE pk IN (SELECT pk FROM t WHERE ... ORDER BY <time>
LIMIT n)`, run inside the caller's transaction: the oldest `n` rows that may go, found through an
index on the time column, so a batch costs the same however large the table has grown and never
holds SQLite's write lock for long. On PostgreSQL the rows are chosen `FOR UPDATE SKIP LOCKED`, so
two engines pruning at once take different rows instead of waiting on each other, and a row a
writer has locked is left for a later batch.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from tocsin.db.base import Base, table_of
from tocsin.db.session import rowcount


def delete_batch(session: Session, model: type[Base], *where: sa.ColumnElement[bool],
                 oldest_first: sa.ColumnElement[Any] | InstrumentedAttribute[Any], limit: int) -> int:
    """Delete at most `limit` rows of `model`'s table matching every `where`, oldest (`oldest_first`)
    first; return how many went. The table has a one-column primary key."""
    table = table_of(model)
    (key,) = table.primary_key.columns
    chosen = sa.select(key).where(*where).order_by(oldest_first).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        chosen = chosen.with_for_update(of=table, skip_locked=True)
    # correlate(None): the subquery reads `table` itself, not the row the DELETE is looking at.
    return rowcount(session, sa.delete(table).where(key.in_(chosen.correlate(None))))
