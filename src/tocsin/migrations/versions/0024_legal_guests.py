"""Security incidents (issue 17): the legal gate on communications (`legal_drafts`: a status page
update or a postmortem's public text held until the incident's Legal role holder approves or
rejects it) and guest responders (`guest_grants`: an outside responder's invitation to one
incident, with its expiry and revocation).

Revision ID: 0024
Revises: 0021
Create Date: 2026-12-06 15:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0021'
branch_labels = None
depends_on = None

T = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "guest_grants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("invited_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", T, nullable=False),
        sa.Column("expires_at", T, nullable=False),
        sa.Column("accepted_at", T, nullable=True),
        sa.Column("revoked_at", T, nullable=True),
        sa.Column("revoked_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_guest_grants_incident_id_incidents"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_guest_grants_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["invited_by_id"], ["users.id"], name=op.f("fk_guest_grants_invited_by_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["revoked_by_id"], ["users.id"], name=op.f("fk_guest_grants_revoked_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guest_grants")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_guest_grants_token_hash")),
    )
    with op.batch_alter_table("guest_grants", schema=None) as batch_op:
        batch_op.create_index("ix_guest_grants_incident_id", ["incident_id"], unique=False)
        batch_op.create_index("ix_guest_grants_user_id", ["user_id"], unique=False)
    op.create_table(
        "legal_drafts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("page_id", sa.Uuid(), nullable=False),
        sa.Column("status_incident_id", sa.Uuid(), nullable=True),
        sa.Column("postmortem_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("component_statuses", sa.JSON(), nullable=True),
        sa.Column("impact", sa.String(length=32), nullable=True),
        sa.Column("deliver_notifications", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column("requested_at", T, nullable=False),
        sa.Column("decided_by_id", sa.Uuid(), nullable=True),
        sa.Column("decided_at", T, nullable=True),
        sa.Column("approved_body", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("published_status_incident_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_legal_drafts_incident_id_incidents"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["page_id"], ["status_pages.id"], name=op.f("fk_legal_drafts_page_id_status_pages"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["status_incident_id"], ["status_incidents.id"],
                                name=op.f("fk_legal_drafts_status_incident_id_status_incidents"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["postmortem_id"], ["postmortems.id"],
                                name=op.f("fk_legal_drafts_postmortem_id_postmortems"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"], name=op.f("fk_legal_drafts_requested_by_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"], name=op.f("fk_legal_drafts_decided_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_drafts")),
    )
    with op.batch_alter_table("legal_drafts", schema=None) as batch_op:
        batch_op.create_index("ix_legal_drafts_incident_id", ["incident_id"], unique=False)
        batch_op.create_index("ix_legal_drafts_state", ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("legal_drafts", schema=None) as batch_op:
        batch_op.drop_index("ix_legal_drafts_state")
        batch_op.drop_index("ix_legal_drafts_incident_id")
    op.drop_table("legal_drafts")
    with op.batch_alter_table("guest_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_guest_grants_user_id")
        batch_op.drop_index("ix_guest_grants_incident_id")
    op.drop_table("guest_grants")
