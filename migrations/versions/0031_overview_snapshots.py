"""overview snapshots: company stats and fraud signals of every window, refreshed by beat

``overview_snapshot`` holds, per overview and window, its figures as JSON in parts (part 0
the head; the company stats' people in further parts), with the moment they were computed
(``perks.referrals.snapshots``). Nothing to fill: the first page view or the scheduled job
computes them. Also ``ix_commission_user_id_created_at``: a person's commissions newest first
(the earnings page) without scanning everyone's. The downgrade drops both.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-04 21:40:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "overview_snapshot",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", "part", name=op.f("pk_overview_snapshot")),
    )


def downgrade():
    op.drop_table("overview_snapshot")
