"""Security incident phases and containment checklists (issue 17): the NIST SP 800-61 phases each
security incident entered (when, by whom), editable checklist templates, and each incident's
checklist steps (kind, title, target; done by whom, when).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 15:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_phases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("phase", sa.String(length=24), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entered_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_incident_phases_incident_id_incidents"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["entered_by_id"], ["users.id"], name=op.f("fk_incident_phases_entered_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_phases")),
        sa.UniqueConstraint("incident_id", "phase", name=op.f("uq_incident_phases_incident_id_phase")),
    )
    with op.batch_alter_table("incident_phases", schema=None) as batch_op:
        batch_op.create_index("ix_incident_phases_incident_id", ["incident_id"], unique=False)
    op.create_table(
        "checklist_templates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_templates")),
        sa.UniqueConstraint("name", name=op.f("uq_checklist_templates_name")),
    )
    op.create_table(
        "checklist_steps",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("template_name", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_checklist_steps_incident_id_incidents"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_checklist_steps_created_by_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["done_by_id"], ["users.id"], name=op.f("fk_checklist_steps_done_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_steps")),
    )
    with op.batch_alter_table("checklist_steps", schema=None) as batch_op:
        batch_op.create_index("ix_checklist_steps_incident_id", ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("checklist_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_checklist_steps_incident_id")
    op.drop_table("checklist_steps")
    op.drop_table("checklist_templates")
    with op.batch_alter_table("incident_phases", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_phases_incident_id")
    op.drop_table("incident_phases")
