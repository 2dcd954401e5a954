"""Learning from incidents: postmortem templates, postmortems (one per incident) with their
revisions, reviewers and comments; problems and the incidents linked to them; action items
and the outbox of their tracker-sync webhooks; and the reason an incident may close without
a published postmortem.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 11:03:31.605991
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('postmortem_templates',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('sections', sa.JSON(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_postmortem_templates')),
    sa.UniqueConstraint('name', name=op.f('uq_postmortem_templates_name'))
    )
    op.create_table('postmortems',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('incident_id', sa.Uuid(), nullable=False),
    sa.Column('template_id', sa.Uuid(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('public_text', sa.Text(), nullable=False),
    sa.Column('public_published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_meeting_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('in_review_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_postmortems_created_by_id_users')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_postmortems_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_postmortems_published_by_id_users')),
    sa.ForeignKeyConstraint(['template_id'], ['postmortem_templates.id'], name=op.f('fk_postmortems_template_id_postmortem_templates'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_postmortems')),
    sa.UniqueConstraint('incident_id', name=op.f('uq_postmortems_incident_id'))
    )
    with op.batch_alter_table('postmortems', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postmortems_status'), ['status'], unique=False)

    op.create_table('problems',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('root_cause', sa.Text(), nullable=False),
    sa.Column('known_error', sa.Text(), nullable=False),
    sa.Column('workaround', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=True),
    sa.Column('dedup_keys', sa.JSON(), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('known_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_problems_created_by_id_users')),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_problems_service_id_services'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_problems')),
    sa.UniqueConstraint('number', name=op.f('uq_problems_number'))
    )
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_problems_service_id'), ['service_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_problems_status'), ['status'], unique=False)

    op.create_table('action_items',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=True),
    sa.Column('team_id', sa.Uuid(), nullable=True),
    sa.Column('incident_id', sa.Uuid(), nullable=True),
    sa.Column('postmortem_id', sa.Uuid(), nullable=True),
    sa.Column('problem_id', sa.Uuid(), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('external_url', sa.String(length=1000), nullable=True),
    sa.Column('reminded_before_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overdue_reminders', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_action_items_created_by_id_users')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_action_items_incident_id_incidents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_action_items_owner_id_users')),
    sa.ForeignKeyConstraint(['postmortem_id'], ['postmortems.id'], name=op.f('fk_action_items_postmortem_id_postmortems'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], name=op.f('fk_action_items_problem_id_problems'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_action_items_team_id_teams'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_items')),
    sa.UniqueConstraint('number', name=op.f('uq_action_items_number'))
    )
    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_items_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_items_external_id'), ['external_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_items_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_items_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_items_postmortem_id'), ['postmortem_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_items_problem_id'), ['problem_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_items_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_items_team_id'), ['team_id'], unique=False)

    op.create_table('postmortem_comments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('postmortem_id', sa.Uuid(), nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=True),
    sa.Column('section', sa.String(length=64), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_postmortem_comments_author_id_users')),
    sa.ForeignKeyConstraint(['postmortem_id'], ['postmortems.id'], name=op.f('fk_postmortem_comments_postmortem_id_postmortems'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_postmortem_comments'))
    )
    with op.batch_alter_table('postmortem_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postmortem_comments_postmortem_id'), ['postmortem_id'], unique=False)

    op.create_table('postmortem_reviewers',
    sa.Column('postmortem_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['postmortem_id'], ['postmortems.id'], name=op.f('fk_postmortem_reviewers_postmortem_id_postmortems'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_postmortem_reviewers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('postmortem_id', 'user_id', name=op.f('pk_postmortem_reviewers'))
    )
    op.create_table('postmortem_revisions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('postmortem_id', sa.Uuid(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('edited_by_id', sa.Uuid(), nullable=True),
    sa.Column('edited_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['edited_by_id'], ['users.id'], name=op.f('fk_postmortem_revisions_edited_by_id_users')),
    sa.ForeignKeyConstraint(['postmortem_id'], ['postmortems.id'], name=op.f('fk_postmortem_revisions_postmortem_id_postmortems'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_postmortem_revisions')),
    sa.UniqueConstraint('postmortem_id', 'revision', name=op.f('uq_postmortem_revisions_postmortem_id_revision'))
    )
    with op.batch_alter_table('postmortem_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_postmortem_revisions_postmortem_id'), ['postmortem_id'], unique=False)

    op.create_table('problem_incidents',
    sa.Column('problem_id', sa.Uuid(), nullable=False),
    sa.Column('incident_id', sa.Uuid(), nullable=False),
    sa.Column('recurrence', sa.Boolean(), nullable=False),
    sa.Column('linked_by_id', sa.Uuid(), nullable=True),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_problem_incidents_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['linked_by_id'], ['users.id'], name=op.f('fk_problem_incidents_linked_by_id_users')),
    sa.ForeignKeyConstraint(['problem_id'], ['problems.id'], name=op.f('fk_problem_incidents_problem_id_problems'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('problem_id', 'incident_id', name=op.f('pk_problem_incidents'))
    )
    with op.batch_alter_table('problem_incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_problem_incidents_incident_id'), ['incident_id'], unique=False)

    op.create_table('action_syncs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('action_item_id', sa.Uuid(), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('send_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['action_item_id'], ['action_items.id'], name=op.f('fk_action_syncs_action_item_id_action_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_syncs'))
    )
    with op.batch_alter_table('action_syncs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_syncs_action_item_id'), ['action_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_syncs_status'), ['status'], unique=False)

    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('postmortem_waived_reason', sa.Text(), nullable=True))

    # ACT-n and PRB-n numbers: the rows exist up front so the first two concurrent creations
    # serialise on the row lock instead of racing to insert it.
    op.bulk_insert(sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.BigInteger)),
                   [{"name": "action_item", "value": 0}, {"name": "problem", "value": 0}])


def downgrade() -> None:
    op.execute("DELETE FROM counters WHERE name IN ('action_item', 'problem')")
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('postmortem_waived_reason')

    with op.batch_alter_table('action_syncs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_syncs_status'))
        batch_op.drop_index(batch_op.f('ix_action_syncs_action_item_id'))

    op.drop_table('action_syncs')
    with op.batch_alter_table('problem_incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_problem_incidents_incident_id'))

    op.drop_table('problem_incidents')
    with op.batch_alter_table('postmortem_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postmortem_revisions_postmortem_id'))

    op.drop_table('postmortem_revisions')
    op.drop_table('postmortem_reviewers')
    with op.batch_alter_table('postmortem_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postmortem_comments_postmortem_id'))

    op.drop_table('postmortem_comments')
    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_items_team_id'))
        batch_op.drop_index(batch_op.f('ix_action_items_status'))
        batch_op.drop_index(batch_op.f('ix_action_items_problem_id'))
        batch_op.drop_index(batch_op.f('ix_action_items_postmortem_id'))
        batch_op.drop_index(batch_op.f('ix_action_items_owner_id'))
        batch_op.drop_index(batch_op.f('ix_action_items_incident_id'))
        batch_op.drop_index(batch_op.f('ix_action_items_external_id'))
        batch_op.drop_index(batch_op.f('ix_action_items_due_at'))

    op.drop_table('action_items')
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_problems_status'))
        batch_op.drop_index(batch_op.f('ix_problems_service_id'))

    op.drop_table('problems')
    with op.batch_alter_table('postmortems', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postmortems_status'))

    op.drop_table('postmortems')
    op.drop_table('postmortem_templates')
