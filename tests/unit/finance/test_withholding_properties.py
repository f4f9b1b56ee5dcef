"""Random stories with withholding: whatever mix of payments, uses, refunds, releases,
adjustments, changes of rate and paid batches, for people on payroll, residents with and
without the commitment form and non-residents, the ledger adds up (earned − reversed +
adjustments − what batches paid gross, the gross being the payout plus the tax withheld),
each line's tax is its rate rounded down, no entry is paid twice, and verify-ledger agrees.
"""

from __future__ import annotations

import contextlib
from collections import Counter, defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from perks.commissions import ledger, tax
from perks.commissions.models import Commission, EntryKind, LedgerEntry
from perks.commissions.tax import ProfileFields, Treatment
from perks.commissions.tax_models import WithholdingRate
from perks.commissions.verify import verify_ledger
from perks.errors import Conflict, ValidationFailed
from perks.extensions import db
from perks.finance import payouts
from perks.finance.models import BatchStatus, LineStatus, PayoutBatch, PayoutItem, PayoutLine
from perks.i18n import company_today
from perks.money import Money
from perks.people.models import EmploymentType
from perks.shop.redemption import why_not_redeemable
from tests import factories
from tests.helpers import clean_database
from tests.unit.finance.helpers import (
    after_holding,
    finance_person,
    make_payable,
    pay,
    redeem,
    referred_order,
    refund_to,
)

PEOPLE = 4  # staff on payroll, a resident, a resident with the form, a non-resident
ORDERS = 6

events = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.integers(0, ORDERS - 1)),
        st.tuples(st.just("redeem"), st.integers(0, ORDERS - 1)),
        st.tuples(st.just("refund"), st.integers(0, ORDERS - 1), st.integers(1, 100)),
        st.tuples(st.just("release")),
        st.tuples(st.just("batch")),
        st.tuples(st.just("adjust"), st.integers(0, PEOPLE - 1), st.integers(-500_000, 500_000)),
        st.tuples(st.just("rate"), st.booleans(), st.integers(0, 3000), st.integers(0, 3_000_000)),
    ),
    max_size=25,
)
prices = st.lists(st.integers(1, 40_000_000), min_size=ORDERS, max_size=ORDERS)


def _people() -> list:  # type: ignore[type-arg]
    officer = finance_person()
    staff = factories.UserFactory()
    resident = factories.UserFactory(employment_type=EmploymentType.CONTRACTOR)
    committed = factories.UserFactory(employment_type=EmploymentType.SUPPLIER)
    foreign = factories.UserFactory(employment_type=EmploymentType.PARTNER)
    year = company_today().year
    tax.save_tax_profile(
        committed.id, ProfileFields(commitment_year=year, tax_code="0312345673"), actor=officer
    )
    tax.save_tax_profile(foreign.id, ProfileFields(resident=False), actor=officer)
    return [staff, resident, committed, foreign]


@pytest.mark.usefixtures("app")
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(prices=prices, story=events)
def test_withholding_keeps_the_ledger_whole(prices, story):
    db.session.remove()
    clean_database()
    factories.CommissionRuleFactory()  # 10 %
    drafter, approver = finance_person(), finance_person()
    tax.add_circular_111_rates(drafter)
    people = _people()
    orders = [
        referred_order(people[i % PEOPLE], factories.ProductFactory(price_amount=price))
        for i, price in enumerate(prices)
    ]
    adjusted: dict[int, int] = defaultdict(int)
    for event in story:
        kind = event[0]
        if kind == "pay":
            order = orders[event[1]]
            db.session.refresh(order)
            if order.status.value == "pending":
                pay(order)
        elif kind == "redeem":
            order = orders[event[1]]
            db.session.refresh(order)
            if why_not_redeemable(order) is None:
                redeem(order)
        elif kind == "refund":
            order = orders[event[1]]
            db.session.refresh(order)
            if order.status.value in ("paid", "redeemed", "partially_refunded"):
                step = max(1, order.total_amount * event[2] // 100)
                refund_to(order, min(order.total_amount, order.refunded_amount + step))
        elif kind == "release":
            make_payable()
        elif kind == "batch":
            try:
                batch = payouts.draft_batch(company_today(), actor=drafter)
            except ValidationFailed:
                continue
            try:
                payouts.approve_batch(batch.id, actor=approver)
            except Conflict:
                continue
            payouts.mark_batch_paid(batch.id, "UNC", actor=drafter)
        elif kind == "adjust":
            if event[2]:
                person = people[event[1]]
                ledger.record_adjustment(person.id, Money(event[2], "VND"), "story", actor=drafter)
                adjusted[person.id] += event[2]
        else:
            _, resident, bps, threshold = event
            with contextlib.suppress(Conflict):  # one change a day
                tax.add_withholding_rate(
                    company_today(),
                    resident=resident,
                    rate_bps=bps,
                    threshold=Money(threshold, "VND"),
                    note="",
                    actor=drafter,
                )

    db.session.expire_all()
    paid_lines = list(
        db.session.scalars(
            select(PayoutLine)
            .join(PayoutBatch, PayoutBatch.id == PayoutLine.batch_id)
            .where(PayoutBatch.status == BatchStatus.PAID, PayoutLine.status == LineStatus.INCLUDED)
        )
    )
    gross: Counter[int] = Counter()
    for line in paid_lines:
        gross[line.user_id] += line.amount
        rate = (
            db.session.get(WithholdingRate, line.withholding_rate_id)
            if line.withholding_rate_id
            else None
        )
        if line.tax_treatment == Treatment.WITHHELD.value:
            assert rate is not None
            assert line.withheld_amount == line.amount * rate.rate_bps // 10000
            assert line.amount >= rate.threshold_amount
        else:
            assert line.withheld_amount == 0
        if line.user_id == people[0].id:
            assert line.tax_treatment == Treatment.SALARY.value
        if line.user_id == people[2].id:
            assert line.tax_treatment == Treatment.COMMITMENT.value
    for person in people:
        earned, reversed_ = db.session.execute(
            select(
                func.coalesce(func.sum(Commission.earned_amount), 0),
                func.coalesce(func.sum(Commission.reversed_amount), 0),
            ).where(Commission.user_id == person.id)
        ).one()
        sums = dict(
            db.session.execute(
                select(LedgerEntry.kind, func.sum(LedgerEntry.amount))
                .where(LedgerEntry.user_id == person.id)
                .group_by(LedgerEntry.kind)
            ).all()
        )
        total = sum(int(v) for v in sums.values())
        assert total == earned - reversed_ + adjusted[person.id] - gross[person.id]
        withheld = sum(line.withheld_amount for line in paid_lines if line.user_id == person.id)
        assert -int(sums.get(EntryKind.WITHHOLDING, 0)) == withheld
    # Nothing paid twice: an entry is in one paid line at most.
    paid_entries = list(
        db.session.scalars(
            select(PayoutItem.ledger_entry_id)
            .join(PayoutLine, PayoutLine.id == PayoutItem.line_id)
            .join(PayoutBatch, PayoutBatch.id == PayoutItem.batch_id)
            .where(PayoutBatch.status == BatchStatus.PAID, PayoutLine.status == LineStatus.INCLUDED)
        )
    )
    assert len(paid_entries) == len(set(paid_entries))
    report = verify_ledger(after_holding(60))  # the releases ran as if days had passed
    assert report.ok, report.problems
