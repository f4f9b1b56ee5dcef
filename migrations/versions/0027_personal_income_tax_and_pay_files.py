"""personal income tax and pay files: tax profiles, dated withholding rates, withholding
entries on the ledger, gross/taxable/withheld on payout lines, named export mappings

Seeds Circular 111/2013's withholding rates (residents without a labour contract of three
months or more: 10 % on a payment of 2,000,000 ₫ or more; non-residents: 20 % on any amount),
in force from 2013-10-01, and two mappings: a generic Vietnamese payroll sheet and a generic
bank transfer sheet. Lines already paid are marked salary income, taxable whole (they went
through payroll). The downgrade drops them (and refuses nothing: a database with
withholding entries cannot go back, since the old ledger check refuses them).

Revision ID: 0027
Revises: 0024
Create Date: 2026-12-04 20:30:00
"""

from datetime import UTC, date, datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0027"
down_revision = '0026'
branch_labels = None
depends_on = None

OLD_KIND_SIGN = (
    "(kind = 'earn' AND amount > 0 AND commission_id IS NOT NULL)"
    " OR (kind = 'reversal' AND amount < 0 AND commission_id IS NOT NULL)"
    " OR (kind = 'adjustment' AND amount <> 0 AND reason <> '')"
    " OR (kind = 'payout' AND amount < 0 AND commission_id IS NULL)"
)
NEW_KIND_SIGN = (
    OLD_KIND_SIGN + " OR (kind = 'withholding' AND amount < 0 AND commission_id IS NULL"
    " AND payout_batch_id IS NOT NULL)"
)

PAYROLL_COLUMNS = [
    {"field": "employee_number", "header": "Mã NV"},
    {"field": "tax_code", "header": "Mã số thuế"},
    {"field": "name", "header": "Họ và tên"},
    {"field": "department", "header": "Phòng ban"},
    {"field": "gross", "header": "Tổng thu nhập"},
    {"field": "taxable", "header": "Thu nhập chịu thuế"},
    {"field": "withheld", "header": "Thuế TNCN đã khấu trừ"},
    {"field": "net", "header": "Thực nhận"},
    {"field": "currency", "header": "Loại tiền"},
    {"field": "period", "header": "Kỳ lương"},
]
BANK_COLUMNS = [
    {"field": "account_number", "header": "Số tài khoản"},
    {"field": "bank_name", "header": "Ngân hàng"},
    {"field": "account_holder", "header": "Tên người thụ hưởng"},
    {"field": "net", "header": "Số tiền"},
    {"field": "currency", "header": "Loại tiền"},
    {"field": "transfer_note", "header": "Nội dung chuyển khoản"},
]


def upgrade():
    op.create_table(
        "tax_profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("tax_code", sa.String(length=14), nullable=False),
        sa.Column("resident", sa.Boolean(), nullable=False),
        sa.Column("long_contract", sa.Boolean(), nullable=False),
        sa.Column("commitment_year", sa.Integer(), nullable=True),
        sa.Column("bank_account_number", sa.String(length=34), nullable=False),
        sa.Column("bank_name", sa.String(length=120), nullable=False),
        sa.Column("account_holder", sa.String(length=120), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "commitment_year IS NULL OR (commitment_year >= 2000 AND commitment_year <= 2200)",
            name=op.f("ck_tax_profile_commitment_year"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user.id"], name=op.f("fk_tax_profile_updated_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_tax_profile_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_profile")),
        sa.UniqueConstraint("user_id", name=op.f("uq_tax_profile_user_id")),
    )
    rate = op.create_table(
        "withholding_rate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("resident", sa.Boolean(), nullable=False),
        sa.Column("rate_bps", sa.Integer(), nullable=False),
        sa.Column("threshold_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "rate_bps >= 0 AND rate_bps < 10000", name=op.f("ck_withholding_rate_rate")
        ),
        sa.CheckConstraint("threshold_amount >= 0", name=op.f("ck_withholding_rate_threshold")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_withholding_rate_created_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_withholding_rate")),
        sa.UniqueConstraint(
            "effective_from",
            "resident",
            "currency",
            name=op.f("uq_withholding_rate_effective_from_resident_currency"),
        ),
    )
    mapping = op.create_table(
        "export_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('payroll', 'bank')", name=op.f("ck_export_mapping_kind")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["user.id"], name=op.f("fk_export_mapping_updated_by_id_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_mapping")),
        sa.UniqueConstraint("name", name=op.f("uq_export_mapping_name")),
    )
    with op.batch_alter_table("payout_line", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tax_treatment", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("taxable_amount", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("withheld_amount", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("withholding_rate_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_payout_line_withholding_rate_id_withholding_rate"),
            "withholding_rate",
            ["withholding_rate_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            "withheld", "withheld_amount >= 0 AND (withheld_amount = 0 OR withheld_amount < amount)"
        )
    # Lines paid before withholding existed went through payroll whole: salary income.
    op.execute(
        "UPDATE payout_line SET tax_treatment = 'salary', taxable_amount = amount"
        " WHERE status = 'included' AND payout_entry_id IS NOT NULL"
    )
    with op.batch_alter_table("payout_line", schema=None) as batch_op:
        batch_op.alter_column("tax_treatment", server_default=None)
        batch_op.alter_column("taxable_amount", server_default=None)
        batch_op.alter_column("withheld_amount", server_default=None)
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_ledger_entry_kind_sign"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_ledger_entry_payout_batch"), type_="check")
        batch_op.create_check_constraint("kind_sign", NEW_KIND_SIGN)
        batch_op.create_check_constraint(
            "payout_batch", "payout_batch_id IS NULL OR kind IN ('payout', 'withholding')"
        )

    now = datetime.now(UTC)
    note = "Circular 111/2013/TT-BTC, art. 25"
    op.bulk_insert(
        rate,
        [
            {
                "effective_from": date(2013, 10, 1),
                "resident": True,
                "rate_bps": 1000,
                "threshold_amount": 2_000_000,
                "currency": "VND",
                "note": note,
                "created_at": now,
            },
            {
                "effective_from": date(2013, 10, 1),
                "resident": False,
                "rate_bps": 2000,
                "threshold_amount": 0,
                "currency": "VND",
                "note": note,
                "created_at": now,
            },
        ],
    )
    op.bulk_insert(
        mapping,
        [
            {
                "name": "Generic Vietnamese payroll sheet",
                "kind": "payroll",
                "columns": PAYROLL_COLUMNS,
                "created_at": now,
                "updated_at": now,
            },
            {
                "name": "Generic Vietnamese bank transfer",
                "kind": "bank",
                "columns": BANK_COLUMNS,
                "created_at": now,
                "updated_at": now,
            },
        ],
    )


def downgrade():
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_ledger_entry_payout_batch"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_ledger_entry_kind_sign"), type_="check")
        batch_op.create_check_constraint("kind_sign", OLD_KIND_SIGN)
        batch_op.create_check_constraint(
            "payout_batch", "payout_batch_id IS NULL OR kind = 'payout'"
        )
    with op.batch_alter_table("payout_line", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_payout_line_withheld"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_payout_line_withholding_rate_id_withholding_rate"), type_="foreignkey"
        )
        batch_op.drop_column("withholding_rate_id")
        batch_op.drop_column("withheld_amount")
        batch_op.drop_column("taxable_amount")
        batch_op.drop_column("tax_treatment")
    op.drop_table("export_mapping")
    op.drop_table("withholding_rate")
    op.drop_table("tax_profile")
