"""Integration rows (a service's inbound keys) and the change events they deliver."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class Integration(Base):
    __tablename__ = "integrations"

    id: Mapped[uuid.UUID] = uuid_pk()
    service_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("services.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(200))
    # SHA-256 of the key: keys carry 128 random bits, so a fast hash is enough and an
    # event finds its integration by an indexed equality lookup.
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    key_hint: Mapped[str] = mapped_column(sa.String(8))
    config: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    last_event_at: Mapped[datetime | None]


class ChangeEvent(Base):
    """A deploy or config change, shown on the service's incidents (PagerDuty change events)."""

    __tablename__ = "change_events"

    id: Mapped[uuid.UUID] = uuid_pk()
    service_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("services.id", ondelete="CASCADE"))
    integration_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("integrations.id", ondelete="SET NULL"))
    summary: Mapped[str] = mapped_column(sa.String(1024))
    source: Mapped[str] = mapped_column(sa.String(1024), default="")
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]
    details: Mapped[Any] = mapped_column(sa.JSON, nullable=True)
    links: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)

    __table_args__ = (sa.Index("ix_change_events_service_time", "service_id", "occurred_at"),)
