"""The sandbox's API, through the real ``stripe`` library over HTTP, as the product calls it.

Sessions are opened, paid, expired, refunded and disputed on this worker's sandbox server;
webhooks arrive at a small HTTP server started by the test, which checks them with
``stripe.Webhook.construct_event``. (The product's gateway against the sandbox is
tests/functional/test_stripe_gateway_sandbox.py.)
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

import pytest
import requests
import stripe

from stripe_sandbox import create_app, service, store, webhooks
from stripe_sandbox.errors import StripeApiError
from stripe_sandbox.settings import DEFAULT_SECRET_KEY, DEFAULT_WEBHOOK_SECRET
from tests.stripe_sandbox import SANDBOX_TEST_SETTINGS, LiveSandbox
from tests.stripe_sandbox.helpers import (
    charge_of,
    open_session,
    paid_intent,
    raw_client,
    session_params,
)

AUTH = {"Authorization": f"Bearer {DEFAULT_SECRET_KEY}"}


def refund(sandbox: LiveSandbox, intent_id: str, amount: int, key: str | None = None) -> Any:
    options: Any = {"idempotency_key": key} if key else {}
    return raw_client(sandbox).v1.refunds.create(
        params={"payment_intent": intent_id, "amount": amount}, options=options
    )


# --- checkout sessions ----------------------------------------------------------------------


def test_a_vnd_session_charges_exactly_its_line_items(sandbox):
    session = open_session(sandbox, price=1_250_000, quantity=2)
    seen = raw_client(sandbox).v1.checkout.sessions.retrieve(session.id)

    assert session.id.startswith("cs_test_")
    assert session.url == f"{sandbox.url}/pay/{session.id}"
    assert (seen.amount_subtotal, seen.amount_total, seen.currency) == (2_500_000, 2_500_000, "vnd")
    assert (seen.status, seen.payment_status, seen.mode) == ("open", "unpaid", "payment")
    assert (seen.client_reference_id, seen.customer_email) == ("7", "hoa.le@gmail.com")
    assert seen.locale == "vi"
    assert seen.metadata.to_dict() == {"order_id": "7", "order_number": "DH-0007"}
    assert seen.object == "checkout.session"
    assert seen.livemode is False


def test_a_usd_session_counts_cents(sandbox):
    session = open_session(sandbox, price=1999, quantity=3, currency="usd")
    client = raw_client(sandbox)

    seen = client.v1.checkout.sessions.retrieve(session.id)
    items = client.v1.checkout.sessions.line_items.list(session.id)

    assert (seen.amount_total, seen.currency) == (5997, "usd")
    assert [(i.quantity, i.price.unit_amount, i.amount_total) for i in items.data] == [
        (3, 1999, 5997)
    ]


def test_an_idempotency_key_replays_its_response_and_refuses_other_parameters(sandbox):
    client = raw_client(sandbox)
    options: Any = {"idempotency_key": "order-42-checkout"}

    first = client.v1.checkout.sessions.create(params=session_params(), options=options)
    again = client.v1.checkout.sessions.create(params=session_params(), options=options)
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    with store.get_store(sandbox.settings.database_url).read() as conn:
        assert len(store.latest(conn, "checkout.session", 10)) == 1

    with pytest.raises(stripe.IdempotencyError) as refused:
        client.v1.checkout.sessions.create(
            params=session_params(client_reference_id="other"), options=options
        )
    assert refused.value.http_status == 400
    assert "same parameters" in refused.value.user_message


def test_concurrent_requests_with_one_idempotency_key_open_one_session(sandbox):
    client = raw_client(sandbox)
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


def test_a_wrong_key_is_refused_with_401_in_stripes_shape(sandbox):
    with pytest.raises(stripe.AuthenticationError) as refused:
        raw_client(sandbox, "sk_test_not_the_key").v1.checkout.sessions.list()
    assert refused.value.http_status == 401
    assert "Invalid API Key provided: sk_test_" in refused.value.user_message

    anonymous = requests.get(f"{sandbox.url}/v1/checkout/sessions", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in anonymous.json()["error"]["message"]
    basic = requests.get(
        f"{sandbox.url}/v1/checkout/sessions", auth=(DEFAULT_SECRET_KEY, ""), timeout=10
    )
    assert basic.status_code == 200  # curl -u sk_test_...:


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
                            "currency": "xyz",
                            "unit_amount": 5,
                            "product_data": {"name": "A"},
                        },
                    }
                ]
            },
            "line_items[0][price_data][currency]",
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
def test_bad_parameters_are_refused_with_the_parameter_named(sandbox, change, param):
    params = {k: v for k, v in session_params(**change).items() if v is not None}

    with pytest.raises(stripe.InvalidRequestError) as refused:
        raw_client(sandbox).v1.checkout.sessions.create(params=params)

    assert refused.value.http_status == 400
    assert refused.value.param == param
    assert refused.value.json_body["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("minutes", [29, 24 * 60 + 1])
def test_an_expiry_outside_stripes_limits_is_refused(sandbox, minutes):
    expires_at = int(time.time()) + minutes * 60

    with pytest.raises(stripe.InvalidRequestError) as refused:
        raw_client(sandbox).v1.checkout.sessions.create(
            params=session_params(expires_at=expires_at)
        )

    assert refused.value.param == "expires_at"


def test_an_unknown_object_is_a_404(sandbox):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        raw_client(sandbox).v1.checkout.sessions.retrieve("cs_test_nope")
    assert missing.value.http_status == 404
    response = requests.get(f"{sandbox.url}/v1/charges/ch_nope", headers=AUTH, timeout=10)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"
    unknown = requests.get(f"{sandbox.url}/v1/customers", headers=AUTH, timeout=10)
    assert unknown.status_code == 404
    assert "Unrecognized request URL" in unknown.json()["error"]["message"]


def test_expiring_a_session_closes_it_and_sends_the_event(sandbox, receiver):
    session = open_session(sandbox)
    client = raw_client(sandbox)

    client.v1.checkout.sessions.expire(session.id)

    seen = client.v1.checkout.sessions.retrieve(session.id)
    assert (seen.status, seen.url) == ("expired", None)
    [event] = receiver.wait_for_event("checkout.session.expired")
    assert event["data"]["object"]["id"] == session.id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(session.id)


def test_a_session_past_its_expiry_expires_by_itself(sandbox, receiver):
    session = open_session(sandbox)

    webhooks.run_sweep(sandbox.settings, now=session.expires_at + 1)

    assert raw_client(sandbox).v1.checkout.sessions.retrieve(session.id).status == "expired"
    [event] = receiver.wait_for_event("checkout.session.expired")
    assert event["data"]["object"]["status"] == "expired"
    page = requests.get(session.url, timeout=10)
    assert page.status_code == 200
    assert 'data-testid="session-expired"' in page.text


def test_webhooks_go_back_where_they_went_when_the_block_ends(sandbox, endpoint):
    """A session left open after the block (another test's) that expires when a test moves
    the clock sends nothing to the block's endpoint; once, it was the live server, and its
    write collided with the test's."""
    with pytest.raises(RuntimeError), sandbox.webhooks_to(endpoint.url):
        raise RuntimeError("the test failed")
    left_open = open_session(sandbox)

    webhooks.run_sweep(sandbox.settings, now=left_open.expires_at + 1)
    sandbox.deliver_pending()

    assert raw_client(sandbox).v1.checkout.sessions.retrieve(left_open.id).status == "expired"
    assert sandbox.deliveries() == []
    assert endpoint.requests == []
    with sandbox.webhooks_to(endpoint.url):  # the same expiry inside the block is sent
        session = open_session(sandbox)
        webhooks.run_sweep(sandbox.settings, now=session.expires_at + 1)
        assert endpoint.wait_for_event("checkout.session.expired")


def test_listing_sessions_pages_through_every_one(sandbox):
    client = raw_client(sandbox)
    made = [client.v1.checkout.sessions.create(params=session_params()).id for _ in range(7)]

    paged = client.v1.checkout.sessions.list(params={"limit": 3})
    everything = [s.id for s in paged.auto_paging_iter()]

    assert paged.object == "list"
    assert paged.has_more is True
    assert len(paged.data) == 3
    assert everything == list(reversed(made))  # newest first, each once
    before = client.v1.checkout.sessions.list(params={"ending_before": made[2], "limit": 2})
    assert [s.id for s in before.data] == [made[4], made[3]]
    now = int(time.time())
    window = client.v1.checkout.sessions.list(
        params={"created": {"gte": now - 300, "lt": now + 300}, "limit": 100}
    )
    assert sorted(s.id for s in window.data) == sorted(made)
    later = client.v1.checkout.sessions.list(params={"created": {"gte": now + 300}})
    assert later.data == []


# --- paying ---------------------------------------------------------------------------------


def test_paying_with_the_test_card_completes_the_session(sandbox, receiver):
    session = open_session(sandbox, price=1_250_000, quantity=2)
    client = raw_client(sandbox)

    sandbox.pay(session.id)

    seen = client.v1.checkout.sessions.retrieve(session.id)
    assert (seen.status, seen.payment_status) == ("complete", "paid")
    intent = client.v1.payment_intents.retrieve(seen.payment_intent)
    assert (intent.status, intent.amount, intent.amount_received) == (
        "succeeded",
        2_500_000,
        2_500_000,
    )
    assert intent.metadata.to_dict() == {"order_id": "7", "order_number": "DH-0007"}
    charge = client.v1.charges.retrieve(intent.latest_charge)
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


def test_a_declined_card_changes_nothing(sandbox, receiver):
    session = open_session(sandbox)

    with pytest.raises(StripeApiError) as declined:
        sandbox.pay(session.id, "declined")

    assert (declined.value.status, declined.value.code) == (402, "card_declined")
    seen = raw_client(sandbox).v1.checkout.sessions.retrieve(session.id)
    assert (seen.status, seen.payment_status, seen.payment_intent) == ("open", "unpaid", None)
    assert sandbox.events() == []


def test_an_async_payment_completes_unpaid_then_succeeds(sandbox, receiver):
    session = open_session(sandbox)

    sandbox.pay(session.id, "async_success")

    [completed] = receiver.wait_for_event("checkout.session.completed")
    assert completed["data"]["object"]["payment_status"] == "unpaid"
    [succeeded] = receiver.wait_for_event("checkout.session.async_payment_succeeded")
    assert succeeded["data"]["object"]["payment_status"] == "paid"
    client = raw_client(sandbox)
    seen = client.v1.checkout.sessions.retrieve(session.id)
    assert seen.payment_status == "paid"
    assert client.v1.payment_intents.retrieve(seen.payment_intent).status == "succeeded"


def test_an_async_payment_settled_in_the_background_reaches_the_configured_endpoint(
    endpoint, tmp_path
):
    # As ``make run`` starts it: the endpoint is a setting, nothing forwarded. The outcome of
    # an async payment is emitted by the background worker's sweep, which must send it there
    # too (it used to run with the endpoint blanked, so the order stayed unpaid for ever).
    app = create_app(
        {
            **SANDBOX_TEST_SETTINGS,
            "STRIPE_SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite3'}",
            "STRIPE_SANDBOX_WEBHOOK_URL": endpoint.url,
        }
    )
    settings = service.settings_of(app)
    try:
        created = app.test_client().post(
            "/v1/checkout/sessions",
            headers=AUTH,
            data={
                "mode": "payment",
                "line_items[0][quantity]": "1",
                "line_items[0][price_data][currency]": "vnd",
                "line_items[0][price_data][unit_amount]": "500000",
                "line_items[0][price_data][product_data][name]": "Vé tham quan",
                "success_url": "https://shop.example/done",
            },
        )
        assert created.status_code == 200, created.get_data(as_text=True)

        service.pay_checkout_session(settings, created.get_json()["id"], "async_success")

        [succeeded] = endpoint.wait_for_event("checkout.session.async_payment_succeeded")
        assert succeeded["data"]["object"]["payment_status"] == "paid"
    finally:
        webhooks.stop_workers(settings.database_url)


def test_an_async_payment_can_fail_later(sandbox, receiver):
    session = open_session(sandbox)

    sandbox.pay(session.id, "async_failure")

    [failed] = receiver.wait_for_event("checkout.session.async_payment_failed")
    assert failed["data"]["object"]["payment_status"] == "unpaid"
    assert receiver.events_of("checkout.session.async_payment_succeeded") == []
    intent_id = failed["data"]["object"]["payment_intent"]
    assert raw_client(sandbox).v1.payment_intents.retrieve(intent_id).status == (
        "requires_payment_method"
    )
    with pytest.raises(stripe.InvalidRequestError, match="does not have a successful charge"):
        refund(sandbox, intent_id, 1)


# --- refunds --------------------------------------------------------------------------------


def test_refunds_add_up_and_never_exceed_the_charge(sandbox, receiver):
    intent = paid_intent(sandbox, price=1_250_000, quantity=2)

    first = refund(sandbox, intent, 1_000_000, "r1")
    assert first.id.startswith("re_")
    charge = charge_of(sandbox, intent)
    assert (charge.amount_refunded, charge.refunded) == (1_000_000, False)

    with pytest.raises(stripe.InvalidRequestError, match="greater than unrefunded amount"):
        refund(sandbox, intent, 1_500_001, "r2")
    assert charge_of(sandbox, intent).amount_refunded == 1_000_000

    refund(sandbox, intent, 1_500_000, "r3")
    charge = charge_of(sandbox, intent)
    assert (charge.amount_refunded, charge.refunded) == (2_500_000, True)
    with pytest.raises(stripe.InvalidRequestError, match="already been refunded"):
        refund(sandbox, intent, 1, "r4")

    refunds = raw_client(sandbox).v1.refunds.list(params={"payment_intent": intent})
    assert sorted(r.amount for r in refunds.data) == [1_000_000, 1_500_000]
    events = receiver.wait_for_event("charge.refunded", 2)
    assert [
        (e["data"]["object"]["amount_refunded"], e["data"]["object"]["refunded"]) for e in events
    ] == [
        (1_000_000, False),
        (2_500_000, True),
    ]


def test_a_retried_refund_refunds_once(sandbox):
    intent = paid_intent(sandbox)

    first = refund(sandbox, intent, 100_000, "same")
    again = refund(sandbox, intent, 100_000, "same")

    assert again.id == first.id
    assert charge_of(sandbox, intent).amount_refunded == 100_000


def test_concurrent_refunds_never_refund_more_than_was_paid(sandbox):
    intent = paid_intent(sandbox, price=1_000_000, quantity=1)
    outcomes: list[str] = []

    def attempt(n: int) -> None:
        try:
            refund(sandbox, intent, 300_000, f"parallel-{n}")
            outcomes.append("refunded")
        except stripe.InvalidRequestError:
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refunded"] * 3 + ["refused"] * 5
    assert charge_of(sandbox, intent).amount_refunded == 900_000


# --- disputes -------------------------------------------------------------------------------


def test_a_dispute_opens_and_closes_won_or_lost(sandbox, receiver):
    won = paid_intent(sandbox, price=700_000, quantity=1)
    lost = paid_intent(sandbox, price=300_000, quantity=1)
    settings = sandbox.settings

    dispute = service.open_dispute(settings, won)
    with pytest.raises(StripeApiError, match="already been disputed"):
        service.open_dispute(settings, won)
    with pytest.raises(stripe.InvalidRequestError, match="charged back"):
        refund(sandbox, won, 1, "during-dispute")
    service.close_dispute(settings, dispute["id"], won=True)
    other = service.open_dispute(settings, lost)
    service.close_dispute(settings, other["id"], won=False)

    created = receiver.wait_for_event("charge.dispute.created", 2)
    closed = receiver.wait_for_event("charge.dispute.closed", 2)
    first = created[0]["data"]["object"]
    assert first["object"] == "dispute"
    assert first["status"] == "needs_response"
    assert (first["amount"], first["currency"]) == (700_000, "vnd")
    assert first["payment_intent"] == won
    assert first["charge"] == charge_of(sandbox, won).id
    assert [e["data"]["object"]["status"] for e in closed] == ["won", "lost"]
    with pytest.raises(StripeApiError, match="already closed"):
        service.close_dispute(settings, dispute["id"], won=False)


# --- webhooks -------------------------------------------------------------------------------


def test_webhooks_are_signed_like_stripes(sandbox, receiver):
    sandbox.pay(open_session(sandbox).id)

    [event] = receiver.wait_for_event("checkout.session.completed")
    headers, body, _ = next(r for r in receiver.requests if json.loads(r[1])["id"] == event["id"])
    signature = headers["Stripe-Signature"]

    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", signature)
    assert headers["Content-Type"].startswith("application/json")
    verified = stripe.Webhook.construct_event(body, signature, DEFAULT_WEBHOOK_SECRET)
    assert verified.id == event["id"]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            body.replace(b"paid", b"PAID"), signature, DEFAULT_WEBHOOK_SECRET
        )
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, signature, "whsec_someone_else")


