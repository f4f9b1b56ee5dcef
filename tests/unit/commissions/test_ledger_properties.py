"""Random order stories: whatever happens, the ledger adds up and verify-ledger agrees.

For any sequence of payments, redemptions, partial and full refunds, disputes, ticks,
payouts and adjustments over a few multi-line orders of two employees: each person's ledger
sums to what their commissions earned less what was reversed, plus adjustments, less what was
paid; no commission ever has more reversed than it earned or a negative worth; and
``verify-ledger`` finds nothing wrong.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from perks.commissions.models import (
    Commission,
    CommissionTier,
    RuleAudience,
    RuleKind,
    RuleScope,
    TierMeasure,
)
from perks.extensions import db
from perks.people.models import EmploymentType
from perks.shop.models import DisputeStatus
from tests import factories
from tests.helpers import clean_database
from tests.unit.commissions.helpers import referred_order_of
from tests.unit.commissions.stories import check, tell

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
    check(employees, tell(story, orders, employees, finance))


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
    check(employees, tell(story, orders, employees, finance))
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
