"""referral stats: daily click roll-up; click and order indexes for the stats pages

``click_day`` holds each link's clicks, visitors and bots per company-time day, written by
``flask perks tick`` (perks.referrals.rollup) once a day is over; ``click_rollup`` says how
far it goes. ``ix_click_clicked_at`` serves the company and fraud pages and the roll-up (a
period's clicks, in the order they were written); the two partial indexes on ``shop_order``
serve the stats pages' paid, attributed orders and the fraud page's flagged ones.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 19:22:38.759563

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('click_rollup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('through', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_click_rollup'))
    )
    op.create_table('click_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=False),
    sa.Column('clicks', sa.Integer(), nullable=False),
    sa.Column('visitors', sa.Integer(), nullable=False),
    sa.Column('bots', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['link_id'], ['referral_link.id'], name=op.f('fk_click_day_link_id_referral_link')),
    sa.PrimaryKeyConstraint('day', 'link_id', name=op.f('pk_click_day'))
    )
    with op.batch_alter_table('click', schema=None) as batch_op:
        batch_op.create_index('ix_click_clicked_at', ['clicked_at'], unique=False)

    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.create_index('ix_shop_order_flagged_created_at', ['created_at'], unique=False, postgresql_where=sa.text('attribution_flagged'), sqlite_where=sa.text('attribution_flagged'))
        batch_op.create_index('ix_shop_order_referred_paid_at', ['paid_at'], unique=False, postgresql_where=sa.text('referral_link_id IS NOT NULL'), sqlite_where=sa.text('referral_link_id IS NOT NULL'))


def downgrade():
    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.drop_index('ix_shop_order_referred_paid_at', postgresql_where=sa.text('referral_link_id IS NOT NULL'), sqlite_where=sa.text('referral_link_id IS NOT NULL'))
        batch_op.drop_index('ix_shop_order_flagged_created_at', postgresql_where=sa.text('attribution_flagged'), sqlite_where=sa.text('attribution_flagged'))

    with op.batch_alter_table('click', schema=None) as batch_op:
        batch_op.drop_index('ix_click_clicked_at')

    op.drop_table('click_day')
    op.drop_table('click_rollup')
