"""tax profile version: a save from a page that showed an older profile is refused

``tax_profile.version`` is 1 when a profile is written and one more at each change
(SQLAlchemy's ``version_id_col``); finance's form sends back the version it showed
(``perks.commissions.tax.save_tax_profile``). Profiles kept before this revision start at 1.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-12 07:00:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("tax_profile") as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("tax_profile") as batch_op:
        batch_op.alter_column("version", existing_type=sa.Integer(), server_default=None)


def downgrade():
    with op.batch_alter_table("tax_profile") as batch_op:
        batch_op.drop_column("version")
