"""Stripe's webhook endpoint: trusted only when signed, each event applied once, whatever the
order and the number of deliveries; its event log for admins and finance.

Events are Stripe's own example objects (tests/data/stripe_fixtures.json) with the fields
each test relies on, signed as Stripe signs them (tests/stripe_fixtures.py).
"""

from __future__ import annotations

import html
import json
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from perks.audit import AuditEvent
from perks.extensions import db
from perks.mail import OutboxMessage
from perks.payments import webhooks
from perks.payments.models import EventOutcome, StripeEvent
from perks.people.models import Role
from perks.shop.events import order_paid
from perks.shop.models import DisputeStatus, Order, OrderStatus, RedemptionMode
from tests import factories
from tests import stripe_fixtures as sf
from tests.helpers import counting_statements


@pytest.fixture
def heard() -> Iterator[list[sf.SignalCall]]:
    with sf.recording_order_signals() as calls:
        yield calls


def stored_events() -> int:
    return db.session.scalar(select(func.count()).select_from(StripeEvent))


def reloaded(order: Order) -> Order:
    db.session.expire_all()
    return db.session.get(Order, order.id)


def paid_event(order: Order, **fields: Any) -> dict[str, Any]:
    return sf.event("checkout.session.completed", sf.checkout_session(order, **fields))


# --- trust --------------------------------------------------------------------------------------


def test_a_signed_event_is_stored_and_answered_200(client, heard):
    order = factories.OrderFactory()
    evt = paid_event(order)
    response = sf.deliver(client, evt)
    assert response.status_code == 200
    assert response.json == {"received": True}
    stored = db.session.scalar(select(StripeEvent))
    assert stored.event_id == evt["id"]
    assert stored.type == "checkout.session.completed"
    assert stored.order_id == order.id
    assert stored.outcome is EventOutcome.APPLIED
    assert stored.payload == evt
    assert reloaded(order).status is OrderStatus.PAID


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "t=1,v1=00",
        "garbage",
        "v1=abc",
    ],
)
def test_a_missing_or_malformed_signature_is_refused(client, signature, heard):
    order = factories.OrderFactory()
    payload = sf.body(paid_event(order))
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    response = client.post(sf.WEBHOOK_PATH, data=payload, headers=headers)
    assert response.status_code == 400
    assert stored_events() == 0
    assert reloaded(order).status is OrderStatus.PENDING
    assert heard == []


def test_a_signature_with_another_secret_is_refused(client):
    order = factories.OrderFactory()
    response = sf.deliver(client, paid_event(order), secret="whsec_someone_else")
    assert response.status_code == 400
    assert stored_events() == 0
    assert reloaded(order).paid_at is None


def test_a_stale_signature_is_refused(client):
    """Stripe's tolerance is 5 minutes: an old, replayed delivery is not trusted."""
    order = factories.OrderFactory()
    response = sf.deliver(client, paid_event(order), timestamp=int(time.time()) - 301)
    assert response.status_code == 400
    assert stored_events() == 0
    recent = sf.deliver(client, paid_event(order), timestamp=int(time.time()) - 240)
    assert recent.status_code == 200


def test_a_tampered_body_is_refused(client):
    """Signed for one amount, changed to another on the way: refused, nothing stored."""
    order = factories.OrderFactory()
    genuine = sf.body(paid_event(order, amount_total=1_000))
    signature = sf.signature_header(genuine, client.application.config["STRIPE_WEBHOOK_SECRET"])
    tampered = genuine.replace(
        b'"amount_total": 1000', f'"amount_total": {order.total_amount}'.encode()
    )
    assert tampered != genuine
    assert sf.deliver(client, tampered, signature=signature).status_code == 400
    assert stored_events() == 0
    assert reloaded(order).paid_at is None


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[1, 2]", b'{"id": "evt_1"}', b'{"object": "event", "id": "evt_1", "type": 3}'],
)
def test_a_signed_body_that_is_not_an_event_is_refused(client, payload):
    assert sf.deliver(client, payload).status_code == 400
    assert stored_events() == 0


