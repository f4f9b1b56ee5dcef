"""The offline Stripe sandbox, through the app's real gateway and the real ``stripe`` library.

Everything goes over real HTTP: the gateway's calls reach the live server's
``/stripe-sandbox/v1``, the hosted page is fetched and posted like a browser would (with CSRF
tokens), and webhooks arrive at a small HTTP server started by the test, which checks them
with ``stripe.Webhook.construct_event``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import stripe
from flask import Flask

from perks.config import (
    SANDBOX_SECRET_KEY,
    SANDBOX_WEBHOOK_SECRET,
    ConfigurationError,
    load_settings,
)
from perks.extensions import db
from perks.money import Money
from perks.payments import stripe_gateway
from perks.payments.sandbox import deliver_pending, init_app, service, store, webhooks
from perks.payments.sandbox.errors import StripeApiError
from perks.payments.sandbox.settings import SandboxSettings
from perks.people.models import Role
from tests import factories
from tests.helpers import PRODUCTION_SETTINGS
from tests.stripe_sandbox import LiveSandbox, wait_for

EXPIRY = timedelta(minutes=60)
SUCCESS_URL = "https://shop.example/orders/abc?session={CHECKOUT_SESSION_ID}"
CANCEL_URL = "https://shop.example/orders/abc/cancelled"


# --- helpers --------------------------------------------------------------------------------


class Receiver:
    """A webhook endpoint: records every request, answers the statuses it is given in turn
    (then 200)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes, float]] = []
        self.statuses: list[int] = []
        self._lock = threading.Lock()

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            self.requests.append((headers, body, time.monotonic()))
            return self.statuses.pop(0) if self.statuses else 200

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(body) for _, body, _ in self.requests]

    def events_of(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["type"] == event_type]

    def wait_for_event(self, event_type: str, count: int = 1) -> list[dict[str, Any]]:
        def arrived() -> list[dict[str, Any]] | None:
            found = self.events_of(event_type)
            return found if len(found) >= count else None

        return wait_for(arrived)


