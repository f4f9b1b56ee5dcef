"""Stripe's webhooks as Stripe really sends them: events about objects of another integration
on the same Stripe account, late and repeated events, and Stripe's own shapes.

Events are Stripe's own example objects (tests/data/stripe_fixtures.json) with the fields
each test relies on, signed as Stripe signs them (tests/stripe_fixtures.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from perks.extensions import db
from perks.payments.models import EventOutcome, StripeEvent
from perks.shop.models import Order, OrderStatus
from tests import factories
from tests import stripe_fixtures as sf


@pytest.fixture
def heard() -> Iterator[list[sf.SignalCall]]:
    with sf.recording_order_signals() as calls:
        yield calls


def reloaded(order: Order) -> Order:
    db.session.expire_all()
    return db.session.get(Order, order.id)


def outcome_of(evt: dict) -> StripeEvent:
    db.session.expire_all()
    return db.session.scalar(select(StripeEvent).where(StripeEvent.event_id == evt["id"]))


# --- objects of another integration on the same Stripe account ----------------------------------


def test_another_integrations_session_with_the_same_reference_leaves_the_order_alone(client):
    """Another shop on the account numbers its carts too: its session's client_reference_id
    (and its own ``order_id`` metadata) may be one of our order ids."""
    order = factories.OrderFactory()
    theirs = sf.checkout_session(
        order,
        id="cs_test_another_shop",
        amount_total=99_000,
        payment_intent="pi_test_another_shop",
        metadata={"order_id": str(order.id), "cart": "their cart"},
    )
    evt = sf.event("checkout.session.completed", theirs)
    assert sf.deliver(client, evt).status_code == 200
    stored = outcome_of(evt)
    assert stored.outcome is EventOutcome.IGNORED
    assert stored.order_id is None
    order = reloaded(order)
    assert order.mismatch == ""
    assert order.payment_intent_id is None

    # our own payment still pays it
    assert sf.deliver(client, sf.event("checkout.session.completed", sf.checkout_session(order)))
    order = reloaded(order)
    assert order.status is OrderStatus.PAID
    assert order.payment_intent_id == sf.payment_intent_id(order)


def test_another_integrations_refund_with_the_same_order_id_leaves_the_order_alone(client, heard):
    """Another integration's charge whose ``order_id`` metadata is one of our order ids: its
    refund is not ours, and the order must not take its payment intent for its own."""
    order = factories.OrderFactory()
    theirs = sf.charge(
        order,
        id="ch_test_another_shop",
        payment_intent="pi_test_another_shop",
        amount=50_000,
        amount_refunded=50_000,
        metadata={"order_id": str(order.id)},
    )
    evt = sf.event("charge.refunded", theirs)
    assert sf.deliver(client, evt).status_code == 200
    assert outcome_of(evt).outcome is EventOutcome.IGNORED

    sf.deliver(client, sf.event("checkout.session.completed", sf.checkout_session(order)))
    order = reloaded(order)
    assert order.status is OrderStatus.PAID
    assert order.refunded_amount == 0
    assert order.payment_intent_id == sf.payment_intent_id(order)
    assert order.charge_id is None
    assert [name for name, _, _ in heard] == ["paid"]


# --- Stripe's shapes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "currency"), [(123_457, "VND"), (1_999, "USD"), (1_250, "JPY"), (5_000, "KRW")]
)
@pytest.mark.parametrize("case", [str.upper, str.lower])
def test_currencies_in_any_case_and_expanded_objects(client, heard, price, currency, case):
    product = factories.ProductFactory(price_amount=price, currency=currency)
    order = factories.OrderFactory(product=product, quantity=3)
    intent = sf.payment_intent(order)
    session = sf.checkout_session(order, currency=case(currency), payment_intent=intent)
    assert sf.deliver(client, sf.event("checkout.session.completed", session)).status_code == 200
    order = reloaded(order)
    assert order.status is OrderStatus.PAID
    assert order.paid_amount == price * 3
    assert order.payment_intent_id == intent["id"]
    charge = sf.charge(order, amount_refunded=price, currency=case(currency), payment_intent=intent)
    sf.deliver(client, sf.event("charge.refunded", charge))
    dispute = sf.dispute(order, status="lost", currency=case(currency), charge=charge)
    dispute["payment_intent"] = intent
    sf.deliver(client, sf.event("charge.dispute.closed", dispute))
    order = reloaded(order)
    assert order.refunded_amount == price
    assert order.status is OrderStatus.DISPUTED
    assert order.mismatch == ""
    told = [name for name, _, _ in heard]
    assert told == ["paid", "refunded", "dispute_opened", "dispute_closed"]


def test_a_dispute_with_its_payment_intent_expanded_waits_for_the_payment(client, heard):
    order = factories.OrderFactory()
    dispute = sf.dispute(order, payment_intent=sf.payment_intent(order), metadata={})
    sf.deliver(client, sf.event("charge.dispute.created", dispute))
    sf.deliver(client, sf.event("checkout.session.completed", sf.checkout_session(order)))
    order = reloaded(order)
    assert order.status is OrderStatus.DISPUTED
    assert [name for name, _, _ in heard] == ["paid", "dispute_opened"]


# --- a dispute on a redeemed order whose commission was paid out --------------------------------


def _paid_out_commission(client) -> tuple[Order, object]:
    """A referred order paid, redeemed, its commission released and paid out."""
    from datetime import timedelta

    from perks.commissions import ledger, lifecycle
    from perks.db import utcnow
    from perks.shop.redemption import redeem_order

    factories.CommissionRuleFactory(rate_bps=1000)
    employee = factories.UserFactory()
    link = factories.ReferralLinkFactory(user=employee)
    order = factories.OrderFactory(referral_link_id=link.id, attribution_reason="cookie")
    sf.deliver(client, sf.event("checkout.session.completed", sf.checkout_session(order)))
    db.session.refresh(order)
    redeem_order(order.redemption_code, factories.UserFactory(roles={factories.Role.REDEEMER}))
    later = utcnow() + timedelta(days=40)
    lifecycle.release_due_commissions(later)
    for line in ledger.net_per_person(list(db.session.scalars(ledger.payable_entries(later)))):
        lifecycle.record_payout(
            line.user_id,
            line.net,
            entry_ids=line.entry_ids,
            payout_batch_id=None,
            actor=None,
            paid_at=later,
        )
    db.session.commit()
    return order, employee


@pytest.mark.parametrize(
    ("closing", "balance"), [("won", 0), ("lost", -240_000), ("warning_closed", 0)]
)
@pytest.mark.parametrize("closed_first", [False, True])
def test_a_dispute_on_a_paid_out_commission(client, closing, balance, closed_first):
    from perks.commissions import ledger
    from perks.commissions.models import Commission, CommissionState
    from perks.commissions.verify import verify_ledger

    order, employee = _paid_out_commission(client)
    assert ledger.balance(employee.id, "VND").amount == 0
    events = [
        sf.event("charge.dispute.created", sf.dispute(order)),
        sf.event("charge.dispute.funds_withdrawn", sf.dispute(order)),
        sf.event("charge.dispute.closed", sf.dispute(order, status=closing)),
    ]
    if closed_first:
        events.reverse()
    for evt in events + events:
        assert sf.deliver(client, evt).status_code == 200
    db.session.expire_all()
    commission = db.session.scalar(select(Commission).where(Commission.order_id == order.id))
    assert commission.state is CommissionState.PAID
    assert ledger.balance(employee.id, "VND").amount == balance
    assert verify_ledger().ok


# --- answers: 2xx unless a retry can help -------------------------------------------------------


@pytest.mark.parametrize("reference", ["²", "12³", "①", "٣"])
def test_another_integrations_odd_references_are_ignored_not_retried(client, reference):
    """A reference of another integration that looks like a number to Python's isdigit()
    (superscripts, circled digits) is still no order id: answering 500 would only make Stripe
    send it again for three days."""
    order = factories.OrderFactory()
    session = sf.checkout_session(
        order, id="cs_test_odd", client_reference_id=reference, metadata={"order_id": reference}
    )
    charge = sf.charge(
        order, id="ch_test_odd", payment_intent="pi_test_odd", metadata={"order_id": reference}
    )
    for evt in (
        sf.event("checkout.session.completed", session),
        sf.event("charge.refunded", charge),
    ):
        assert sf.deliver(client, evt).status_code == 200
        assert outcome_of(evt).outcome is EventOutcome.IGNORED


def test_an_event_with_a_nul_character_stored_does_not_stop_the_payments(client):
    """JSON allows "\\u0000" in a string (another integration's metadata, a name typed at
    Stripe). PostgreSQL's json type stores it, but refuses to extract any field of such a
    document as text: stored as ignored, it must not make every payment after it fail."""
    order = factories.OrderFactory()
    theirs = sf.charge(
        order,
        id="ch_test_nul",
        payment_intent="pi_test_nul",
        amount_refunded=1_000,
        metadata={"note": "a\u0000b"},
    )
    evt = sf.event("charge.refunded", theirs)
    assert sf.deliver(client, evt).status_code == 200
    assert outcome_of(evt).outcome is EventOutcome.IGNORED

    dispute = sf.dispute(order)  # before the payment, waiting for it
    sf.deliver(client, sf.event("charge.dispute.created", dispute))
    paid = sf.event("checkout.session.completed", sf.checkout_session(order))
    assert sf.deliver(client, paid).status_code == 200
    assert reloaded(order).status is OrderStatus.DISPUTED
