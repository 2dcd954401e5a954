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
    integrations = sa.table("integrations", sa.column("id", sa.Uuid()), sa.column("type", sa.String()))
    alerts = sa.table("alerts", sa.column("integration_id", sa.Uuid()), sa.column("dedup_scope", sa.String()))
    conn = op.get_bind()
    for (integration_id,) in conn.execute(sa.select(integrations.c.id).where(integrations.c.type == "events_v2")):
        conn.execute(sa.update(alerts).where(alerts.c.integration_id == integration_id)
                     .values(dedup_scope=integration_id.hex))
    op.drop_index("uq_alerts_open_dedup", table_name="alerts")
    op.create_index("uq_alerts_open_dedup", "alerts", ["service_id", "dedup_scope", "dedup_key"], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    # Two integrations' open alerts may now share a key; keep the newest open one per (service, key) open.
    op.drop_index("uq_alerts_open_dedup", table_name="alerts")
    conn = op.get_bind()
    dupes = conn.execute(sa.text(
        "SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY service_id, dedup_key "
        "ORDER BY first_seen_at DESC, id DESC) AS rn FROM alerts WHERE status <> 'resolved') ranked WHERE rn > 1"
    )).scalars().all()
    alerts = sa.table("alerts", sa.column("id", sa.Uuid()), sa.column("status", sa.String()))
    for alert_id in dupes:
        conn.execute(sa.update(alerts).where(alerts.c.id == alert_id).values(status="resolved"))
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.drop_column("dedup_scope")
    op.create_index("uq_alerts_open_dedup", "alerts", ["service_id", "dedup_key"], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)
