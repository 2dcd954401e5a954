"""Service level objectives (issue 20): the objectives per service, their good/total counts in
one-minute buckets (a 30-day window is a sum over an index range), and the idempotency keys of
counts pushed through the API.

Revision ID: 0037
Revises: 0034
Create Date: 2026-12-07 00:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slos",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("check_id", sa.Uuid(), nullable=True),
        sa.Column("latency_threshold_ms", sa.Integer(), nullable=True),
        sa.Column("good_query", sa.String(length=2000), nullable=True),
        sa.Column("total_query", sa.String(length=2000), nullable=True),
        sa.Column("alerting", sa.Boolean(), nullable=False),
        sa.Column("firing", sa.JSON(), nullable=False),
        sa.Column("read_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_eval_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_evaluated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('availability', 'latency')", name=op.f("ck_slos_kind_values")),
        sa.CheckConstraint("source IN ('check', 'push', 'prometheus')", name=op.f("ck_slos_source_values")),
        sa.CheckConstraint("target > 0 AND target < 100", name=op.f("ck_slos_target_range")),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_slos_service_id_services"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["check_id"], ["checks.id"], name=op.f("fk_slos_check_id_checks"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slos")),
        sa.UniqueConstraint("service_id", "name", name=op.f("uq_slos_service_id_name")),
    )
    with op.batch_alter_table("slos", schema=None) as batch_op:
        batch_op.create_index("ix_slos_service_id", ["service_id"], unique=False)
        batch_op.create_index("ix_slos_check_id", ["check_id"], unique=False)
        batch_op.create_index("ix_slos_next_eval_at", ["next_eval_at"], unique=False)
    op.create_table(
        "slo_buckets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slo_id", sa.Uuid(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("good", sa.Float(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["slo_id"], ["slos.id"], name=op.f("fk_slo_buckets_slo_id_slos"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slo_buckets")),
        sa.UniqueConstraint("slo_id", "start", name=op.f("uq_slo_buckets_slo_id_start")),
    )
    with op.batch_alter_table("slo_buckets", schema=None) as batch_op:
        batch_op.create_index("ix_slo_buckets_start", ["start"], unique=False)
    op.create_table(
        "slo_event_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("slo_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["slo_id"], ["slos.id"], name=op.f("fk_slo_event_keys_slo_id_slos"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slo_event_keys")),
        sa.UniqueConstraint("slo_id", "key", name=op.f("uq_slo_event_keys_slo_id_key")),
    )
    with op.batch_alter_table("slo_event_keys", schema=None) as batch_op:
        batch_op.create_index("ix_slo_event_keys_at", ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slo_event_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_slo_event_keys_at")
    op.drop_table("slo_event_keys")
    with op.batch_alter_table("slo_buckets", schema=None) as batch_op:
        batch_op.drop_index("ix_slo_buckets_start")
    op.drop_table("slo_buckets")
    with op.batch_alter_table("slos", schema=None) as batch_op:
        batch_op.drop_index("ix_slos_next_eval_at")
        batch_op.drop_index("ix_slos_check_id")
        batch_op.drop_index("ix_slos_service_id")
    op.drop_table("slos")
