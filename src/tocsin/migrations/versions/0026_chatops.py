"""Chat-ops (issue 18): incident channels on Slack and Mattermost, linked chat accounts, the chat
outbox, and receipts of inbound deliveries (a platform's retry is a no-op).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06 18:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "chat_installs",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("installed_at", _TZ, nullable=False),
        sa.PrimaryKeyConstraint("platform", name=op.f("pk_chat_installs")),
    )
    op.create_table(
        "chat_channels",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("muted", sa.Boolean(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("cursor_at", _TZ, nullable=True),
        sa.Column("cursor_id", sa.Uuid(), nullable=True),
        sa.Column("reminded_at", _TZ, nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("archived_at", _TZ, nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_chat_channels_incident_id_incidents"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_channels")),
        sa.UniqueConstraint("incident_id", "platform", name=op.f("uq_chat_channels_incident_id_platform")),
    )
    op.create_index(op.f("ix_chat_channels_incident_id"), "chat_channels", ["incident_id"])
    op.create_index("ix_chat_channels_platform_channel", "chat_channels", ["platform", "channel_id"])
    op.create_table(
        "chat_members",
        sa.Column("channel_row_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("added_at", _TZ, nullable=False),
        sa.ForeignKeyConstraint(["channel_row_id"], ["chat_channels.id"],
                                name=op.f("fk_chat_members_channel_row_id_chat_channels"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("channel_row_id", "external_id", name=op.f("pk_chat_members")),
    )
    op.create_table(
        "chat_accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("linked_via", sa.String(length=16), nullable=False),
        sa.Column("linked_at", _TZ, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_chat_accounts_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_accounts")),
        sa.UniqueConstraint("platform", "team_id", "external_id",
                            name=op.f("uq_chat_accounts_platform_team_id_external_id")),
    )
    op.create_index(op.f("ix_chat_accounts_user_id"), "chat_accounts", ["user_id"])
    op.create_table(
        "chat_receipts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=True),
        sa.Column("entry_id", sa.Uuid(), nullable=True),
        sa.Column("received_at", _TZ, nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_chat_receipts_incident_id_incidents"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_receipts")),
        sa.UniqueConstraint("platform", "key", name=op.f("uq_chat_receipts_platform_key")),
    )
    op.create_index(op.f("ix_chat_receipts_received_at"), "chat_receipts", ["received_at"])
    op.create_table(
        "chat_outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("channel_row_id", sa.Uuid(), nullable=True),
        sa.Column("incident_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", _TZ, nullable=False),
        sa.Column("claimed_until", _TZ, nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("sent_at", _TZ, nullable=True),
        sa.ForeignKeyConstraint(["channel_row_id"], ["chat_channels.id"],
                                name=op.f("fk_chat_outbox_channel_row_id_chat_channels"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_chat_outbox_incident_id_incidents"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_outbox")),
    )
    op.create_index(op.f("ix_chat_outbox_channel_row_id"), "chat_outbox", ["channel_row_id"])
    op.create_index("ix_chat_outbox_status_due", "chat_outbox", ["status", "due_at"])


def downgrade() -> None:
    op.drop_table("chat_outbox")
    op.drop_table("chat_receipts")
    op.drop_table("chat_accounts")
    op.drop_table("chat_members")
    op.drop_table("chat_channels")
    op.drop_table("chat_installs")
