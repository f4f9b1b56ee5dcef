"""payout batches, lines and items

Finance's payout batches (four-eyes), one line per person and currency, and one item per
ledger entry counted; ``payout_item.claimed_entry_id`` is unique so no ledger entry is ever
held by two open batches at once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 18:52:05.635402

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('payout_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=24), nullable=False),
    sa.Column('cutoff_date', sa.Date(), nullable=False),
    sa.Column('cutoff_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('draft', 'approved', 'paid', 'cancelled', name='batchstatus', native_enum=False, length=16), nullable=False),
    sa.Column('drafted_by_id', sa.Integer(), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_by_id', sa.Integer(), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('payment_reference', sa.String(length=120), nullable=False),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(status = 'draft' AND approved_at IS NULL AND paid_at IS NULL) OR (status = 'approved' AND approved_at IS NOT NULL AND paid_at IS NULL) OR (status = 'paid' AND approved_at IS NOT NULL AND paid_at IS NOT NULL AND payment_reference <> '') OR (status = 'cancelled' AND cancelled_at IS NOT NULL AND paid_at IS NULL)", name=op.f('ck_payout_batch_status')),
    sa.CheckConstraint('approved_by_id IS NULL OR approved_by_id <> drafted_by_id', name=op.f('ck_payout_batch_four_eyes')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['user.id'], name=op.f('fk_payout_batch_approved_by_id_user')),
    sa.ForeignKeyConstraint(['cancelled_by_id'], ['user.id'], name=op.f('fk_payout_batch_cancelled_by_id_user')),
    sa.ForeignKeyConstraint(['drafted_by_id'], ['user.id'], name=op.f('fk_payout_batch_drafted_by_id_user')),
    sa.ForeignKeyConstraint(['paid_by_id'], ['user.id'], name=op.f('fk_payout_batch_paid_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_batch')),
    sa.UniqueConstraint('reference', name=op.f('uq_payout_batch_reference'))
    )
    with op.batch_alter_table('payout_batch', schema=None) as batch_op:
        batch_op.create_index('ix_payout_batch_status_created_at', ['status', 'created_at'], unique=False)

    op.create_table('payout_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('entry_count', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('included', 'excluded', 'carried', name='linestatus', native_enum=False, length=16), nullable=False),
    sa.Column('exclusion_reason', sa.Text(), nullable=False),
    sa.Column('excluded_by_id', sa.Integer(), nullable=True),
    sa.Column('excluded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('payout_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint("(status = 'included' AND amount > 0) OR (status = 'excluded' AND amount > 0 AND exclusion_reason <> '') OR (status = 'carried' AND amount <= 0)", name=op.f('ck_payout_line_status_amount')),
    sa.ForeignKeyConstraint(['batch_id'], ['payout_batch.id'], name=op.f('fk_payout_line_batch_id_payout_batch'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['excluded_by_id'], ['user.id'], name=op.f('fk_payout_line_excluded_by_id_user')),
    sa.ForeignKeyConstraint(['payout_entry_id'], ['ledger_entry.id'], name=op.f('fk_payout_line_payout_entry_id_ledger_entry')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_payout_line_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_line')),
    sa.UniqueConstraint('batch_id', 'user_id', 'currency', name=op.f('uq_payout_line_batch_id_user_id_currency')),
    sa.UniqueConstraint('payout_entry_id', name=op.f('uq_payout_line_payout_entry_id'))
    )
    with op.batch_alter_table('payout_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_line_user_id'), ['user_id'], unique=False)

    op.create_table('payout_item',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('ledger_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('claimed_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['payout_batch.id'], name=op.f('fk_payout_item_batch_id_payout_batch'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['claimed_entry_id'], ['ledger_entry.id'], name=op.f('fk_payout_item_claimed_entry_id_ledger_entry')),
    sa.ForeignKeyConstraint(['ledger_entry_id'], ['ledger_entry.id'], name=op.f('fk_payout_item_ledger_entry_id_ledger_entry')),
    sa.ForeignKeyConstraint(['line_id'], ['payout_line.id'], name=op.f('fk_payout_item_line_id_payout_line'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_item')),
    sa.UniqueConstraint('claimed_entry_id', name=op.f('uq_payout_item_claimed_entry_id'))
    )
    with op.batch_alter_table('payout_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_item_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payout_item_ledger_entry_id'), ['ledger_entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payout_item_line_id'), ['line_id'], unique=False)



def downgrade():
    with op.batch_alter_table('payout_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payout_item_line_id'))
        batch_op.drop_index(batch_op.f('ix_payout_item_ledger_entry_id'))
        batch_op.drop_index(batch_op.f('ix_payout_item_batch_id'))

    op.drop_table('payout_item')
    with op.batch_alter_table('payout_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payout_line_user_id'))

    op.drop_table('payout_line')
    with op.batch_alter_table('payout_batch', schema=None) as batch_op:
        batch_op.drop_index('ix_payout_batch_status_created_at')

    op.drop_table('payout_batch')