@pytest.fixture
def receiver(live_sandbox: LiveSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """A local endpoint the sandbox's webhooks go to (for sessions created from now on)."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = receiver.answer(dict(self.headers), body)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/hooks"
    monkeypatch.setitem(live_sandbox.server_app.config, "STRIPE_SANDBOX_WEBHOOK_URL", url)
    yield receiver
    live_sandbox.reset()
    server.shutdown()
    thread.join(timeout=5)


def make_order(price: int = 1_250_000, quantity: int = 2, currency: str = "VND", **fields: Any):
    product = factories.ProductFactory(price_amount=price, currency=currency)
    order = factories.OrderFactory(product=product, quantity=quantity, **fields)
    db.session.refresh(order)
    return order


def open_session(order: Any) -> stripe_gateway.CheckoutSession:
    return stripe_gateway.create_checkout_session(
        order, success_url=SUCCESS_URL, cancel_url=CANCEL_URL, expires_in=EXPIRY
    )


def raw_client(live_sandbox: LiveSandbox, key: str = SANDBOX_SECRET_KEY) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": live_sandbox.api_base})


def session_params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": "vnd",
                    "unit_amount": 500_000,
                    "product_data": {"name": "Vé tham quan"},
                },
            }
        ],
        "success_url": SUCCESS_URL,
    }
    params.update(overrides)
    return params


def paid_order(live_sandbox: LiveSandbox, **order_fields: Any) -> Any:
    """An order whose session was paid with the test card (the order knows its intent)."""
    order = make_order(**order_fields)
    session = open_session(order)
    paid = live_sandbox.pay(session.id)
    order.payment_intent_id = paid["payment_intent"]
    db.session.commit()
    return order


def charge_of(order: Any) -> Any:
    intent = stripe_gateway.client().v1.payment_intents.retrieve(order.payment_intent_id)
    return stripe_gateway.client().v1.charges.retrieve(intent.latest_charge)


# --- checkout sessions ----------------------------------------------------------------------


def test_a_vnd_session_charges_exactly_the_order_total(live_sandbox):
    order = make_order(price=1_250_000, quantity=2, currency="VND")

    session = open_session(order)
    seen = stripe_gateway.retrieve_checkout_session(session.id)

    assert session.id.startswith("cs_test_")
    assert session.url == f"{live_sandbox.url}/stripe-sandbox/pay/{session.id}"
    assert (seen.amount_subtotal, seen.amount_total, seen.currency) == (2_500_000, 2_500_000, "vnd")
    assert (seen.status, seen.payment_status, seen.mode) == ("open", "unpaid", "payment")
    assert seen.client_reference_id == str(order.id)
    assert seen.customer_email == order.customer_email
    assert seen.locale == "vi"
    assert seen.metadata.to_dict() == {"order_id": str(order.id), "order_number": order.number}
    created = order.created_at
    created = created if created.tzinfo else created.replace(tzinfo=UTC)  # SQLite: naive UTC
    assert session.expires_at == (created + EXPIRY).replace(microsecond=0)
    assert seen.object == "checkout.session"
    assert seen.livemode is False


def test_a_usd_session_counts_cents(live_sandbox):
    order = make_order(price=1999, quantity=3, currency="USD")

    session = open_session(order)
    seen = stripe_gateway.retrieve_checkout_session(session.id)
    items = stripe_gateway.client().v1.checkout.sessions.line_items.list(session.id)

    assert (seen.amount_total, seen.currency) == (5997, "usd")
    assert [(i.quantity, i.price.unit_amount, i.amount_total) for i in items.data] == [
        (3, 1999, 5997)
    ]
    assert stripe_gateway.from_stripe_amount(seen.amount_total, seen.currency) == Money(5997, "USD")


def test_opening_the_same_orders_session_again_returns_the_same_session(live_sandbox):
    order = make_order()

    first = open_session(order)
    second = open_session(order)

    assert second.id == first.id
    with store.get_store(live_sandbox.settings.database_url).read() as conn:
        assert len(store.latest(conn, "checkout.session", 10)) == 1


def test_an_idempotency_key_replays_its_response_and_refuses_other_parameters(live_sandbox):
    client = raw_client(live_sandbox)
    options: Any = {"idempotency_key": "order-42-checkout"}

    first = client.v1.checkout.sessions.create(params=session_params(), options=options)
    again = client.v1.checkout.sessions.create(params=session_params(), options=options)
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"

    with pytest.raises(stripe.IdempotencyError) as refused:
        client.v1.checkout.sessions.create(
            params=session_params(client_reference_id="other"), options=options
        )
    assert refused.value.http_status == 400
    assert "same parameters" in refused.value.user_message


def test_concurrent_requests_with_one_idempotency_key_open_one_session(live_sandbox):
    client = raw_client(live_sandbox)
    ids: list[str] = []

    def create() -> None:
        session = client.v1.checkout.sessions.create(
            params=session_params(), options={"idempotency_key": "burst"}
        )
        ids.append(session.id)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(ids) == 8
    assert len(set(ids)) == 1


def test_a_wrong_key_is_refused_with_401_in_stripes_shape(live_sandbox, app):
    with pytest.raises(stripe.AuthenticationError) as refused:
        raw_client(live_sandbox, "sk_test_not_the_key").v1.checkout.sessions.list()
    assert refused.value.http_status == 401
    assert "Invalid API Key provided: sk_test_" in refused.value.user_message

    anonymous = requests.get(f"{live_sandbox.api_base}/v1/checkout/sessions", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in anonymous.json()["error"]["message"]

    app.config["STRIPE_SECRET_KEY"] = "sk_test_not_the_key"
    try:
        with pytest.raises(stripe_gateway.PaymentProviderError):
            open_session(make_order())
    finally:
        app.config["STRIPE_SECRET_KEY"] = SANDBOX_SECRET_KEY


def test_the_sandbox_accepts_only_test_keys(app_factory):
    live_key = "sk_live_" + "x" * 24
    client = app_factory(STRIPE_SECRET_KEY=live_key).test_client()

    response = client.get(
        "/stripe-sandbox/v1/checkout/sessions", headers={"Authorization": f"Bearer {live_key}"}
    )

    assert response.status_code == 401
    assert "only accepts a test key" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"success_url": None}, "success_url"),
        ({"success_url": "not a url"}, "success_url"),
        ({"mode": "subscription"}, "mode"),
        ({"colour": "blue"}, "colour"),
        ({"line_items": []}, "line_items"),
        (
            {"line_items": [{"quantity": "many", "price_data": {"currency": "vnd"}}]},
            "line_items[0][quantity]",
        ),
        (
            {"line_items": [{"quantity": 1, "price_data": {"currency": "vnd", "unit_amount": 5}}]},
            "line_items[0][price_data][product_data]",
        ),
        (
            {
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": "vnd",
                            "unit_amount": 5,
                            "product_data": {"name": "A", "size": "L"},
                        },
                    }
                ]
            },
            "line_items[0][price_data][product_data][size]",
        ),
        ({"customer_email": "nobody"}, "customer_email"),
        ({"locale": "xx"}, "locale"),
        ({"expires_at": "soon"}, "expires_at"),
        ({"metadata": {"k" * 41: "v"}}, f"metadata[{'k' * 41}]"),
    ],
)
def test_bad_parameters_are_refused_with_the_parameter_named(live_sandbox, change, param):
    params = {k: v for k, v in session_params(**change).items() if v is not None}

    with pytest.raises(stripe.InvalidRequestError) as refused:
        raw_client(live_sandbox).v1.checkout.sessions.create(params=params)

    assert refused.value.http_status == 400
    assert refused.value.param == param
    assert refused.value.json_body["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("minutes", [29, 24 * 60 + 1])
def test_an_expiry_outside_stripes_limits_is_refused(live_sandbox, minutes):
    expires_at = int(time.time()) + minutes * 60

    with pytest.raises(stripe.InvalidRequestError) as refused:
        raw_client(live_sandbox).v1.checkout.sessions.create(
            params=session_params(expires_at=expires_at)
        )

    assert refused.value.param == "expires_at"


def test_an_unknown_object_is_a_404(live_sandbox):
    with pytest.raises(stripe_gateway.PaymentProviderError):
        stripe_gateway.retrieve_checkout_session("cs_test_nope")
    response = requests.get(
        f"{live_sandbox.api_base}/v1/charges/ch_nope",
        headers={"Authorization": f"Bearer {SANDBOX_SECRET_KEY}"},
        timeout=10,
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"
    unknown = requests.get(
        f"{live_sandbox.api_base}/v1/customers",
        headers={"Authorization": f"Bearer {SANDBOX_SECRET_KEY}"},
        timeout=10,
    )
    assert unknown.status_code == 404
    assert "Unrecognized request URL" in unknown.json()["error"]["message"]


def test_expiring_a_session_closes_it_and_tells_the_app(live_sandbox, receiver):
    session = open_session(make_order())

    stripe_gateway.expire_checkout_session(session.id)

    seen = stripe_gateway.retrieve_checkout_session(session.id)
    assert (seen.status, seen.url) == ("expired", None)
    [event] = receiver.wait_for_event("checkout.session.expired")
    assert event["data"]["object"]["id"] == session.id
    with pytest.raises(stripe_gateway.PaymentProviderError):
        stripe_gateway.expire_checkout_session(session.id)


def test_a_session_past_its_expiry_expires_by_itself(live_sandbox, receiver):
    session = open_session(make_order())

    webhooks.run_sweep(live_sandbox.settings, now=session.expires_at.timestamp() + 1)

    assert stripe_gateway.retrieve_checkout_session(session.id).status == "expired"
    [event] = receiver.wait_for_event("checkout.session.expired")
    assert event["data"]["object"]["status"] == "expired"
    page = requests.get(session.url, timeout=10)
    assert page.status_code == 200
    assert 'data-testid="session-expired"' in page.text


def test_listing_sessions_pages_through_every_one(live_sandbox):
    client = raw_client(live_sandbox)
    made = [client.v1.checkout.sessions.create(params=session_params()).id for _ in range(7)]

    paged = client.v1.checkout.sessions.list(params={"limit": 3})
    everything = [s.id for s in paged.auto_paging_iter()]

    assert paged.object == "list"
    assert paged.has_more is True
    assert len(paged.data) == 3
    assert everything == list(reversed(made))  # newest first, each once
    before = client.v1.checkout.sessions.list(params={"ending_before": made[2], "limit": 2})
    assert [s.id for s in before.data] == [made[4], made[3]]
    now = datetime.now(UTC)
    listed = list(
        stripe_gateway.list_checkout_sessions(now - timedelta(minutes=5), now + timedelta(1))
    )
    assert sorted(s.id for s in listed) == sorted(made)
    assert list(stripe_gateway.list_checkout_sessions(now + timedelta(1), now + timedelta(2))) == []


# --- paying ---------------------------------------------------------------------------------


def test_paying_with_the_test_card_completes_the_session(live_sandbox, receiver):
    order = make_order(price=1_250_000, quantity=2)
    session = open_session(order)

    live_sandbox.pay(session.id)

    seen = stripe_gateway.retrieve_checkout_session(session.id)
    assert (seen.status, seen.payment_status) == ("complete", "paid")
    intent = stripe_gateway.client().v1.payment_intents.retrieve(seen.payment_intent)
    assert (intent.status, intent.amount, intent.amount_received) == (
        "succeeded",
        2_500_000,
        2_500_000,
    )
    assert intent.metadata.to_dict() == {"order_id": str(order.id), "order_number": order.number}
    charge = stripe_gateway.client().v1.charges.retrieve(intent.latest_charge)
    assert (charge.amount, charge.currency, charge.amount_refunded) == (2_500_000, "vnd", 0)
    assert (charge.refunded, charge.paid, charge.payment_intent) == (False, True, intent.id)
    [event] = receiver.wait_for_event("checkout.session.completed")
    assert event["data"]["object"]["payment_status"] == "paid"
    assert event["data"]["object"]["payment_intent"] == intent.id
    assert event["object"] == "event"
    assert event["livemode"] is False
    assert event["api_version"] == stripe.api_version  # what the library asked for
    assert event["id"].startswith("evt_")
    assert event["pending_webhooks"] == 1
    assert {"id", "idempotency_key"} <= set(event["request"])


def test_a_declined_card_changes_nothing(live_sandbox, receiver):
    session = open_session(make_order())

    with pytest.raises(StripeApiError) as declined:
        live_sandbox.pay(session.id, "declined")

    assert (declined.value.status, declined.value.code) == (402, "card_declined")
    seen = stripe_gateway.retrieve_checkout_session(session.id)
    assert (seen.status, seen.payment_status, seen.payment_intent) == ("open", "unpaid", None)
    assert live_sandbox.events() == []


def test_an_async_payment_completes_unpaid_then_succeeds(live_sandbox, receiver):
    session = open_session(make_order())

    live_sandbox.pay(session.id, "async_success")

    [completed] = receiver.wait_for_event("checkout.session.completed")
    assert completed["data"]["object"]["payment_status"] == "unpaid"
    [succeeded] = receiver.wait_for_event("checkout.session.async_payment_succeeded")
    assert succeeded["data"]["object"]["payment_status"] == "paid"
    seen = stripe_gateway.retrieve_checkout_session(session.id)
    assert seen.payment_status == "paid"
    intent = stripe_gateway.client().v1.payment_intents.retrieve(seen.payment_intent)
    assert intent.status == "succeeded"


def test_an_async_payment_can_fail_later(live_sandbox, receiver):
    session = open_session(make_order())

    live_sandbox.pay(session.id, "async_failure")

    [failed] = receiver.wait_for_event("checkout.session.async_payment_failed")
    assert failed["data"]["object"]["payment_status"] == "unpaid"
    assert receiver.events_of("checkout.session.async_payment_succeeded") == []
    intent = stripe_gateway.client().v1.payment_intents.retrieve(
        failed["data"]["object"]["payment_intent"]
    )
    assert intent.status == "requires_payment_method"
    with pytest.raises(stripe_gateway.PaymentProviderError):
        stripe_gateway.create_refund(
            _with_intent(make_order(), intent.id), Money(1, "VND"), idempotency_key="r-failed"
        )


def _with_intent(order: Any, intent_id: str) -> Any:
    order.payment_intent_id = intent_id
    return order


# --- refunds --------------------------------------------------------------------------------


def test_refunds_add_up_and_never_exceed_the_charge(live_sandbox, receiver):
    order = paid_order(live_sandbox, price=1_250_000, quantity=2)

    first = stripe_gateway.create_refund(order, Money(1_000_000, "VND"), idempotency_key="r1")
    assert first.startswith("re_")
    charge = charge_of(order)
    assert (charge.amount_refunded, charge.refunded) == (1_000_000, False)

    with pytest.raises(stripe_gateway.PaymentProviderError) as too_much:
        stripe_gateway.create_refund(order, Money(1_500_001, "VND"), idempotency_key="r2")
    assert "greater than unrefunded amount" in str(too_much.value)
    assert charge_of(order).amount_refunded == 1_000_000

    stripe_gateway.create_refund(order, Money(1_500_000, "VND"), idempotency_key="r3")
    charge = charge_of(order)
    assert (charge.amount_refunded, charge.refunded) == (2_500_000, True)
    with pytest.raises(stripe_gateway.PaymentProviderError):
        stripe_gateway.create_refund(order, Money(1, "VND"), idempotency_key="r4")

    refunds = stripe_gateway.client().v1.refunds.list(
        params={"payment_intent": order.payment_intent_id}
    )
    assert sorted(r.amount for r in refunds.data) == [1_000_000, 1_500_000]
    events = receiver.wait_for_event("charge.refunded", 2)
    assert [
        (e["data"]["object"]["amount_refunded"], e["data"]["object"]["refunded"]) for e in events
    ] == [
        (1_000_000, False),
        (2_500_000, True),
    ]


def test_a_retried_refund_refunds_once(live_sandbox):
    order = paid_order(live_sandbox)

    first = stripe_gateway.create_refund(order, Money(100_000, "VND"), idempotency_key="same")
    again = stripe_gateway.create_refund(order, Money(100_000, "VND"), idempotency_key="same")

    assert again == first
    assert charge_of(order).amount_refunded == 100_000


def test_concurrent_refunds_never_refund_more_than_was_paid(live_sandbox):
    order = paid_order(live_sandbox, price=1_000_000, quantity=1)
    client = raw_client(live_sandbox)
    intent = order.payment_intent_id
    outcomes: list[str] = []

    def refund(n: int) -> None:
        try:
            client.v1.refunds.create(
                params={"payment_intent": intent, "amount": 300_000},
                options={"idempotency_key": f"parallel-{n}"},
            )
            outcomes.append("refunded")
        except stripe.InvalidRequestError:
            outcomes.append("refused")

    threads = [threading.Thread(target=refund, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refunded"] * 3 + ["refused"] * 5
    assert charge_of(order).amount_refunded == 900_000


# --- disputes -------------------------------------------------------------------------------


def test_a_dispute_opens_and_closes_won_or_lost(live_sandbox, receiver):
    won = paid_order(live_sandbox, price=700_000, quantity=1)
    lost = paid_order(live_sandbox, price=300_000, quantity=1)
    settings = live_sandbox.settings

    dispute = service.open_dispute(settings, won.payment_intent_id)
    with pytest.raises(StripeApiError, match="already been disputed"):
        service.open_dispute(settings, won.payment_intent_id)
    with pytest.raises(stripe_gateway.PaymentProviderError):
        stripe_gateway.create_refund(won, Money(1, "VND"), idempotency_key="during-dispute")
    service.close_dispute(settings, dispute["id"], won=True)
    other = service.open_dispute(settings, lost.payment_intent_id)
    service.close_dispute(settings, other["id"], won=False)

    created = receiver.wait_for_event("charge.dispute.created", 2)
    closed = receiver.wait_for_event("charge.dispute.closed", 2)
    first = created[0]["data"]["object"]
    assert first["object"] == "dispute"
    assert first["status"] == "needs_response"
    assert (first["amount"], first["currency"]) == (700_000, "vnd")
    assert first["payment_intent"] == won.payment_intent_id
    assert first["charge"] == charge_of(won).id
    assert [e["data"]["object"]["status"] for e in closed] == ["won", "lost"]
    with pytest.raises(StripeApiError, match="already closed"):
        service.close_dispute(settings, dispute["id"], won=False)


# --- webhooks -------------------------------------------------------------------------------


def test_webhooks_are_signed_like_stripes(live_sandbox, receiver, app):
    live_sandbox.pay(open_session(make_order()).id)

    [event] = receiver.wait_for_event("checkout.session.completed")
    headers, body, _ = next(r for r in receiver.requests if json.loads(r[1])["id"] == event["id"])
    signature = headers["Stripe-Signature"]

    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", signature)
    assert headers["Content-Type"].startswith("application/json")
    verified = stripe.Webhook.construct_event(body, signature, SANDBOX_WEBHOOK_SECRET)
    assert verified.id == event["id"]
    assert stripe_gateway.construct_event(body, signature)["type"] == "checkout.session.completed"
    with pytest.raises(stripe_gateway.InvalidWebhook):
        stripe_gateway.construct_event(body.replace(b"paid", b"PAID"), signature)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, signature, "whsec_someone_else")


def test_only_the_events_the_endpoint_subscribes_to_are_sent(live_sandbox, receiver):
    live_sandbox.pay(open_session(make_order()).id)

    receiver.wait_for_event("checkout.session.completed")
    live_sandbox.wait_for_deliveries()

    assert [e["type"] for e in receiver.events()] == ["checkout.session.completed"]
    kept = [e["type"] for e in live_sandbox.events()]
    assert kept == ["charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"]


def test_a_failing_endpoint_gets_the_event_again_until_it_answers(live_sandbox, receiver):
    receiver.statuses = [500, 503]

    live_sandbox.pay(open_session(make_order()).id)

    [delivery] = live_sandbox.wait_for_deliveries()
    assert delivery["status"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 503, 200]
    bodies = {body for _, body, _ in receiver.requests}
    assert len(receiver.requests) == 3
    assert len(bodies) == 1
    times = [at for _, _, at in receiver.requests]
    base = live_sandbox.settings.retry_seconds
    assert times[1] - times[0] >= base * 0.9
    assert times[2] - times[1] >= 2 * base * 0.9


def test_an_unreachable_endpoint_is_retried_then_given_up(live_sandbox, monkeypatch):
    monkeypatch.setitem(
        live_sandbox.server_app.config, "STRIPE_SANDBOX_WEBHOOK_URL", "http://127.0.0.1:9/hooks"
    )

    live_sandbox.pay(open_session(make_order()).id)

    [delivery] = live_sandbox.wait_for_deliveries()
    assert delivery["status"] == "failed"
    assert len(delivery["attempts"]) == webhooks.MAX_ATTEMPTS
    assert all(a["status_code"] is None and a["error"] for a in delivery["attempts"])


def test_deliver_twice_sends_the_same_event_twice(live_sandbox, receiver):
    live_sandbox.pay(open_session(make_order()).id, deliver_twice=True)

    twice = receiver.wait_for_event("checkout.session.completed", 2)
    assert twice[0]["id"] == twice[1]["id"]

    order = paid_order(live_sandbox)
    service.set_options(live_sandbox.settings, deliver_twice=True, paused=False)
    stripe_gateway.create_refund(order, Money(1000, "VND"), idempotency_key="twice")
    refunded = receiver.wait_for_event("charge.refunded", 2)
    assert refunded[0]["id"] == refunded[1]["id"]


def test_paused_deliveries_wait_for_deliver_pending(live_sandbox, receiver):
    live_sandbox.pause_deliveries()
    session = open_session(make_order())
    live_sandbox.pay(session.id)
    time.sleep(0.3)
    assert receiver.events() == []

    results = deliver_pending()  # the app's own sandbox settings: the same database

    assert [(r.outcome, r.status_code) for r in results] == [("delivered", 200)]
    assert [e["type"] for e in receiver.events()] == ["checkout.session.completed"]


def test_an_event_can_be_sent_again(live_sandbox, receiver):
    live_sandbox.pay(open_session(make_order()).id)
    [event] = receiver.wait_for_event("checkout.session.completed")

    assert service.resend_event(live_sandbox.settings, event["id"], deliver_twice=True) == 2

    assert [e["id"] for e in receiver.wait_for_event("checkout.session.completed", 3)] == [
        event["id"]
    ] * 3


def test_webhooks_go_to_the_app_that_opened_the_session_by_default(live_sandbox):
    live_sandbox.pause_deliveries()
    live_sandbox.pay(open_session(make_order()).id)

    [delivery] = live_sandbox.deliveries()

    assert delivery["url"] == f"{live_sandbox.url}/stripe/webhook"


# --- the hosted page ------------------------------------------------------------------------


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def test_the_hosted_page_shows_the_order_and_pays(live_sandbox, receiver):
    session = open_session(make_order(price=1_250_000, quantity=2))
    browser = requests.Session()

    page = browser.get(session.url, timeout=10)
    assert page.status_code == 200
    assert 'data-testid="sandbox-banner"' in page.text
    assert "2.500.000\xa0₫" in page.text  # the session's language: Vietnamese
    assert 'lang="vi"' in page.text

    refused = browser.post(session.url, data={"method": "card"}, allow_redirects=False, timeout=10)
    assert refused.status_code == 400  # no CSRF token
    paid = browser.post(
        session.url,
        data={"method": "card", "csrf_token": _csrf(page.text)},
        allow_redirects=False,
        timeout=10,
    )

    assert paid.status_code == 303
    assert paid.headers["Location"] == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id)
    assert stripe_gateway.retrieve_checkout_session(session.id).payment_status == "paid"
    again = browser.get(session.url, timeout=10)
    assert 'data-testid="session-complete"' in again.text
    late = browser.post(
        session.url,
        data={"method": "card", "csrf_token": _csrf(page.text)},
        allow_redirects=False,
        timeout=10,
    )
    assert late.status_code == 409
    receiver.wait_for_event("checkout.session.completed")


def test_the_hosted_page_declines_the_declined_card_and_stays(live_sandbox):
    order = make_order(locale="en")
    session = open_session(order)
    browser = requests.Session()
    page = browser.get(session.url, timeout=10)

    declined = browser.post(
        session.url,
        data={"method": "declined", "csrf_token": _csrf(page.text)},
        allow_redirects=False,
        timeout=10,
    )

    assert declined.status_code == 402
    assert "Your card was declined" in declined.text
    assert stripe_gateway.retrieve_checkout_session(session.id).status == "open"
    assert 'href="https://shop.example/orders/abc/cancelled"' in page.text


def test_the_hosted_page_of_an_unknown_session_is_a_404(live_sandbox):
    assert requests.get(f"{live_sandbox.api_base}/pay/cs_test_nope", timeout=10).status_code == 404


# --- the control page -----------------------------------------------------------------------


def test_the_control_page_refunds_disputes_and_resends(live_sandbox, client, login_as):
    login_as(Role.ADMIN)
    order = paid_order(live_sandbox, price=900_000, quantity=1)
    intent = order.payment_intent_id

    page = client.get("/stripe-sandbox/")
    assert page.status_code == 200
    assert intent in page.get_data(as_text=True)

    assert (
        client.post(
            f"/stripe-sandbox/payments/{intent}/refund", data={"amount": "100.000"}
        ).status_code
        == 303
    )
    assert charge_of(order).amount_refunded == 100_000
    response = client.post(
        f"/stripe-sandbox/payments/{intent}/refund",
        data={"amount": "5.000.000"},
        follow_redirects=True,
    )
    assert "greater than unrefunded amount" in response.get_data(as_text=True)
    assert client.post(f"/stripe-sandbox/payments/{intent}/dispute", data={}).status_code == 303
    dispute = stripe_gateway.client().v1.disputes.list(params={"payment_intent": intent}).data[0]
    assert (
        client.post(
            f"/stripe-sandbox/disputes/{dispute.id}/close", data={"outcome": "lost"}
        ).status_code
        == 303
    )
    assert stripe_gateway.client().v1.disputes.retrieve(dispute.id).status == "lost"
    [closed] = live_sandbox.events("charge.dispute.closed")
    before = len(live_sandbox.deliveries())
    assert (
        client.post(
            f"/stripe-sandbox/events/{closed['id']}/resend", data={"deliver_twice": "y"}
        ).status_code
        == 303
    )
    assert len(live_sandbox.deliveries()) == before + 2
    assert client.post("/stripe-sandbox/options", data={"paused": "y"}).status_code == 303
    with store.get_store(live_sandbox.settings.database_url).read() as conn:
        assert store.get_options(conn) == {"deliver_twice": False, "paused": True}


def test_the_control_page_forms_need_a_csrf_token(live_sandbox):
    admin = factories.UserFactory(roles={Role.ADMIN})
    browser = requests.Session()
    login_page = browser.get(f"{live_sandbox.url}/login", timeout=10).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page)
    assert token, "no CSRF token on the login page"
    signed_in = browser.post(
        f"{live_sandbox.url}/login",
        data={"email": admin.email, "password": factories.PASSWORD, "csrf_token": token[1]},
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 302
    assert browser.get(f"{live_sandbox.api_base}/", timeout=10).status_code == 200

    response = browser.post(f"{live_sandbox.api_base}/options", data={"paused": "y"}, timeout=10)

    assert response.status_code == 400


# --- never in production --------------------------------------------------------------------

PRODUCTION = PRODUCTION_SETTINGS


def test_production_has_no_sandbox(app_factory):
    production = app_factory(**PRODUCTION)

    assert not [r for r in production.url_map.iter_rules() if "stripe-sandbox" in r.rule]
    assert production.test_client().get("/stripe-sandbox/").status_code == 404


def test_production_refuses_a_forced_sandbox(app_factory):
    with pytest.raises(ConfigurationError, match="STRIPE_SANDBOX"):
        app_factory(**{**PRODUCTION, "STRIPE_SANDBOX": True})
    forced = Flask(__name__)
    forced.config.update(PERKS_ENV="production", STRIPE_SANDBOX=True)
    with pytest.raises(ConfigurationError, match="never runs in production"):
        init_app(forced)


def test_bad_sandbox_settings_are_refused_at_start_up(app_factory):
    with pytest.raises(ConfigurationError, match="RETRY"):
        app_factory(STRIPE_SANDBOX_RETRY_SECONDS=0)


def test_sandbox_settings_default_to_the_instance_folder():
    settings = SandboxSettings.from_config(load_settings({}))
    assert settings.database_url.endswith("instance/stripe-sandbox.sqlite3")
    assert settings.webhook_url_for("http://127.0.0.1:5000/") == (
        "http://127.0.0.1:5000/stripe/webhook"
    )
