"""claim reminders: the day a claim's holder was told its last day is near

``claim.reminded_on`` is set by the conditional update that picks the claims to remind
(``perks.catalog.claims.remind_expiring_claims``), so each holder is told once per claim, by
one host. Claims made before this revision are reminded like new ones when their day nears.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-05 07:00:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("claim") as batch_op:
        batch_op.add_column(sa.Column("reminded_on", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("claim") as batch_op:
        batch_op.drop_column("reminded_on")
