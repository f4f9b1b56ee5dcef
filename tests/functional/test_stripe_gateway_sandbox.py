"""The product's Stripe gateway against the sandbox's server: the real ``stripe`` library over
HTTP, as in development. What the sandbox itself does is tested in tests/stripe_sandbox/; here,
what the product asks of it: its sessions, amounts, idempotency keys, refunds, lists, and the
webhooks it verifies."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from perks.config import SANDBOX_SECRET_KEY
from perks.extensions import db
from perks.money import Money
from perks.payments import stripe_gateway
from tests import factories
from tests.stripe_sandbox import LiveSandbox, wait_for

pytestmark = pytest.mark.usefixtures("app")

EXPIRY = timedelta(minutes=60)
SUCCESS_URL = "https://shop.example/orders/abc?session={CHECKOUT_SESSION_ID}"
CANCEL_URL = "https://shop.example/orders/abc/cancelled"


def make_order(price: int = 1_250_000, quantity: int = 2, currency: str = "VND", **fields: Any):
    product = factories.ProductFactory(price_amount=price, currency=currency)
    order = factories.OrderFactory(product=product, quantity=quantity, **fields)
    db.session.refresh(order)
    return order


def open_session(order: Any) -> stripe_gateway.CheckoutSession:
    return stripe_gateway.create_checkout_session(
        order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL, expires_in=EXPIRY
    )


def paid_order(sandbox: LiveSandbox, **order_fields: Any) -> Any:
    """An order whose session was paid with the test card (the order knows its intent)."""
    order = make_order(**order_fields)
    paid = sandbox.pay(open_session(order).id)
    order.payment_intent_id = paid["payment_intent"]
    db.session.commit()
    return order


def charge_of(order: Any) -> Any:
    intent = stripe_gateway.client().v1.payment_intents.retrieve(order.payment_intent_id)
    return stripe_gateway.client().v1.charges.retrieve(intent.latest_charge)


def test_the_app_talks_to_the_sandbox_of_its_setting(app, sandbox):
    assert stripe_gateway.api_base() == sandbox.url
    assert stripe_gateway.uses_sandbox()
    assert stripe_gateway.checkout_origins() == f"https://checkout.stripe.com {sandbox.url}"


def test_an_orders_session_charges_exactly_its_total_with_the_order_named(sandbox):
    order = make_order(price=1_250_000, quantity=2, currency="VND")

    session = open_session(order)
    seen = stripe_gateway.retrieve_checkout_session(session.id)

    assert session.url == f"{sandbox.url}/pay/{session.id}"
    assert (seen.amount_total, seen.currency) == (2_500_000, "vnd")
    assert seen.client_reference_id == str(order.id)
    assert seen.customer_email == order.customer_email
    assert seen.locale == "vi"
    assert seen.metadata.to_dict() == {"order_id": str(order.id), "order_number": order.number}
    created = order.created_at
    created = created if created.tzinfo else created.replace(tzinfo=UTC)  # SQLite: naive UTC
    assert session.expires_at == (created + EXPIRY).replace(microsecond=0)


def test_a_usd_order_counts_cents(sandbox):
    order = make_order(price=1999, quantity=3, currency="USD")

    seen = stripe_gateway.retrieve_checkout_session(open_session(order).id)

    assert (seen.amount_total, seen.currency) == (5997, "usd")
    assert stripe_gateway.from_stripe_amount(seen.amount_total, seen.currency) == Money(5997, "USD")


def test_opening_the_same_orders_session_again_returns_the_same_session(sandbox):
    order = make_order()

    first = open_session(order)
    second = open_session(order)

    assert second.id == first.id
    now = datetime.now(UTC)
    listed = list(stripe_gateway.list_checkout_sessions(now - timedelta(minutes=5), now + EXPIRY))
    assert [s.id for s in listed] == [first.id]


def test_refusals_become_payment_provider_errors(app, sandbox):
    with pytest.raises(stripe_gateway.PaymentProviderError):
        stripe_gateway.retrieve_checkout_session("cs_test_nope")
    app.config["STRIPE_SECRET_KEY"] = "sk_test_not_the_key"
    try:
        with pytest.raises(stripe_gateway.PaymentProviderError):
            open_session(make_order())
    finally:
        app.config["STRIPE_SECRET_KEY"] = SANDBOX_SECRET_KEY


def test_refunds_add_up_and_are_refused_beyond_the_charge(sandbox):
    order = paid_order(sandbox, price=1_250_000, quantity=2)

    first = stripe_gateway.create_refund(order, Money(1_000_000, "VND"), idempotency_key="r1")
    again = stripe_gateway.create_refund(order, Money(1_000_000, "VND"), idempotency_key="r1")
    assert again == first
    with pytest.raises(stripe_gateway.PaymentProviderError, match="greater than unrefunded"):
        stripe_gateway.create_refund(order, Money(1_500_001, "VND"), idempotency_key="r2")
    stripe_gateway.create_refund(order, Money(1_500_000, "VND"), idempotency_key="r3")

    charge = charge_of(order)
    assert (charge.amount_refunded, charge.refunded) == (2_500_000, True)


def test_listing_sessions_reads_every_page(sandbox):
    orders = [make_order(price=100_000 + n, quantity=1) for n in range(3)]
    opened = [open_session(order).id for order in orders]
    now = datetime.now(UTC)

    listed = list(stripe_gateway.list_checkout_sessions(now - timedelta(minutes=5), now + EXPIRY))

    assert sorted(s.id for s in listed) == sorted(opened)
    assert list(stripe_gateway.list_checkout_sessions(now + EXPIRY, now + 2 * EXPIRY)) == []


def test_a_sandbox_webhook_passes_the_gateways_check(sandbox):
    received: list[tuple[bytes, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers["Stripe-Signature"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        sandbox.forward_webhooks(f"http://127.0.0.1:{server.server_port}/stripe/webhook")
        sandbox.pay(open_session(make_order()).id)
        [(body, signature)] = wait_for(lambda: received or None)
    finally:
        server.shutdown()
        thread.join(timeout=5)

    event = stripe_gateway.construct_event(body, signature)
    assert event["type"] == "checkout.session.completed"
    with pytest.raises(stripe_gateway.InvalidWebhook):
        stripe_gateway.construct_event(body.replace(b"paid", b"PAID"), signature)
