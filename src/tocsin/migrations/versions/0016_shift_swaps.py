"""Shift swaps ("cover me" requests with offers; an accepted offer becomes an override) and each
person's own iCalendar feed of their shifts across schedules (issue 16).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('shift_swaps',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('schedule_id', sa.Uuid(), nullable=False),
    sa.Column('requester_id', sa.Uuid(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('taker_id', sa.Uuid(), nullable=True),
    sa.Column('override_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'], name=op.f('fk_shift_swaps_schedule_id_schedules'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_shift_swaps_requester_id_users')),
    sa.ForeignKeyConstraint(['taker_id'], ['users.id'], name=op.f('fk_shift_swaps_taker_id_users')),
    sa.ForeignKeyConstraint(['override_id'], ['schedule_overrides.id'],
                            name=op.f('fk_shift_swaps_override_id_schedule_overrides'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shift_swaps'))
    )
    with op.batch_alter_table('shift_swaps', schema=None) as batch_op:
        batch_op.create_index('ix_shift_swaps_schedule_id_starts_at', ['schedule_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_shift_swaps_requester_id'), ['requester_id'], unique=False)

    op.create_table('shift_swap_offers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('swap_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['swap_id'], ['shift_swaps.id'], name=op.f('fk_shift_swap_offers_swap_id_shift_swaps'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_shift_swap_offers_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shift_swap_offers')),
    sa.UniqueConstraint('swap_id', 'user_id', name=op.f('uq_shift_swap_offers_swap_id_user_id'))
    )

    op.create_table('personal_ical_feeds',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_personal_ical_feeds_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_personal_ical_feeds')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_personal_ical_feeds_token_hash'))
    )


def downgrade() -> None:
    op.drop_table('personal_ical_feeds')
    op.drop_table('shift_swap_offers')
    with op.batch_alter_table('shift_swaps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shift_swaps_requester_id'))
        batch_op.drop_index('ix_shift_swaps_schedule_id_starts_at')
    op.drop_table('shift_swaps')
