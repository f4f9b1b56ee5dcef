"""Writers of one commission at the same moment take turns: the leaver settlement, a refund or
dispute webhook, a redemption at the counter and the daily tick.

Each test runs one writer and, at the moment it has read the commission and is about to change
it, starts the other in a thread of its own (its own session and connection, as on another
host). Before the commissions were locked, the other committed at once and the first then
wrote its stale copy over it; now the other waits for the first to commit, then reads what it
did. Only PostgreSQL has concurrent writers: on SQLite these tests are skipped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from perks.commissions import leavers as commission_leavers
from perks.commissions import ledger, lifecycle, rules, services
from perks.commissions.models import (
    Commission,
    CommissionRule,
    CommissionState,
    LeaverPolicy,
    LedgerEntry,
)
from perks.commissions.verify import verify_ledger
from perks.db import utcnow
from perks.errors import Conflict
from perks.extensions import db
from perks.i18n import company_today
from perks.money import Money
from perks.people.models import Role, User
from perks.shop import orders, redemption
from perks.shop.models import DisputeStatus, Order
from tests import factories
from tests.helpers import is_postgres
from tests.unit.commissions.helpers import after_holding, pay, redeem, referred_order

#: how long the first writer lets the other run before going on: ample for it to commit,
#: had nothing made it wait
HEAD_START_SECONDS = 1.0


@pytest.fixture(autouse=True)
def _postgres_only(app: Flask) -> None:
    if not is_postgres(app):
        pytest.skip("concurrent writers need PostgreSQL; SQLite has one writer at a time")


@contextmanager
def meanwhile(
    app: Flask, monkeypatch: pytest.MonkeyPatch, reason: str, other: Callable[[], None]
) -> Iterator[None]:
    """Run ``other`` in a thread of its own when the writer under test first takes back a
    commission for ``reason``; join it once the writer is done (and has committed)."""
    errors: list[BaseException] = []

    def run() -> None:
        with app.app_context():
            try:
                other()
            except BaseException as error:
                errors.append(error)

    thread = threading.Thread(target=run)
    real_take_back = lifecycle.take_back

    def take_back(commission, amount, why, at):  # type: ignore[no-untyped-def]
        if why == reason and not thread.is_alive() and thread.ident is None:
            thread.start()
            thread.join(HEAD_START_SECONDS)
        return real_take_back(commission, amount, why, at)

    monkeypatch.setattr(lifecycle, "take_back", take_back)
    yield
    assert thread.ident is not None, f"nothing took back a commission for {reason!r}"
    thread.join(60)
    assert not thread.is_alive()
    assert errors == []


def net_of(commission: Commission) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.commission_id == commission.id
            )
        )
    )


def a_leaver_who_forfeits(*, redeemed: bool) -> tuple[int, int]:
    """A 2.400.000 ₫ order of a person who left yesterday, paid (and used if ``redeemed``);
    the company forfeits what leavers had not been paid. (order id, its total)"""
    factories.CommissionRuleFactory()  # 10 %: 240.000 ₫
    commission_leavers.set_policy(LeaverPolicy.FORFEIT, actor=factories.UserFactory())
    leaver = factories.UserFactory()
    order = referred_order(employee=leaver)
    pay(order)
    if redeemed:
        redeem(order)
    order_id, total = order.id, order.total_amount
    db.session.get(User, leaver.id).leaving_date = company_today() - timedelta(days=1)
    db.session.commit()
    db.session.remove()
    return order_id, total


def commission_of(order_id: int) -> Commission:
    db.session.expire_all()
    return db.session.scalars(select(Commission).where(Commission.order_id == order_id)).one()


def refund(order_id: int, amount: int) -> None:
    """Stripe's ``charge.refunded``: the running total of refunds is now ``amount``."""
    order = db.session.get(Order, order_id, with_for_update=True)
    orders.record_refund_total(order, Money(amount, order.currency))
    db.session.commit()


