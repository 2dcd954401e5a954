"""Fetching one row by primary key, or a page of rows by id: the lookups every domain needs."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.db.base import Base, table_of
from tocsin.errors import NotFound

T = TypeVar("T")
M = TypeVar("M", bound=Base)  # a model with a UUID `id` column (and a `slug` one for the *_by_key lookups)


def require_row(session: Session, model: type[T], row_id: uuid.UUID, what: str) -> T:
    """Return the `model` row with this id; raise NotFound naming `what` (e.g. "maintenance window")."""
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"no {what} {row_id}", details={what.replace(" ", "_").replace("-", "_"): str(row_id)})
    return row


def page_by_id(session: Session, model: type[M], *, after: uuid.UUID | None, limit: int, **equal: Any) -> list[M]:
    """Rows in id order after `after`, at most `limit`, where each column in `equal` has that value (None: any)."""
    col = table_of(model).c.id
    stmt = sa.select(model).order_by(col).limit(limit)
    if after:
        stmt = stmt.where(col > after)
    for name, value in equal.items():
        if value is not None:
            stmt = stmt.where(getattr(model, name) == value)
    return list(session.execute(stmt).scalars())


def get_by_key(session: Session, model: type[M], key: str | uuid.UUID) -> M | None:
    """Return the `model` row whose id or slug is `key`, or None (for tables with a `slug` column)."""
    if isinstance(key, uuid.UUID):
        return session.get(model, key)
    try:
        return session.get(model, uuid.UUID(key))
    except ValueError:
        return session.execute(sa.select(model).where(table_of(model).c.slug == key)).scalar_one_or_none()


def require_by_key(session: Session, model: type[M], key: str | uuid.UUID, what: str) -> M:
    """Return the `model` row whose id or slug is `key`; raise NotFound naming `what`."""
    row = get_by_key(session, model, key)
    if row is None:
        raise NotFound(f"no {what} {key}", details={what.replace(" ", "_"): str(key)})
    return row
