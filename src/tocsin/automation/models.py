"""Approved actions (an admin's vetted webhooks and allow-listed commands) and each run of one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class ApprovedAction(Base):
    """What a responder may run: `params_schema` is a list of {"name", "type", "choices", "required",
    "pattern"} (automation/params.py); a webhook action has `url`, a command action the NAME of a
    command in the operator's allow-list file (never a command line)."""

    __tablename__ = "approved_actions"

    id: Mapped[uuid.UUID] = uuid_pk()
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    kind: Mapped[str] = mapped_column(sa.String(16))
    url: Mapped[str | None] = mapped_column(sa.String(2000))
    command: Mapped[str | None] = mapped_column(sa.String(64))
    params_schema: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    requires_approval: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    timeout_s: Mapped[int] = mapped_column(sa.Integer, default=60)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ActionRun(Base):
    """One run of an approved action for an incident. `output` is the command's stdout and stderr
    (truncated), or for a webhook only what was sent and the status: never the remote's reply."""

    __tablename__ = "action_runs"
    __table_args__ = (sa.Index("ix_action_runs_status", "status"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    action_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("approved_actions.id", ondelete="CASCADE"),
                                                 index=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    dry_run: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    status: Mapped[str] = mapped_column(sa.String(16))
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    requested_by_label: Mapped[str] = mapped_column(sa.String(200), default="")
    approved_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    exit_status: Mapped[int | None] = mapped_column(sa.Integer)
    http_status: Mapped[int | None] = mapped_column(sa.Integer)
    output: Mapped[str] = mapped_column(sa.Text, default="")
    requested_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