def test_the_webhook_needs_no_csrf_token(app_factory, app):
    """CSRF protection is on in production; Stripe has no token, its signature stands in."""
    protected = app_factory(WTF_CSRF_ENABLED=True)
    order = factories.OrderFactory()
    assert sf.deliver(protected.test_client(), paid_event(order)).status_code == 200
    assert reloaded(order).status is OrderStatus.PAID


# --- each event type ----------------------------------------------------------------------------


def test_an_unpaid_completed_session_waits_for_the_delayed_payment(client, heard):
    order = factories.OrderFactory()
    waiting = sf.event(
        "checkout.session.completed", sf.checkout_session(order, payment_status="unpaid")
    )
    assert sf.deliver(client, waiting).status_code == 200
    order = reloaded(order)
    assert order.status is OrderStatus.PENDING
    assert order.payment_intent_id == sf.payment_intent_id(order)
    assert heard == []
    succeeded = sf.event("checkout.session.async_payment_succeeded", sf.checkout_session(order))
    assert sf.deliver(client, succeeded).status_code == 200
    assert reloaded(order).status is OrderStatus.PAID
    assert [name for name, *_ in heard] == ["paid"]


def test_a_failed_delayed_payment_cancels_the_order(client, heard):
    order = factories.OrderFactory()
    failed = sf.event(
        "checkout.session.async_payment_failed",
        sf.checkout_session(order, payment_status="unpaid"),
    )
    assert sf.deliver(client, failed).status_code == 200
    order = reloaded(order)
    assert order.status is OrderStatus.CANCELLED
    assert order.closed_reason == "payment_failed"
    assert heard == []


def test_an_expired_session_expires_the_order(client):
    order = factories.OrderFactory()
    expired = sf.event(
        "checkout.session.expired",
        sf.checkout_session(order, payment_status="unpaid", status="expired", payment_intent=None),
    )
    assert sf.deliver(client, expired).status_code == 200
    assert reloaded(order).status is OrderStatus.EXPIRED


def test_an_expiry_after_the_payment_changes_nothing(client):
    order = factories.OrderFactory()
    sf.deliver(client, paid_event(order))
    expired = sf.event(
        "checkout.session.expired", sf.checkout_session(order, payment_status="unpaid")
    )
    assert sf.deliver(client, expired).status_code == 200
    assert reloaded(order).status is OrderStatus.PAID
    assert (
        db.session.scalar(select(StripeEvent.outcome).where(StripeEvent.event_id == expired["id"]))
        is EventOutcome.NO_CHANGE
    )


def test_an_older_session_expiring_leaves_the_order_open(client):
    """The order moved on to a new Checkout Session; the old one's expiry is not its own."""
    order = factories.OrderFactory(checkout_session_id="cs_test_current")
    old = sf.checkout_session(
        order, id="cs_test_previous", payment_status="unpaid", status="expired"
    )
    sf.deliver(client, sf.event("checkout.session.expired", old))
    assert reloaded(order).status is OrderStatus.PENDING
    assert db.session.scalar(select(StripeEvent.outcome)) is EventOutcome.NO_CHANGE


def test_the_order_is_found_by_its_metadata_when_the_session_is_unknown(client):
    order = factories.OrderFactory(checkout_session_id=None)
    session = sf.checkout_session(order, id="cs_test_other", client_reference_id=None)
    assert sf.deliver(client, sf.event("checkout.session.completed", session)).status_code == 200
    assert reloaded(order).status is OrderStatus.PAID


def test_partial_then_full_refunds_follow_stripes_running_total(client, heard):
    order = factories.OrderFactory()
    sf.deliver(client, paid_event(order))
    partial = sf.event("charge.refunded", sf.charge(order, amount_refunded=400_000))
    assert sf.deliver(client, partial).status_code == 200
    order = reloaded(order)
    assert order.status is OrderStatus.PARTIALLY_REFUNDED
    assert order.refunded_amount == 400_000
    assert order.charge_id == sf.charge_id(order)
    full = sf.event("charge.refunded", sf.charge(order, amount_refunded=2_400_000))
    sf.deliver(client, full)
    assert reloaded(order).status is OrderStatus.REFUNDED
    refunds = [kwargs for name, _, kwargs in heard if name == "refunded"]
    assert [(r["previous_total"].amount, r["refunded_total"].amount) for r in refunds] == [
        (0, 400_000),
        (400_000, 2_400_000),
    ]


