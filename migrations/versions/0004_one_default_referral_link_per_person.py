"""one default referral link per person

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    # A partial unique index: many links per person, but only one of them the default.
    with op.batch_alter_table('referral_link', schema=None) as batch_op:
        batch_op.create_index(
            'uq_referral_link_default_user_id',
            ['user_id'],
            unique=True,
            sqlite_where=sa.text('is_default'),
            postgresql_where=sa.text('is_default'),
        )


def downgrade():
    with op.batch_alter_table('referral_link', schema=None) as batch_op:
        batch_op.drop_index('uq_referral_link_default_user_id')
