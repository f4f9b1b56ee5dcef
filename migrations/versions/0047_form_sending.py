"""form sending: what each staff create form made, by the token it carried

``form_sending.sending`` is the random token a create form (product, perk, category,
commission rule, gift programme, award, survey) carries, one per form drawn: the same form
sent again (a double click on Save) is the thing it made, not a second one.

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-07 23:00:00
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "form_sending",
        sa.Column("sending", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("made_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user.id"], name="fk_form_sending_actor_id_user", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("sending", name="pk_form_sending"),
    )


def downgrade():
    op.drop_table("form_sending")
