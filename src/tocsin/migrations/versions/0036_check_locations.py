"""Checks from many places (issue 20): registered agents (a location name and a hashed key), each
check's locations and quorum, one row per (check, location) with that location's own verdict, and the
location of every check result.

Revision ID: 0036
Revises: 0034
Create Date: 2026-12-07 00:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0036'
down_revision = '0035c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locations", sa.JSON(), nullable=False, server_default='["server"]'))
        batch_op.add_column(sa.Column("quorum", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("runs_on_server", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("check_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("location", sa.String(length=64), nullable=False, server_default="server"))
        batch_op.create_index("ix_check_results_check_location_at", ["check_id", "location", "at"], unique=False)
    op.create_table(
        "check_locations",
        sa.Column("check_id", sa.Uuid(), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("consecutive_successes", sa.Integer(), nullable=False),
        sa.Column("last_result_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ok", sa.Boolean(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_latency_ms", sa.Float(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["check_id"], ["checks.id"], name=op.f("fk_check_locations_check_id_checks"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("check_id", "location", name=op.f("pk_check_locations")),
    )
    op.create_table(
        "check_agents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_hint", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("poll_interval_seconds", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_agents")),
        sa.UniqueConstraint("name", name=op.f("uq_check_agents_name")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_check_agents_key_hash")),
    )


def downgrade() -> None:
    op.drop_table("check_agents")
    op.drop_table("check_locations")
    with op.batch_alter_table("check_results", schema=None) as batch_op:
        batch_op.drop_index("ix_check_results_check_location_at")
        batch_op.drop_column("location")
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.drop_column("runs_on_server")
        batch_op.drop_column("quorum")
        batch_op.drop_column("locations")
