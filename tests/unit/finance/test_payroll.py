"""The payroll file of a payout batch: one row per person and currency, only for a batch
that is approved or paid, text cells neutralised, every file audited."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import select

from perks.audit import AuditEvent
from perks.commissions import tax
from perks.errors import Conflict
from perks.extensions import db
from perks.finance import payouts, payroll, withholding
from perks.i18n import company_today
from perks.people.models import EmploymentType
from tests import factories
from tests.unit.finance.helpers import finance_person, payable_order

pytestmark = pytest.mark.usefixtures("app")


@pytest.fixture(autouse=True)
def _rule() -> None:
    factories.CommissionRuleFactory()  # 10 % of every line


def test_the_payroll_file_lists_each_person_once_per_currency(tmp_path):
    an = factories.UserFactory(name="=Nguyễn An", employee_number="E-001")
    payable_order(an)
    payable_order(an, factories.ProductFactory(price_amount=1250, currency="USD"))
    binh = factories.UserFactory(
        name="Đối Tác Bình", employee_number="P-7", employment_type=EmploymentType.PARTNER
    )
    payable_order(binh, factories.ProductFactory(price_amount=30_000_000))
    drafter, approver = finance_person(), finance_person()
    tax.add_circular_111_rates(drafter)
    batch = payouts.draft_batch(company_today(), actor=drafter)
    with pytest.raises(Conflict), (tmp_path / "x.csv").open("wb") as target:
        payroll.payroll_file(batch.id, "csv", target, actor=drafter)
    payouts.approve_batch(batch.id, actor=approver)
    path = tmp_path / "payroll.csv"
    with path.open("wb") as target:
        name = payroll.payroll_file(batch.id, "csv", target, actor=drafter)
    assert name == f"lines-{batch.reference}.csv"  # the payroll pay file is payroll-<ref>
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == list(payroll.PAYROLL_HEADER)
    # an employee is paid with the wages (payroll taxes it); a partner by transfer, net of the
    # 10 % withheld from 2,000,000 đồng
    assert sorted(rows[1:]) == [
        [
            batch.reference,
            "E-001",
            "'=Nguyễn An",
            an.email,
            "1.25",
            "USD",
            "payroll",
            "0.00",
            "1.25",
        ],
        [
            batch.reference,
            "E-001",
            "'=Nguyễn An",
            an.email,
            "240000",
            "VND",
            "payroll",
            "0",
            "240000",
        ],
        [
            batch.reference,
            "P-7",
            "Đối Tác Bình",
            binh.email,
            "3000000",
            "VND",
            "bank",
            "300000",
            "2700000",
        ],
    ]
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "finance.payout_exported")
    ).one()
    assert event.details == {"reference": batch.reference, "format": "csv", "rows": 3}


def test_the_payroll_file_and_the_tax_summary_list_people_as_vietnamese_is_alphabetised(
    tmp_path,
):
    # As the batch's pay files do: "Ánh" and "Đức" among the As and Ds, not after "Yến"
    for name in ("Yến", "Đức", "Ánh"):
        payable_order(factories.UserFactory(name=name))
    drafter, approver = finance_person(), finance_person()
    batch = payouts.draft_batch(company_today(), actor=drafter)
    payouts.approve_batch(batch.id, actor=approver)
    path = tmp_path / "payroll.csv"
    with path.open("wb") as target:
        payroll.payroll_file(batch.id, "csv", target, actor=drafter)
    with path.open(encoding="utf-8-sig", newline="") as f:
        names = [row[2] for row in list(csv.reader(f))[1:]]
    assert names == ["Ánh", "Đức", "Yến"]
    payouts.mark_batch_paid(batch.id, "UNC-1", actor=drafter)
    summary = withholding.summary_rows(company_today().year)
    assert [row[3] for row in summary] == ["Ánh", "Đức", "Yến"]
