"""feedback sending: the token of the form that sent a feedback item, hashed

``feedback_item.sending_hash`` is the SHA-256 of the random token the feedback form carried
(one per form drawn): the same form sent again (a double tap, the answer page reloaded) is
the item it opened, not a second one. Unique; items sent before this revision have none.

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-07 17:10:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("feedback_item") as batch_op:
        batch_op.add_column(sa.Column("sending_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_feedback_item_sending_hash", ["sending_hash"])


def downgrade():
    with op.batch_alter_table("feedback_item") as batch_op:
        batch_op.drop_constraint("uq_feedback_item_sending_hash", type_="unique")
        batch_op.drop_column("sending_hash")
