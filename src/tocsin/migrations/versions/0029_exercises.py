"""Exercises and game days (issue 19): runs of a scenario, their participants and events.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "exercises",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("scenario", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("speed", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", _TZ, nullable=False),
        sa.Column("ended_at", _TZ, nullable=True),
        sa.Column("started_by_id", sa.Uuid(), nullable=True),
        sa.Column("service_id", sa.Uuid(), nullable=True),
        sa.Column("integration_id", sa.Uuid(), nullable=True),
        sa.Column("key_hint", sa.String(length=8), nullable=True),
        sa.Column("policy_id", sa.Uuid(), nullable=True),
        sa.Column("auto_rule_id", sa.Uuid(), nullable=True),
        sa.Column("incident_id", sa.Uuid(), nullable=True),
        sa.Column("score", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["started_by_id"], ["users.id"], name=op.f("fk_exercises_started_by_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_exercises_service_id_services"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["integration_id"], ["integrations.id"],
                                name=op.f("fk_exercises_integration_id_integrations"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["policy_id"], ["escalation_policies.id"],
                                name=op.f("fk_exercises_policy_id_escalation_policies"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["auto_rule_id"], ["auto_incident_rules.id"],
                                name=op.f("fk_exercises_auto_rule_id_auto_incident_rules"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_exercises_incident_id_incidents"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercises")),
    )
    op.create_index(op.f("ix_exercises_status"), "exercises", ["status"])
    op.create_table(
        "exercise_participants",
        sa.Column("exercise_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["exercise_id"], ["exercises.id"],
                                name=op.f("fk_exercise_participants_exercise_id_exercises"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_exercise_participants_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("exercise_id", "user_id", name=op.f("pk_exercise_participants")),
    )
    op.create_index(op.f("ix_exercise_participants_user_id"), "exercise_participants", ["user_id"])
    op.create_table(
        "exercise_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("exercise_id", sa.Uuid(), nullable=False),
        sa.Column("at", _TZ, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["exercise_id"], ["exercises.id"], name=op.f("fk_exercise_events_exercise_id_exercises"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_events")),
    )
    op.create_index("ix_exercise_events_exercise_at", "exercise_events", ["exercise_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_exercise_events_exercise_at", table_name="exercise_events")
    op.drop_table("exercise_events")
    op.drop_index(op.f("ix_exercise_participants_user_id"), table_name="exercise_participants")
    op.drop_table("exercise_participants")
    op.drop_index(op.f("ix_exercises_status"), table_name="exercises")
    op.drop_table("exercises")