def _mail_to(address: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == address)
            .order_by(OutboxMessage.id)
        )
    )


def test_the_customer_is_told_of_each_refund_in_their_language(client):
    order = factories.OrderFactory(customer_email="hoa.le@gmail.com", locale="vi")
    sf.deliver(client, paid_event(order))
    sf.deliver(client, sf.event("charge.refunded", sf.charge(order, amount_refunded=400_000)))
    sf.deliver(client, sf.event("charge.refunded", sf.charge(order, amount_refunded=400_000)))
    sf.deliver(client, sf.event("charge.refunded", sf.charge(order, amount_refunded=2_400_000)))

    _confirmation, partial, full = _mail_to("hoa.le@gmail.com")
    partial_text, full_text = (m.body_text.replace("\xa0", " ") for m in (partial, full))
    assert partial.subject.replace("\xa0", " ") == (
        f"Đơn hàng {order.number}: đã hoàn tiền 400.000 ₫"
    )
    assert "Đã hoàn tiền đến nay: 400.000 ₫ trên 2.400.000 ₫" in partial_text
    assert f"Mã {order.redemption_code} của bạn vẫn dùng được." in partial_text
    assert "2.000.000" in full.subject  # this refund, not the running total
    assert "Toàn bộ số tiền bạn đã thanh toán (2.400.000 ₫)" in full_text
    assert f"Mã {order.redemption_code} của bạn không còn dùng được nữa." in full.body_html


def test_a_refund_of_a_redeemed_order_says_nothing_of_its_code(client):
    order = factories.OrderFactory(customer_email="an@example.com", locale="en")
    sf.deliver(client, paid_event(order))
    with client.application.app_context():
        reloaded(order).redeemed_at = reloaded(order).paid_at
        db.session.commit()
    sf.deliver(client, sf.event("charge.refunded", sf.charge(order, amount_refunded=400_000)))

    *_, notice = _mail_to("an@example.com")
    assert notice.subject.replace("\xa0", " ") == f"Order {order.number}: ₫400,000 refunded"
    assert "Refunded so far" in notice.body_text
    assert order.redemption_code not in notice.body_text


def test_a_refund_is_found_by_the_charges_metadata(client):
    """A charge whose payment intent the order does not know yet: its metadata names it."""
    order = factories.OrderFactory()
    charge = sf.charge(order, amount_refunded=100_000, payment_intent=None)
    assert sf.deliver(client, sf.event("charge.refunded", charge)).status_code == 200
    assert reloaded(order).refunded_amount == 100_000


def test_a_refund_of_someone_elses_charge_is_ignored(client):
    order = factories.OrderFactory()
    charge = sf.charge(order, amount_refunded=100_000, payment_intent="pi_unknown", metadata={})
    charge["id"] = "ch_unknown"
    sf.deliver(client, sf.event("charge.refunded", charge))
    stored = db.session.scalar(select(StripeEvent))
    assert stored.outcome is EventOutcome.IGNORED
    assert stored.order_id is None
    assert "no order" in stored.detail
    assert reloaded(order).refunded_amount == 0


def test_metadata_pointing_at_an_order_paid_through_another_intent_is_ignored(client):
    order = factories.OrderFactory()
    sf.deliver(client, paid_event(order))
    charge = sf.charge(order, amount_refunded=100_000, payment_intent="pi_other")
    charge["id"] = "ch_other"
    sf.deliver(client, sf.event("charge.refunded", charge))
    assert (
        db.session.scalar(select(StripeEvent.outcome).where(StripeEvent.type == "charge.refunded"))
        is EventOutcome.IGNORED
    )
    assert reloaded(order).refunded_amount == 0


