"""leavers: a person's leaving date, finance's leaver policy, settlements and balance decisions

``user.leaving_date`` (HR); ``leaver_settings`` (one row: vest or forfeit, vest without a
row); ``leaver_settlement`` (one row per leaver whose leaving date the daily task applied:
the claim that makes it run once); ``leaver_balance_decision`` (a leaver's negative balance
closed by an adjustment: deducted from the final salary or written off). The commission void
reason "left_company" needs no change (the column is a 24-character string). The downgrade
drops them.

Revision ID: 0026
Revises: 0024
Create Date: 2026-12-04 20:13:06
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0026"
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "leaver_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "policy",
            sa.Enum("vest", "forfeit", name="leaverpolicy", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user.id"], name=op.f("fk_leaver_settings_updated_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leaver_settings")),
    )
    op.create_table(
        "leaver_settlement",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("leaving_date", sa.Date(), nullable=False),
        sa.Column(
            "policy",
            sa.Enum("vest", "forfeit", name="leaverpolicy", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_leaver_settlement_user_id_user")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_leaver_settlement")),
    )
    op.create_table(
        "leaver_balance_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum("deduct", "write_off", name="balanceoutcome", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "ledger_entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user.id"],
            name=op.f("fk_leaver_balance_decision_decided_by_id_user"),
        ),
        sa.ForeignKeyConstraint(
            ["ledger_entry_id"],
            ["ledger_entry.id"],
            name=op.f("fk_leaver_balance_decision_ledger_entry_id_ledger_entry"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_leaver_balance_decision_user_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leaver_balance_decision")),
        sa.UniqueConstraint(
            "ledger_entry_id", name=op.f("uq_leaver_balance_decision_ledger_entry_id")
        ),
    )
    with op.batch_alter_table("leaver_balance_decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_leaver_balance_decision_user_id"), ["user_id"], unique=False
        )

    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leaving_date", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("leaving_date")

    with op.batch_alter_table("leaver_balance_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leaver_balance_decision_user_id"))

    op.drop_table("leaver_balance_decision")
    op.drop_table("leaver_settlement")
    op.drop_table("leaver_settings")
