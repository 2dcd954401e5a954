"""Guardrails (issue 19): `guardrail_trips`, one row per time a rule tripped on an incident until it
cleared (at most one uncleared row per incident and rule).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "guardrail_trips",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("tripped_at", _TZ, nullable=False),
        sa.Column("cleared_at", _TZ, nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("notified_at", _TZ, nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"],
                                name=op.f("fk_guardrail_trips_incident_id_incidents"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guardrail_trips")),
    )
    op.create_index(op.f("ix_guardrail_trips_incident_id"), "guardrail_trips", ["incident_id"])
    op.create_index(op.f("ix_guardrail_trips_tripped_at"), "guardrail_trips", ["tripped_at"])
    op.create_index("ix_guardrail_trips_open", "guardrail_trips", ["incident_id", "rule"], unique=True,
                    sqlite_where=sa.text("cleared_at IS NULL"), postgresql_where=sa.text("cleared_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_guardrail_trips_open", table_name="guardrail_trips")
    op.drop_index(op.f("ix_guardrail_trips_tripped_at"), table_name="guardrail_trips")
    op.drop_index(op.f("ix_guardrail_trips_incident_id"), table_name="guardrail_trips")
    op.drop_table("guardrail_trips")
