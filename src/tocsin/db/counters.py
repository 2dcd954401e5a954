"""Gap-free per-installation counters (incident numbers, audit sequence).

`next_value` increments with a single UPDATE ... RETURNING, so the row lock taken by
the update serialises concurrent callers on PostgreSQL until their transaction ends,
and SQLite's single writer does the same. Two concurrent declares can never share a number.
"""

from __future__ import annotations

import sqlalchemy as sa
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
