"""payout batch row version: an approval from a page that showed an older batch is refused

``payout_batch.row_version`` is 1 when a batch is drafted and one more at each change of the
batch, a line left out included (SQLAlchemy's ``version_id_col``); the approve form sends back
the one its page showed (``perks.finance.payouts.approve_batch``), so a batch approved is the
batch the approver saw. Batches kept before this revision start at 1.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-14 07:00:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("payout_batch") as batch_op:
        batch_op.add_column(
            sa.Column("row_version", sa.Integer(), nullable=False, server_default="1")
        )
    with op.batch_alter_table("payout_batch") as batch_op:
        batch_op.alter_column("row_version", existing_type=sa.Integer(), server_default=None)


def downgrade():
    with op.batch_alter_table("payout_batch") as batch_op:
        batch_op.drop_column("row_version")
