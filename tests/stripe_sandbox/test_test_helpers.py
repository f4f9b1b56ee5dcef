"""The sandbox's test helpers (``/v1/test_helpers/...``): what the product's demo drives it
with over HTTP, with the same key and Stripe's errors, as a developer drives its pages."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from stripe_sandbox import operations
from tests.stripe_sandbox import LiveSandbox
from tests.stripe_sandbox.helpers import charge_of, open_session, raw_client


def helper(sandbox: LiveSandbox, path: str, **params: Any) -> dict[str, Any]:
    """POST a test helper through the real ``stripe`` library, as the product's demo does."""
    response = raw_client(sandbox).raw_request("post", f"/v1/test_helpers/{path}", **params)
    answer: dict[str, Any] = response.data
    return answer


def test_a_session_is_paid_declined_and_refused_once_complete(sandbox):
    session = open_session(sandbox)

    with pytest.raises(stripe.CardError) as declined:
        helper(sandbox, f"checkout/sessions/{session.id}/pay", payment_method="declined")
    assert declined.value.code == "card_declined"
    paid = helper(sandbox, f"checkout/sessions/{session.id}/pay")

    assert (paid["status"], paid["payment_status"]) == ("complete", "paid")
    assert paid["payment_intent"].startswith("pi_")
    with pytest.raises(stripe.InvalidRequestError, match="no longer active"):
        helper(sandbox, f"checkout/sessions/{session.id}/pay", payment_method="card")
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        helper(sandbox, f"checkout/sessions/{session.id}/pay", payment_method="cash")
    assert unknown.value.param == "payment_method"


def test_a_dispute_is_opened_then_closed(sandbox, receiver):
    intent = sandbox.pay(open_session(sandbox).id)["payment_intent"]

    dispute = helper(sandbox, f"payment_intents/{intent}/dispute")
    assert (dispute["object"], dispute["status"]) == ("dispute", "needs_response")
    with pytest.raises(stripe.InvalidRequestError) as no_outcome:
        helper(sandbox, f"disputes/{dispute['id']}/close")
    assert no_outcome.value.param == "outcome"
    closed = helper(sandbox, f"disputes/{dispute['id']}/close", outcome="won")

    assert closed["status"] == "won"
    [event] = receiver.wait_for_event("charge.dispute.closed")
    assert event["data"]["object"]["status"] == "won"
    assert charge_of(sandbox, intent).disputed is True


def test_webhooks_are_forwarded_then_put_back(sandbox, receiver):
    forwarded = helper(sandbox, "webhook_endpoint", url="http://127.0.0.1:9/elsewhere")
    assert forwarded == {
        "object": "test_helpers.webhook_endpoint",
        "url": "http://127.0.0.1:9/elsewhere",
        "previous_url": receiver.url,
    }
    assert operations.webhook_endpoint(sandbox.settings) == "http://127.0.0.1:9/elsewhere"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        helper(sandbox, "webhook_endpoint", url="ftp://example.com/")
    assert refused.value.param == "url"

    helper(sandbox, "webhook_endpoint", url=forwarded["previous_url"])

    assert operations.webhook_endpoint(sandbox.settings) == receiver.url


def test_deliver_sends_every_pending_webhook_now_and_says_how_it_went(sandbox, receiver):
    sandbox.pause_deliveries()
    sandbox.pay(open_session(sandbox).id)
    assert receiver.events() == []

    delivered = helper(sandbox, "webhooks/deliver")

    assert delivered["object"] == "list"
    assert [(a["status_code"], a["outcome"]) for a in delivered["data"]] == [(200, "delivered")]
    assert [e["type"] for e in receiver.events()] == ["checkout.session.completed"]
    assert helper(sandbox, "webhooks/deliver")["data"] == []


def test_an_unknown_helper_is_a_404_in_stripes_shape(sandbox):
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        helper(sandbox, "test_clocks")
    assert unknown.value.http_status == 404
