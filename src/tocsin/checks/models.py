"""Synthetic check rows and their results."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class Check(Base):
    __tablename__ = "checks"

    id: Mapped[uuid.UUID] = uuid_pk()
    service_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("services.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(8))  # http | tcp
    target: Mapped[str] = mapped_column(sa.String(2048))
    method: Mapped[str] = mapped_column(sa.String(8), default="GET")
    headers: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    interval_seconds: Mapped[int] = mapped_column(sa.Integer)
    timeout_seconds: Mapped[float] = mapped_column(sa.Float)
    expected_statuses: Mapped[str] = mapped_column(sa.String(200), default="200-399")
    keyword: Mapped[str | None] = mapped_column(sa.String(500))
    keyword_absent: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    latency_threshold_ms: Mapped[int | None] = mapped_column(sa.Integer)
    tls_expiry_warn_days: Mapped[int | None] = mapped_column(sa.Integer)
    failures_to_alert: Mapped[int] = mapped_column(sa.Integer, default=2)
    successes_to_resolve: Mapped[int] = mapped_column(sa.Integer, default=1)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    # Where the check runs from: "server" (this server's engine) and/or agents' locations.
    locations: Mapped[list[str]] = mapped_column(sa.JSON, default=lambda: ["server"])
    quorum: Mapped[int | None] = mapped_column(sa.Integer)  # None: a majority of `locations`
    # Denormalised from `locations` so the engine's due query needs no JSON operator.
    runs_on_server: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    created_at: Mapped[datetime]
    next_run_at: Mapped[datetime] = mapped_column(index=True)
    # Lease: at most one execution per check at a time across engine processes.
    lease_owner: Mapped[str | None] = mapped_column(sa.String(64))
    lease_until: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(sa.Integer, default=0)
    consecutive_successes: Mapped[int] = mapped_column(sa.Integer, default=0)
    state: Mapped[str] = mapped_column(sa.String(8), default="unknown")  # unknown | up | down
    last_result_at: Mapped[datetime | None]


class CheckResult(Base):
    __tablename__ = "check_results"

    id: Mapped[uuid.UUID] = uuid_pk()
    check_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("checks.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    ok: Mapped[bool] = mapped_column(sa.Boolean)
    latency_ms: Mapped[float | None] = mapped_column(sa.Float)
    status_code: Mapped[int | None] = mapped_column(sa.Integer)
    error: Mapped[str | None] = mapped_column(sa.Text)
    tls_expires_at: Mapped[datetime | None]
    location: Mapped[str] = mapped_column(sa.String(64), default="server", server_default="server")

    __table_args__ = (sa.Index("ix_check_results_check_at", "check_id", "at"),
                      sa.Index("ix_check_results_check_location_at", "check_id", "location", "at"),
                      sa.Index("ix_check_results_at", "at"))  # retention deletes oldest first


class CheckLocation(Base):
    """One location's view of one check: its own streaks and verdict, and its last result."""

    __tablename__ = "check_locations"

    check_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("checks.id", ondelete="CASCADE"), primary_key=True)
    location: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(8), default="unknown")  # unknown | up | down
    consecutive_failures: Mapped[int] = mapped_column(sa.Integer, default=0)
    consecutive_successes: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_result_at: Mapped[datetime | None]
    last_ok: Mapped[bool | None] = mapped_column(sa.Boolean)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    last_latency_ms: Mapped[float | None] = mapped_column(sa.Float)
    last_status_code: Mapped[int | None] = mapped_column(sa.Integer)


class CheckAgent(Base):
    """A registered agent: a location name and the hash of its key (shown once)."""

    __tablename__ = "check_agents"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    key_hint: Mapped[str] = mapped_column(sa.String(8))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]
    poll_interval_seconds: Mapped[int] = mapped_column(sa.Integer, default=60)
