"""Routing rules, silences, maintenance windows, auto-incident rules and inhibition rules."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk
from tocsin.db.counters import ALERT_CONFIG


class RoutingRule(Base):
    """Alerts whose labels match go to `service_id` (when set) with `urgency` (when set); first match wins."""

    __version_counter__ = ALERT_CONFIG  # the alert pipeline caches these rows by this version
    __tablename__ = "routing_rules"

    id: Mapped[uuid.UUID] = uuid_pk()
    position: Mapped[int] = mapped_column(sa.Integer, index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    matchers: Mapped[list[Any]] = mapped_column(sa.JSON)
    service_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("services.id", ondelete="CASCADE"))
    urgency: Mapped[str | None] = mapped_column(sa.String(8))
    created_at: Mapped[datetime]


class Silence(Base):
    __version_counter__ = ALERT_CONFIG  # the alert pipeline caches these rows by this version
    __tablename__ = "silences"

    id: Mapped[uuid.UUID] = uuid_pk()
    matchers: Mapped[list[Any]] = mapped_column(sa.JSON)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime] = mapped_column(index=True)
    author_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    author: Mapped[str] = mapped_column(sa.String(320))
    reason: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]


class MaintenanceWindow(Base):
    __version_counter__ = ALERT_CONFIG  # the alert pipeline caches these rows by this version
    __tablename__ = "maintenance_windows"

    id: Mapped[uuid.UUID] = uuid_pk()
    service_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("services.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    recurrence: Mapped[str] = mapped_column(sa.String(8), default="none")  # none | daily | weekly
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    until: Mapped[datetime | None]
    author_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    author: Mapped[str] = mapped_column(sa.String(320))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime]


class AutoIncidentRule(Base):
    """A new alert whose labels (plus `service`, `tier`, `severity`) match declares an incident."""

    __version_counter__ = ALERT_CONFIG  # the alert pipeline caches these rows by this version
    __tablename__ = "auto_incident_rules"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(sa.String(200))
    matchers: Mapped[list[Any]] = mapped_column(sa.JSON)
    incident_severity: Mapped[str] = mapped_column(sa.String(8))
    incident_kind: Mapped[str] = mapped_column(sa.String(16), default="operational")
    created_at: Mapped[datetime]


class InhibitionRule(Base):
    """Alertmanager's inhibition: while an alert matching `source_matchers` fires, new alerts matching
    `target_matchers` whose `equal` labels have the same values are held instead of paging.

    With `service_id` set, the rule looks at that service's alerts only (sources and targets);
    without it, at every service's."""

    __version_counter__ = ALERT_CONFIG  # the alert pipeline caches these rows by this version
    __tablename__ = "inhibition_rules"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(sa.String(200))
    service_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("services.id", ondelete="CASCADE"),
                                                         index=True)
    source_matchers: Mapped[list[Any]] = mapped_column(sa.JSON)
    target_matchers: Mapped[list[Any]] = mapped_column(sa.JSON)
    equal: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime]
