"""Role handbooks (an admin's edit of a role's Markdown; no row: the shipped default), who is trained
for a role (the IC bench), and the exercises people took part in."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class RoleHandbook(Base):
    __tablename__ = "role_handbooks"

    role: Mapped[str] = mapped_column(sa.String(32), primary_key=True)  # an incidents Role value
    body_md: Mapped[str] = mapped_column(sa.Text)
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class RoleTraining(Base):
    """`user_id` is (or is no longer) trained for `role`, as marked by an admin."""

    __tablename__ = "role_training"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    trained: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    trained_at: Mapped[datetime | None]
    marked_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class ExerciseCredit(Base):
    """One person's part in one exercise: in which role, whether they passed, their score."""

    __tablename__ = "exercise_credits"
    __table_args__ = (sa.UniqueConstraint("user_id", "exercise_id", "role"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    exercise_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    exercise_name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(32))
    passed: Mapped[bool] = mapped_column(sa.Boolean)
    score: Mapped[int] = mapped_column(sa.Integer)
    at: Mapped[datetime]
