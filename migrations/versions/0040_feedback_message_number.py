"""feedback message number: a message's place in its conversation, and ids drawn at random

``feedback_message.number`` is a message's place on its item (1, 2, ...), unique per item;
the conversation is read in that order. It frees the id to be drawn at random, as an item's
is (``perks.feedback.items``): with ids from one counter, an anonymous sender's reply lay
between the owners' answers on other items written just before and after it. Messages kept
before this revision are numbered in the order of their ids.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-15 10:00:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("feedback_message") as batch_op:
        batch_op.add_column(sa.Column("number", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE feedback_message SET number = (SELECT count(*) FROM feedback_message AS earlier"
        " WHERE earlier.item_id = feedback_message.item_id AND earlier.id <= feedback_message.id)"
    )
    with op.batch_alter_table("feedback_message") as batch_op:
        batch_op.alter_column("number", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(
            op.f("uq_feedback_message_item_id_number"), ["item_id", "number"]
        )


def downgrade():
    with op.batch_alter_table("feedback_message") as batch_op:
        batch_op.drop_constraint(op.f("uq_feedback_message_item_id_number"), type_="unique")
        batch_op.drop_column("number")
