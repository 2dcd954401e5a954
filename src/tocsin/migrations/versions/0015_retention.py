"""Retention: an index on the time column of every table the retention job prunes, so that finding
the oldest rows that may go is a range scan whatever the table's size (issue 15). `throttles` and
`used_links` already have theirs (`last_failure_at`, `expires_at`).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-10 10:00:00.000000
"""

from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

INDEXES = [
    ("alert_events", "ix_alert_events_received_at", "received_at"),
    ("alert_decisions", "ix_alert_decisions_at", "at"),
    ("notifications", "ix_notifications_created_at", "created_at"),
    ("check_results", "ix_check_results_at", "at"),
    ("status_deliveries", "ix_status_deliveries_created_at", "created_at"),
]


def upgrade() -> None:
    for table, name, column in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, [column], unique=False)


def downgrade() -> None:
    for table, name, _column in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
