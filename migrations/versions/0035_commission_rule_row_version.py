"""commission rule row version: a change from a page that showed an older rule is refused

``commission_rule.row_version`` is 1 when a rule is written and one more at each change of
its row (SQLAlchemy's ``version_id_col``); finance's change form sends back the one it
showed (``perks.commissions.services.revise_rule``). Not the rule's ``version`` (the terms
commissions used). Rules kept before this revision start at 1.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-13 07:00:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("commission_rule") as batch_op:
        batch_op.add_column(
            sa.Column("row_version", sa.Integer(), nullable=False, server_default="1")
        )
    with op.batch_alter_table("commission_rule") as batch_op:
        batch_op.alter_column("row_version", existing_type=sa.Integer(), server_default=None)


def downgrade():
    with op.batch_alter_table("commission_rule") as batch_op:
        batch_op.drop_column("row_version")
