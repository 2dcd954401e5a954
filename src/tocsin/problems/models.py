"""Problem records (ITIL): the underlying cause of one or more incidents."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class Problem(Base):
    """`number` gives the display ref (PRB-3). Status: open → known_error → resolved.
    `service_id`, `dedup_keys`, `labels` and `terms` say what a recurrence looks like: an
    incident or alert on the same service with one of the dedup keys or all of the labels,
    or whose title holds the terms."""

    __tablename__ = "problems"

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    root_cause: Mapped[str] = mapped_column(sa.Text, default="")
    known_error: Mapped[str] = mapped_column(sa.Text, default="")
    workaround: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    service_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("services.id", ondelete="SET NULL"),
                                                         index=True)
    dedup_keys: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    labels: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    terms: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    known_error_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]


class ProblemIncident(Base):
    """An incident linked to a problem. `recurrence` is true when the problem was already known
    (created before the incident was declared), which the recurrence metric counts."""

    __tablename__ = "problem_incidents"

    problem_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("problems.id", ondelete="CASCADE"), primary_key=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"),
                                                   primary_key=True, index=True)
    recurrence: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    linked_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    linked_at: Mapped[datetime]
