"""Approved actions (issue 19): an admin's vetted signed webhooks and allow-listed commands, and
each run of one for an incident (requested, approved by a second person, run by the engine).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "approved_actions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("command", sa.String(length=64), nullable=True),
        sa.Column("params_schema", sa.JSON(), nullable=False),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("timeout_s", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approved_actions")),
        sa.UniqueConstraint("slug", name=op.f("uq_approved_actions_slug")),
    )
    op.create_table(
        "action_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("action_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by_id", sa.Uuid(), nullable=True),
        sa.Column("requested_by_label", sa.String(length=200), nullable=False),
        sa.Column("approved_by_id", sa.Uuid(), nullable=True),
        sa.Column("exit_status", sa.Integer(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["action_id"], ["approved_actions.id"],
                                name=op.f("fk_action_runs_action_id_approved_actions"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_action_runs_incident_id_incidents"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_action_runs_requested_by_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["approved_by_id"], ["users.id"],
                                name=op.f("fk_action_runs_approved_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_runs")),
    )
    op.create_index("ix_action_runs_status", "action_runs", ["status"])
    op.create_index(op.f("ix_action_runs_action_id"), "action_runs", ["action_id"])
    op.create_index(op.f("ix_action_runs_incident_id"), "action_runs", ["incident_id"])


def downgrade() -> None:
    op.drop_table("action_runs")
    op.drop_table("approved_actions")
