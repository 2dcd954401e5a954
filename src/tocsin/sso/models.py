"""Single sign-on rows: a user's identity at the provider, and the SCIM bearer tokens.

`SsoAccount` ties a tocsin user to the provider: the OIDC subject (`iss` + `sub`) bound at first SSO
login, so that a provider account which later carries someone else's email cannot log in as them,
and the SCIM `externalId` and deletion mark (SCIM DELETE deactivates the user and hides it from
SCIM; the row stays, because incidents, audit entries and timelines name the user).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class SsoAccount(Base):
    __tablename__ = "sso_accounts"
    __table_args__ = (sa.UniqueConstraint("oidc_issuer", "oidc_subject"),)

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    oidc_issuer: Mapped[str | None] = mapped_column(sa.String(500))
    oidc_subject: Mapped[str | None] = mapped_column(sa.String(255))
    external_id: Mapped[str | None] = mapped_column(sa.String(255))
    scim_deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ScimToken(Base):
    """A bearer token an identity provider provisions users with. Like API tokens: 256 random bits,
    shown once, stored as SHA-256."""

    __tablename__ = "scim_tokens"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(sa.String(200))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_by: Mapped[str] = mapped_column(sa.String(320))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
