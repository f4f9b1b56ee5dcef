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

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from perks.commissions import leavers
from perks.commissions.models import (
    Commission,
    EntryKind,
    LeaverPolicy,
    LedgerEntry,
)
from perks.extensions import db
from perks.shop.models import DisputeStatus
from tests import factories
from tests.helpers import clean_database
from tests.unit.commissions.helpers import after_holding, referred_order_of
from tests.unit.commissions.stories import Told, check, check_leaver, leave, tell

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

    def more(event: tuple, told: Told) -> None:
        if event[0] == "leave":
            leave(employees[event[1]], event[2], actor=finance)
        else:
            leavers.settle_leavers(now=after_holding(event[1]))

    told = tell(story, orders, employees, finance, more=more)
    leavers.settle_leavers(now=after_holding(41))
    check(employees, told)
    for person in employees:
        earned = db.session.scalar(
            select(func.coalesce(func.sum(Commission.earned_amount), 0)).where(
                Commission.user_id == person.id
            )
        )
        added = sum(
            amount
            for (amount,) in db.session.execute(
                select(LedgerEntry.amount).where(
                    LedgerEntry.user_id == person.id,
                    LedgerEntry.kind == EntryKind.ADJUSTMENT,
                    LedgerEntry.amount > 0,
                )
            )
        )
        paid_out = -db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.user_id == person.id, LedgerEntry.kind == EntryKind.PAYOUT
            )
        )
        assert paid_out == told.paid[person.id]
        assert paid_out <= earned + added  # never paid twice
        check_leaver(person)