def test_a_refund_during_the_leaver_settlement_takes_back_no_more_than_was_earned(app, monkeypatch):
    order_id, total = a_leaver_who_forfeits(redeemed=True)
    with meanwhile(app, monkeypatch, "left_company", lambda: refund(order_id, total // 2)):
        commission_leavers.settle_leavers()

    commission = commission_of(order_id)
    assert commission.state is CommissionState.VOIDED
    assert (commission.amount, commission.reversed_amount, net_of(commission)) == (0, 240_000, 0)
    assert commission.refunded_base_amount == total // 2  # the refund is recorded all the same
    assert verify_ledger().problems == []


def test_a_redemption_during_the_leaver_settlement_earns_nothing_forfeited(app, monkeypatch):
    order_id, _total = a_leaver_who_forfeits(redeemed=False)

    def counter() -> None:
        redeem(db.session.get(Order, order_id))

    with meanwhile(app, monkeypatch, "left_company", counter):
        commission_leavers.settle_leavers()

    commission = commission_of(order_id)
    assert db.session.get(Order, order_id).redeemed_at is not None
    assert (commission.state, commission.amount, net_of(commission)) == (
        CommissionState.VOIDED,
        0,
        0,
    )
    released = ledger.net_per_person(list(db.session.scalars(ledger.payable_entries(utcnow()))))
    assert [line.amount for line in released] == []  # nothing to pay the leaver
    assert verify_ledger().problems == []


def test_a_tick_during_a_full_refund_leaves_the_totals_right(app, monkeypatch):
    factories.CommissionRuleFactory()
    order = referred_order()
    pay(order)
    redeem(order)  # earned; its holding period over by the time the tick runs
    order_id, total = order.id, order.total_amount
    db.session.remove()

    def tick() -> None:
        lifecycle.release_due_commissions(after_holding())

    with meanwhile(app, monkeypatch, "refund", tick):
        refund(order_id, total)

    commission = commission_of(order_id)
    assert (commission.state, net_of(commission)) == (CommissionState.VOIDED, 0)
    assert verify_ledger(after_holding()).problems == []  # the totals finance reads agree


def a_paid_order_at_the_counter() -> tuple[Order, User]:
    """A paid order as the redeemer's page looked it up (read, not yet redeemed), and the
    redeemer."""
    factories.CommissionRuleFactory()
    order = referred_order()
    pay(order)
    code = order.redemption_code
    redeemer_id = factories.UserFactory(roles={Role.REDEEMER}).id
    db.session.commit()
    db.session.remove()
    seen = redemption.find_order_by_code(code)
    assert redemption.why_not_redeemable(seen) is None
    return seen, db.session.get(User, redeemer_id)


def in_another_session(app: Flask, step: Callable[[], None]) -> None:
    def run() -> None:
        with app.app_context():
            step()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)


def test_a_refund_recorded_after_the_counter_looked_the_order_up_stops_its_redemption(app):
    seen, redeemer = a_paid_order_at_the_counter()
    order_id, total = seen.id, seen.total_amount
    in_another_session(app, lambda: refund(order_id, total))

    with pytest.raises(Conflict, match="Đơn hàng này đã được hoàn tiền"):
        redemption.mark_redeemed(seen, redeemer)
    db.session.rollback()
    assert db.session.get(Order, order_id).redeemed_at is None


def test_a_dispute_opened_after_the_counter_looked_the_order_up_stops_its_redemption(app):
    seen, redeemer = a_paid_order_at_the_counter()
    order_id = seen.id

    def dispute() -> None:
        order = db.session.get(Order, order_id, with_for_update=True)
        orders.record_dispute(order, DisputeStatus.OPEN)
        db.session.commit()

    in_another_session(app, dispute)
    with pytest.raises(Conflict, match="đang bị khiếu nại"):
        redemption.mark_redeemed(seen, redeemer)
    db.session.rollback()
    assert db.session.get(Order, order_id).redeemed_at is None


# --- a rule saved while an order's commissions are computed ----------------------------------


def a_rule_and_an_order() -> tuple[int, int, int]:
    """A 10 % rule nobody used yet, an order about to be paid and a finance person.
    (rule id, order id, finance person's id)"""
    rule = factories.CommissionRuleFactory(rate_bps=1000)
    order = referred_order()
    finance = factories.UserFactory(roles={Role.FINANCE})
    ids = (rule.id, order.id, finance.id)
    db.session.commit()
    db.session.remove()
    return ids


def new_terms(rule_id: int, finance_id: int, *, from_tomorrow: bool = False) -> None:
    """Finance saves 20 % for the rule (from its first day, or from tomorrow)."""
    rule = db.session.get(CommissionRule, rule_id)
    data = replace(services.rule_data_of(rule), rate_bps=2000)
    if from_tomorrow:
        data = replace(data, effective_from=company_today() + timedelta(days=1))
    services.revise_rule(rule_id, data, actor=db.session.get(User, finance_id))


def the_terms_named(order_id: int) -> tuple[int | None, int | None, list[tuple[int, int]]]:
    """The order's commission's rate, the rate of the rule version it names, and every
    version of its rule (version, rate)."""
    commission = commission_of(order_id)
    named = db.session.get(CommissionRule, commission.rule_id)
    versions = db.session.execute(
        select(CommissionRule.version, CommissionRule.rate_bps).order_by(CommissionRule.id)
    ).all()
    return commission.rate_bps, named.rate_bps, [tuple(v) for v in versions]


def test_an_order_paid_while_a_rule_is_changed_in_place_earns_by_the_terms_its_rule_says(
    app, monkeypatch
):
    """The payment read the rule's old terms while finance's change was being saved, then
    named the rule, whose terms were no longer those it had used."""
    rule_id, order_id, finance_id = a_rule_and_an_order()
    errors: list[BaseException] = []

    def payment() -> None:
        with app.app_context():
            try:
                pay(db.session.get(Order, order_id))
            except BaseException as error:
                errors.append(error)

    thread = threading.Thread(target=payment)
    real_apply = services._apply

    def apply(rule, data):  # type: ignore[no-untyped-def]
        if thread.ident is None:
            thread.start()
            thread.join(HEAD_START_SECONDS)
        return real_apply(rule, data)

    monkeypatch.setattr(services, "_apply", apply)
    new_terms(rule_id, finance_id)
    thread.join(60)
    assert errors == []

    rate, named_rate, versions = the_terms_named(order_id)
    assert (rate, named_rate, versions) == (2000, 2000, [(1, 2000)])
    assert verify_ledger().problems == []


def test_a_rule_changed_while_an_order_is_being_paid_gets_a_new_version(app, monkeypatch):
    """Finance's change came while the payment was computing with the rule: it saw the rule
    unused and changed its terms in place, under the commission that had just used them."""
    rule_id, order_id, finance_id = a_rule_and_an_order()
    errors: list[BaseException] = []

    def change() -> None:
        with app.app_context():
            try:
                new_terms(rule_id, finance_id, from_tomorrow=True)
            except BaseException as error:
                errors.append(error)

    thread = threading.Thread(target=change)
    real_choose = rules.choose_rule

    def choose(*args, **kwargs):  # type: ignore[no-untyped-def]
        if thread.ident is None:
            thread.start()
            thread.join(HEAD_START_SECONDS)
        return real_choose(*args, **kwargs)

    monkeypatch.setattr(rules, "choose_rule", choose)
    pay(db.session.get(Order, order_id))
    thread.join(60)
    assert errors == []

    rate, named_rate, versions = the_terms_named(order_id)
    assert (rate, named_rate) == (1000, 1000)
    assert versions == [(1, 1000), (2, 2000)]
