"""Roles (issue 19): role handbooks (an admin's edit; no row: the shipped default), the IC bench
(who is trained for a role, and the exercises people passed), and shadow schedule layers (their
people get the same pages, marked shadow, without being the responder).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "role_handbooks",
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("body_md", sa.Text(), nullable=False),
        sa.Column("updated_at", _TZ, nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_role_handbooks_updated_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("role", name=op.f("pk_role_handbooks")),
    )
    op.create_table(
        "role_training",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("trained", sa.Boolean(), nullable=False),
        sa.Column("trained_at", _TZ, nullable=True),
        sa.Column("marked_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_role_training_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["marked_by_id"], ["users.id"], name=op.f("fk_role_training_marked_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("user_id", "role", name=op.f("pk_role_training")),
    )
    op.create_table(
        "exercise_credits",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("exercise_id", sa.Uuid(), nullable=False),
        sa.Column("exercise_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("at", _TZ, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_exercise_credits_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_credits")),
        sa.UniqueConstraint("user_id", "exercise_id", "role", name=op.f("uq_exercise_credits_user_id_exercise_id_role")),
    )
    op.create_index(op.f("ix_exercise_credits_user_id"), "exercise_credits", ["user_id"])
    with op.batch_alter_table("schedule_layers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shadow", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("schedule_layers", schema=None) as batch_op:
        batch_op.drop_column("shadow")
    op.drop_index(op.f("ix_exercise_credits_user_id"), table_name="exercise_credits")
    op.drop_table("exercise_credits")
    op.drop_table("role_training")
    op.drop_table("role_handbooks")
