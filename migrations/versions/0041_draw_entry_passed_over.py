"""draw entry passed over: why an entry offered a seat did not take it; keys unique per draw;
the time of day a draw's public value is published

``draw_entry.passed_over`` says why a ``lapsed`` entry was passed over at the draw (its person
had left the company, had reached the perk's limit, or no stock was left); the draw page shows
it. Entries passed over before this revision keep none. An entry's key is now unique within
its draw rather than across all draws: a key of an older draw with the same ten characters
stopped every later entry of a new one. ``draw.public_value_time``: the time of day (company
time) the source publishes the public value, before which it cannot be typed in (None: from
the start of its day, as for the draws opened before).

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-16 10:00:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("draw_entry") as batch_op:
        batch_op.add_column(sa.Column("passed_over", sa.String(length=16), nullable=True))
        batch_op.drop_constraint(op.f("uq_draw_entry_key"), type_="unique")
        batch_op.create_unique_constraint(op.f("uq_draw_entry_draw_id_key"), ["draw_id", "key"])
    with op.batch_alter_table("draw") as batch_op:
        batch_op.add_column(sa.Column("public_value_time", sa.Time(), nullable=True))


def downgrade():
    with op.batch_alter_table("draw") as batch_op:
        batch_op.drop_column("public_value_time")
    with op.batch_alter_table("draw_entry") as batch_op:
        batch_op.drop_constraint(op.f("uq_draw_entry_draw_id_key"), type_="unique")
        batch_op.create_unique_constraint(op.f("uq_draw_entry_key"), ["key"])
        batch_op.drop_column("passed_over")
