"""Regulatory clocks and obligations of security incidents (issue 17): what an incident exposes
(data categories, regions, people affected), its clocks (aware_at, discovered_at, classified_at,
materiality_determined_at, ransom_paid_at), the notification regimes chosen for it, and one row
per obligation owed with its computed due time, its filing and its reminder bookkeeping.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 15:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def _incident_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f(f"fk_{table}_incident_id_incidents"),
                                   ondelete="CASCADE")


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"),
                                   ondelete="SET NULL")


def upgrade() -> None:
    op.create_table(
        "security_exposures",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("data_categories", sa.JSON(), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("affected_count", sa.Integer(), nullable=True),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _incident_fk("security_exposures"), _user_fk("security_exposures", "updated_by_id"),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_security_exposures")),
    )
    op.create_table(
        "regulatory_clocks",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("clock", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by_id", sa.Uuid(), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        _incident_fk("regulatory_clocks"), _user_fk("regulatory_clocks", "set_by_id"),
        sa.PrimaryKeyConstraint("incident_id", "clock", name=op.f("pk_regulatory_clocks")),
    )
    op.create_table(
        "incident_regimes",
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("regime", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("chosen_by_id", sa.Uuid(), nullable=True),
        sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=False),
        _incident_fk("incident_regimes"), _user_fk("incident_regimes", "chosen_by_id"),
        sa.PrimaryKeyConstraint("incident_id", "regime", name=op.f("pk_incident_regimes")),
    )
    op.create_table(
        "obligations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("regime", sa.String(length=40), nullable=False),
        sa.Column("obligation", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("notify", sa.String(length=300), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_reason", sa.Text(), nullable=False),
        sa.Column("started", sa.Boolean(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("filed_reference", sa.String(length=300), nullable=True),
        sa.Column("filed_by_id", sa.Uuid(), nullable=True),
        sa.Column("evidence_ids", sa.JSON(), nullable=False),
        sa.Column("late_reason", sa.Text(), nullable=True),
        sa.Column("not_applicable", sa.Text(), nullable=True),
        sa.Column("reminded_lead", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _incident_fk("obligations"), _user_fk("obligations", "filed_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obligations")),
        sa.UniqueConstraint("incident_id", "regime", "obligation", name=op.f("uq_obligations_incident_id_regime_obligation")),
    )
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.create_index("ix_obligations_incident_id", ["incident_id"], unique=False)
        batch_op.create_index("ix_obligations_due_at", ["due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("obligations", schema=None) as batch_op:
        batch_op.drop_index("ix_obligations_due_at")
        batch_op.drop_index("ix_obligations_incident_id")
    op.drop_table("obligations")
    op.drop_table("incident_regimes")
    op.drop_table("regulatory_clocks")
    op.drop_table("security_exposures")