@pytest.mark.parametrize(
    ("closing", "won", "status"),
    [("won", True, OrderStatus.PAID), ("lost", False, OrderStatus.DISPUTED)],
)
def test_a_dispute_opens_and_closes(client, heard, closing, won, status):
    order = factories.OrderFactory()
    sf.deliver(client, paid_event(order))
    sf.deliver(client, sf.event("charge.dispute.created", sf.dispute(order)))
    assert reloaded(order).status is OrderStatus.DISPUTED
    withdrawn = sf.event(
        "charge.dispute.funds_withdrawn", sf.dispute(order, status="needs_response")
    )
    sf.deliver(client, withdrawn)
    sf.deliver(client, sf.event("charge.dispute.closed", sf.dispute(order, status=closing)))
    order = reloaded(order)
    assert order.status is status
    assert order.dispute_status is (DisputeStatus.WON if won else DisputeStatus.LOST)
    assert [(name, kwargs) for name, _, kwargs in heard][1:] == [
        ("dispute_opened", {}),
        ("dispute_closed", {"won": won}),
    ]
    outcomes = dict(db.session.execute(select(StripeEvent.type, StripeEvent.outcome)).all())
    assert outcomes["charge.dispute.funds_withdrawn"] is EventOutcome.NO_CHANGE


def test_funds_reinstated_after_a_won_dispute_change_nothing(client, heard):
    order = factories.OrderFactory()
    sf.deliver(client, paid_event(order))
    sf.deliver(client, sf.event("charge.dispute.closed", sf.dispute(order, status="won")))
    sf.deliver(client, sf.event("charge.dispute.funds_reinstated", sf.dispute(order, status="won")))
    assert reloaded(order).dispute_status is DisputeStatus.WON
    assert [name for name, *_ in heard] == ["paid", "dispute_opened", "dispute_closed"]


def test_other_event_types_are_stored_as_ignored(client):
    plan = sf.stripe_object("event")  # Stripe's example: a plan.created event
    plan["created"] = int(time.time())
    assert sf.deliver(client, plan).status_code == 200
    stored = db.session.scalar(select(StripeEvent))
    assert stored.type == "plan.created"
    assert stored.outcome is EventOutcome.IGNORED
    assert stored.order_id is None


# --- duplicates -----------------------------------------------------------------------------------


def test_a_second_delivery_answers_200_and_changes_nothing(client, heard):
    order = factories.OrderFactory()
    evt = paid_event(order)
    sf.deliver(client, evt)
    paid_at = reloaded(order).paid_at
    again = sf.deliver(client, evt)
    assert again.status_code == 200
    assert again.json == {"received": True, "duplicate": True}
    assert stored_events() == 1
    assert reloaded(order).paid_at == paid_at
    assert [name for name, *_ in heard] == ["paid"]


# --- events in any order, delivered several times --------------------------------------------

Builder = Callable[[Order], list[dict[str, Any]]]


@dataclass(frozen=True)
class Scenario:
    name: str
    events: Builder
    status: OrderStatus
    gift: bool = False  # redeemed on payment


def _completed(o: Order, **fields: Any) -> dict[str, Any]:
    return sf.event("checkout.session.completed", sf.checkout_session(o, **fields))


