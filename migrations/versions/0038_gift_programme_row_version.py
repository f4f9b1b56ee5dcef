"""gift programme row version: a save from a page that showed an older programme is refused

``gift_programme.row_version`` is 1 when a programme is written and one more at each change
of it, its departments and department budgets included (SQLAlchemy's ``version_id_col``);
HR's edit form sends back the one it showed (``perks.recognition.gifts.update_programme``),
so two people changing budgets at once cannot overwrite each other unseen. Programmes kept
before this revision start at 1.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-14 09:00:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("gift_programme") as batch_op:
        batch_op.add_column(
            sa.Column("row_version", sa.Integer(), nullable=False, server_default="1")
        )
    with op.batch_alter_table("gift_programme") as batch_op:
        batch_op.alter_column("row_version", existing_type=sa.Integer(), server_default=None)


def downgrade():
    with op.batch_alter_table("gift_programme") as batch_op:
        batch_op.drop_column("row_version")
