"""Everything the app asks of Stripe, and the only module that imports ``stripe``.

The real ``stripe`` library is used everywhere. Its API base comes from the settings: real
Stripe with real keys in production, and the offline Stripe sandbox (``stripe_sandbox``, a
process of its own on ``STRIPE_API_BASE``, never imported here) in development, the demo and
the tests. Amounts cross the border here, converted by Stripe's own currency rules.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import stripe
from flask import current_app, has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from perks.errors import PerksError
from perks.money import MAX_PARSED_AMOUNT, Money, minor_unit_exponent

if TYPE_CHECKING:
    from perks.shop.models import Order

#: where Stripe's own hosted Checkout page lives (a form's redirect may go there)
STRIPE_CHECKOUT_ORIGIN = "https://checkout.stripe.com"

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


class PaymentProviderUnavailable(PaymentProviderError):
    """Stripe did not answer in time, could not be reached, or said it is overloaded (a
    timeout, a refused connection, a 429 or a 5xx, after the retries). Whether a request that
    timed out was carried out is unknown: ask again with the same idempotency key."""

    status_code = 503
    default_message = _l("Payments are not answering right now. Please try again in a minute.")


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

    Stripe's amounts are never negative, and never larger than ``MAX_PARSED_AMOUNT`` (its own
    limit is far lower): anything else in a signed event is refused here, before it can reach
    a ``BIGINT`` column or a formatter.

    Raises:
        TypeError: ``amount`` is not an int (a bool, a float, a string, None).
        ValueError: an amount outside 0..``MAX_PARSED_AMOUNT``, an unknown currency, or one
            whose decimals Stripe counts differently.
    """
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"a Stripe amount is an int, not {type(amount).__name__}")
    if not 0 <= amount <= MAX_PARSED_AMOUNT:
        raise ValueError(f"a Stripe amount of {amount} is out of range")
    money = Money.of(amount, currency)
    to_stripe_amount(money)  # the same check, both ways
    return money


# --- the client -----------------------------------------------------------------------------


def api_base() -> str:
    """Stripe's API base: ``STRIPE_API_BASE`` (the sandbox's process outside production),
    else Stripe's own. Never anything from the request: a forged ``Host`` must not choose
    where the app sends its key."""
    configured = current_app.config.get("STRIPE_API_BASE") or ""
    return configured.rstrip("/") or stripe.DEFAULT_API_BASE


def uses_sandbox() -> bool:
    """Whether the app talks to a stand-in for Stripe (the sandbox) rather than to Stripe."""
    return api_base() != stripe.DEFAULT_API_BASE.rstrip("/")


def checkout_origins() -> str:
    """Where a checkout form's redirect may lead (the Content-Security-Policy's
    ``form-action``): Stripe's hosted page, and the sandbox's when the app talks to one."""
    if not uses_sandbox():
        return STRIPE_CHECKOUT_ORIGIN
    parts = urlsplit(api_base())
    return f"{STRIPE_CHECKOUT_ORIGIN} {parts.scheme}://{parts.netloc}"


# --- time bounds ----------------------------------------------------------------------------
#
# Every call to Stripe is bounded well below the worker's timeout. Each attempt may spend at
# most ``CONNECT_SECONDS`` connecting and ``STRIPE_TIMEOUT_SECONDS`` waiting for each read of
# the answer (Stripe answers in one piece, so that is the answer's wait); a timeout, a refused
# connection, a 409, a 429 or a 5xx is retried ``STRIPE_MAX_RETRIES`` times, after the
# library's back-off (0.5 s before the first retry, doubling, at most 5 s). Every write
# carries an idempotency key, so a retry never does anything twice. ``call_time_bound()``
# is the longest one call can take: 20.5 s with the defaults (8 s, 1 retry).

#: the most an attempt waits for the TCP (and TLS) connection
CONNECT_SECONDS = 2.0


def _retry_delays(retries: int) -> float:
    """The longest the stripe library sleeps between ``retries`` attempts (its back-off)."""
    initial, longest = stripe.HTTPClient.INITIAL_DELAY, stripe.HTTPClient.MAX_DELAY
    return sum(min(initial * 2**attempt, longest) for attempt in range(retries))


def call_time_bound(config: Any = None) -> float:
    """The longest one ``stripe_gateway`` call can hold the caller, in seconds (see above)."""
    config = current_app.config if config is None else config
    timeout = float(config["STRIPE_TIMEOUT_SECONDS"])
    retries = int(config["STRIPE_MAX_RETRIES"])
    per_attempt = min(CONNECT_SECONDS, timeout) + timeout
    return (retries + 1) * per_attempt + _retry_delays(retries)


@cache
def _http_client(connect: float, read: float) -> stripe.HTTPClient:
    # One per process and timeout: requests' sessions (one per thread) keep connections open.
    return stripe.RequestsClient(timeout=(connect, read))


def client(*, read_timeout: float | None = None) -> stripe.StripeClient:
    """A Stripe client for the current settings (cheap: no connection is made here), with
    the timeouts and retries of ``STRIPE_TIMEOUT_SECONDS`` and ``STRIPE_MAX_RETRIES``
    (``read_timeout``, when given, instead of the former, to fit a deadline)."""
    config = current_app.config
    timeout = float(config["STRIPE_TIMEOUT_SECONDS"])
    read = timeout if read_timeout is None else read_timeout
    return stripe.StripeClient(
        config["STRIPE_SECRET_KEY"],
        base_addresses={"api": api_base()},
        max_network_retries=int(config["STRIPE_MAX_RETRIES"]),
        http_client=_http_client(min(CONNECT_SECONDS, timeout), read),
    )


