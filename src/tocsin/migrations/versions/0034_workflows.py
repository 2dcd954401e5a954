"""Incident workflows and incident types (issue 19): workflows (trigger, filters, steps), the runs of
their steps (once per trigger), incident types (custom fields, checklist, templates; the three
defaults are written lazily, when the table is empty), and an index the workflow job reads the
timeline's new declarations and status changes by.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_workflows",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("severities", sa.JSON(), nullable=False),
        sa.Column("incident_types", sa.JSON(), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_workflows")),
        sa.UniqueConstraint("name", name=op.f("uq_incident_workflows_name")),
    )
    op.create_table(
        "workflow_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("workflow_id", sa.Uuid(), nullable=True),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("workflow_name", sa.String(length=120), nullable=False),
        sa.Column("trigger_key", sa.String(length=64), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("step_kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_workflow_runs_incident_id_incidents"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workflow_id"], ["incident_workflows.id"],
                                name=op.f("fk_workflow_runs_workflow_id_incident_workflows"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_runs")),
        sa.UniqueConstraint("source", "trigger_key", "step_index",
                            name=op.f("uq_workflow_runs_source_trigger_key_step_index")),
    )
    with op.batch_alter_table("workflow_runs", schema=None) as batch_op:
        batch_op.create_index("ix_workflow_runs_incident_id", ["incident_id"], unique=False)
        batch_op.create_index("ix_workflow_runs_workflow_id", ["workflow_id"], unique=False)
    op.create_table(
        "incident_types",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("base_kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("custom_fields", sa.JSON(), nullable=False),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("templates", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_types")),
        sa.UniqueConstraint("slug", name=op.f("uq_incident_types_slug")),
    )
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.create_index("ix_timeline_entries_kind_recorded", ["kind", "recorded_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_timeline_entries_kind_recorded")
    op.drop_table("incident_types")
    with op.batch_alter_table("workflow_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_runs_workflow_id")
        batch_op.drop_index("ix_workflow_runs_incident_id")
    op.drop_table("workflow_runs")
    op.drop_table("incident_workflows")
