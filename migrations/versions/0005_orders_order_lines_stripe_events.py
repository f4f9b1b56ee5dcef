"""orders, order lines, stripe events, staff discount

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 18:28:29.108131

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('shop_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('redemption_code', sa.String(length=16), nullable=False),
    sa.Column('status', sa.Enum('pending', 'paid', 'redeemed', 'expired', 'cancelled', 'partially_refunded', 'refunded', 'disputed', name='orderstatus', native_enum=False, length=24), nullable=False),
    sa.Column('customer_name', sa.String(length=120), nullable=False),
    sa.Column('customer_email', sa.String(length=254), nullable=False),
    sa.Column('customer_phone', sa.String(length=32), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('buyer_id', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('subtotal_amount', sa.BigInteger(), nullable=False),
    sa.Column('discount_amount', sa.BigInteger(), nullable=False),
    sa.Column('total_amount', sa.BigInteger(), nullable=False),
    sa.Column('discount_kind', sa.Enum('none', 'friends', 'staff', name='discountkind', native_enum=False, length=24), nullable=False),
    sa.Column('referral_link_id', sa.Integer(), nullable=True),
    sa.Column('referral_click_id', sa.BigInteger(), nullable=True),
    sa.Column('attribution_reason', sa.String(length=24), nullable=False),
    sa.Column('attribution_flagged', sa.Boolean(), nullable=False),
    sa.Column('checkout_session_id', sa.String(length=255), nullable=True),
    sa.Column('checkout_url', sa.Text(), nullable=True),
    sa.Column('checkout_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('charge_id', sa.String(length=255), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_amount', sa.BigInteger(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_reason', sa.String(length=24), nullable=False),
    sa.Column('redeemed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('redeemed_by_id', sa.Integer(), nullable=True),
    sa.Column('refunded_amount', sa.BigInteger(), nullable=False),
    sa.Column('dispute_status', sa.Enum('none', 'open', 'won', 'lost', name='disputestatus', native_enum=False, length=24), nullable=False),
    sa.Column('mismatch', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('discount_amount >= 0', name=op.f('ck_shop_order_discount')),
    sa.CheckConstraint('refunded_amount >= 0 AND refunded_amount <= total_amount', name=op.f('ck_shop_order_refunded')),
    sa.CheckConstraint('total_amount >= 0', name=op.f('ck_shop_order_total')),
    sa.ForeignKeyConstraint(['buyer_id'], ['user.id'], name=op.f('fk_shop_order_buyer_id_user')),
    sa.ForeignKeyConstraint(['redeemed_by_id'], ['user.id'], name=op.f('fk_shop_order_redeemed_by_id_user')),
    sa.ForeignKeyConstraint(['referral_link_id'], ['referral_link.id'], name=op.f('fk_shop_order_referral_link_id_referral_link')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shop_order')),
    sa.UniqueConstraint('checkout_session_id', name=op.f('uq_shop_order_checkout_session_id')),
    sa.UniqueConstraint('number', name=op.f('uq_shop_order_number')),
    sa.UniqueConstraint('redemption_code', name=op.f('uq_shop_order_redemption_code')),
    sa.UniqueConstraint('token', name=op.f('uq_shop_order_token'))
    )
    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shop_order_buyer_id'), ['buyer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shop_order_charge_id'), ['charge_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shop_order_customer_email'), ['customer_email'], unique=False)
        batch_op.create_index(batch_op.f('ix_shop_order_payment_intent_id'), ['payment_intent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shop_order_referral_link_id'), ['referral_link_id'], unique=False)
        batch_op.create_index('ix_shop_order_status_created', ['status', 'created_at'], unique=False)

    op.create_table('order_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('product_name', sa.String(length=160), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_list_amount', sa.BigInteger(), nullable=False),
    sa.Column('unit_amount', sa.BigInteger(), nullable=False),
    sa.Column('line_total_amount', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('quantity >= 1', name=op.f('ck_order_line_quantity')),
    sa.CheckConstraint('unit_amount >= 0 AND unit_amount <= unit_list_amount', name=op.f('ck_order_line_unit')),
    sa.ForeignKeyConstraint(['order_id'], ['shop_order.id'], name=op.f('fk_order_line_order_id_shop_order'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_order_line_product_id_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_line'))
    )
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_line_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_line_product_id'), ['product_id'], unique=False)

    op.create_table('stripe_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=80), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('stripe_created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.Enum('applied', 'no_change', 'ignored', 'mismatch', name='eventoutcome', native_enum=False, length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('replays', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['shop_order.id'], name=op.f('fk_stripe_event_order_id_shop_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_event')),
    sa.UniqueConstraint('event_id', name=op.f('uq_stripe_event_event_id'))
    )
    with op.batch_alter_table('stripe_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stripe_event_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stripe_event_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_stripe_event_type'), ['type'], unique=False)

    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('staff_discount_bps', sa.Integer(), nullable=False, server_default='0')
        )
        batch_op.create_check_constraint(
            'staff_discount', 'staff_discount_bps >= 0 AND staff_discount_bps <= 10000'
        )



def downgrade():
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_product_staff_discount'), type_='check')
        batch_op.drop_column('staff_discount_bps')

    with op.batch_alter_table('stripe_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stripe_event_type'))
        batch_op.drop_index(batch_op.f('ix_stripe_event_received_at'))
        batch_op.drop_index(batch_op.f('ix_stripe_event_order_id'))

    op.drop_table('stripe_event')
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_line_product_id'))
        batch_op.drop_index(batch_op.f('ix_order_line_order_id'))

    op.drop_table('order_line')
    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.drop_index('ix_shop_order_status_created')
        batch_op.drop_index(batch_op.f('ix_shop_order_referral_link_id'))
        batch_op.drop_index(batch_op.f('ix_shop_order_payment_intent_id'))
        batch_op.drop_index(batch_op.f('ix_shop_order_customer_email'))
        batch_op.drop_index(batch_op.f('ix_shop_order_charge_id'))
        batch_op.drop_index(batch_op.f('ix_shop_order_buyer_id'))

    op.drop_table('shop_order')
