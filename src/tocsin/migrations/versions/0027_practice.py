"""Preparation and practice (issue 19), the shared columns: drill incidents and services (an
exercise's, marked everywhere and kept out of real reports and public pages), an incident's type
(a slug of an incident type: its custom fields, checklist and templates) and its custom field values.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 21:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('drill', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('incident_type', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('custom_fields', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_incidents_drill'), ['drill'], unique=False)
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.add_column(sa.Column('drill', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_column('drill')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_drill'))
        batch_op.drop_column('custom_fields')
        batch_op.drop_column('incident_type')
        batch_op.drop_column('drill')
