"""ratings: 1 to 5 stars and a comment on a used claim or a redeemed staff order

``rating`` holds one row per rated claim or order (unique), with the perk or product it
rates, whether the rater's name is shown and whether the owner published the comment
(``perks.feedback.ratings``). The downgrade drops it.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 18:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=True),
    sa.Column('perk_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('stars', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('show_name', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('published', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('moderated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('moderated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('stars >= 1 AND stars <= 5', name=op.f('ck_rating_stars')),
    sa.CheckConstraint('(claim_id IS NOT NULL AND perk_id IS NOT NULL AND order_id IS NULL AND product_id IS NULL) OR (claim_id IS NULL AND perk_id IS NULL AND order_id IS NOT NULL AND product_id IS NOT NULL)', name=op.f('ck_rating_subject')),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], name=op.f('fk_rating_claim_id_claim')),
    sa.ForeignKeyConstraint(['moderated_by_id'], ['user.id'], name=op.f('fk_rating_moderated_by_id_user')),
    sa.ForeignKeyConstraint(['order_id'], ['shop_order.id'], name=op.f('fk_rating_order_id_shop_order')),
    sa.ForeignKeyConstraint(['perk_id'], ['perk.id'], name=op.f('fk_rating_perk_id_perk')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_rating_product_id_product')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_rating_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating')),
    sa.UniqueConstraint('claim_id', name=op.f('uq_rating_claim_id')),
    sa.UniqueConstraint('order_id', name=op.f('uq_rating_order_id'))
    )
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rating_perk_id'), ['perk_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rating_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rating_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rating_user_id'))
        batch_op.drop_index(batch_op.f('ix_rating_product_id'))
        batch_op.drop_index(batch_op.f('ix_rating_perk_id'))

    op.drop_table('rating')