def test_only_the_events_the_endpoint_subscribes_to_are_sent(sandbox, receiver):
    sandbox.pay(open_session(sandbox).id)

    receiver.wait_for_event("checkout.session.completed")
    sandbox.wait_for_deliveries()

    assert [e["type"] for e in receiver.events()] == ["checkout.session.completed"]
    kept = [e["type"] for e in sandbox.events()]
    assert kept == ["charge.succeeded", "payment_intent.succeeded", "checkout.session.completed"]


def test_a_failing_endpoint_gets_the_event_again_until_it_answers(sandbox, receiver):
    receiver.statuses = [500, 503]

    sandbox.pay(open_session(sandbox).id)

    [delivery] = sandbox.wait_for_deliveries()
    assert delivery["status"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 503, 200]
    bodies = {body for _, body, _ in receiver.requests}
    assert len(receiver.requests) == 3
    assert len(bodies) == 1
    times = [at for _, _, at in receiver.requests]
    base = sandbox.settings.retry_seconds
    assert times[1] - times[0] >= base * 0.9
    assert times[2] - times[1] >= 2 * base * 0.9


def test_an_unreachable_endpoint_is_retried_then_given_up(sandbox):
    sandbox.forward_webhooks("http://127.0.0.1:9/hooks")

    sandbox.pay(open_session(sandbox).id)

    [delivery] = sandbox.wait_for_deliveries()
    assert delivery["status"] == "failed"
    assert len(delivery["attempts"]) == webhooks.MAX_ATTEMPTS
    assert all(a["status_code"] is None and a["error"] for a in delivery["attempts"])


