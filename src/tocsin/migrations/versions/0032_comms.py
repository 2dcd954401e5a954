"""Communication (issue 19): update templates, stakeholder subscriptions, update reminders.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'comms_templates',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('slug', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('severities', sa.JSON(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_comms_templates')),
        sa.UniqueConstraint('slug', name=op.f('uq_comms_templates_slug')),
    )
    op.create_table(
        'stakeholder_subscriptions',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=True),
        sa.Column('team_id', sa.Uuid(), nullable=True),
        sa.Column('service_id', sa.Uuid(), nullable=True),
        sa.Column('min_severity', sa.String(length=8), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_stakeholder_subscriptions_user_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_stakeholder_subscriptions_team_id_teams'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['service_id'], ['services.id'],
                                name=op.f('fk_stakeholder_subscriptions_service_id_services'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stakeholder_subscriptions')),
    )
    with op.batch_alter_table('stakeholder_subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_stakeholder_subscriptions_user_id', ['user_id'], unique=False)
        batch_op.create_index('ix_stakeholder_subscriptions_team_id', ['team_id'], unique=False)
    op.create_table(
        'comms_update_reminders',
        sa.Column('incident_id', sa.Uuid(), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'],
                                name=op.f('fk_comms_update_reminders_incident_id_incidents'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('incident_id', name=op.f('pk_comms_update_reminders')),
    )


def downgrade() -> None:
    op.drop_table('comms_update_reminders')
    with op.batch_alter_table('stakeholder_subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_stakeholder_subscriptions_team_id')
        batch_op.drop_index('ix_stakeholder_subscriptions_user_id')
    op.drop_table('stakeholder_subscriptions')
    op.drop_table('comms_templates')
