"""Action items: the follow-ups of an incident, postmortem or problem, chased until done."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class ActionItem(Base):
    """`number` gives the display ref (ACT-12). `due_at` is an aware UTC instant (the end of the
    due day in the owner's time zone when given as a date). `completed_at` is set when the
    status becomes done (or wont_do), so on-time vs late completion can be computed.
    `reminded_before_at` / `overdue_reminders` / `last_reminded_at` record what the engine
    has already sent, so each reminder goes out once."""

    __tablename__ = "action_items"

    id: Mapped[uuid.UUID] = uuid_pk()
    number: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    type: Mapped[str] = mapped_column(sa.String(16))  # prevent | mitigate | detect | process
    priority: Mapped[str] = mapped_column(sa.String(8))  # high | medium | low
    status: Mapped[str] = mapped_column(sa.String(16), index=True)  # open | in_progress | done | wont_do
    owner_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    team_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    incident_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("incidents.id", ondelete="SET NULL"),
                                                          index=True)
    postmortem_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("postmortems.id", ondelete="SET NULL"),
                                                            index=True)
    problem_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("problems.id", ondelete="SET NULL"),
                                                         index=True)
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    external_id: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    external_url: Mapped[str | None] = mapped_column(sa.String(1000))
    reminded_before_at: Mapped[datetime | None]
    last_reminded_at: Mapped[datetime | None]
    overdue_reminders: Mapped[int] = mapped_column(sa.Integer, default=0)


class ActionSync(Base):
    """Outgoing tracker webhook deliveries (one row per change to send), kept as an outbox so
    a change is never lost when the tracker is down; `status` queued → sent | failed."""

    __tablename__ = "action_syncs"

    id: Mapped[uuid.UUID] = uuid_pk()
    action_item_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("action_items.id", ondelete="CASCADE"),
                                                      index=True)
    event: Mapped[str] = mapped_column(sa.String(32))  # action_item.created | action_item.updated
    payload: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    send_after: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
