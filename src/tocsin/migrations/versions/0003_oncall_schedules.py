"""On-call schedules: schedules (with the SHA-256 of an optional iCalendar feed token), their
layers (a rotation: kind, time zone, start, shift length, restrictions as JSON), each layer's
ordered members, and overrides (indexed by schedule and end, to find the ones still to come).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 04:38:31.626398
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('schedules',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('team_id', sa.Uuid(), nullable=True),
    sa.Column('ical_token_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_schedules_team_id_teams'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedules')),
    sa.UniqueConstraint('ical_token_hash', name=op.f('uq_schedules_ical_token_hash')),
    sa.UniqueConstraint('slug', name=op.f('uq_schedules_slug'))
    )
    op.create_table('schedule_layers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('schedule_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('rotation_kind', sa.String(length=8), nullable=False),
    sa.Column('rotation_timezone', sa.String(length=64), nullable=False),
    sa.Column('rotation_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('shift_hours', sa.Integer(), nullable=False),
    sa.Column('restrictions', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'], name=op.f('fk_schedule_layers_schedule_id_schedules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_layers'))
    )
    with op.batch_alter_table('schedule_layers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_layers_schedule_id'), ['schedule_id'], unique=False)

    op.create_table('schedule_overrides',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('schedule_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('replaces_user_id', sa.Uuid(), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_schedule_overrides_created_by_id_users')),
    sa.ForeignKeyConstraint(['replaces_user_id'], ['users.id'], name=op.f('fk_schedule_overrides_replaces_user_id_users')),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'], name=op.f('fk_schedule_overrides_schedule_id_schedules'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_schedule_overrides_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_overrides'))
    )
    with op.batch_alter_table('schedule_overrides', schema=None) as batch_op:
        batch_op.create_index('ix_schedule_overrides_schedule_id_ends_at', ['schedule_id', 'ends_at'], unique=False)

    op.create_table('schedule_layer_members',
    sa.Column('layer_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['layer_id'], ['schedule_layers.id'], name=op.f('fk_schedule_layer_members_layer_id_schedule_layers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_schedule_layer_members_user_id_users')),
    sa.PrimaryKeyConstraint('layer_id', 'position', name=op.f('pk_schedule_layer_members'))
    )
    with op.batch_alter_table('schedule_layer_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_layer_members_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('schedule_layer_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedule_layer_members_user_id'))

    op.drop_table('schedule_layer_members')
    with op.batch_alter_table('schedule_overrides', schema=None) as batch_op:
        batch_op.drop_index('ix_schedule_overrides_schedule_id_ends_at')

    op.drop_table('schedule_overrides')
    with op.batch_alter_table('schedule_layers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_schedule_layers_schedule_id'))

    op.drop_table('schedule_layers')
    op.drop_table('schedules')
