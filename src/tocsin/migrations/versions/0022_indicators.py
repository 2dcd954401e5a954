"""Indicators of compromise and affected assets on security incidents (issue 17), each with its TLP
marking, first and last seen, source and evidence reference. `evidence_id` has no foreign key: the
evidence locker's table arrives in a migration of its own.

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-06 15:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0020'
branch_labels = None
depends_on = None


def _common(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("evidence_id", sa.Uuid(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f(f"fk_{table}_incident_id_incidents"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f(f"fk_{table}_created_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "indicators",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=2000), nullable=False),
        *_common("indicators"),
        sa.UniqueConstraint("incident_id", "type", "value", name=op.f("uq_indicators_incident_id_type_value")),
    )
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.create_index("ix_indicators_incident_id", ["incident_id"], unique=False)
        batch_op.create_index("ix_indicators_value", ["value"], unique=False)
    op.create_table(
        "affected_assets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        *_common("affected_assets"),
        sa.UniqueConstraint("incident_id", "kind", "name", name=op.f("uq_affected_assets_incident_id_kind_name")),
    )
    with op.batch_alter_table("affected_assets", schema=None) as batch_op:
        batch_op.create_index("ix_affected_assets_incident_id", ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("affected_assets", schema=None) as batch_op:
        batch_op.drop_index("ix_affected_assets_incident_id")
    op.drop_table("affected_assets")
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.drop_index("ix_indicators_value")
        batch_op.drop_index("ix_indicators_incident_id")
    op.drop_table("indicators")
