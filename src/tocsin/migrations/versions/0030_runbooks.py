"""Runbooks (issue 19): Markdown runbooks owned by a team, linked to services and to alerts by label
matchers, and each incident's progress through their numbered steps.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "runbooks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("body_md", sa.Text(), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("updated_at", _TZ, nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_runbooks_team_id_teams"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runbooks")),
        sa.UniqueConstraint("slug", name=op.f("uq_runbooks_slug")),
    )
    op.create_index(op.f("ix_runbooks_team_id"), "runbooks", ["team_id"])
    op.create_table(
        "runbook_services",
        sa.Column("runbook_id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["runbook_id"], ["runbooks.id"], name=op.f("fk_runbook_services_runbook_id_runbooks"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_runbook_services_service_id_services"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("runbook_id", "service_id", name=op.f("pk_runbook_services")),
    )
    op.create_index(op.f("ix_runbook_services_service_id"), "runbook_services", ["service_id"])
    op.create_table(
        "runbook_matchers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("runbook_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=128), nullable=False),
        sa.Column("op", sa.String(length=2), nullable=False),
        sa.Column("value", sa.String(length=1024), nullable=False),
        sa.ForeignKeyConstraint(["runbook_id"], ["runbooks.id"], name=op.f("fk_runbook_matchers_runbook_id_runbooks"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runbook_matchers")),
    )
    op.create_index(op.f("ix_runbook_matchers_runbook_id"), "runbook_matchers", ["runbook_id"])
    op.create_table(
        "runbook_progress",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("runbook_id", sa.Uuid(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("by_id", sa.Uuid(), nullable=True),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_runbook_progress_incident_id_incidents"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["runbook_id"], ["runbooks.id"], name=op.f("fk_runbook_progress_runbook_id_runbooks"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_runbook_progress_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runbook_progress")),
        sa.UniqueConstraint("incident_id", "runbook_id", "step",
                            name=op.f("uq_runbook_progress_incident_id_runbook_id_step")),
    )
    op.create_index(op.f("ix_runbook_progress_incident_id"), "runbook_progress", ["incident_id"])
    op.create_index(op.f("ix_runbook_progress_runbook_id"), "runbook_progress", ["runbook_id"])


def downgrade() -> None:
    op.drop_table("runbook_progress")
    op.drop_table("runbook_matchers")
    op.drop_table("runbook_services")
    op.drop_table("runbooks")
