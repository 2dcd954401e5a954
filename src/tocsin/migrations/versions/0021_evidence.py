"""The evidence locker (issue 17): evidence items of an incident (uploaded files stored by SHA-256,
or registered external artefacts) and their append-only chain-of-custody ledger.

Revision ID: 0021
Revises: 0023 (numbered before it, merged after it)
Create Date: 2026-12-06 15:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_items",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("media_type", sa.String(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("sha512", sa.String(length=128), nullable=True),
        sa.Column("location", sa.String(length=2000), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_evidence_items_incident_id_incidents")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_evidence_items_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_items")),
        sa.UniqueConstraint("incident_id", "number", name="uq_evidence_items_incident_id_number"),
    )
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_items_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_items_sha256"), ["sha256"], unique=False)
    op.create_table(
        "evidence_custody",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("who", sa.String(length=300), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_by", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["evidence_items.id"], name=op.f("fk_evidence_custody_item_id_evidence_items")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"], name=op.f("fk_evidence_custody_recorded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_custody")),
        sa.UniqueConstraint("item_id", "seq", name="uq_evidence_custody_item_id_seq"),
    )
    with op.batch_alter_table("evidence_custody", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_custody_item_id"), ["item_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evidence_custody", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_custody_item_id"))
    op.drop_table("evidence_custody")
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_items_sha256"))
        batch_op.drop_index(batch_op.f("ix_evidence_items_incident_id"))
    op.drop_table("evidence_items")
