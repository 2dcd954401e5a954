"""Exercise rows: a run of a scenario (its drill service, key and score), its participants, and what
happened during it (injects fired, expectations met or missed, steps advanced by hand)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class Exercise(Base):
    __tablename__ = "exercises"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(sa.String(200))
    scenario: Mapped[str] = mapped_column(sa.Text)  # the YAML it was started with
    mode: Mapped[str] = mapped_column(sa.String(16))  # live | tabletop
    speed: Mapped[float] = mapped_column(sa.Float, default=1.0)  # > 1: time compressed (demos, tests)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)  # running | finished
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    started_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    service_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("services.id", ondelete="SET NULL"))
    integration_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("integrations.id", ondelete="SET NULL"))
    key_hint: Mapped[str | None] = mapped_column(sa.String(8))
    policy_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("escalation_policies.id", ondelete="SET NULL"))
    auto_rule_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("auto_incident_rules.id", ondelete="SET NULL"))
    incident_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("incidents.id", ondelete="SET NULL"))
    score: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


class ExerciseParticipant(Base):
    __tablename__ = "exercise_participants"

    exercise_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True,
                                               index=True)
    role: Mapped[str] = mapped_column(sa.String(32))


class ExerciseEvent(Base):
    __tablename__ = "exercise_events"
    __table_args__ = (sa.Index("ix_exercise_events_exercise_at", "exercise_id", "at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    exercise_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("exercises.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(sa.String(16))  # started | inject | met | late | missed | finished
    n: Mapped[int | None]  # the inject's or expectation's number
    text: Mapped[str] = mapped_column(sa.Text)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
