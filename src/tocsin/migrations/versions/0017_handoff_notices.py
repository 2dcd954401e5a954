"""Hand-off notices (issue 16): "you go on call for <schedule> in 1 hour" and "you are now off call".

`users.handoff_notices` is the per-person switch (on by default, so existing users get them too).
`handoff_notices` records each hand-off a person was told about (schedule, person, on/off, the
instant of the hand-off), written in the same transaction as the outbox rows that carry the
notice, so a restarted or second engine never tells anyone twice. Rows are only needed while a
hand-off is near; the engine job deletes old ones.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handoff_notices', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_table('handoff_notices',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('schedule_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'], name=op.f('fk_handoff_notices_schedule_id_schedules'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_handoff_notices_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handoff_notices')),
    sa.UniqueConstraint('schedule_id', 'user_id', 'kind', 'at', name=op.f('uq_handoff_notices_once')),
    )
    with op.batch_alter_table('handoff_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handoff_notices_at'), ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('handoff_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handoff_notices_at'))
    op.drop_table('handoff_notices')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('handoff_notices')
