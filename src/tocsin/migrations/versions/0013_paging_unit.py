"""Paging unit: a service pages per alert or per alert group (issue 15, "one page per group in a
storm"), and an escalation can page for a whole alert group.

`services.paging_unit` is added with the server default 'alert', so every service that exists
when this runs keeps paging per alert; services created afterwards get 'group' from
`services.service.create_service`. `escalations.group_id` is unique: one escalation per group.

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-10 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paging_unit', sa.String(length=8), server_default='alert', nullable=False))
        batch_op.create_check_constraint(op.f('ck_services_paging_unit_values'),
                                         "paging_unit IN ('alert', 'group')")
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_escalations_group_id_alert_groups'), 'alert_groups',
                                    ['group_id'], ['id'], ondelete='CASCADE')
        batch_op.create_unique_constraint(batch_op.f('uq_escalations_group_id'), ['group_id'])


def downgrade() -> None:
    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_escalations_group_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_escalations_group_id_alert_groups'), type_='foreignkey')
        batch_op.drop_column('group_id')
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_services_paging_unit_values'), type_='check')
        batch_op.drop_column('paging_unit')
