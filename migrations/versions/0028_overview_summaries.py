"""overview summaries: commissions per person, state and currency; ledger entries per day

``commission_total``, ``ledger_day`` and ``ledger_balance`` (``perks.commissions.summaries``)
are kept exact by the transactions that write commissions and ledger entries; finance's
commission list and report, and each person's earnings page, read them. The upgrade fills them from the facts (ledger days are company days, in
``BABEL_DEFAULT_TIMEZONE``); the downgrade drops them.

Revision ID: 0028
Revises: 0024
Create Date: 2026-12-04 20:40:00
"""

from collections import defaultdict
from datetime import UTC
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0028"
down_revision = '0027'
branch_labels = None
depends_on = None


def _zone():
    try:
        from flask import current_app

        return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Ho_Chi_Minh")
    except RuntimeError:  # outside an app (plain alembic)
        return ZoneInfo("Asia/Ho_Chi_Minh")


def upgrade():
    op.create_table(
        "commission_total",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "earned",
                "payable",
                "paid",
                "voided",
                "on_hold",
                name="commissionstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("commissions", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "state", "currency", name=op.f("pk_commission_total")),
    )
    op.create_table(
        "ledger_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "earn",
                "reversal",
                "adjustment",
                "payout",
                name="entrykind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "user_id", "kind", "currency", name=op.f("pk_ledger_day")),
    )
    op.create_index(
        "ix_ledger_day_kind_currency_user_id",
        "ledger_day",
        ["kind", "currency", "user_id"],
        unique=False,
    )
    op.create_table(
        "ledger_balance",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "currency", name=op.f("pk_ledger_balance")),
    )
    op.create_index('ix_commission_user_id_created_at', 'commission', ['user_id', 'created_at'], unique=False)
    op.create_index('ix_ledger_entry_user_id_kind_created_at', 'ledger_entry', ['user_id', 'kind', 'created_at'], unique=False)
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "INSERT INTO ledger_balance (user_id, currency, entries, amount) "
            "SELECT user_id, currency, count(*), sum(amount) FROM ledger_entry "
            "GROUP BY user_id, currency"
        )
    )
    bind.execute(
        sa.text(
            "INSERT INTO commission_total (user_id, state, currency, commissions, amount) "
            "SELECT user_id, state, currency, count(*), sum(amount) FROM commission "
            "GROUP BY user_id, state, currency"
        )
    )
    zone = _zone()
    days = defaultdict(lambda: [0, 0])
    for created_at, user_id, kind, currency, amount in bind.execute(
        sa.text("SELECT created_at, user_id, kind, currency, amount FROM ledger_entry")
    ):
        if isinstance(created_at, str):  # SQLite without the column's type
            from datetime import datetime

            created_at = datetime.fromisoformat(created_at)
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=UTC)
        key = (created_at.astimezone(zone).date(), user_id, kind, currency)
        days[key][0] += 1
        days[key][1] += amount
    if days:
        ledger_day = sa.table(
            "ledger_day",
            sa.column("day", sa.Date()),
            sa.column("user_id"),
            sa.column("kind"),
            sa.column("currency"),
            sa.column("entries"),
            sa.column("amount"),
        )
        op.bulk_insert(
            ledger_day,
            [
                {
                    "day": day,
                    "user_id": user_id,
                    "kind": kind,
                    "currency": currency,
                    "entries": count,
                    "amount": total,
                }
                for (day, user_id, kind, currency), (count, total) in days.items()
            ],
        )


def downgrade():
    op.drop_index('ix_ledger_entry_user_id_kind_created_at', table_name='ledger_entry')
    op.drop_index('ix_commission_user_id_created_at', table_name='commission')
    op.drop_table("ledger_balance")
    op.drop_table("ledger_day")
    op.drop_table("commission_total")
