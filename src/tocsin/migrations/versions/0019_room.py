"""The incident room (issue 16): a conference-bridge or chat link on the incident, and responder
requests (PagerDuty's "add responders"): who was asked to join a running incident, by whom, with
what message, and their reply (pending, acknowledged, declined).

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-06 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conference_url", sa.String(length=2000), nullable=True))
    op.create_table(
        "responder_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("via", sa.String(length=300), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_responder_requests_incident_id_incidents"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_responder_requests_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_responder_requests_requested_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_responder_requests")),
    )
    with op.batch_alter_table("responder_requests", schema=None) as batch_op:
        batch_op.create_index("ix_responder_requests_incident_id", ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("responder_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_responder_requests_incident_id")
    op.drop_table("responder_requests")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("conference_url")
