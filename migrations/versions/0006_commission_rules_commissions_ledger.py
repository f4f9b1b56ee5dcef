"""commission rules, commissions, append-only ledger

Ledger entries are never updated or deleted (perks.commissions.models guards it); the
finance capability adds payout batches on top in 0007.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 18:40:41.220761

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('commission_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.Enum('default', 'category', 'product', name='rulescope', native_enum=False, length=16), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('percent', 'flat', name='rulekind', native_enum=False, length=16), nullable=False),
    sa.Column('rate_bps', sa.Integer(), nullable=True),
    sa.Column('flat_amount', sa.BigInteger(), nullable=True),
    sa.Column('cap_amount', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind = 'percent' AND rate_bps IS NOT NULL AND rate_bps >= 0 AND rate_bps <= 10000 AND flat_amount IS NULL) OR (kind = 'flat' AND flat_amount IS NOT NULL AND flat_amount >= 0 AND rate_bps IS NULL AND currency IS NOT NULL)", name=op.f('ck_commission_rule_kind')),
    sa.CheckConstraint("(scope = 'default' AND category_id IS NULL AND product_id IS NULL) OR (scope = 'category' AND category_id IS NOT NULL AND product_id IS NULL) OR (scope = 'product' AND product_id IS NOT NULL AND category_id IS NULL)", name=op.f('ck_commission_rule_scope')),
    sa.CheckConstraint('cap_amount IS NULL OR (cap_amount >= 0 AND currency IS NOT NULL)', name=op.f('ck_commission_rule_cap')),
    sa.CheckConstraint('effective_to IS NULL OR effective_to >= effective_from', name=op.f('ck_commission_rule_effective')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_commission_rule_version')),
    sa.ForeignKeyConstraint(['category_id'], ['product_category.id'], name=op.f('fk_commission_rule_category_id_product_category')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_commission_rule_created_by_id_user')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_commission_rule_product_id_product')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['commission_rule.id'], name=op.f('fk_commission_rule_supersedes_id_commission_rule')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commission_rule'))
    )
    with op.batch_alter_table('commission_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commission_rule_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commission_rule_product_id'), ['product_id'], unique=False)
        batch_op.create_index('ix_commission_rule_scope_from', ['scope', 'effective_from'], unique=False)

    op.create_table('commission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_line_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('referral_link_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('base_amount', sa.BigInteger(), nullable=False),
    sa.Column('refunded_base_amount', sa.BigInteger(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('rule_version', sa.Integer(), nullable=True),
    sa.Column('rule_kind', sa.Enum('percent', 'flat', name='rulekind', native_enum=False, length=16), nullable=True),
    sa.Column('rate_bps', sa.Integer(), nullable=True),
    sa.Column('flat_amount', sa.BigInteger(), nullable=True),
    sa.Column('cap_amount', sa.BigInteger(), nullable=True),
    sa.Column('original_amount', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('earned_amount', sa.BigInteger(), nullable=False),
    sa.Column('reversed_amount', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'earned', 'payable', 'paid', 'voided', 'on_hold', name='commissionstate', native_enum=False, length=16), nullable=False),
    sa.Column('earned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('payable_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.Enum('refunded', 'dispute_lost', 'cancelled', name='voidreason', native_enum=False, length=24), nullable=True),
    sa.Column('held_from_state', sa.Enum('pending', 'earned', 'payable', 'paid', 'voided', 'on_hold', name='commissionstate', native_enum=False, length=16), nullable=True),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(state = 'on_hold' AND held_from_state IS NOT NULL) OR (state <> 'on_hold' AND held_from_state IS NULL)", name=op.f('ck_commission_held')),
    sa.CheckConstraint("(state = 'voided' AND void_reason IS NOT NULL AND voided_at IS NOT NULL) OR (state <> 'voided' AND void_reason IS NULL)", name=op.f('ck_commission_voided')),
    sa.CheckConstraint('amount >= 0 AND amount <= original_amount', name=op.f('ck_commission_amount')),
    sa.CheckConstraint('base_amount >= 0', name=op.f('ck_commission_base')),
    sa.CheckConstraint('earned_amount >= 0 AND reversed_amount >= 0 AND reversed_amount <= earned_amount', name=op.f('ck_commission_earned')),
    sa.CheckConstraint('refunded_base_amount >= 0 AND refunded_base_amount <= base_amount', name=op.f('ck_commission_refunded_base')),
    sa.ForeignKeyConstraint(['order_id'], ['shop_order.id'], name=op.f('fk_commission_order_id_shop_order')),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_line.id'], name=op.f('fk_commission_order_line_id_order_line')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_commission_product_id_product')),
    sa.ForeignKeyConstraint(['referral_link_id'], ['referral_link.id'], name=op.f('fk_commission_referral_link_id_referral_link')),
    sa.ForeignKeyConstraint(['rule_id'], ['commission_rule.id'], name=op.f('fk_commission_rule_id_commission_rule')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_commission_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commission')),
    sa.UniqueConstraint('order_line_id', name=op.f('uq_commission_order_line_id'))
    )
    with op.batch_alter_table('commission', schema=None) as batch_op:
        batch_op.create_index('ix_commission_created_at', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_commission_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commission_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commission_referral_link_id'), ['referral_link_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commission_rule_id'), ['rule_id'], unique=False)
        batch_op.create_index('ix_commission_state_payable_at', ['state', 'payable_at'], unique=False)
        batch_op.create_index('ix_commission_user_id_state', ['user_id', 'state'], unique=False)

    op.create_table('ledger_entry',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('commission_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('earn', 'reversal', 'adjustment', 'payout', name='entrykind', native_enum=False, length=16), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('payout_batch_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("(kind = 'earn' AND amount > 0 AND commission_id IS NOT NULL) OR (kind = 'reversal' AND amount < 0 AND commission_id IS NOT NULL) OR (kind = 'adjustment' AND amount <> 0 AND reason <> '') OR (kind = 'payout' AND amount < 0 AND commission_id IS NULL)", name=op.f('ck_ledger_entry_kind_sign')),
    sa.CheckConstraint("payout_batch_id IS NULL OR kind = 'payout'", name=op.f('ck_ledger_entry_payout_batch')),
    sa.ForeignKeyConstraint(['commission_id'], ['commission.id'], name=op.f('fk_ledger_entry_commission_id_commission')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_ledger_entry_created_by_id_user')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_ledger_entry_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entry'))
    )
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_entry_commission_id'), ['commission_id'], unique=False)
        batch_op.create_index('ix_ledger_entry_kind_created_at', ['kind', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entry_payout_batch_id'), ['payout_batch_id'], unique=False)
        batch_op.create_index('ix_ledger_entry_user_id_created_at', ['user_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entry_user_id_created_at')
        batch_op.drop_index(batch_op.f('ix_ledger_entry_payout_batch_id'))
        batch_op.drop_index('ix_ledger_entry_kind_created_at')
        batch_op.drop_index(batch_op.f('ix_ledger_entry_commission_id'))
    op.drop_table('ledger_entry')
    with op.batch_alter_table('commission', schema=None) as batch_op:
        batch_op.drop_index('ix_commission_user_id_state')
        batch_op.drop_index('ix_commission_state_payable_at')
        batch_op.drop_index(batch_op.f('ix_commission_rule_id'))
        batch_op.drop_index(batch_op.f('ix_commission_referral_link_id'))
        batch_op.drop_index(batch_op.f('ix_commission_product_id'))
        batch_op.drop_index(batch_op.f('ix_commission_order_id'))
        batch_op.drop_index('ix_commission_created_at')
    op.drop_table('commission')
    with op.batch_alter_table('commission_rule', schema=None) as batch_op:
        batch_op.drop_index('ix_commission_rule_scope_from')
        batch_op.drop_index(batch_op.f('ix_commission_rule_product_id'))
        batch_op.drop_index(batch_op.f('ix_commission_rule_category_id'))
    op.drop_table('commission_rule')
