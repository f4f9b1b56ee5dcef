"""Random order stories with leavers: whatever happens, the ledger adds up.

For any sequence of payments, redemptions, refunds, disputes, ticks, payouts, adjustments and
people leaving (under vest or forfeit, settled by the daily task at random moments): each
person's ledger sums to what their commissions earned less what was reversed, plus
adjustments, less what was paid; nobody is paid more than they ever earned plus what finance
added (nothing is paid twice); an order paid after its referrer's leaving date was set never
earns; once the task has run, a leaver has no commission left in its holding period (vested
or forfeited) and, under forfeit, none pending; and ``verify-ledger`` finds nothing wrong.
"""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from perks.commissions import leavers, ledger
from perks.commissions.models import (
    Commission,
    CommissionState,
    EntryKind,
    LeaverPolicy,
    LeaverSettlement,
    LedgerEntry,
)
from perks.commissions.verify import verify_ledger
from perks.extensions import db
from perks.i18n import company_today
from perks.money import Money
from perks.people.models import User
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

ORDERS = 4
EMPLOYEES = 2

order_index = st.integers(0, ORDERS - 1)
employee_index = st.integers(0, EMPLOYEES - 1)
events = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), order_index),
        st.tuples(st.just("redeem"), order_index),
        st.tuples(st.just("refund"), order_index, st.integers(1, 100)),
        st.tuples(st.just("dispute"), order_index, st.sampled_from(list(DisputeStatus)[1:])),
        st.tuples(st.just("tick"), st.integers(0, 40)),
        st.tuples(st.just("payout")),
        st.tuples(st.just("adjust"), employee_index, st.integers(-300_000, 300_000).filter(bool)),
        st.tuples(st.just("leave"), employee_index, st.sampled_from(list(LeaverPolicy))),
        st.tuples(st.just("settle"), st.integers(0, 40)),
    ),
    max_size=30,
)
prices = st.lists(
    st.lists(st.tuples(st.integers(1, 3_000_000), st.integers(1, 3)), min_size=1, max_size=2),
    min_size=ORDERS,
    max_size=ORDERS,
)


@pytest.mark.usefixtures("app")
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(prices=prices, story=events)
def test_the_ledger_adds_up_with_leavers(prices, story):
    db.session.remove()
    clean_database()
    factories.CommissionRuleFactory(rate_bps=1234)
    finance = factories.UserFactory(roles={factories.Role.FINANCE})
    employees = [factories.UserFactory() for _ in range(EMPLOYEES)]
    orders = []
    for i, lines in enumerate(prices):
        products = [(factories.ProductFactory(price_amount=p), q) for p, q in lines]
        orders.append(referred_order_of(products, employee=employees[i % EMPLOYEES]))
    payroll = Payroll()
    adjusted: dict[int, int] = defaultdict(int)
    added: dict[int, int] = defaultdict(int)
    paid: dict[int, int] = defaultdict(int)
    paid_after_leaving: set[int] = set()

    for event in story:
        kind = event[0]
        if kind == "pay":
            order = orders[event[1]]
            owner = employees[event[1] % EMPLOYEES]
            if order.paid_at is None and db.session.get(User, owner.id).leaving_date:
                paid_after_leaving.add(order.id)
            pay(order)
        elif kind == "redeem":
            order = orders[event[1]]
            if why_not_redeemable(order) is None:
                redeem(order)
        elif kind == "refund":
            order = orders[event[1]]
            step = max(1, order.total_amount * event[2] // 100)
            refund_to(order, min(order.total_amount, order.refunded_amount + step))
        elif kind == "dispute":
            dispute(orders[event[1]], event[2])
        elif kind == "tick":
            tick(after_holding(event[1]))
        elif kind == "payout":
            for user_id, money in payroll.pay_out().items():
                paid[user_id] += money.amount
        elif kind == "adjust":
            person = employees[event[1]]
            ledger.record_adjustment(person.id, Money(event[2], "VND"), "test", actor=finance)
            adjusted[person.id] += event[2]
            added[person.id] += max(event[2], 0)
        elif kind == "leave":
            person = db.session.get(User, employees[event[1]].id)
            assert person is not None
            if person.leaving_date is None:
                leavers.set_policy(event[2], actor=finance)
                person.leaving_date = company_today()
                db.session.commit()
            leavers.settle_leavers()
        else:
            leavers.settle_leavers(now=after_holding(event[1]))

    leavers.settle_leavers(now=after_holding(41))
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
        paid_out = -db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.user_id == person.id, LedgerEntry.kind == EntryKind.PAYOUT
            )
        )
        assert paid_out == paid[person.id]
        assert paid_out <= earned + added[person.id]  # never paid twice

        settlement = db.session.get(LeaverSettlement, person.id)
        if settlement is None:
            continue
        stored = db.session.get(User, person.id)
        assert stored is not None
        assert stored.leaving_date is not None
        assert stored.active is False
        states = set(
            db.session.scalars(select(Commission.state).where(Commission.user_id == person.id))
        )
        assert CommissionState.EARNED not in states
        if settlement.policy is LeaverPolicy.FORFEIT:
            assert CommissionState.PENDING not in states
    for commission in db.session.scalars(
        select(Commission).where(Commission.order_id.in_(paid_after_leaving))
    ):
        assert commission.earned_amount == 0  # paid after its referrer left: never earns
    for commission in db.session.scalars(select(Commission)):
        assert 0 <= commission.reversed_amount <= commission.earned_amount
        assert 0 <= commission.amount <= commission.original_amount
    report = verify_ledger(now=after_holding(60))
    assert report.problems == []