def test_deliver_twice_sends_the_same_event_twice(sandbox, receiver):
    sandbox.pay(open_session(sandbox).id, deliver_twice=True)

    twice = receiver.wait_for_event("checkout.session.completed", 2)
    assert twice[0]["id"] == twice[1]["id"]

    intent = paid_intent(sandbox)
    service.set_options(sandbox.settings, deliver_twice=True, paused=False)
    refund(sandbox, intent, 1000, "twice")
    refunded = receiver.wait_for_event("charge.refunded", 2)
    assert refunded[0]["id"] == refunded[1]["id"]


def test_paused_deliveries_wait_for_deliver_pending(sandbox, receiver):
    sandbox.pause_deliveries()
    sandbox.pay(open_session(sandbox).id)
    time.sleep(0.3)
    assert receiver.events() == []

    results = sandbox.deliver_pending()

    assert [(r.outcome, r.status_code) for r in results] == [("delivered", 200)]
    assert [e["type"] for e in receiver.events()] == ["checkout.session.completed"]


def test_an_event_can_be_sent_again(sandbox, receiver):
    sandbox.pay(open_session(sandbox).id)
    [event] = receiver.wait_for_event("checkout.session.completed")

    assert service.resend_event(sandbox.settings, event["id"], deliver_twice=True) == 2

    assert [e["id"] for e in receiver.wait_for_event("checkout.session.completed", 3)] == [
        event["id"]
    ] * 3


def test_events_go_to_the_endpoint_of_the_moment_they_happen(sandbox, receiver):
    session = open_session(sandbox)
    sandbox.forward_webhooks("")  # no endpoint: the event is kept, nothing is sent
    sandbox.pay(session.id)
    assert sandbox.deliveries() == []
    [completed] = sandbox.events("checkout.session.completed")

    sandbox.forward_webhooks(receiver.url)
    service.resend_event(sandbox.settings, completed["id"])

    [delivery] = sandbox.wait_for_deliveries()
    assert delivery["url"] == receiver.url
    assert receiver.wait_for_event("checkout.session.completed")[0]["id"] == completed["id"]
