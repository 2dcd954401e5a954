"""Chat-ops tables: channels per incident, linked chat accounts, the chat outbox, and the receipts
that make a platform's retried delivery a no-op."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from tocsin.db.base import Base, uuid_pk


class ChatInstall(Base):
    """When chat-ops was first seen configured for a platform: incidents declared before it get no
    channel (turning the app on does not open a channel for every incident in the history)."""

    __tablename__ = "chat_installs"

    platform: Mapped[str] = mapped_column(sa.String(16), primary_key=True)  # slack | mattermost
    installed_at: Mapped[datetime]


class ChatChannel(Base):
    """The channel of one incident on one platform.

    state: pending (the create is in the outbox) -> ready (created: `channel_id` known) -> archived;
    failed (the platform refused to create it; `detail` says why). `private` is fixed at creation:
    a restricted incident's channel is private. A public channel cannot be made private, so when its
    incident is restricted later the channel is `muted`: its topic loses the title and nothing more
    is posted there. The follower's cursor (`cursor_at`, `cursor_id`) is the last timeline
    entry posted; `topic` the last topic set (set again only when it changes)."""

    __tablename__ = "chat_channels"
    __table_args__ = (sa.UniqueConstraint("incident_id", "platform"),
                      sa.Index("ix_chat_channels_platform_channel", "platform", "channel_id"))

    id: Mapped[uuid.UUID] = uuid_pk()
    incident_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(sa.String(16))
    channel_id: Mapped[str | None] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(80))
    private: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    state: Mapped[str] = mapped_column(sa.String(16), default="pending")
    muted: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    topic: Mapped[str | None] = mapped_column(sa.Text)
    detail: Mapped[str | None] = mapped_column(sa.Text)
    cursor_at: Mapped[datetime | None]
    cursor_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())
    reminded_at: Mapped[datetime | None]  # the last update-cadence reminder posted
    created_at: Mapped[datetime]
    archived_at: Mapped[datetime | None]


class ChatMember(Base):
    """A chat user invited into (or seen joining) an incident channel: invited once."""

    __tablename__ = "chat_members"

    channel_row_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("chat_channels.id", ondelete="CASCADE"),
                                                      primary_key=True)
    external_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    added_at: Mapped[datetime]


class ChatAccount(Base):
    """A chat user linked to a tocsin user: by the workspace's verified email, or by a one-time link
    the tocsin user opened while signed in. A chat user acts as exactly this tocsin user."""

    __tablename__ = "chat_accounts"
    __table_args__ = (sa.UniqueConstraint("platform", "team_id", "external_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    platform: Mapped[str] = mapped_column(sa.String(16))
    team_id: Mapped[str] = mapped_column(sa.String(64), default="")
    external_id: Mapped[str] = mapped_column(sa.String(64))
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    linked_via: Mapped[str] = mapped_column(sa.String(16))  # email | link
    linked_at: Mapped[datetime]


class ChatReceipt(Base):
    """One inbound delivery already acted on (an event id, a slash command's trigger id, a captured
    message): a platform's retry of it finds this row and does nothing again."""

    __tablename__ = "chat_receipts"
    __table_args__ = (sa.UniqueConstraint("platform", "key"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    platform: Mapped[str] = mapped_column(sa.String(16))
    key: Mapped[str] = mapped_column(sa.String(255))
    incident_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"))
    entry_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid())  # the timeline entry it made, if any
    received_at: Mapped[datetime] = mapped_column(index=True)


class ChatOutbox(Base):
    """One call to a chat platform, sent by the `chat_deliver` engine job.

    kind: create | topic | bookmark | invite | post | ephemeral | archive | dm. `payload` is the call's
    arguments (JSON). status: waiting -> claimed -> sent | failed. Posts to one channel are merged
    while they wait (`post` rows of a channel are appended to the newest waiting one), and one
    channel gets at most one call per second (`ChatChannel`'s platform limit): a 429's Retry-After
    sets `due_at` of the row (and the rest of its channel wait behind it)."""

    __tablename__ = "chat_outbox"
    __table_args__ = (sa.Index("ix_chat_outbox_status_due", "status", "due_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    platform: Mapped[str] = mapped_column(sa.String(16))
    channel_row_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("chat_channels.id", ondelete="CASCADE"), index=True)
    incident_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(16), default="waiting")
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    due_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    detail: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]  # when it settled: sent, or failed for good
