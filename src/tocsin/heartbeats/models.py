"""Heartbeat monitor rows."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class Heartbeat(Base):
    __tablename__ = "heartbeats"

    id: Mapped[uuid.UUID] = uuid_pk()
    service_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("services.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    key_hint: Mapped[str] = mapped_column(sa.String(8))
    interval_seconds: Mapped[int] = mapped_column(sa.Integer)
    grace_seconds: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime]
    last_ping_at: Mapped[datetime | None]
    # When the next ping is due, grace included; the engine opens an alert once it has passed.
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(sa.String(8), default="new")  # new | up | down


def alert_key(heartbeat_id: uuid.UUID) -> str:
    """The dedup key of the alert a missed heartbeat opens (and its next ping resolves)."""
    return f"hb:1:{heartbeat_id}"
