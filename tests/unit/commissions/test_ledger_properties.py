"""Random order stories: whatever happens, the ledger adds up and verify-ledger agrees.

For any sequence of payments, redemptions, partial and full refunds, disputes, ticks,
payouts and adjustments over a few multi-line orders of two employees: each person's ledger
sums to what their commissions earned less what was reversed, plus adjustments, less what was
paid; no commission ever has more reversed than it earned or a negative worth; and
``verify-ledger`` finds nothing wrong.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from perks.commissions import ledger
from perks.commissions.models import (
    Commission,
    CommissionTier,
    LedgerEntry,
    RuleAudience,
    RuleKind,
    RuleScope,
    TierMeasure,
)
from perks.commissions.verify import verify_ledger
from perks.extensions import db
from perks.money import Money
from perks.people.models import EmploymentType
from perks.shop.models import DisputeStatus
from perks.shop.redemption import why_not_redeemable
from tests import factories
from tests.helpers import clean_database
from tests.unit.commissions.helpers import (
    Payroll,
    after_holding,
    dispute,
    pay,
    redeem,
    referred_order_of,
    refund_to,
    tick,
)

ORDERS = 3
EMPLOYEES = 2

order_index = st.integers(0, ORDERS - 1)
events = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), order_index),
        st.tuples(st.just("redeem"), order_index),
        st.tuples(st.just("refund"), order_index, st.integers(1, 100)),
        st.tuples(st.just("refund units"), order_index, st.integers(1, 3)),
        st.tuples(st.just("dispute"), order_index, st.sampled_from(list(DisputeStatus)[1:])),
        st.tuples(st.just("tick"), st.integers(0, 40)),
        st.tuples(st.just("payout")),
        st.tuples(
            st.just("adjust"),
            st.integers(0, EMPLOYEES - 1),
            st.integers(-300_000, 300_000).filter(bool),
        ),
    ),
    max_size=30,
)
prices = st.lists(
    st.lists(st.tuples(st.integers(1, 3_000_000), st.integers(1, 3)), min_size=1, max_size=3),
    min_size=ORDERS,
    max_size=ORDERS,
)


@pytest.mark.usefixtures("app")
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(prices=prices, story=events)
def test_the_ledger_always_adds_up(prices, story):
    db.session.remove()
    clean_database()
    factories.CommissionRuleFactory(rate_bps=1234)
    finance = factories.UserFactory(roles={factories.Role.FINANCE})
    employees = [factories.UserFactory() for _ in range(EMPLOYEES)]
    capped = factories.ProductFactory(price_amount=1_999_999)
    factories.CommissionRuleFactory(
        scope=RuleScope.PRODUCT,
        product_id=capped.id,
        kind=RuleKind.FLAT,
        rate_bps=None,
        flat_amount=70_001,
        cap_amount=150_000,
        currency="VND",
    )
    orders = []
    for i, lines in enumerate(prices):
        products = [(factories.ProductFactory(price_amount=p), q) for p, q in lines]
        if i == 0:
            products.append((capped, 2))
        orders.append(referred_order_of(products, employee=employees[i % EMPLOYEES]))
    adjusted, paid = tell(story, orders, employees, finance)
    check(employees, adjusted, paid)


def tell(
    story: list[tuple], orders: list, employees: list, finance: object
) -> tuple[dict[int, int], dict[int, int]]:
    """Play ``story`` on ``orders``; return what was adjusted and paid per person."""
    payroll = Payroll()
    adjusted: dict[int, int] = defaultdict(int)
    paid: dict[int, int] = defaultdict(int)

    for event in story:
        kind = event[0]
        if kind == "pay":
            pay(orders[event[1]])
        elif kind == "redeem":
            order = orders[event[1]]
            if why_not_redeemable(order) is None:
                redeem(order)
        elif kind == "refund":
            order = orders[event[1]]
            step = max(1, order.total_amount * event[2] // 100)
            refund_to(order, min(order.total_amount, order.refunded_amount + step))
        elif kind == "refund units":  # a unit or three: rounding at its finest
            order = orders[event[1]]
            refund_to(order, min(order.total_amount, order.refunded_amount + event[2]))
        elif kind == "dispute":
            dispute(orders[event[1]], event[2])
        elif kind == "tick":
            tick(after_holding(event[1]))
        elif kind == "payout":
            for user_id, money in payroll.pay_out().items():
                paid[user_id] += money.amount
        else:
            person = employees[event[1]]
            ledger.record_adjustment(person.id, Money(event[2], "VND"), "test", actor=finance)
            adjusted[person.id] += event[2]

    return adjusted, paid


def check(employees: list, adjusted: dict[int, int], paid: dict[int, int]) -> None:
    """Ledger sums equal the states; verify-ledger agrees."""
    db.session.expire_all()
    for person in employees:
        earned, reversed_ = db.session.execute(
            select(
                func.coalesce(func.sum(Commission.earned_amount), 0),
                func.coalesce(func.sum(Commission.reversed_amount), 0),
            ).where(Commission.user_id == person.id)
        ).one()
        total = db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.user_id == person.id
            )
        )
        assert total == earned - reversed_ + adjusted[person.id] - paid[person.id]
    for commission in db.session.scalars(select(Commission)):
        assert 0 <= commission.reversed_amount <= commission.earned_amount
        assert 0 <= commission.amount <= commission.original_amount
        assert commission.refunded_base_amount <= commission.base_amount
    # the story's ticks ran up to 40 days ahead: check as of then
    report = verify_ledger(now=after_holding(60))
    assert report.problems == []


@pytest.mark.usefixtures("app")
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(prices=prices, story=events, contractor=st.booleans())
def test_the_ledger_adds_up_with_tiers_and_audiences(prices, story, contractor):
    """The same stories, with a tiered default rule counting lines, a tiered flat rule
    counting amount, and a contractors' rule: every tiered commission keeps a tier its line
    could reach, and the ledger still adds up."""
    db.session.remove()
    clean_database()
    tiered = factories.CommissionRuleFactory(rate_bps=500, tier_measure=TierMeasure.COUNT)
    tiered.tiers = [
        CommissionTier(threshold=2, rate_bps=1000),
        CommissionTier(threshold=4, rate_bps=1500),
    ]
    factories.CommissionRuleFactory(
        rate_bps=700,
        audience=RuleAudience.EMPLOYMENT_TYPE,
        employment_type=EmploymentType.CONTRACTOR,
    )
    finance = factories.UserFactory(roles={factories.Role.FINANCE})
    employees = [
        factories.UserFactory(),
        factories.UserFactory(
            employment_type=EmploymentType.CONTRACTOR if contractor else EmploymentType.STAFF
        ),
    ]
    flat = factories.ProductFactory(price_amount=1_999_999)
    flat_rule = factories.CommissionRuleFactory(
        scope=RuleScope.PRODUCT,
        product_id=flat.id,
        kind=RuleKind.FLAT,
        rate_bps=None,
        flat_amount=70_001,
        cap_amount=150_000,
        currency="VND",
        tier_measure=TierMeasure.AMOUNT,
    )
    flat_rule.tiers = [CommissionTier(threshold=3_000_000, flat_amount=90_000)]
    db.session.commit()
    orders = []
    for i, lines in enumerate(prices):
        products = [(factories.ProductFactory(price_amount=p), q) for p, q in lines]
        if i == 0:
            products.append((flat, 2))
        orders.append(referred_order_of(products, employee=employees[i % EMPLOYEES]))
    adjusted, paid = tell(story, orders, employees, finance)
    check(employees, adjusted, paid)
    for commission in db.session.scalars(select(Commission)):
        if commission.tier_threshold is not None:
            assert commission.earned_at is not None
            assert commission.tier_measure is not None
        if (
            contractor
            and commission.user_id == employees[1].id
            and commission.product_id != flat.id
        ):
            assert commission.rate_bps == 700
            assert commission.tier_threshold is None
