"""Dedup keys per integration for PagerDuty Events v2 (issue 20): `alerts.dedup_scope` ("" for the
service, or the hex id of the integration whose keys are its own) joins the open-alert uniqueness.
Existing Events v2 alerts get their integration's scope, so their senders still acknowledge,
resolve and deduplicate them after the upgrade.

Revision ID: 0038
Revises: 0034
Create Date: 2026-12-06 23:55:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None

OPEN = sa.text("status <> 'resolved'")


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.add_column(sa.Column("dedup_scope", sa.String(length=32), server_default="", nullable=False))
    # One pass over alerts (no index on integration_id: a pass per integration would scan them all
    # again and again). The scope is the integration id's 32 hex digits: how SQLite stores the UUID.
    hex_id = ("replace(CAST(integration_id AS TEXT), '-', '')" if op.get_bind().dialect.name == "postgresql"
              else "lower(integration_id)")
    op.execute(f"UPDATE alerts SET dedup_scope = {hex_id} WHERE integration_id IN "
               "(SELECT id FROM integrations WHERE type = 'events_v2')")
    op.drop_index("uq_alerts_open_dedup", table_name="alerts")
    op.create_index("uq_alerts_open_dedup", "alerts", ["service_id", "dedup_scope", "dedup_key"], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    # Two integrations' open alerts may now share a key; keep the newest open one per (service, key) open.
    op.drop_index("uq_alerts_open_dedup", table_name="alerts")
    # In SQL (ids never round-trip through Python: a raw SQLite id is text, not a UUID); resolved
    # when last seen, as a resolved alert always has its resolve time.
    op.execute(
        "UPDATE alerts SET status = 'resolved', resolved_at = last_seen_at WHERE id IN (SELECT id FROM ("
        "SELECT id, row_number() OVER (PARTITION BY service_id, dedup_key ORDER BY first_seen_at DESC, id DESC) AS rn "
        "FROM alerts WHERE status <> 'resolved') ranked WHERE rn > 1)")
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.drop_column("dedup_scope")
    op.create_index("uq_alerts_open_dedup", "alerts", ["service_id", "dedup_key"], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)
