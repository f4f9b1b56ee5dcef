"""Order stories, told through the shop's real services and signals, and what they earn.

Each row: the product (price, currency, quantity), the steps, then each commission's final
state and worth, the employee's ledger entries in order, and what they are still owed. After
every story ``verify-ledger`` agrees, and recording every fact of the story again (a webhook
delivered twice) changes no figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from perks.commissions import ledger, lifecycle, services, summaries
from perks.commissions.models import (
    Commission,
    CommissionState,
    LedgerEntry,
    RuleKind,
    RuleScope,
    VoidReason,
)
from perks.commissions.verify import verify_ledger
from perks.db import utcnow
from perks.extensions import db
from perks.i18n import company_date
from perks.money import Money
from perks.people.models import Role
from perks.shop import orders
from perks.shop.models import DiscountKind, DisputeStatus, Order
from tests import factories
from tests.unit.commissions.helpers import (
    Payroll,
    commissions_of,
    dispute,
    entries_of,
    pay,
    redeem,
    referred_order,
    referred_order_of,
    refund_to,
    tick,
)

pytestmark = pytest.mark.usefixtures("app")
S = CommissionState


@dataclass(frozen=True)
class Story:
    name: str
    steps: tuple[str, ...]
    state: CommissionState
    worth: int
    entries: tuple[tuple[str, int], ...]
    owed: int
    price: int = 2_400_000
    currency: str = "VND"
    quantity: int = 1


STORIES = [
    Story(
        "paid, redeemed, payable, paid",
        ("pay", "redeem", "tick", "payout"),
        S.PAID,
        240_000,
        (("earn", 240_000), ("payout", -240_000)),
        0,
    ),
    Story("paid only", ("pay",), S.PENDING, 240_000, (), 0),
    Story(
        "not payable before the tick",
        ("pay", "redeem"),
        S.EARNED,
        240_000,
        (("earn", 240_000),),
        240_000,
    ),
    Story("full refund before redemption", ("pay", "refund 2400000"), S.VOIDED, 0, (), 0),
    Story(
        "partial refund before redemption lowers what is earned",
        ("pay", "refund 1000000", "redeem", "tick", "payout"),
        S.PAID,
        140_000,
        (("earn", 140_000), ("payout", -140_000)),
        0,
    ),
    Story(
        "partial refund after earn",
        ("pay", "redeem", "refund 600000"),
        S.EARNED,
        180_000,
        (("earn", 240_000), ("reversal", -60_000)),
        180_000,
    ),
    Story(
        "two partial refunds summing to the whole",
        ("pay", "redeem", "refund 1000000", "refund 2400000"),
        S.VOIDED,
        0,
        (("earn", 240_000), ("reversal", -100_000), ("reversal", -140_000)),
        0,
    ),
    Story(
        "refund after payout: the negative is carried",
        ("pay", "redeem", "tick", "payout", "refund 2400000", "payout"),
        S.PAID,
        0,
        (("earn", 240_000), ("payout", -240_000), ("reversal", -240_000)),
        -240_000,
    ),
    Story(
        "dispute opened: on hold, the tick leaves it",
        ("pay", "redeem", "dispute open", "tick", "payout"),
        S.ON_HOLD,
        240_000,
        (("earn", 240_000),),
        240_000,
    ),
    Story(
        "dispute opened then won",
        ("pay", "redeem", "dispute open", "dispute won", "tick", "payout"),
        S.PAID,
        240_000,
        (("earn", 240_000), ("payout", -240_000)),
        0,
    ),
    Story(
        "dispute lost before redemption",
        ("pay", "dispute open", "dispute lost"),
        S.VOIDED,
        0,
        (),
        0,
    ),
    Story(
        "dispute lost after earn",
        ("pay", "redeem", "dispute open", "dispute lost", "tick", "payout"),
        S.VOIDED,
        0,
        (("earn", 240_000), ("reversal", -240_000)),
        0,
    ),
    Story(
        "dispute lost after payout",
        ("pay", "redeem", "tick", "payout", "dispute open", "dispute lost"),
        S.PAID,
        0,
        (("earn", 240_000), ("payout", -240_000), ("reversal", -240_000)),
        -240_000,
    ),
    Story(
        "USD: 10 % of 3 × $12.50, in cents",
        ("pay", "redeem", "refund 1000", "tick", "payout"),
        S.PAID,
        (375 * 2750) // 3750,
        (("earn", 375), ("reversal", -100), ("payout", -275)),
        0,
        price=1250,
        currency="USD",
        quantity=3,
    ),
    Story(
        "VND rounding: 10 % of 1.234.567 ₫ is 123.457 ₫",
        ("pay", "redeem", "refund 1", "refund 2", "refund 1234567"),
        S.VOIDED,
        0,
        (("earn", 123_457), ("reversal", -123_457)),
        0,
        price=1_234_567,
    ),
]


def run(step: str, order: Order, payroll: Payroll) -> None:
    verb, _, argument = step.partition(" ")
    if verb == "pay":
        pay(order)
    elif verb == "redeem":
        redeem(order)
    elif verb == "tick":
        tick()
    elif verb == "payout":
        payroll.pay_out()
    elif verb == "refund":
        refund_to(order, int(argument))
    elif verb == "dispute":
        dispute(
            order,
            {"open": DisputeStatus.OPEN, "won": DisputeStatus.WON}.get(
                argument, DisputeStatus.LOST
            ),
        )
    else:  # pragma: no cover - a typo in the table
        raise AssertionError(step)


def figures(order: Order) -> tuple[list, list]:
    commissions = [
        (c.state, c.amount, c.earned_amount, c.reversed_amount, c.refunded_base_amount)
        for c in commissions_of(order)
    ]
    entries = [
        (e.kind, e.amount) for e in db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))
    ]
    return commissions, entries


def replay_every_fact(order: Order) -> None:
    """Record again what Stripe and the counter reported: nothing may change."""
    db.session.refresh(order)
    orders.record_payment(
        order, order.total, payment_intent_id=order.payment_intent_id, charge_id=order.charge_id
    )
    if order.refunded_amount:
        orders.record_refund_total(order, order.refunded)
    if order.dispute_status is not DisputeStatus.NONE:
        orders.record_dispute(order, order.dispute_status)
    # and the receivers themselves, as if a signal were sent twice
    lifecycle.create_commissions(order)
    lifecycle.refund_order(order, order.refunded, order.refunded)
    db.session.commit()


@pytest.mark.parametrize("story", STORIES, ids=[s.name for s in STORIES])
def test_story(story):
    factories.CommissionRuleFactory(rate_bps=1000)
    employee = factories.UserFactory()
    product = factories.ProductFactory(price_amount=story.price, currency=story.currency)
    order = referred_order(product, quantity=story.quantity, employee=employee)
    payroll = Payroll()
    for step in story.steps:
        run(step, order, payroll)

    (commission,) = commissions_of(order)
    assert (commission.state, commission.amount) == (story.state, story.worth)
    assert tuple(entries_of(employee)) == story.entries
    assert ledger.balance(employee.id, story.currency) == Money(story.owed, story.currency)
    assert commission.reversed_amount <= commission.earned_amount
    report = verify_ledger()
    assert report.problems == []

    before = figures(order)
    replay_every_fact(order)
    assert figures(order) == before
    assert verify_ledger().ok


def test_a_voided_commission_says_the_order_was_refunded_and_when():
    factories.CommissionRuleFactory()
    order = referred_order()
    pay(order)
    refund_to(order, order.total_amount)
    (commission,) = commissions_of(order)
    assert commission.void_reason is VoidReason.REFUNDED
    assert commission.voided_at is not None


def test_a_negative_carried_forward_nets_against_the_next_payout():
    factories.CommissionRuleFactory()
    employee = factories.UserFactory()
    payroll = Payroll()
    first = referred_order(employee=employee)
    for step in ("pay", "redeem", "tick", "payout"):
        run(step, first, payroll)
    refund_to(first, 1_000_000)  # −100.000 ₫ after it was paid
    assert payroll.pay_out() == {}  # nothing positive to pay: carried forward
    second = referred_order(factories.ProductFactory(price_amount=3_000_000), employee=employee)
    for step in ("pay", "redeem", "tick"):
        run(step, second, payroll)
    assert payroll.pay_out() == {employee.id: Money(200_000, "VND")}
    assert ledger.balance(employee.id, "VND") == Money(0, "VND")
    assert [c.state for c in commissions_of(second)] == [S.PAID]
    assert verify_ledger().ok


def test_the_rule_changed_between_two_orders_each_keeps_its_own():
    finance = factories.UserFactory(roles={Role.FINANCE})
    product = factories.ProductFactory(price_amount=2_000_000)
    rule = services.create_rule(
        services.RuleData(
            scope=RuleScope.PRODUCT,
            product_id=product.id,
            kind=RuleKind.PERCENT,
            rate_bps=500,
            effective_from=date(2020, 1, 1),
        ),
        actor=finance,
    )
    first = referred_order(product)
    pay(first)
    today = company_date(utcnow())
    newer = services.revise_rule(
        rule.id,
        services.RuleData(
            scope=RuleScope.PRODUCT,
            product_id=product.id,
            kind=RuleKind.FLAT,
            flat_amount=150_000,
            currency="VND",
            effective_from=today,
        ),
        actor=finance,
    )
    assert newer.id != rule.id
    assert (newer.version, newer.supersedes_id) == (2, rule.id)
    db.session.refresh(rule)
    assert rule.effective_to == today - timedelta(days=1)
    assert (rule.kind, rule.rate_bps) == (RuleKind.PERCENT, 500)  # the applied terms stay
    second = referred_order(product, quantity=2)
    pay(second)
    (a,) = commissions_of(first)
    (b,) = commissions_of(second)
    assert (a.rule_id, a.rule_version, a.rate_bps, a.amount) == (rule.id, 1, 500, 100_000)
    assert (b.rule_id, b.rule_version, b.flat_amount, b.amount) == (newer.id, 2, 150_000, 300_000)
    assert verify_ledger().ok


def test_the_most_specific_rule_wins():
    product = factories.ProductFactory(price_amount=1_000_000)
    other = factories.ProductFactory(price_amount=1_000_000, category=product.category)
    factories.CommissionRuleFactory(rate_bps=100)
    factories.CommissionRuleFactory(
        scope=RuleScope.CATEGORY, category_id=product.category_id, rate_bps=200
    )
    factories.CommissionRuleFactory(scope=RuleScope.PRODUCT, product_id=product.id, rate_bps=300)
    unrelated = factories.ProductFactory(price_amount=1_000_000)
    employee = factories.UserFactory()
    order = referred_order_of([(product, 1), (other, 1), (unrelated, 1)], employee=employee)
    pay(order)
    assert [c.amount for c in commissions_of(order)] == [30_000, 20_000, 10_000]


def test_a_partial_refund_of_a_multi_line_order_is_prorated_exactly():
    factories.CommissionRuleFactory(rate_bps=1000)
    employee = factories.UserFactory()
    a = factories.ProductFactory(price_amount=333_333)
    b = factories.ProductFactory(price_amount=666_667)
    order = referred_order_of([(a, 1), (b, 2)], employee=employee)  # 1.666.667 ₫
    pay(order)
    redeem(order)
    for total in (1, 500_000, 500_001, 1_000_000, 1_666_666, 1_666_667):
        refund_to(order, total)
        commissions = commissions_of(order)
        assert sum(c.refunded_base_amount for c in commissions) == total
        assert all(c.reversed_amount <= c.earned_amount for c in commissions)
        assert verify_ledger().ok
    assert [c.state for c in commissions_of(order)] == [S.VOIDED, S.VOIDED]
    assert ledger.balance(employee.id, "VND") == Money(0, "VND")


def test_a_cap_and_a_flat_amount_per_unit_in_usd():
    factories.CommissionRuleFactory(
        kind=RuleKind.FLAT, rate_bps=None, flat_amount=200, cap_amount=500, currency="USD"
    )
    usd = factories.ProductFactory(price_amount=1250, currency="USD")
    order = referred_order(usd, quantity=3)
    pay(order)
    (commission,) = commissions_of(order)
    assert commission.value == Money(500, "USD")  # 3 × $2.00, capped at $5.00
    assert (commission.flat_amount, commission.cap_amount) == (200, 500)


def test_a_usd_rule_does_not_apply_to_a_vnd_order():
    factories.CommissionRuleFactory(
        kind=RuleKind.FLAT, rate_bps=None, flat_amount=200, currency="USD"
    )
    order = referred_order()
    pay(order)
    (commission,) = commissions_of(order)
    assert (commission.rule_id, commission.amount) == (None, 0)
    redeem(order)
    assert entries_of(order.referral_link.user) == []
    assert verify_ledger().ok


@pytest.mark.parametrize(
    "make_order",
    [
        lambda: factories.OrderFactory(),
        lambda: referred_order(discount_kind=DiscountKind.STAFF),
        lambda: referred_order(attribution_flagged=True),
        lambda: referred_order(buyer_id=factories.UserFactory().id),
    ],
    ids=["no link", "staff price", "flagged self-referral", "signed-in staff buyer"],
)
def test_orders_that_earn_nothing(make_order):
    factories.CommissionRuleFactory()
    order = make_order()
    pay(order)
    redeem(order)
    assert db.session.scalars(select(Commission)).all() == []
    assert db.session.scalars(select(LedgerEntry)).all() == []


def test_redeeming_on_payment_earns_at_once_and_e_mails_the_employee():
    from perks.mail import OutboxMessage
    from perks.shop.models import RedemptionMode

    factories.CommissionRuleFactory()
    employee = factories.UserFactory(email="an@example.com")
    product = factories.ProductFactory(redemption_mode=RedemptionMode.ON_PAYMENT)
    order = referred_order(product, employee=employee)
    pay(order)
    (commission,) = commissions_of(order)
    assert commission.state is S.EARNED
    assert commission.payable_at - commission.earned_at == timedelta(days=14)
    mail = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == "an@example.com")
    ).one()
    assert order.number in mail.subject
    assert "240,000" in mail.subject or "240.000" in mail.subject


def test_the_holding_period_is_a_setting(app_factory):
    app = app_factory(COMMISSION_HOLDING_DAYS=3)
    with app.app_context():
        factories.CommissionRuleFactory()
        order = referred_order()
        pay(order)
        redeem(order)
        (commission,) = commissions_of(order)
        assert commission.payable_at - commission.earned_at == timedelta(days=3)
        assert lifecycle.release_due_commissions(utcnow() + timedelta(days=2)) == 0
        assert lifecycle.release_due_commissions(utcnow() + timedelta(days=3, seconds=1)) == 1
        assert lifecycle.release_due_commissions(utcnow() + timedelta(days=30)) == 0
        db.session.remove()


def test_demo_data_can_age_an_earned_commission_past_its_holding_period():
    factories.CommissionRuleFactory()
    young, old = referred_order(), referred_order()
    for order in (young, old):
        pay(order)
        redeem(order)
    assert lifecycle.backdate_earning(old.id, 15) == 1
    assert lifecycle.release_due_commissions() == 1
    assert [c.state for c in commissions_of(old)] == [S.PAYABLE]
    assert [c.state for c in commissions_of(young)] == [S.EARNED]
    assert verify_ledger().ok


def test_verify_ledger_names_a_summary_the_facts_no_longer_match():
    factories.CommissionRuleFactory(rate_bps=1000)
    order = referred_order()
    pay(order)
    redeem(order)
    assert verify_ledger().ok
    (entry,) = db.session.scalars(select(LedgerEntry)).all()
    earned_on = company_date(entry.created_at)
    # Dated back past the ORM (as the demo does), without rebuilding the summaries.
    entries = LedgerEntry.__table__
    db.session.execute(entries.update().values(created_at=entry.created_at - timedelta(days=40)))
    db.session.commit()

    problems = verify_ledger().problems
    assert len(problems) == 2, problems
    assert any(f"ledger day ({earned_on}, " in problem for problem in problems)
    assert all("the summary holds" in problem for problem in problems)

    summaries.rebuild()
    assert verify_ledger().ok
