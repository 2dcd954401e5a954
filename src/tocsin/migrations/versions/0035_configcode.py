"""Configuration as code (issue 20): the source ids apply remembers, so a renamed source object is
updated, not duplicated.

Revision ID: 0035c
Revises: 0034
Create Date: 2026-12-06 23:50:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0035c'
down_revision = '0034'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "configcode_sources",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=500), nullable=False),
        sa.Column("object_id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "source_id", name=op.f("pk_configcode_sources")),
    )
    with op.batch_alter_table("configcode_sources", schema=None) as batch_op:
        batch_op.create_index("ix_configcode_sources_object_id", ["object_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("configcode_sources", schema=None) as batch_op:
        batch_op.drop_index("ix_configcode_sources_object_id")
    op.drop_table("configcode_sources")
