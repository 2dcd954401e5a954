"""Service rows and their dependency edges."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk
from tocsin.db.counters import ALERT_CONFIG


class Service(Base):
    __version_counter__ = ALERT_CONFIG  # the alert pipeline caches these rows by this version
    __tablename__ = "services"
    __table_args__ = (sa.CheckConstraint("tier BETWEEN 1 AND 4", name="tier_range"),
                      sa.CheckConstraint("paging_unit IN ('alert', 'group')", name="paging_unit_values"))

    id: Mapped[uuid.UUID] = uuid_pk()
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    owner_team_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    tier: Mapped[int] = mapped_column(sa.SmallInteger, default=3)
    runbook_url: Mapped[str | None] = mapped_column(sa.String(2048))
    # Alert handling: grouping labels and window, flap window, support hours (see alerts/settings.py).
    alert_settings: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # What one escalation pages for: each alert, or each alert group (one page per group in a storm).
    # New services get "group" (`create_service`); rows from before the setting existed keep "alert".
    paging_unit: Mapped[str] = mapped_column(sa.String(8), server_default="alert")
    escalation_policy_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("escalation_policies.id", ondelete="SET NULL"))
    # An exercise's stand-in service (issue 19): its alerts and incidents are drills.
    drill: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ServiceDependency(Base):
    """`service_id` depends on `depends_on_id`: while the latter fires, the former's new alerts are held
    (inhibited) instead of paging (pipeline/decide.py `inhibition`)."""

    __version_counter__ = ALERT_CONFIG  # the alert pipeline caches these rows by this version
    __tablename__ = "service_dependencies"

    service_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("services.id", ondelete="CASCADE"), primary_key=True)
    depends_on_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("services.id", ondelete="CASCADE"), primary_key=True)
