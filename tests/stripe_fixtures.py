"""Stripe events built from Stripe's own example objects, signed the way Stripe signs them.

The objects come from ``tests/data/stripe_fixtures.json``: a verbatim copy of six objects of
Stripe's ``openapi/fixtures3.json`` (see its ``_source``), so the tests run on a clean clone.
Each helper deep-copies one, sets the fields a test relies on, and ``event`` wraps it in an
``event`` envelope; ``signature_header`` signs a body as Stripe does:
``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the endpoint's secret>``.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from flask.testing import FlaskClient
    from werkzeug.test import TestResponse

    from perks.shop.models import Order

FIXTURES = Path(__file__).resolve().parent / "data" / "stripe_fixtures.json"
WEBHOOK_PATH = "/stripe/webhook"

_numbers = itertools.count(1)


class OrderLike(Protocol):
    """What the builders read of an order: a :class:`~perks.shop.models.Order`, or anything
    with the same fields (``bench.webhooks`` builds its events before any order is loaded)."""

    @property
    def id(self) -> int: ...
    @property
    def number(self) -> str: ...
    @property
    def checkout_session_id(self) -> str | None: ...
    @property
    def subtotal_amount(self) -> int: ...
    @property
    def total_amount(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def customer_email(self) -> str: ...


@cache
def _resources() -> dict[str, Any]:
    return json.loads(FIXTURES.read_text(encoding="utf-8"))["resources"]


def stripe_object(kind: str, **fields: Any) -> dict[str, Any]:
    """A deep copy of Stripe's example ``kind`` object ("charge", ...), ``fields`` set."""
    obj = copy.deepcopy(_resources()[kind])
    obj.update(fields)
    return obj


def _unique(prefix: str) -> str:
    return f"{prefix}_test_{next(_numbers):08d}{int(time.time() * 1000) % 10**9:09d}"


def payment_intent_id(order: OrderLike) -> str:
    """The payment intent these helpers use for ``order`` (one per order, stable)."""
    return f"pi_test_perks_order_{order.id}"


def charge_id(order: OrderLike) -> str:
    """The charge these helpers use for ``order``."""
    return f"ch_test_perks_order_{order.id}"


def _metadata(order: OrderLike) -> dict[str, str]:
    return {"order_id": str(order.id), "order_number": order.number}


def checkout_session(
    order: OrderLike,
    *,
    payment_status: str = "paid",
    status: str = "complete",
    amount_total: int | None = None,
    currency: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """``order``'s Checkout Session as Stripe reports it (paid, for the order's total)."""
    defaults: dict[str, Any] = {
        "id": order.checkout_session_id or _unique("cs"),
        "client_reference_id": str(order.id),
        "metadata": _metadata(order),
        "amount_subtotal": order.subtotal_amount if amount_total is None else amount_total,
        "amount_total": order.total_amount if amount_total is None else amount_total,
        "currency": (currency or order.currency).lower(),
        "customer_email": order.customer_email,
        "payment_intent": payment_intent_id(order),
        "payment_status": payment_status,
        "status": status,
    }
    return stripe_object("checkout.session", **{**defaults, **fields})


def charge(order: OrderLike, *, amount_refunded: int = 0, **fields: Any) -> dict[str, Any]:
    """``order``'s charge, with Stripe's running total of refunds ``amount_refunded``."""
    defaults: dict[str, Any] = {
        "id": charge_id(order),
        "amount": order.total_amount,
        "amount_captured": order.total_amount,
        "amount_refunded": amount_refunded,
        "captured": True,
        "currency": order.currency.lower(),
        "metadata": _metadata(order),
        "payment_intent": payment_intent_id(order),
        "refunded": amount_refunded >= order.total_amount,
    }
    return stripe_object("charge", **{**defaults, **fields})


def dispute(order: OrderLike, *, status: str = "needs_response", **fields: Any) -> dict[str, Any]:
    """A dispute of ``order``'s whole charge, in ``status`` (Stripe's words)."""
    defaults: dict[str, Any] = {
        "id": f"dp_test_perks_order_{order.id}",
        "amount": order.total_amount,
        "charge": charge_id(order),
        "currency": order.currency.lower(),
        "payment_intent": payment_intent_id(order),
        "status": status,
    }
    return stripe_object("dispute", **{**defaults, **fields})


def refund(order: OrderLike, amount: int, **fields: Any) -> dict[str, Any]:
    """One refund of ``amount`` on ``order``'s charge."""
    defaults: dict[str, Any] = {
        "id": _unique("re"),
        "amount": amount,
        "charge": charge_id(order),
        "currency": order.currency.lower(),
        "payment_intent": payment_intent_id(order),
        "metadata": _metadata(order),
    }
    return stripe_object("refund", **{**defaults, **fields})


def payment_intent(order: OrderLike, **fields: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "id": payment_intent_id(order),
        "amount": order.total_amount,
        "amount_received": order.total_amount,
        "currency": order.currency.lower(),
        "metadata": _metadata(order),
        "status": "succeeded",
    }
    return stripe_object("payment_intent", **{**defaults, **fields})


def event(
    event_type: str, obj: dict[str, Any], *, event_id: str | None = None, created: int | None = None
) -> dict[str, Any]:
    """Stripe's example event envelope around ``obj``."""
    return stripe_object(
        "event",
        id=event_id or _unique("evt"),
        type=event_type,
        created=int(time.time()) if created is None else created,
        data={"object": obj},
        livemode=False,
        pending_webhooks=1,
    )


def body(evt: dict[str, Any]) -> bytes:
    """The body Stripe would post: the event as JSON."""
    return json.dumps(evt, ensure_ascii=False).encode()


def signature_header(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """``Stripe-Signature`` for ``payload``, signed now (or at ``timestamp``)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def deliver(
    client: FlaskClient,
    evt: dict[str, Any] | bytes,
    *,
    secret: str | None = None,
    timestamp: int | None = None,
    signature: str | None = None,
) -> TestResponse:
    """POST ``evt`` to the webhook endpoint, signed with the app's webhook secret."""
    payload = evt if isinstance(evt, bytes) else body(evt)
    if signature is None:
        secret = secret or client.application.config["STRIPE_WEBHOOK_SECRET"]
        signature = signature_header(payload, secret, timestamp=timestamp)
    return client.post(
        WEBHOOK_PATH,
        data=payload,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )


# --- what the order signals said ---------------------------------------------------------------

#: (signal name, order id, keyword arguments)
SignalCall = tuple[str, int, dict[str, Any]]


@contextmanager
def recording_order_signals() -> Iterator[list[SignalCall]]:
    """Every order signal sent inside the block, in order: (name, order id, kwargs)."""
    from perks.shop import events

    signals = {
        "paid": events.order_paid,
        "redeemed": events.order_redeemed,
        "refunded": events.order_refunded,
        "dispute_opened": events.order_dispute_opened,
        "dispute_closed": events.order_dispute_closed,
    }
    calls: list[SignalCall] = []
    receivers = []
    for name, signal in signals.items():

        def receiver(order: Order, _name: str = name, **kwargs: Any) -> None:
            calls.append((_name, order.id, kwargs))

        signal.connect(receiver)
        receivers.append((signal, receiver))
    try:
        yield calls
    finally:
        for signal, receiver in receivers:
            signal.disconnect(receiver)
