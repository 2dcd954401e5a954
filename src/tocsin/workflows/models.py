"""Workflow rows: incident workflows (trigger, filters, steps), the runs of their steps (each step once
per trigger), and incident types (custom fields, checklist, templates)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class IncidentWorkflow(Base):
    """When an incident of these kinds, severities and types is declared (or moves to a status), run
    `steps` (a list of {"kind": ..., ...}; workflows/steps.py checks them). Empty filters match any."""

    __tablename__ = "incident_workflows"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    trigger: Mapped[str] = mapped_column(sa.String(16))  # declared | status_changed
    to_status: Mapped[str | None] = mapped_column(sa.String(16))  # status_changed only; None: any status
    kinds: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    severities: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    incident_types: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WorkflowRun(Base):
    """One step of one workflow run for one trigger (a `declared` or `status_changed` timeline entry).
    `source` is the workflow's id, or "type:<slug>" for an incident type's checklist; the unique
    constraint makes each step run once per trigger even when two engines race."""

    __tablename__ = "workflow_runs"
    __table_args__ = (sa.UniqueConstraint("source", "trigger_key", "step_index"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    workflow_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("incident_workflows.id", ondelete="SET NULL"), index=True)
    source: Mapped[str] = mapped_column(sa.String(80))
    workflow_name: Mapped[str] = mapped_column(sa.String(120))
    trigger_key: Mapped[str] = mapped_column(sa.String(64))
    step_index: Mapped[int] = mapped_column(sa.Integer)
    step_kind: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16))  # done | failed | skipped
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    at: Mapped[datetime]


class IncidentType(Base):
    """A kind of incident with its own custom fields ({key, label, type, required, choices}), a
    checklist opened on declaration (a list of step titles, or {"template": name} of a containment
    checklist template) and the communication templates it suggests (comms template slugs)."""

    __tablename__ = "incident_types"

    id: Mapped[uuid.UUID] = uuid_pk()
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    base_kind: Mapped[str] = mapped_column(sa.String(16))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    custom_fields: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    checklist: Mapped[Any] = mapped_column(sa.JSON, default=list)
    templates: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
