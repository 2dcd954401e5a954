"""Gap-free per-installation counters (incident numbers, audit sequence), and version counters.

`next_value` increments with a single UPDATE ... RETURNING, so the row lock taken by
the update serialises concurrent callers on PostgreSQL until their transaction ends,
and SQLite's single writer does the same. Two concurrent declares can never share a number.

A version counter is bumped by any ORM change to the rows of a class that names it in
`__version_counter__`, in the same transaction (a flush listener), so a reader can cache
what those rows say and re-read them only when the number moved. The alert pipeline keeps
routing rules, silences, windows, auto-incident rules and services this way (`alert_config`).
"""

from __future__ import annotations

from itertools import chain
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from tocsin.db.base import Base


class Counter(Base):
    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)


def next_value(session: Session, name: str) -> int:
    """Return the next value of counter `name` (1 for a new counter)."""
    stmt = sa.update(Counter).where(Counter.name == name).values(value=Counter.value + 1).returning(Counter.value)
    value = session.execute(stmt).scalar_one_or_none()
    if value is not None:
        return int(value)
    # First use: the counter row is created by the migration for known names; this path
    # is for new names and races harmlessly (the primary key rejects a second insert).
    session.add(Counter(name=name, value=1))
    session.flush()
    return 1


def current_value(session: Session, name: str) -> int:
    value = session.execute(sa.select(Counter.value).where(Counter.name == name)).scalar_one_or_none()
    return int(value or 0)


VERSION_ATTR = "__version_counter__"
ALERT_CONFIG = "alert_config"  # what the alert pipeline reads besides alerts (see alerts/context.py)
_BUMPED = "tocsin.version_counters_bumped"


@event.listens_for(Session, "before_flush")
def _bump_versions(session: Session, _flush_context: Any, _instances: Any) -> None:
    """Bump, once per transaction, the version counter of every class whose rows this flush changes."""
    names = {getattr(type(obj), VERSION_ATTR, None) for obj in chain(session.new, session.dirty, session.deleted)}
    names.discard(None)
    bumped: set[str] = session.info.setdefault(_BUMPED, set())
    for name in sorted(n for n in names - bumped if n is not None):
        session.connection().execute(sa.update(Counter).where(Counter.name == name).values(value=Counter.value + 1))
        bumped.add(name)


@event.listens_for(Session, "after_transaction_end")
def _reset(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction: the next one bumps again
        session.info.pop(_BUMPED, None)
