"""Everything the app asks of Stripe, and the only module that imports ``stripe``.

The real ``stripe`` library is used everywhere. Its API base comes from the settings: real
Stripe with real keys in production, and this app's own offline sandbox
(``perks.payments.sandbox``, served under ``/stripe-sandbox``) in development, demo and
tests. Amounts cross the border here, converted by Stripe's own currency rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import stripe
from flask import current_app, has_request_context, request

from perks.errors import PerksError
from perks.money import Money, minor_unit_exponent

if TYPE_CHECKING:
    from perks.shop.models import Order

#: where the sandbox is mounted in this app (perks.payments.sandbox.views)
SANDBOX_PREFIX = "/stripe-sandbox"

#: the shortest life Stripe accepts for a Checkout Session (30 minutes), with a margin
MIN_CHECKOUT_EXPIRY = timedelta(minutes=31)

#: currencies Stripe treats as zero-decimal (https://docs.stripe.com/currencies)
STRIPE_ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA"}
    | {"PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)


class PaymentProviderError(PerksError):
    """Stripe (or the sandbox) refused a request or could not be reached."""

    status_code = 502


class InvalidWebhook(PerksError):
    """A webhook whose signature, timestamp or body cannot be trusted."""

    status_code = 400


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    id: str
    url: str
    expires_at: datetime


# --- amounts --------------------------------------------------------------------------------


def to_stripe_amount(money: Money) -> int:
    """``money`` as the integer Stripe expects for its currency.

    Our minor unit is ISO 4217's; Stripe's equals it for every currency we sell in (VND is
    zero-decimal in both, USD has cents in both). A currency where they differ raises.

    Raises:
        ValueError: Stripe and ISO 4217 disagree on the currency's decimals.
    """
    stripe_exponent = 0 if money.currency in STRIPE_ZERO_DECIMAL else 2
    if minor_unit_exponent(money.currency) != stripe_exponent:
        raise ValueError(f"{money.currency}: Stripe's decimals differ from ISO 4217's")
    return money.amount


def from_stripe_amount(amount: int, currency: str) -> Money:
    """The ``Money`` of an amount as Stripe reports it (``currency`` in any case).

    Raises:
        ValueError: an unknown currency, or one whose decimals Stripe counts differently.
    """
    money = Money.of(int(amount), currency)
    to_stripe_amount(money)  # the same check, both ways
    return money


# --- the client -----------------------------------------------------------------------------


def sandbox_enabled() -> bool:
    return bool(current_app.config["STRIPE_SANDBOX"])


def api_base() -> str:
    """Stripe's API base: the setting, else this app's sandbox at the current host."""
    configured = current_app.config.get("STRIPE_API_BASE") or ""
    if configured:
        return configured.rstrip("/")
    if sandbox_enabled():
        if not has_request_context():
            raise PaymentProviderError(
                "STRIPE_API_BASE must be set to reach the sandbox outside a request"
            )
        return request.host_url.rstrip("/") + SANDBOX_PREFIX
    return stripe.DEFAULT_API_BASE


def client() -> stripe.StripeClient:
    """A Stripe client for the current settings (cheap: no connection is made here)."""
    return stripe.StripeClient(
        current_app.config["STRIPE_SECRET_KEY"],
        base_addresses={"api": api_base()},
        max_network_retries=2,
    )


def _call(description: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except stripe.StripeError as exc:
        current_app.logger.warning("stripe %s failed: %s", description, exc)
        raise PaymentProviderError(
            str(exc.user_message or "")
            or "The payment provider could not be reached. Please try again."
        ) from exc


# --- checkout -------------------------------------------------------------------------------


def create_checkout_session(
    order: Order, *, success_url: str, cancel_url: str, expires_in: timedelta
) -> CheckoutSession:
    """Open a Stripe Checkout Session for ``order`` (idempotent per order).

    The order's id is the ``client_reference_id`` and sits in the metadata of the session and
    of its payment intent; the idempotency key derives from the order, so a retried request
    never opens a second session. The key holds the order's random number as well as its id,
    because ids start again when a development or test database is recreated while Stripe
    (or the sandbox) still remembers the keys; and the session expires ``expires_in`` after
    the order was created, not after this call, so a retry sends the very same parameters.

    Raises:
        PaymentProviderError: Stripe refused or could not be reached.
    """
    metadata = {"order_id": str(order.id), "order_number": order.number}
    now = datetime.now(UTC)
    created = order.created_at or now
    if created.tzinfo is None:  # SQLite hands back naive UTC datetimes
        created = created.replace(tzinfo=UTC)
    # Stripe refuses an expiry less than 30 minutes away: an old order gets a fresh window.
    expires_at = max(created + expires_in, now + MIN_CHECKOUT_EXPIRY)
    params: dict[str, Any] = {
        "mode": "payment",
        "client_reference_id": str(order.id),
        "customer_email": order.customer_email,
        "locale": "vi" if order.locale == "vi" else "en",
        "line_items": [
            {
                "quantity": line.quantity,
                "price_data": {
                    "currency": order.currency.lower(),
                    "unit_amount": to_stripe_amount(Money(line.unit_amount, order.currency)),
                    "product_data": {"name": line.product_name},
                },
            }
            for line in order.lines
        ],
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": int(expires_at.timestamp()),
    }
    session = _call(
        "checkout.sessions.create",
        client().v1.checkout.sessions.create,
        params=params,
        options={"idempotency_key": f"perks-order-{order.id}-{order.number}-checkout"},
    )
    return CheckoutSession(
        id=session.id,
        url=session.url,
        expires_at=datetime.fromtimestamp(session.expires_at, UTC),
    )


def retrieve_checkout_session(session_id: str) -> Any:
    """Stripe's current view of a Checkout Session (a ``stripe.checkout.Session``).

    Raises:
        PaymentProviderError: Stripe refused or could not be reached.
    """
    return _call("checkout.sessions.retrieve", client().v1.checkout.sessions.retrieve, session_id)


def expire_checkout_session(session_id: str) -> None:
    """Close an unpaid Checkout Session so it can no longer be paid.

    Raises:
        PaymentProviderError: Stripe refused (e.g. it is already complete) or is unreachable.
    """
    _call("checkout.sessions.expire", client().v1.checkout.sessions.expire, session_id)


def list_checkout_sessions(created_from: datetime, created_to: datetime) -> Iterator[Any]:
    """Every Checkout Session created in ``[created_from, created_to)`` (auto-paginated).

    Raises:
        PaymentProviderError: Stripe refused or could not be reached.
    """
    page = _call(
        "checkout.sessions.list",
        client().v1.checkout.sessions.list,
        params={
            "created": {
                "gte": int(created_from.timestamp()),
                "lt": int(created_to.timestamp()),
            },
            "limit": 100,
        },
    )
    yield from page.auto_paging_iter()


# --- refunds --------------------------------------------------------------------------------


def create_refund(order: Order, amount: Money, *, idempotency_key: str) -> str:
    """Refund ``amount`` of ``order``'s payment; returns the refund's id.

    The order's state changes only when the ``charge.refunded`` webhook arrives.

    Raises:
        PaymentProviderError: Stripe refused (e.g. more than is left) or is unreachable.
        ValueError: the order was never paid, or ``amount`` is in another currency.
    """
    if not order.payment_intent_id:
        raise ValueError("the order has no payment to refund")
    if amount.currency != order.currency:
        raise ValueError("a refund is in the order's currency")
    refund = _call(
        "refunds.create",
        client().v1.refunds.create,
        params={
            "payment_intent": order.payment_intent_id,
            "amount": to_stripe_amount(amount),
            "metadata": {"order_id": str(order.id), "order_number": order.number},
        },
        options={"idempotency_key": idempotency_key},
    )
    return str(refund.id)


# --- webhooks -------------------------------------------------------------------------------


def construct_event(payload: bytes, signature: str | None) -> dict[str, Any]:
    """Verify a webhook on its raw body and return the event as plain JSON data.

    The signature is checked by the stripe library (``WebhookSignature.verify_header``:
    HMAC-SHA256 of the timestamp and the raw body, within Stripe's 5-minute tolerance); the
    verified bytes are then parsed as they are, without building the library's objects
    (which turn some numbers into ``Decimal`` and cost more than the check).

    Raises:
        InvalidWebhook: a missing, bad or stale signature, or a signed body that is not a
            JSON object.
    """
    secret = current_app.config["STRIPE_WEBHOOK_SECRET"]
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature or "", secret, stripe.Webhook.DEFAULT_TOLERANCE
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise InvalidWebhook("invalid signature or payload") from exc
    if not isinstance(event, dict) or event.get("object") != "event":
        raise InvalidWebhook("not a Stripe event")
    return event