#: the shortest wait for an answer worth asking Stripe with, when a deadline is near
MIN_READ_SECONDS = 0.5
#: what may pass between a deadline being set and Stripe being asked (a few microseconds,
#: a slow machine's milliseconds) without cutting the wait: a deadline of one call's bound
#: gives its first call the whole ``STRIPE_TIMEOUT_SECONDS``
DEADLINE_SLACK = 0.05


def _client_before(deadline: float) -> stripe.StripeClient:
    """A client whose call (with its retries) ends before ``deadline`` (``time.monotonic``),
    give or take ``DEADLINE_SLACK``.

    Raises:
        PaymentProviderUnavailable: too little time is left to ask.
    """
    config = current_app.config
    timeout = float(config["STRIPE_TIMEOUT_SECONDS"])
    retries = int(config["STRIPE_MAX_RETRIES"])
    left = deadline - time.monotonic() - _retry_delays(retries) + DEADLINE_SLACK
    read = min(timeout, left / (retries + 1) - min(CONNECT_SECONDS, timeout))
    if read < min(MIN_READ_SECONDS, timeout):
        raise PaymentProviderUnavailable(
            _("Stripe has more to list than can be read now: choose a shorter period.")
        )
    if read < timeout:
        read = int(read * 4) / 4  # quarter seconds: few clients
    return client(read_timeout=read)


def _unavailable(exc: stripe.StripeError) -> bool:
    """Stripe could not be reached, did not answer in time, or is overloaded or failing."""
    if isinstance(exc, stripe.APIConnectionError):  # timeouts and refused connections
        return True
    status = exc.http_status or 0
    return status == 429 or status >= 500


def _call(description: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` (a Stripe client method); Stripe's errors become ours.

    Raises:
        PaymentProviderUnavailable: Stripe did not answer in time or could not be reached
            (after the retries), or answered 429 or 5xx.
        PaymentProviderError: Stripe refused the request.
    """
    started = time.monotonic()
    try:
        return fn(*args, **kwargs)
    except stripe.StripeError as exc:
        elapsed = time.monotonic() - started
        if _unavailable(exc):
            current_app.logger.warning(
                "stripe %s: no answer after %.1f s: %s", description, elapsed, exc
            )
            raise PaymentProviderUnavailable() from exc
        current_app.logger.warning("stripe %s refused: %s", description, exc)
        raise PaymentProviderError(
            str(exc.user_message or "")
            or _("The payment provider refused the request. Please try again later.")
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


def list_checkout_sessions(
    created_from: datetime, created_to: datetime, *, within: float | None = None
) -> Iterator[Any]:
    """Every Checkout Session created in ``[created_from, created_to)``, 100 a page.

    One call per page. ``within`` seconds bound all of them together (each page's wait is
    shortened to fit); by default the bound of one call (``call_time_bound()``) during a web
    request, none elsewhere (the command line).

    Raises:
        PaymentProviderUnavailable: Stripe did not answer in time, or the pages left cannot
            be read within the bound.
        PaymentProviderError: Stripe refused.
    """
    created = {"gte": int(created_from.timestamp()), "lt": int(created_to.timestamp())}
    return _every("checkout.sessions", created, within)


def list_refunds(created_from: datetime, *, within: float | None = None) -> Iterator[Any]:
    """Every refund created from ``created_from`` on, 100 a page, as
    :func:`list_checkout_sessions` lists sessions (the same bound).

    Raises:
        PaymentProviderUnavailable: Stripe did not answer in time, or the pages left cannot
            be read within the bound.
        PaymentProviderError: Stripe refused.
    """
    return _every("refunds", {"gte": int(created_from.timestamp())}, within)


def _every(collection: str, created: dict[str, int], within: float | None) -> Iterator[Any]:
    """Every object of ``collection`` ("checkout.sessions", "refunds") created in
    ``created``, a page at a time, all pages within ``within`` seconds (see
    :func:`list_checkout_sessions`). Raises as it does."""
    if within is None and has_request_context():
        within = call_time_bound()
    deadline = None if within is None else time.monotonic() + within
    params: dict[str, Any] = {"created": created, "limit": 100}
    while True:
        stripe_client = client() if deadline is None else _client_before(deadline)
        service: Any = stripe_client.v1
        for name in collection.split("."):
            service = getattr(service, name)
        page = _call(f"{collection}.list", service.list, params=params)
        yield from page.data
        if not page.has_more or not page.data:
            return
        params = {**params, "starting_after": page.data[-1].id}


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


# --- the sandbox's test helpers (the demo) --------------------------------------------------


def sandbox_test_helper(
    path: str, *, read_timeout: float | None = None, **params: Any
) -> dict[str, Any]:
    """POST ``/v1/test_helpers/<path>`` with ``params`` and return the JSON answer.

    Only the Stripe sandbox has these (``pay`` a Checkout Session, open and close a
    dispute, forward and deliver webhooks: see the README's "Stripe sandbox"); the demo
    drives the sandbox with them over HTTP, with the same key, as a developer does with its
    pages. ``read_timeout`` replaces ``STRIPE_TIMEOUT_SECONDS`` for a slow helper.

    Raises:
        PaymentProviderError: the sandbox refused (a declined card, say) or is unreachable.
        RuntimeError: the app talks to Stripe itself, which has none of these.
    """
    if not uses_sandbox():
        raise RuntimeError("only the Stripe sandbox has these test helpers (STRIPE_API_BASE)")
    stripe_client = client(read_timeout=read_timeout)
    url = f"/v1/test_helpers/{path}"
    response = _call(url, stripe_client.raw_request, "post", url, **params)
    answer: dict[str, Any] = json.loads(response.body)
    return answer
