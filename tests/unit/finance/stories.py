"""A random company's story for the finance properties: a few people (some in departments,
some not), products in VND and USD, orders whose commissions end pending, earned, payable (some
partly refunded), voided, on hold or lost to a dispute, finance's adjustments, and a payout batch
drafted, approved and paid (sometimes with a line left out), then refunds and adjustments after
it. The strategies draw the story; ``story`` tells it through the real services."""

from __future__ import annotations

from hypothesis import strategies as st
from sqlalchemy import select

from perks.commissions import ledger
from perks.commissions.models import Commission
from perks.extensions import db
from perks.finance import payouts, queries
from perks.finance.models import BatchStatus, LineStatus, PayoutBatch
from perks.i18n import company_today
from perks.money import Money
from perks.people.models import User
from perks.shop.models import DisputeStatus, Order
from tests import factories
from tests.unit.commissions.helpers import dispute
from tests.unit.finance.helpers import (
    finance_person,
    make_payable,
    pay,
    payable_order,
    redeem,
    referred_order,
    refund_to,
)

DEPARTMENTS = 2
#: how each story's order ends before the payout
FATES = ("pending", "earned", "payable", "part_refunded", "voided", "on_hold", "dispute_lost")
#: fates whose order is used before the holding period is over (so they are released)
RELEASED_FATES = ("payable", "part_refunded", "on_hold", "dispute_lost")
people = st.lists(st.sampled_from([None, *range(DEPARTMENTS)]), min_size=2, max_size=4)
products = st.lists(
    st.one_of(
        st.tuples(st.just("VND"), st.integers(10_000, 5_000_000)),
        st.tuples(st.just("USD"), st.integers(1, 90_000)),
    ),
    min_size=2,
    max_size=4,
)
orders = st.lists(
    st.tuples(
        st.integers(0, 99),  # the person (modulo how many there are)
        st.integers(0, 99),  # the product (modulo)
        st.integers(1, 3),  # quantity
        st.sampled_from(FATES),
        st.integers(1, 99),  # the share refunded, for part_refunded (percent)
        st.integers(0, 100),  # the share refunded after the payout (percent, 0: none)
    ),
    min_size=2,
    max_size=8,
)
adjustments = st.lists(
    st.tuples(
        st.integers(0, 99),  # the person (modulo)
        st.sampled_from(["VND", "USD"]),
        st.integers(-400_000, 400_000).filter(bool),
        st.booleans(),  # about one of their commissions, if they have one in that currency
        st.booleans(),  # after the payout
    ),
    max_size=4,
)


def _refund_share(order: Order, percent: int) -> None:
    refund_to(order, max(order.refunded_amount + 1, order.total_amount * percent // 100))


def _pay_out(payee: User, *, leave_one_out: bool) -> PayoutBatch:
    """Draft (as one finance person), maybe leave a line out, approve (as another), pay."""
    drafter, approver = finance_person(), finance_person()
    batch = payouts.draft_batch(company_today(), actor=drafter)
    if leave_one_out:
        others = [
            line
            for line in queries.lines_of(batch.id)
            if line.status is LineStatus.INCLUDED and line.user_id != payee.id
        ]
        if others:
            payouts.exclude_line(batch.id, others[0].id, "Chờ xác minh", actor=drafter)
    payouts.approve_batch(batch.id, actor=approver)
    return payouts.mark_batch_paid(batch.id, "PAYROLL-TEST", actor=drafter)


def _adjust(spec: tuple[int, str, int, bool, bool], staff: list[User], actor: User) -> None:
    person_index, currency, amount, about_commission, _later = spec
    person = staff[person_index % len(staff)]
    commission_id = None
    if about_commission:
        # Any of the person's commissions, in whatever state: paying the adjustment never
        # pays the commission it names.
        commission_id = db.session.scalar(
            select(Commission.id)
            .where(Commission.user_id == person.id, Commission.currency == currency)
            .order_by(Commission.id.desc())
            .limit(1)
        )
    ledger.record_adjustment(
        person.id, Money(amount, currency), "Điều chỉnh", actor=actor, commission_id=commission_id
    )


def story(
    people_spec: list[int | None],
    product_spec: list[tuple[str, int]],
    order_spec: list[tuple[int, int, int, str, int, int]],
    adjustment_spec: list[tuple[int, str, int, bool, bool]],
    leave_one_out: bool,
) -> None:
    """Everything through the real services: the shop's payments, redemptions, refunds and
    disputes (their signals drive the commissions), the ledger's adjustments, the payouts."""
    factories.CommissionRuleFactory()  # 10 % of every line, any currency
    departments = [factories.DepartmentFactory() for _ in range(DEPARTMENTS)]
    staff = [
        factories.UserFactory(department_id=None if d is None else departments[d].id)
        for d in people_spec
    ]
    catalog = [factories.ProductFactory(currency=c, price_amount=p) for c, p in product_spec]
    adjuster = finance_person()
    # Someone always owed: the batch always has a line to pay.
    payee = factories.UserFactory(department_id=departments[0].id)
    payable_order(payee, factories.ProductFactory(price_amount=2_400_000))

    placed: list[tuple[Order, str, int, int]] = []
    for person_index, product_index, quantity, fate, part, later in order_spec:
        order = referred_order(
            staff[person_index % len(staff)],
            catalog[product_index % len(catalog)],
            quantity=quantity,
        )
        pay(order)
        if fate in RELEASED_FATES:
            redeem(order)
        elif fate == "voided":
            refund_to(order, order.total_amount)
        placed.append((order, fate, part, later))
    make_payable()  # the holding period of the orders used so far is over
    for order, fate, part, _later in placed:
        if fate == "earned":
            redeem(order)  # used now: still in its holding period
        elif fate == "part_refunded":
            _refund_share(order, part)
        elif fate == "on_hold":
            dispute(order, DisputeStatus.OPEN)
        elif fate == "dispute_lost":
            dispute(order, DisputeStatus.OPEN)
            dispute(order, DisputeStatus.LOST)
    for spec in adjustment_spec:
        if not spec[4]:
            _adjust(spec, staff, adjuster)

    batch = _pay_out(payee, leave_one_out=leave_one_out)
    assert batch.status is BatchStatus.PAID

    # After the payout: refunds take back paid (and unpaid) commissions; more adjustments.
    for order, fate, _part, later in placed:
        if later and fate != "voided":
            _refund_share(order, later)
    for spec in adjustment_spec:
        if spec[4]:
            _adjust(spec, staff, adjuster)
