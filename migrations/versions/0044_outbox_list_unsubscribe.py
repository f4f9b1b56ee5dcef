"""outbox list unsubscribe: where the person turns a message's kind off

``outbox_message.list_unsubscribe`` is the absolute URL of the person's e-mail choices for a
notification e-mail (sent as its ``List-Unsubscribe`` header); empty for a message the person
cannot turn off (an invitation, a password reset, an order's receipt) and for the messages
queued before this revision.

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-07 16:30:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_message") as batch_op:
        batch_op.add_column(sa.Column("list_unsubscribe", sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_message") as batch_op:
        batch_op.drop_column("list_unsubscribe")
