"""commission paid reversed amount: what of its reversals the payout that paid it netted

A payout batch pays the entries it held when it was drafted: a part of an order refunded
after the draft (and before the payment, or at any time after it) is not netted in it, and
comes off a later payout. ``commission.paid_reversed_amount`` keeps what the paying payout
did net, so the earnings page can say what was taken back after the payment. For
commissions paid before this revision the batch that paid them is not looked for: the
reversals written up to their payment count as netted in it (what the page said until now).

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-07 20:00:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("commission") as batch_op:
        batch_op.add_column(
            sa.Column(
                "paid_reversed_amount", sa.BigInteger(), nullable=False, server_default="0"
            )
        )
    op.execute(
        "UPDATE commission SET paid_reversed_amount = COALESCE(("
        " SELECT -SUM(ledger_entry.amount) FROM ledger_entry"
        " WHERE ledger_entry.commission_id = commission.id"
        " AND ledger_entry.kind = 'reversal'"
        " AND ledger_entry.created_at <= commission.paid_at), 0)"
        " WHERE paid_at IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table("commission") as batch_op:
        batch_op.drop_column("paid_reversed_amount")
