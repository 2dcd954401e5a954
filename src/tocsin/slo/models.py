"""SLO rows: the objectives, their per-minute counts, and the idempotency keys of pushed counts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class Slo(Base):
    __tablename__ = "slos"
    __table_args__ = (
        sa.UniqueConstraint("service_id", "name"),
        sa.CheckConstraint("kind IN ('availability', 'latency')", name="kind_values"),
        sa.CheckConstraint("source IN ('check', 'push', 'prometheus')", name="source_values"),
        sa.CheckConstraint("target > 0 AND target < 100", name="target_range"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    service_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("services.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    kind: Mapped[str] = mapped_column(sa.String(16))  # availability | latency
    target: Mapped[float] = mapped_column(sa.Float)  # percent, e.g. 99.9
    window_days: Mapped[int] = mapped_column(sa.Integer)  # 7 | 28 | 30, rolling
    source: Mapped[str] = mapped_column(sa.String(16))  # check | push | prometheus
    # source "check": the synthetic check whose probes are the events (a deleted check stops the feed).
    check_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("checks.id", ondelete="SET NULL"), index=True)
    latency_threshold_ms: Mapped[int | None] = mapped_column(sa.Integer)  # kind "latency" with source "check"
    # source "prometheus": instant-query expressions; `$window` is replaced by the span since the last query.
    good_query: Mapped[str | None] = mapped_column(sa.String(2000))
    total_query: Mapped[str | None] = mapped_column(sa.String(2000))
    alerting: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    # Rules firing now (names from slo/budget.py RULES): each has an open alert on the service.
    firing: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # How far a feed has been read: the last check result taken, or the end of the last query.
    read_until: Mapped[datetime | None]
    next_eval_at: Mapped[datetime] = mapped_column(index=True)
    last_evaluated_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.String(500))  # a summary; never a remote's answer
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SloBucket(Base):
    """Good and total events of one SLO in one minute (counts, or fractional from Prometheus)."""

    __tablename__ = "slo_buckets"
    __table_args__ = (sa.UniqueConstraint("slo_id", "start"),
                      sa.Index("ix_slo_buckets_start", "start"))  # retention deletes oldest first

    id: Mapped[uuid.UUID] = uuid_pk()
    slo_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("slos.id", ondelete="CASCADE"))
    start: Mapped[datetime]
    good: Mapped[float] = mapped_column(sa.Float, default=0.0)
    total: Mapped[float] = mapped_column(sa.Float, default=0.0)


class SloEventKey(Base):
    """An idempotency key of pushed counts: a repeat with the same key is not counted again."""

    __tablename__ = "slo_event_keys"
    __table_args__ = (sa.UniqueConstraint("slo_id", "key"),
                      sa.Index("ix_slo_event_keys_at", "at"))

    id: Mapped[uuid.UUID] = uuid_pk()
    slo_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("slos.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(200))
    digest: Mapped[str] = mapped_column(sa.String(64))  # SHA-256 of the counts: a different body is a conflict
    at: Mapped[datetime]
    answer: Mapped[dict[str, Any]] = mapped_column(sa.JSON)


def alert_key(slo_id: uuid.UUID, rule: str) -> str:
    """The dedup key of the alert a burn-rate rule opens on the SLO's service (one per SLO and rule)."""
    return f"slo:1:{slo_id}:{rule}"
