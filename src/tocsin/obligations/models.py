"""Regulatory clocks and obligations of security incidents: what the incident exposes (data
categories, regions, people affected), its clocks, the regimes chosen for it and one row per
obligation owed, with its computed due time and its filing."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class SecurityExposure(Base):
    """The facts regimes are suggested from; one row per security incident that has any."""

    __tablename__ = "security_exposures"

    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"),
                                                   primary_key=True)
    data_categories: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    regions: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    affected_count: Mapped[int | None] = mapped_column(sa.Integer)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime]


class RegulatoryClock(Base):
    """The current value of one clock (aware_at, ...); each change is on the timeline and audited."""

    __tablename__ = "regulatory_clocks"

    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"),
                                                   primary_key=True)
    clock: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(sa.Text)
    set_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    set_at: Mapped[datetime]


class IncidentRegime(Base):
    __tablename__ = "incident_regimes"

    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"),
                                                   primary_key=True)
    regime: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    chosen_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    chosen_at: Mapped[datetime]


class Obligation(Base):
    """One filing owed. `due_at` is recomputed from the clocks and the catalogue whenever either
    changes for this incident (None: not started, or no fixed deadline); the engine's reminder
    query reads it. `reminded_lead` is the smallest reminder lead (minutes) sent for this due time."""

    __tablename__ = "obligations"
    __table_args__ = (sa.UniqueConstraint("incident_id", "regime", "obligation"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    regime: Mapped[str] = mapped_column(sa.String(40))
    obligation: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(120))
    notify: Mapped[str] = mapped_column(sa.String(300))
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    due_reason: Mapped[str] = mapped_column(sa.Text, default="")
    started: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    filed_at: Mapped[datetime | None]
    filed_reference: Mapped[str | None] = mapped_column(sa.String(300))
    filed_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    evidence_ids: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    late_reason: Mapped[str | None] = mapped_column(sa.Text)
    not_applicable: Mapped[str | None] = mapped_column(sa.Text)
    reminded_lead: Mapped[int | None] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime]