def _refunded(o: Order, part: int) -> dict[str, Any]:
    """Stripe's running total of refunds: ``1/part`` of the total (1: all of it)."""
    return sf.event("charge.refunded", sf.charge(o, amount_refunded=o.total_amount // part))


def _dispute(o: Order, event_type: str, status: str) -> dict[str, Any]:
    return sf.event(f"charge.dispute.{event_type}", sf.dispute(o, status=status))


SCENARIOS = [
    Scenario("paid", lambda o: [_completed(o)], OrderStatus.PAID),
    Scenario(
        "refunded in two parts",
        lambda o: [_completed(o), _refunded(o, 3), _refunded(o, 1)],
        OrderStatus.REFUNDED,
    ),
    Scenario(
        "dispute lost",
        lambda o: [
            _completed(o),
            _dispute(o, "created", "needs_response"),
            _dispute(o, "funds_withdrawn", "needs_response"),
            _dispute(o, "closed", "lost"),
        ],
        OrderStatus.DISPUTED,
    ),
    Scenario(
        "dispute won",
        lambda o: [
            _completed(o),
            _dispute(o, "created", "warning_needs_response"),
            _dispute(o, "closed", "won"),
            _dispute(o, "funds_reinstated", "won"),
        ],
        OrderStatus.PAID,
    ),
    Scenario(
        "delayed payment",
        lambda o: [
            _completed(o, payment_status="unpaid"),
            sf.event("checkout.session.async_payment_succeeded", sf.checkout_session(o)),
            sf.event("payment_intent.succeeded", sf.payment_intent(o)),
        ],
        OrderStatus.PAID,
    ),
    Scenario(
        "delayed payment failed",
        lambda o: [
            _completed(o, payment_status="unpaid"),
            sf.event(
                "checkout.session.async_payment_failed",
                sf.checkout_session(o, payment_status="unpaid"),
            ),
        ],
        OrderStatus.CANCELLED,
    ),
    Scenario(
        "expired",
        lambda o: [
            sf.event(
                "checkout.session.expired",
                sf.checkout_session(o, payment_status="unpaid", status="expired"),
            )
        ],
        OrderStatus.EXPIRED,
    ),
    Scenario(
        "gift partly refunded",
        lambda o: [_completed(o), _refunded(o, 4)],
        OrderStatus.PARTIALLY_REFUNDED,
        gift=True,
    ),
    Scenario(
        "gift refunded and disputed",
        lambda o: [_completed(o), _refunded(o, 2), _dispute(o, "created", "needs_response")],
        OrderStatus.DISPUTED,
        gift=True,
    ),
    Scenario(
        "amount mismatch then refunded",
        lambda o: [_completed(o, amount_total=o.total_amount - 1), _refunded(o, 1)],
        OrderStatus.PENDING,
    ),
]

#: list price of one unit: VND has no minor unit; USD in cents (an odd amount, for the splits)
PRICES = {"VND": 1_250_000, "USD": 12_99}


def state(order: Order) -> dict[str, Any]:
    """Everything an order's facts say, comparable between two orders."""
    order = reloaded(order)
    return {
        "status": order.status,
        "paid": order.paid_at is not None,
        "paid_amount": order.paid_amount,
        "redeemed": order.redeemed_at is not None,
        "refunded_amount": order.refunded_amount,
        "dispute_status": order.dispute_status,
        "closed_reason": order.closed_reason,
        "mismatch": bool(order.mismatch),
        "payment_intent": order.payment_intent_id == sf.payment_intent_id(order),
    }


def story(calls: list[sf.SignalCall], order: Order) -> dict[str, Any]:
    """What the signals told about ``order``, comparable between two orders.

    Refunds are running totals: a larger total that arrives first makes the smaller one
    old news, so the refund signals are compared by where their chain ends; each must start
    where the previous one ended.
    """
    mine = [(name, kwargs) for name, order_id, kwargs in calls if order_id == order.id]
    refunds = [kwargs for name, kwargs in mine if name == "refunded"]
    previous = 0
    for kwargs in refunds:
        assert kwargs["previous_total"].amount == previous, refunds
        assert kwargs["refunded_total"].amount > previous, refunds
        previous = kwargs["refunded_total"].amount
    if mine:
        assert mine[0][0] == "paid", mine  # nothing is told about an order before its payment
    return {
        "others": [(name, kwargs) for name, kwargs in mine if name != "refunded"],
        "refunded": previous,
    }


@pytest.mark.parametrize("currency", sorted(PRICES))
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_any_order_and_number_of_deliveries_ends_the_same(client, heard, scenario, currency):
    product = factories.ProductFactory(
        price_amount=PRICES[currency],
        currency=currency,
        redemption_mode=RedemptionMode.ON_PAYMENT if scenario.gift else RedemptionMode.COUNTER,
    )
    in_order = factories.OrderFactory(product=product, quantity=2)
    for evt in scenario.events(in_order):
        assert sf.deliver(client, evt).status_code == 200
    expected_state = state(in_order)
    expected_story = story(heard, in_order)
    assert expected_state["status"] is scenario.status

    for seed in range(4):
        order = factories.OrderFactory(product=product, quantity=2)
        deliveries = scenario.events(order) * 3
        random.Random(f"{scenario.name}-{currency}-{seed}").shuffle(deliveries)
        for evt in deliveries:
            assert sf.deliver(client, evt).status_code == 200
        assert state(order) == expected_state, (seed, [e["type"] for e in deliveries])
        assert story(heard, order) == expected_story, (seed, [e["type"] for e in deliveries])
    assert stored_events() == len(scenario.events(in_order)) * 5


# --- amounts ------------------------------------------------------------------------------------


def test_vnd_is_exact_to_the_dong(client):
    """1.250.000 ₫ is 1250000 for Stripe (zero-decimal), not 125000000 or 12500."""
    product = factories.ProductFactory(price_amount=1_250_000, currency="VND")
    order = factories.OrderFactory(product=product)
    evt = paid_event(order)
    assert evt["data"]["object"]["amount_total"] == 1_250_000
    sf.deliver(client, evt)
    order = reloaded(order)
    assert order.status is OrderStatus.PAID
    assert order.paid_amount == 1_250_000
    refund = sf.event("charge.refunded", sf.charge(order, amount_refunded=1))
    sf.deliver(client, refund)
    assert reloaded(order).refunded_amount == 1  # one đồng


def test_usd_is_exact_to_the_cent(client):
    product = factories.ProductFactory(price_amount=1299, currency="USD")
    order = factories.OrderFactory(product=product, quantity=3)
    sf.deliver(client, paid_event(order))
    order = reloaded(order)
    assert order.paid_amount == 3897
    assert order.status is OrderStatus.PAID
    sf.deliver(client, sf.event("charge.refunded", sf.charge(order, amount_refunded=1299)))
    assert reloaded(order).refunded_amount == 1299


def test_an_amount_mismatch_is_recorded_shown_and_never_fulfilled(client, login_as, heard):
    gift = factories.ProductFactory(redemption_mode=RedemptionMode.ON_PAYMENT)
    order = factories.OrderFactory(product=gift)
    evt = paid_event(order, amount_total=order.total_amount - 100_000)
    assert sf.deliver(client, evt).status_code == 200
    order = reloaded(order)
    assert order.paid_at is None
    assert order.redeemed_at is None
    assert order.status is OrderStatus.PENDING
    assert "2,300,000" in order.mismatch
    assert "2,400,000" in order.mismatch
    assert heard == []
    stored = db.session.scalar(select(StripeEvent))
    assert stored.outcome is EventOutcome.MISMATCH

    login_as(Role.FINANCE)
    page = client.get("/admin/stripe-events?outcome=mismatch").get_data(as_text=True)
    assert evt["id"] in page
    assert order.number in page
    assert "2,300,000" in page


def test_a_currency_mismatch_is_recorded_and_never_paid(client, heard):
    order = factories.OrderFactory()  # 2.400.000 ₫
    sf.deliver(client, paid_event(order, currency="usd"))
    order = reloaded(order)
    assert order.paid_at is None
    assert "USD" in order.mismatch
    assert heard == []


def test_a_mismatch_raises_an_alert_naming_the_order(client):
    """SECURITY.md: a payment that does not match its order raises an alert (a warning in
    the log, which the JSON logs and Sentry carry); dropping it passed every test."""
    order = factories.OrderFactory()
    number = order.number
    heard: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = heard.append  # type: ignore[method-assign]
    client.application.logger.addHandler(handler)
    try:
        sf.deliver(client, paid_event(order, amount_total=order.total_amount - 1))
    finally:
        client.application.logger.removeHandler(handler)
    assert reloaded(order).mismatch
    assert [r.levelno for r in heard if "payment mismatch" in r.getMessage()] == [logging.WARNING]
    assert number in heard[0].getMessage()


def test_an_unreadable_amount_is_a_mismatch(client):
    order = factories.OrderFactory()
    sf.deliver(client, paid_event(order, currency="xyz"))
    order = reloaded(order)
    assert order.paid_at is None
    assert "cannot be read" in order.mismatch


def test_amounts_never_come_from_metadata(client):
    order = factories.OrderFactory()
    session = sf.checkout_session(order, amount_total=1)
    session["metadata"]["amount_total"] = str(order.total_amount)
    sf.deliver(client, sf.event("checkout.session.completed", session))
    assert reloaded(order).paid_at is None


# --- redemption on payment -----------------------------------------------------------------------


def test_a_product_redeemed_on_payment_is_redeemed_by_the_webhook(client, heard):
    gift = factories.ProductFactory(redemption_mode=RedemptionMode.ON_PAYMENT)
    order = factories.OrderFactory(product=gift)
    sf.deliver(client, paid_event(order))
    order = reloaded(order)
    assert order.status is OrderStatus.REDEEMED
    assert order.redeemed_by_id is None
    assert [name for name, *_ in heard] == ["paid", "redeemed"]


# --- failures -----------------------------------------------------------------------------------


@pytest.fixture
def failing_receiver() -> Iterator[None]:
    """A receiver of ``order_paid`` that fails, as a broken commission rule would."""

    def fail(order: Order, **kwargs: Any) -> None:
        raise RuntimeError("a receiver failed")

    order_paid.connect(fail)
    yield
    order_paid.disconnect(fail)


def test_a_processing_error_answers_500_and_stores_nothing(client, request):
    order = factories.OrderFactory()
    evt = paid_event(order)
    request.getfixturevalue("failing_receiver")
    response = sf.deliver(client, evt)
    assert response.status_code == 500
    assert stored_events() == 0
    order = reloaded(order)
    assert order.paid_at is None
    assert order.payment_intent_id is None  # nothing half-written


def test_stripes_retry_after_a_processing_error_applies_the_event(client, app):
    order = factories.OrderFactory()
    evt = paid_event(order)

    def fail(order: Order, **kwargs: Any) -> None:
        raise RuntimeError("a receiver failed")

    with order_paid.connected_to(fail):
        assert sf.deliver(client, evt).status_code == 500
    assert sf.deliver(client, evt).status_code == 200
    assert reloaded(order).status is OrderStatus.PAID
    assert stored_events() == 1


# --- the event log -------------------------------------------------------------------------------


def test_finance_reads_the_event_log_and_filters_it(client, login_as):
    order = factories.OrderFactory()
    paid = paid_event(order)
    sf.deliver(client, paid)
    plan = sf.stripe_object("event")
    plan["created"] = int(time.time())
    sf.deliver(client, plan)
    login_as(Role.FINANCE)

    page = client.get("/admin/stripe-events")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert paid["id"] in text
    assert plan["id"] in text
    assert order.number in text

    applied = client.get("/admin/stripe-events?outcome=applied").get_data(as_text=True)
    assert paid["id"] in applied
    assert plan["id"] not in applied
    by_type = client.get("/admin/stripe-events?type=plan.created").get_data(as_text=True)
    assert plan["id"] in by_type
    assert paid["id"] not in by_type
    assert client.get("/admin/stripe-events?outcome=nonsense").status_code == 400


def test_the_event_page_shows_the_payload_and_only_admins_may_replay(client, login_as):
    order = factories.OrderFactory(customer_name="Nguyễn Thị Hoa")
    evt = paid_event(order)
    evt["data"]["object"]["customer_details"]["name"] = "Nguyễn Thị Hoa"
    sf.deliver(client, evt)
    stored = db.session.scalar(select(StripeEvent))
    login_as(Role.FINANCE)
    page = client.get(f"/admin/stripe-events/{stored.id}").get_data(as_text=True)
    assert "Nguyễn Thị Hoa" in page  # pretty-printed as it is, not as \\u escapes
    assert '"amount_total": 2400000' in html.unescape(page)
    assert 'data-testid="replay"' not in page
    assert client.post(f"/admin/stripe-events/{stored.id}/replay").status_code == 403


def test_a_dispute_before_the_payment_waits_for_it(client, heard):
    """A dispute names no order of ours (no metadata): kept as ignored until the payment
    teaches the order its payment intent, then applied, after the payment."""
    order = factories.OrderFactory()
    dispute = sf.event("charge.dispute.created", sf.dispute(order))
    sf.deliver(client, dispute)
    waiting = db.session.scalar(select(StripeEvent))
    assert waiting.outcome is EventOutcome.IGNORED
    assert waiting.order_id is None
    paid = paid_event(order)
    sf.deliver(client, paid)
    db.session.expire_all()
    waiting = db.session.get(StripeEvent, waiting.id)
    assert waiting.outcome is EventOutcome.APPLIED
    assert waiting.order_id == order.id
    assert "applied once order" in waiting.detail
    teacher = db.session.scalar(select(StripeEvent).where(StripeEvent.event_id == paid["id"]))
    assert dispute["id"] in teacher.detail
    assert reloaded(order).status is OrderStatus.DISPUTED
    assert [name for name, *_ in heard] == ["paid", "dispute_opened"]


def test_an_admin_replays_an_event_that_waited_too_long(client, login_as, heard):
    """A refund for a payment no order knew, received long before the payment: no longer
    waiting when the payment comes. An admin's replay applies it, and is audited."""
    order = factories.OrderFactory()
    refund = sf.event("charge.refunded", sf.charge(order, amount_refunded=400_000, metadata={}))
    sf.deliver(client, refund)
    stored = db.session.scalar(select(StripeEvent).where(StripeEvent.event_id == refund["id"]))
    assert stored.outcome is EventOutcome.IGNORED
    stored.received_at -= webhooks.WAITING_FOR + timedelta(minutes=1)
    db.session.commit()
    sf.deliver(client, paid_event(order))
    assert reloaded(order).refunded_amount == 0

    admin = login_as(Role.ADMIN)
    page = client.get(f"/admin/stripe-events/{stored.id}").get_data(as_text=True)
    assert 'data-testid="replay"' in page
    response = client.post(f"/admin/stripe-events/{stored.id}/replay")
    assert response.status_code == 302
    db.session.expire_all()
    stored = db.session.get(StripeEvent, stored.id)
    assert stored.replays == 1
    assert stored.outcome is EventOutcome.APPLIED
    assert stored.order_id == order.id
    assert "replay 1: applied" in stored.detail
    assert reloaded(order).refunded_amount == 400_000
    audit = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "payments.stripe_event_replayed")
    )
    assert audit.actor_id == admin.id
    assert audit.details["event_id"] == refund["id"]

    # Again: nothing more to apply, and no second refund signal.
    client.post(f"/admin/stripe-events/{stored.id}/replay")
    db.session.expire_all()
    stored = db.session.get(StripeEvent, stored.id)
    assert stored.replays == 2
    assert stored.outcome is EventOutcome.APPLIED
    assert "replay 2: no_change" in stored.detail
    assert [name for name, *_ in heard] == ["paid", "refunded"]


