"""payout line paid by: who paid a line of a paid batch, payroll or bank transfer

``payout_line.paid_by`` is set when a batch is marked paid, from the payee's tax profile then
(``perks.commissions.tax.is_on_payroll``): a paid batch's payroll and bank files keep each
line in the file it was paid through, whatever the payee's profile says later. Lines paid
before this revision get it where their payment tells: salary income was paid with the wages;
a commitment form, or a resident's rate, means a resident without a labour contract, paid by
transfer. The others (a non-resident's, or with no rate) stay "": the payee's profile as it
is now decides, as before.

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-07 10:15:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payout_line") as batch_op:
        batch_op.add_column(
            sa.Column("paid_by", sa.String(length=8), nullable=False, server_default="")
        )
    op.execute("UPDATE payout_line SET paid_by = 'payroll' WHERE tax_treatment = 'salary'")
    op.execute(
        "UPDATE payout_line SET paid_by = 'bank' WHERE tax_treatment = 'commitment'"
        " OR withholding_rate_id IN (SELECT id FROM withholding_rate WHERE resident)"
    )
    with op.batch_alter_table("payout_line") as batch_op:
        batch_op.alter_column("paid_by", existing_type=sa.String(length=8), server_default=None)


def downgrade():
    with op.batch_alter_table("payout_line") as batch_op:
        batch_op.drop_column("paid_by")
