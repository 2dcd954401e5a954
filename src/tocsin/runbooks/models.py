"""Runbook rows: the runbook (Markdown, owned by a team), the services and label matchers it is linked
by, and each incident's progress through its steps (one row per step marked done or skipped)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class Runbook(Base):
    __tablename__ = "runbooks"

    id: Mapped[uuid.UUID] = uuid_pk()
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    team_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    body_md: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RunbookService(Base):
    """A runbook applies to every alert and incident of a linked service."""

    __tablename__ = "runbook_services"

    runbook_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("runbooks.id", ondelete="CASCADE"), primary_key=True)
    service_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("services.id", ondelete="CASCADE"), primary_key=True,
                                                  index=True)


class RunbookMatcher(Base):
    """One label matcher (Alertmanager's `=`, `!=`, `=~`, `!~`); a runbook with matchers applies to an
    alert whose labels match all of them."""

    __tablename__ = "runbook_matchers"

    id: Mapped[uuid.UUID] = uuid_pk()
    runbook_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("runbooks.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer)
    label: Mapped[str] = mapped_column(sa.String(128))
    op: Mapped[str] = mapped_column(sa.String(2))
    value: Mapped[str] = mapped_column(sa.String(1024))


class RunbookProgress(Base):
    """A step of a runbook marked done or skipped in an incident, by whom and when (un-marking deletes
    the row; every change is also on the incident's timeline)."""

    __tablename__ = "runbook_progress"
    __table_args__ = (sa.UniqueConstraint("incident_id", "runbook_id", "step"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    runbook_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("runbooks.id", ondelete="CASCADE"), index=True)
    step: Mapped[int] = mapped_column(sa.Integer)
    state: Mapped[str] = mapped_column(sa.String(8))
    by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(sa.Text)
