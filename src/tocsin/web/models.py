"""User invitations (console sessions are `tocsin.users.models.WebSession`, re-exported here).

Both keep only the SHA-256 of their token (256 random bits), like API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk
from tocsin.users.models import WebSession

__all__ = ["UserInvite", "WebSession"]


class UserInvite(Base):
    __tablename__ = "user_invites"

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(sa.String(320), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    org_role: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    user_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id"))
