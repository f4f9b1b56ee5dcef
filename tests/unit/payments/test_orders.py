"""Recording payment facts on an order: each once, signals once per real change, in an order
that makes sense even when Stripe reports a refund or a dispute before the payment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from perks.extensions import db
from perks.money import Money
from perks.shop import orders
from perks.shop.models import DisputeStatus, Order, OrderStatus, RedemptionMode
from perks.shop.orders import Outcome
from tests import factories
from tests.stripe_fixtures import SignalCall, recording_order_signals

pytestmark = pytest.mark.usefixtures("app")


@pytest.fixture
def heard() -> Iterator[list[SignalCall]]:
    """Every order signal sent during the test."""
    with recording_order_signals() as calls:
        yield calls


def names(calls: list[SignalCall]) -> list[str]:
    return [name for name, _, _ in calls]


def vnd(amount: int) -> Money:
    return Money(amount, "VND")


def pay(order: Order, amount: Money | None = None) -> orders.Recorded:
    recorded = orders.record_payment(
        order, amount or order.total, payment_intent_id="pi_1", charge_id=None
    )
    db.session.commit()
    return recorded


def test_a_payment_of_the_total_pays_the_order_once(heard):
    order = factories.OrderFactory()
    first = pay(order)
    assert first.outcome is Outcome.APPLIED
    assert order.status is OrderStatus.PAID
    assert order.paid_amount == 2_400_000
    assert order.payment_intent_id == "pi_1"
    paid_at = order.paid_at
    again = pay(order)
    assert again.outcome is Outcome.NO_CHANGE
    assert order.paid_at == paid_at
    assert names(heard) == ["paid"]


def test_a_different_amount_is_a_mismatch_never_paid(heard):
    order = factories.OrderFactory()
    recorded = pay(order, vnd(2_399_999))
    assert recorded.outcome is Outcome.MISMATCH
    assert "2,399,999" in order.mismatch
    assert "2,400,000" in order.mismatch
    assert order.paid_at is None
    assert order.status is OrderStatus.PENDING
    # Even the right amount afterwards does not fulfil it: finance decides.
    assert pay(order).outcome is Outcome.MISMATCH
    assert order.paid_at is None
    assert heard == []


def test_a_different_currency_is_a_mismatch_even_for_the_same_number(heard):
    order = factories.OrderFactory(
        product=factories.ProductFactory(price_amount=1250, currency="USD")
    )
    recorded = pay(order, Money(1250, "EUR"))
    assert recorded.outcome is Outcome.MISMATCH
    assert "EUR" in order.mismatch
    assert order.paid_at is None
    assert heard == []


def test_an_order_redeemed_on_payment_is_redeemed_by_it(heard):
    gift = factories.ProductFactory(redemption_mode=RedemptionMode.ON_PAYMENT)
    order = factories.OrderFactory(product=gift)
    recorded = pay(order)
    assert "redeemed on payment" in recorded.detail
    assert order.status is OrderStatus.REDEEMED
    assert order.redeemed_at is not None
    assert order.redeemed_by_id is None
    assert names(heard) == ["paid", "redeemed"]
    assert heard[1][2] == {"redeemed_by": None}


def test_a_mixed_order_waits_for_the_counter(heard):
    order = factories.OrderFactory()
    factories.OrderLineFactory(
        order=order, product=factories.ProductFactory(redemption_mode=RedemptionMode.ON_PAYMENT)
    )
    order.total_amount = order.subtotal_amount = 4_800_000
    db.session.commit()
    pay(order)
    assert order.redeemed_at is None
    assert names(heard) == ["paid"]


def test_closing_a_paid_order_changes_nothing():
    order = factories.OrderFactory()
    pay(order)
    assert orders.record_closed(order, "expired").outcome is Outcome.NO_CHANGE
    assert order.status is OrderStatus.PAID
    assert order.closed_at is None


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        ("expired", OrderStatus.EXPIRED),
        ("payment_failed", OrderStatus.CANCELLED),
        ("cancelled", OrderStatus.CANCELLED),
    ],
)
def test_an_unpaid_order_closes_once_with_its_first_reason(reason, status):
    order = factories.OrderFactory()
    assert orders.record_closed(order, reason).outcome is Outcome.APPLIED
    assert order.status is status
    assert orders.record_payment_failed(order).outcome is Outcome.NO_CHANGE
    assert order.closed_reason == reason


def test_an_unknown_reason_to_close_is_a_bug():
    with pytest.raises(ValueError, match="unknown reason"):
        orders.record_closed(factories.OrderFactory(), "bored")


def test_a_payment_after_closing_still_counts():
    """The money came in (a delayed payment, or a race with expiry): the order is paid."""
    order = factories.OrderFactory()
    orders.record_closed(order, "expired")
    assert pay(order).outcome is Outcome.APPLIED
    assert order.status is OrderStatus.PAID


def test_refund_totals_only_grow_and_announce_the_difference(heard):
    order = factories.OrderFactory()
    pay(order)
    assert orders.record_refund_total(order, vnd(400_000)).outcome is Outcome.APPLIED
    assert order.status is OrderStatus.PARTIALLY_REFUNDED
    # An older, smaller total arriving late is no news.
    assert orders.record_refund_total(order, vnd(100_000)).outcome is Outcome.NO_CHANGE
    assert orders.record_refund_total(order, vnd(400_000)).outcome is Outcome.NO_CHANGE
    assert orders.record_refund_total(order, vnd(2_400_000)).outcome is Outcome.APPLIED
    assert order.status is OrderStatus.REFUNDED
    refunds = [kwargs for name, _, kwargs in heard if name == "refunded"]
    assert refunds == [
        {"refunded_total": vnd(400_000), "previous_total": vnd(0)},
        {"refunded_total": vnd(2_400_000), "previous_total": vnd(400_000)},
    ]


def test_a_refund_total_never_exceeds_the_order_total(heard):
    order = factories.OrderFactory()
    pay(order)
    recorded = orders.record_refund_total(order, vnd(9_000_000))
    assert "capped" in recorded.detail
    db.session.commit()  # the database's check constraint agrees
    assert order.refunded_amount == 2_400_000
    assert heard[-1][2]["refunded_total"] == vnd(2_400_000)


def test_a_refund_in_another_currency_is_a_mismatch(heard):
    order = factories.OrderFactory()
    pay(order)
    assert orders.record_refund_total(order, Money(100, "USD")).outcome is Outcome.MISMATCH
    assert order.refunded_amount == 0
    assert "USD" in order.mismatch
    assert names(heard) == ["paid"]


def test_a_refund_reported_before_the_payment_is_announced_after_it(heard):
    order = factories.OrderFactory()
    early = orders.record_refund_total(order, vnd(600_000))
    assert early.outcome is Outcome.APPLIED
    assert "before the payment" in early.detail
    assert order.status is OrderStatus.PENDING  # not paid: nothing to refund yet
    assert heard == []
    recorded = pay(order)
    assert "refunded" in recorded.detail
    assert order.status is OrderStatus.PARTIALLY_REFUNDED
    assert order.refunded_amount == 600_000
    assert names(heard) == ["paid", "refunded"]
    assert heard[1][2] == {"refunded_total": vnd(600_000), "previous_total": vnd(0)}


def test_an_early_full_refund_of_an_order_redeemed_on_payment_tells_the_whole_story(heard):
    """As it happened: paid, redeemed on payment, then refunded."""
    order = factories.OrderFactory(
        product=factories.ProductFactory(redemption_mode=RedemptionMode.ON_PAYMENT)
    )
    orders.record_refund_total(order, order.total)
    pay(order)
    assert names(heard) == ["paid", "redeemed", "refunded"]
    assert order.status is OrderStatus.REFUNDED
    assert order.redeemed_at is not None


def test_a_dispute_opens_then_closes_once(heard):
    order = factories.OrderFactory()
    pay(order)
    assert orders.record_dispute(order, DisputeStatus.OPEN).outcome is Outcome.APPLIED
    assert order.status is OrderStatus.DISPUTED
    assert orders.record_dispute(order, DisputeStatus.OPEN).outcome is Outcome.NO_CHANGE
    assert orders.record_dispute(order, DisputeStatus.WON).outcome is Outcome.APPLIED
    assert order.status is OrderStatus.PAID
    # Closed stays closed, whatever arrives late.
    assert orders.record_dispute(order, DisputeStatus.OPEN).outcome is Outcome.NO_CHANGE
    assert orders.record_dispute(order, DisputeStatus.LOST).outcome is Outcome.NO_CHANGE
    assert order.dispute_status is DisputeStatus.WON
    assert heard[1:] == [
        ("dispute_opened", order.id, {}),
        ("dispute_closed", order.id, {"won": True}),
    ]


def test_a_dispute_reported_closed_first_is_opened_and_closed(heard):
    order = factories.OrderFactory()
    pay(order)
    orders.record_dispute(order, DisputeStatus.LOST)
    assert order.status is OrderStatus.DISPUTED
    assert heard[1:] == [
        ("dispute_opened", order.id, {}),
        ("dispute_closed", order.id, {"won": False}),
    ]


def test_a_dispute_before_the_payment_waits_for_it(heard):
    order = factories.OrderFactory()
    orders.record_dispute(order, DisputeStatus.OPEN)
    orders.record_refund_total(order, vnd(100_000))
    assert heard == []
    assert order.status is OrderStatus.PENDING
    pay(order)
    assert names(heard) == ["paid", "refunded", "dispute_opened"]
    assert order.status is OrderStatus.DISPUTED


def test_no_dispute_status_is_a_bug():
    with pytest.raises(ValueError, match="open, won or lost"):
        orders.record_dispute(factories.OrderFactory(), DisputeStatus.NONE)


def test_awaiting_payment_keeps_the_payment_intent_only(heard):
    order = factories.OrderFactory()
    assert (
        orders.record_awaiting_payment(order, payment_intent_id="pi_x").outcome is Outcome.APPLIED
    )
    assert order.payment_intent_id == "pi_x"
    assert order.status is OrderStatus.PENDING
    assert (
        orders.record_awaiting_payment(order, payment_intent_id="pi_x").outcome is Outcome.NO_CHANGE
    )
    assert heard == []
