"""Contact methods and notification rules.

A contact method is one way to reach one person: its `type` picks the provider and `address`
is what that provider sends to (an email address, an E.164 number, a URL, a Slack channel or
user id, a Mattermost channel id or @user, a Teams Workflows webhook URL, an Apprise URL). It
pages only once verified: a code sent through the method itself and typed back proves it
reaches its owner. The code is kept as a SHA-256 hash; it is short,
so attempts are counted and it expires.

A notification rule says when a page reaches a method: `delay_minutes` after the person is
paged, if the alert is still unacknowledged by then ("email at once, SMS after 2 min, voice
after 5 min"), for alerts of the given `urgency` (`any`, `high` or `low`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk

TYPES = ("email", "sms", "voice", "webhook", "slack", "mattermost", "teams", "apprise")
URGENCIES = ("any", "high", "low")


class ContactMethod(Base):
    __tablename__ = "contact_methods"
    __table_args__ = (sa.UniqueConstraint("user_id", "type", "address", name="user_type_address"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(sa.String(16))
    address: Mapped[str] = mapped_column(sa.String(1000))
    label: Mapped[str] = mapped_column(sa.String(200), default="")
    verified_at: Mapped[datetime | None]
    verify_hash: Mapped[str | None] = mapped_column(sa.String(64))
    verify_expires_at: Mapped[datetime | None]
    verify_attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime]


class NotificationRule(Base):
    __tablename__ = "notification_rules"
    __table_args__ = (sa.CheckConstraint("delay_minutes BETWEEN 0 AND 1440", name="delay_range"),
                      sa.UniqueConstraint("contact_method_id", "delay_minutes", "urgency", name="method_delay_urgency"))

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    contact_method_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("contact_methods.id", ondelete="CASCADE"),
                                                         index=True)
    delay_minutes: Mapped[int] = mapped_column(sa.Integer, default=0)
    urgency: Mapped[str] = mapped_column(sa.String(8), default="any")
    created_at: Mapped[datetime]


class UsedLink(Base):
    """A signed one-time action link that has been used (its HMAC digest), so it works once."""

    __tablename__ = "used_links"

    digest: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    used_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
