"""Trust (issue 14): the keyed audit chain's switch point, and when each held alert's hold ends.

`audit_keyed_from` is the last audit entry written before the chain was keyed: those keep their
plain SHA-256 hashes and verify as before; every later entry is an HMAC under the audit key.

`alerts.held_until` is when a held (suppressed) alert's silence, maintenance window or flap
window ends, so that the engine re-checks only the holds that are due. Alerts held before this
revision get their first-seen time: due at once, and given their real end on that first check.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

HELD = sa.text("suppressed_by IS NOT NULL")


def upgrade() -> None:
    op.execute("INSERT INTO counters (name, value) "
               "SELECT 'audit_keyed_from', COALESCE((SELECT value FROM counters WHERE name = 'audit'), 0)")
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_alerts_held_until', ['held_until'], unique=False, sqlite_where=HELD,
                              postgresql_where=HELD)
    op.execute("UPDATE alerts SET held_until = first_seen_at WHERE suppressed_by IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_held_until', sqlite_where=HELD, postgresql_where=HELD)
        batch_op.drop_column('held_until')
    # Keyed entries cannot be verified by the older code: a downgrade keeps them, and its
    # `tocsin audit verify` reports every entry after the switch point as edited.
    op.execute("DELETE FROM counters WHERE name = 'audit_keyed_from'")
