"""On-call schedule rows: schedules, their layers (a rotation with ordered members and
optional restrictions) and overrides. `service.py` turns them into `resolve.*` values."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class Schedule(Base):
    __tablename__ = "schedules"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")  # for display; rotations have their own
    team_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("teams.id", ondelete="SET NULL"))
    # SHA-256 of the iCalendar feed token (128 random bits, shown once); null until one is made
    ical_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ScheduleLayer(Base):
    """One rotation; where layers overlap the one with the higher `position` wins."""

    __tablename__ = "schedule_layers"

    id: Mapped[uuid.UUID] = uuid_pk()
    schedule_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("schedules.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer)
    name: Mapped[str] = mapped_column(sa.String(200))
    rotation_kind: Mapped[str] = mapped_column(sa.String(8))  # daily | weekly | custom
    rotation_timezone: Mapped[str] = mapped_column(sa.String(64))
    rotation_start: Mapped[datetime]
    shift_hours: Mapped[int] = mapped_column(sa.Integer, default=24)
    # [{"days": [1..7], "start": "HH:MM", "end": "HH:MM"}], local to rotation_timezone
    restrictions: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    # A shadow layer (issue 19): its people get the same pages, marked shadow, but are not on call:
    # who is on call, escalation and on-call load ignore it
    shadow: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    created_at: Mapped[datetime]


class ScheduleLayerMember(Base):
    __tablename__ = "schedule_layer_members"

    layer_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("schedule_layers.id", ondelete="CASCADE"),
                                                primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)


class ScheduleOverride(Base):
    """`user_id` is on call from `starts_at` to `ends_at`, instead of `replaces_user_id` (or whoever is on)."""

    __tablename__ = "schedule_overrides"
    __table_args__ = (sa.Index("ix_schedule_overrides_schedule_id_ends_at", "schedule_id", "ends_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    schedule_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("schedules.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    replaces_user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]


class ShiftSwap(Base):
    """A "cover me" request: `requester_id` asks someone to take their shifts from `starts_at` to
    `ends_at`. Status: open → accepted (an offer was taken: `taker_id`, `override_id`) or cancelled;
    an open request whose start has passed reads as expired (computed, not stored)."""

    __tablename__ = "shift_swaps"
    __table_args__ = (sa.Index("ix_shift_swaps_schedule_id_starts_at", "schedule_id", "starts_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    schedule_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("schedules.id", ondelete="CASCADE"))
    requester_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(16), default="open")  # open | accepted | cancelled
    taker_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    override_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("schedule_overrides.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]


class ShiftSwapOffer(Base):
    """`user_id` offers to take a swap request's shifts; the requester accepts one offer."""

    __tablename__ = "shift_swap_offers"
    __table_args__ = (sa.UniqueConstraint("swap_id", "user_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    swap_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("shift_swaps.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime]


class PersonalFeed(Base):
    """A person's own iCalendar feed of their shifts across schedules: only the SHA-256 of its
    URL token (128 random bits, shown once) is kept; making a new one revokes the old."""

    __tablename__ = "personal_ical_feeds"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]


class HandoffNotice(Base):
    """A hand-off a person was told about: `kind` "on" (going on call at `at`) or "off" (off call
    since `at`), for one schedule. Unique, so a notice is written once (escalation/handoff.py)."""

    __tablename__ = "handoff_notices"
    __table_args__ = (sa.UniqueConstraint("schedule_id", "user_id", "kind", "at", name="uq_handoff_notices_once"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    schedule_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("schedules.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(8))  # on | off
    at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime]
