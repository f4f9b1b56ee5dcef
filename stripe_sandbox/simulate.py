"""The sandbox's test helpers: what a customer, a bank or ``stripe listen`` would do, as an API.

Like Stripe's own ``/v1/test_helpers/...`` endpoints, they exist only in test mode, take
the same secret key, and answer Stripe's JSON and errors. A program (the product's
``flask perks demo``) drives the sandbox with them over HTTP, as a developer does with the
hosted page and the control page:

- ``POST /v1/test_helpers/checkout/sessions/<id>/pay`` (``payment_method``: ``card``,
  ``declined``, ``async_success`` or ``async_failure``; default ``card``): pay as the hosted
  page's buttons do; the session, or 402 ``card_declined``;
- ``POST /v1/test_helpers/payment_intents/<id>/dispute``: the customer's bank disputes the
  payment; the dispute;
- ``POST /v1/test_helpers/disputes/<id>/close`` (``outcome``: ``won`` or ``lost``): the bank
  decides; the dispute;
- ``POST /v1/test_helpers/webhook_endpoint`` (``url``, empty for none): from now on, this
  process sends every event there, like ``stripe listen --forward-to``; the URL and the one
  before it (``previous_url``), to put back afterwards;
- ``POST /v1/test_helpers/webhooks/deliver``: expire what is due, then send every pending
  webhook now and wait until none is being sent; the attempts made.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import Connection
from werkzeug.wrappers import Response

from stripe_sandbox import api, objects, operations, webhooks
from stripe_sandbox.errors import StripeApiError, invalid_parameter
from stripe_sandbox.params import Params
from stripe_sandbox.settings import ConfigurationError

bp = Blueprint("test_helpers", __name__, url_prefix="/v1/test_helpers")
bp.before_request(api.authenticate)
bp.register_error_handler(StripeApiError, api.stripe_error)
bp.register_error_handler(404, api.http_error)
bp.register_error_handler(405, api.http_error)

#: the longest ``webhooks/deliver`` waits for the background worker's round to end
DELIVER_WAIT_SECONDS = 60.0


@bp.post("/checkout/sessions/<session_id>/pay")
def pay_checkout_session(session_id: str) -> Response:
    def pay(conn: Connection, ctx: operations.Context, params: Params) -> dict[str, Any]:
        method = params.choice("payment_method", list(operations.PAYMENT_METHODS)) or "card"
        params.finish()
        return operations.pay_checkout_session(conn, ctx, session_id, method)

    return api.idempotent_post(pay)


@bp.post("/payment_intents/<payment_intent>/dispute")
def open_dispute(payment_intent: str) -> Response:
    def dispute(conn: Connection, ctx: operations.Context, params: Params) -> dict[str, Any]:
        params.finish()
        return operations.open_dispute(conn, ctx, payment_intent)

    return api.idempotent_post(dispute)


@bp.post("/disputes/<dispute_id>/close")
def close_dispute(dispute_id: str) -> Response:
    def close(conn: Connection, ctx: operations.Context, params: Params) -> dict[str, Any]:
        outcome = params.choice("outcome", ["won", "lost"], required=True)
        params.finish()
        return operations.close_dispute(conn, ctx, dispute_id, outcome == "won")

    return api.idempotent_post(close)


@bp.post("/webhook_endpoint")
def forward_webhooks() -> Response:
    params = Params(api.form_params())
    url = params.string("url", max_length=2000) or ""
    params.finish()
    try:
        previous = operations.forward_webhooks(api.request_settings(), url)
    except ConfigurationError as refused:
        raise invalid_parameter("url", str(refused)) from None
    return api.json_response(
        {"object": "test_helpers.webhook_endpoint", "url": url, "previous_url": previous}
    )


@bp.post("/webhooks/deliver")
def deliver_webhooks() -> Response:
    Params(api.form_params()).finish()
    settings = api.request_settings()
    results = webhooks.deliver_pending(settings)
    if not webhooks.wait_idle(settings, timeout=DELIVER_WAIT_SECONDS):
        raise StripeApiError("The webhook worker is still sending: try again.", status=503)
    data = [
        {
            "object": "test_helpers.webhook_attempt",
            "delivery": result.delivery_id,
            "event": result.event_id,
            "status_code": result.status_code,
            "error": result.error or None,
            "outcome": result.outcome,
        }
        for result in results
    ]
    return api.json_response(objects.list_object("/v1/test_helpers/webhooks/deliver", data, False))
