"""The web app: public status pages (pages, grouped components and the log of their status
changes, public incidents and scheduled maintenances with their customer updates, subscribers
and the outbox of messages to them), console sessions and user invitations.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 13:51:34.403209
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('status_pages',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('logo_url', sa.String(length=2000), nullable=True),
    sa.Column('public_url', sa.String(length=2000), nullable=True),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_pages')),
    sa.UniqueConstraint('slug', name=op.f('uq_status_pages_slug'))
    )
    op.create_table('status_subscribers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('page_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=2000), nullable=False),
    sa.Column('confirm_token_hash', sa.String(length=64), nullable=True),
    sa.Column('unsubscribe_token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['page_id'], ['status_pages.id'], name=op.f('fk_status_subscribers_page_id_status_pages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_subscribers')),
    sa.UniqueConstraint('confirm_token_hash', name=op.f('uq_status_subscribers_confirm_token_hash')),
    sa.UniqueConstraint('page_id', 'kind', 'address', name=op.f('uq_status_subscribers_page_id_kind_address')),
    sa.UniqueConstraint('unsubscribe_token_hash', name=op.f('uq_status_subscribers_unsubscribe_token_hash'))
    )
    op.create_table('user_invites',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('org_role', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('invited_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_user_invites_invited_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_invites_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_invites')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_invites_token_hash'))
    )
    with op.batch_alter_table('user_invites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_invites_email'), ['email'], unique=False)

    op.create_table('web_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_web_sessions_token_hash'))
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('status_deliveries',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('subscriber_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['subscriber_id'], ['status_subscribers.id'], name=op.f('fk_status_deliveries_subscriber_id_status_subscribers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_deliveries'))
    )
    with op.batch_alter_table('status_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_status_deliveries_due', ['sent_at', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_status_deliveries_subscriber_id'), ['subscriber_id'], unique=False)

    op.create_table('status_incidents',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('page_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('incident_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('impact', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('scheduled_for', sa.DateTime(timezone=True), nullable=True),
    sa.Column('scheduled_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('auto_transition', sa.Boolean(), nullable=False),
    sa.Column('monitoring_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_status_incidents_created_by_id_users')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_status_incidents_incident_id_incidents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['page_id'], ['status_pages.id'], name=op.f('fk_status_incidents_page_id_status_pages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_incidents'))
    )
    with op.batch_alter_table('status_incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_incidents_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index('ix_status_incidents_page_created', ['page_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_status_incidents_status'), ['status'], unique=False)

    op.create_table('status_components',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('page_id', sa.Uuid(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=True),
    sa.Column('is_group', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('only_show_if_degraded', sa.Boolean(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=True),
    sa.Column('check_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['check_id'], ['checks.id'], name=op.f('fk_status_components_check_id_checks'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['status_components.id'], name=op.f('fk_status_components_group_id_status_components'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['page_id'], ['status_pages.id'], name=op.f('fk_status_components_page_id_status_pages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_status_components_service_id_services'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_components'))
    )
    with op.batch_alter_table('status_components', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_components_page_id'), ['page_id'], unique=False)

    op.create_table('status_updates',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('status_incident_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('affected_components', sa.JSON(), nullable=True),
    sa.Column('deliver_notifications', sa.Boolean(), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('display_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_status_updates_actor_id_users')),
    sa.ForeignKeyConstraint(['status_incident_id'], ['status_incidents.id'], name=op.f('fk_status_updates_status_incident_id_status_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_updates'))
    )
    with op.batch_alter_table('status_updates', schema=None) as batch_op:
        batch_op.create_index('ix_status_updates_incident_display', ['status_incident_id', 'display_at'], unique=False)

    op.create_table('status_component_changes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('component_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['status_components.id'], name=op.f('fk_status_component_changes_component_id_status_components'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_component_changes'))
    )
    with op.batch_alter_table('status_component_changes', schema=None) as batch_op:
        batch_op.create_index('ix_status_component_changes_component_at', ['component_id', 'at'], unique=False)

    op.create_table('status_incident_components',
    sa.Column('status_incident_id', sa.Uuid(), nullable=False),
    sa.Column('component_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['status_components.id'], name=op.f('fk_status_incident_components_component_id_status_components'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['status_incident_id'], ['status_incidents.id'], name=op.f('fk_status_incident_components_status_incident_id_status_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('status_incident_id', 'component_id', name=op.f('pk_status_incident_components'))
    )
    with op.batch_alter_table('status_incident_components', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_incident_components_component_id'), ['component_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('status_incident_components', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_incident_components_component_id'))

    op.drop_table('status_incident_components')
    with op.batch_alter_table('status_component_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_status_component_changes_component_at')

    op.drop_table('status_component_changes')
    with op.batch_alter_table('status_updates', schema=None) as batch_op:
        batch_op.drop_index('ix_status_updates_incident_display')

    op.drop_table('status_updates')
    with op.batch_alter_table('status_components', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_components_page_id'))

    op.drop_table('status_components')
    with op.batch_alter_table('status_incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_incidents_status'))
        batch_op.drop_index('ix_status_incidents_page_created')
        batch_op.drop_index(batch_op.f('ix_status_incidents_incident_id'))

    op.drop_table('status_incidents')
    with op.batch_alter_table('status_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_deliveries_subscriber_id'))
        batch_op.drop_index('ix_status_deliveries_due')

    op.drop_table('status_deliveries')
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_user_id'))

    op.drop_table('web_sessions')
    with op.batch_alter_table('user_invites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_invites_email'))

    op.drop_table('user_invites')
    op.drop_table('status_subscribers')
    op.drop_table('status_pages')
