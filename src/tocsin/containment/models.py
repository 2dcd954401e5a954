"""Containment rows: the phases a security incident entered, checklist templates, and each incident's checklist steps."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class IncidentPhase(Base):
    """One row per phase a security incident entered, when and by whom. No row: the incident is in
    detection and analysis since it was declared. Phases only move forward, so each is entered at
    most once (the unique constraint holds that even when two requests race)."""

    __tablename__ = "incident_phases"
    __table_args__ = (sa.UniqueConstraint("incident_id", "phase"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    phase: Mapped[str] = mapped_column(sa.String(24))
    entered_at: Mapped[datetime]
    entered_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class ChecklistTemplate(Base):
    """The steps a containment checklist starts with: `steps` is a list of {"kind", "title", "target"}."""

    __tablename__ = "checklist_templates"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    is_default: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ChecklistStep(Base):
    """One step of a security incident's containment checklist; `done_at` is set while it is done
    (un-doing clears it; both are on the timeline with who and why)."""

    __tablename__ = "checklist_steps"

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer)
    kind: Mapped[str] = mapped_column(sa.String(16))
    title: Mapped[str] = mapped_column(sa.String(300))
    target: Mapped[str | None] = mapped_column(sa.String(200))
    template_name: Mapped[str | None] = mapped_column(sa.String(120))
    created_at: Mapped[datetime]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