def test_replaying_an_unknown_event_is_not_found(client, login_as):
    login_as(Role.ADMIN)
    assert client.post("/admin/stripe-events/999999/replay").status_code == 404


def test_the_replay_command(client, runner):
    order = factories.OrderFactory()
    evt = paid_event(order)
    sf.deliver(client, evt)
    result = runner.invoke(args=["perks", "stripe-replay", evt["id"]])
    assert result.exit_code == 0, result.output
    assert f"{evt['id']} checkout.session.completed: applied (replay 1)" in result.output
    assert "no_change" in result.output
    missing = runner.invoke(args=["perks", "stripe-replay", "evt_nope"])
    assert missing.exit_code == 1
    assert "No Stripe event evt_nope" in missing.output
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "payments.stripe_event_replayed")
        )
        == 1
    )


def test_the_event_log_runs_as_many_queries_for_many_events(client, login_as):
    def seed(count: int) -> None:
        for _ in range(count):
            order = factories.OrderFactory()
            sf.deliver(client, paid_event(order))

    seed(3)
    login_as(Role.FINANCE)
    with counting_statements() as few:
        assert client.get("/admin/stripe-events").status_code == 200
    seed(30)
    with counting_statements() as many:
        assert client.get("/admin/stripe-events").status_code == 200
    assert len(many) == len(few)


def test_the_payload_is_escaped(client, login_as):
    order = factories.OrderFactory()
    evt = paid_event(order)
    evt["data"]["object"]["customer_details"]["name"] = "<script>alert(1)</script>"
    sf.deliver(client, evt)
    stored = db.session.scalar(select(StripeEvent))
    login_as(Role.ADMIN)
    page = client.get(f"/admin/stripe-events/{stored.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert json.dumps("<script>")[1:-1].replace("<", "&lt;").replace(">", "&gt;") in page
