"""Paging: contact methods (with a hashed verification code) and notification rules per user,
used one-time links, escalations for incidents (paging for an Incident Commander: `alert_id`
becomes nullable beside a unique `incident_id`), and the outbox rows' channel, destination,
contact method, provider id, delivery time, bundle and SMS reply code.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 07:46:41.324803
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('used_links',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_used_links'))
    )
    with op.batch_alter_table('used_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_used_links_expires_at'), ['expires_at'], unique=False)

    op.create_table('contact_methods',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=1000), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verify_hash', sa.String(length=64), nullable=True),
    sa.Column('verify_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verify_attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_contact_methods_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_methods')),
    sa.UniqueConstraint('user_id', 'type', 'address', name='user_type_address')
    )
    with op.batch_alter_table('contact_methods', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_methods_user_id'), ['user_id'], unique=False)

    op.create_table('notification_rules',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('contact_method_id', sa.Uuid(), nullable=False),
    sa.Column('delay_minutes', sa.Integer(), nullable=False),
    sa.Column('urgency', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('delay_minutes BETWEEN 0 AND 1440', name=op.f('ck_notification_rules_delay_range')),
    sa.ForeignKeyConstraint(['contact_method_id'], ['contact_methods.id'], name=op.f('fk_notification_rules_contact_method_id_contact_methods'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_rules_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_rules')),
    sa.UniqueConstraint('contact_method_id', 'delay_minutes', 'urgency', name='method_delay_urgency')
    )
    with op.batch_alter_table('notification_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_rules_contact_method_id'), ['contact_method_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_rules_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('incident_id', sa.Uuid(), nullable=True))
        batch_op.alter_column('alert_id',
               existing_type=sa.Uuid(),
               nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_escalations_incident_id'), ['incident_id'])
        batch_op.create_foreign_key(batch_op.f('fk_escalations_incident_id_incidents'), 'incidents', ['incident_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('incident_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('contact_method_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('channel', sa.String(length=16), nullable=False, server_default='email'))
        batch_op.add_column(sa.Column('destination', sa.String(length=1000), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('provider_id', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('bundle_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('reply_code', sa.String(length=8), nullable=True))
        batch_op.create_index('ix_notifications_destination_sent', ['channel', 'destination', 'sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_provider_id'), ['provider_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_notifications_incident_id_incidents'), 'incidents', ['incident_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(batch_op.f('fk_notifications_contact_method_id_contact_methods'), 'contact_methods', ['contact_method_id'], ['id'], ondelete='SET NULL')



def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notifications_contact_method_id_contact_methods'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_notifications_incident_id_incidents'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_notifications_provider_id'))
        batch_op.drop_index(batch_op.f('ix_notifications_incident_id'))
        batch_op.drop_index('ix_notifications_destination_sent')
        batch_op.drop_column('reply_code')
        batch_op.drop_column('bundle_id')
        batch_op.drop_column('provider_id')
        batch_op.drop_column('delivered_at')
        batch_op.drop_column('destination')
        batch_op.drop_column('channel')
        batch_op.drop_column('contact_method_id')
        batch_op.drop_column('incident_id')

    with op.batch_alter_table('escalations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_escalations_incident_id_incidents'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_escalations_incident_id'), type_='unique')
        batch_op.alter_column('alert_id',
               existing_type=sa.Uuid(),
               nullable=False)
        batch_op.drop_column('incident_id')

    with op.batch_alter_table('notification_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_rules_user_id'))
        batch_op.drop_index(batch_op.f('ix_notification_rules_contact_method_id'))

    op.drop_table('notification_rules')
    with op.batch_alter_table('contact_methods', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_methods_user_id'))

    op.drop_table('contact_methods')
    with op.batch_alter_table('used_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_used_links_expires_at'))

    op.drop_table('used_links')
