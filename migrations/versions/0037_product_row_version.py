"""product row version: a save from a page that showed an older product is refused

``product.row_version`` is 1 when a product is written and one more at each change of its
row (SQLAlchemy's ``version_id_col``); the back office's edit form sends back the one it
showed (``perks.shop.product_admin.update_product``), so two people changing a price at once
cannot overwrite each other unseen. Products kept before this revision start at 1.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-14 08:00:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("product") as batch_op:
        batch_op.add_column(
            sa.Column("row_version", sa.Integer(), nullable=False, server_default="1")
        )
    with op.batch_alter_table("product") as batch_op:
        batch_op.alter_column("row_version", existing_type=sa.Integer(), server_default=None)


def downgrade():
    with op.batch_alter_table("product") as batch_op:
        batch_op.drop_column("row_version")
