"""Inhibition: rules in Alertmanager's form, and which firing alert holds an alert back (issue 15).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inhibition_rules',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=True),
    sa.Column('source_matchers', sa.JSON(), nullable=False),
    sa.Column('target_matchers', sa.JSON(), nullable=False),
    sa.Column('equal', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_inhibition_rules_service_id_services'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inhibition_rules'))
    )
    with op.batch_alter_table('inhibition_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inhibition_rules_service_id'), ['service_id'], unique=False)

    # A plain ADD COLUMN (no foreign key), so SQLite does not rebuild the alerts table.
    op.add_column('alerts', sa.Column('inhibited_by', sa.Uuid(), nullable=True))
    op.create_index('ix_alerts_inhibited_by', 'alerts', ['inhibited_by'], unique=False,
                    sqlite_where=sa.text('inhibited_by IS NOT NULL'),
                    postgresql_where=sa.text('inhibited_by IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_alerts_inhibited_by', table_name='alerts', sqlite_where=sa.text('inhibited_by IS NOT NULL'),
                  postgresql_where=sa.text('inhibited_by IS NOT NULL'))
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('inhibited_by')
    with op.batch_alter_table('inhibition_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inhibition_rules_service_id'))
    op.drop_table('inhibition_rules')
