"""What happens in the sandbox: sessions opened, paid, expired; refunds; disputes; events.

Every function here works inside a write transaction its caller opened (``Store.write()``)
and never commits: the API wraps one in its idempotency record, the pages and the test
helpers in ``stripe_sandbox.service``. A change and the events it causes (with their webhook
deliveries) are written together, so an event is never lost and never sent for a change that
rolled back. Refusals raise :class:`~stripe_sandbox.errors.StripeApiError` with
Stripe's status, code and words.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from stripe_sandbox import objects, store
from stripe_sandbox.amounts import Amount, is_currency
from stripe_sandbox.errors import StripeApiError, invalid_parameter, no_such
from stripe_sandbox.params import Params
from stripe_sandbox.settings import SandboxSettings, check_webhook_url

#: the events the product's webhook endpoint is subscribed to (like an endpoint's
#: ``enabled_events`` in Stripe's Dashboard); the others are kept, listed, never sent
ENDPOINT_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
        "charge.refunded",
        "charge.dispute.created",
        "charge.dispute.closed",
    }
)

#: how the hosted page pays: a test card, a declined card, or a delayed method
PAYMENT_METHODS = ("card", "declined", "async_success", "async_failure")
ASYNC_METHOD_TYPE = "us_bank_account"
DISPUTE_OPEN = frozenset({"warning_needs_response", "needs_response", "under_review"})
MAX_AMOUNT = 99_999_999_999
#: Stripe's limits on a Checkout Session's ``expires_at``, from its creation
MIN_EXPIRY_SECONDS = 30 * 60
MAX_EXPIRY_SECONDS = 24 * 3600
STRIPE_LOCALES = frozenset(
    {"auto", "bg", "cs", "da", "de", "el", "en", "en-GB", "es", "es-419", "et", "fi", "fil"}
    | {"fr", "fr-CA", "hr", "hu", "id", "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl"}
    | {"pl", "pt", "pt-BR", "ro", "ru", "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK"}
    | {"zh-TW"}
)


#: where this process sends a sandbox's events instead of its STRIPE_SANDBOX_WEBHOOK_URL (the
#: ``webhook_endpoint`` test helper), by database: one database is one sandbox
_forwarded: dict[str, str] = {}
_forwarded_lock = threading.Lock()


def webhook_endpoint(settings: SandboxSettings) -> str:
    """Where events go now: the URL they are forwarded to, else the setting ("": nowhere)."""
    return _forwarded.get(settings.database_url, settings.webhook_url)


def forward_webhooks(settings: SandboxSettings, url: str) -> str:
    """Send this process's events to ``url`` from now on (empty: to none), like
    ``stripe listen --forward-to``; returns where they went before, to put back.

    Raises:
        ConfigurationError: ``url`` is not an http(s) URL.
    """
    check_webhook_url(url)
    with _forwarded_lock:
        before = webhook_endpoint(settings)
        _forwarded[settings.database_url] = url
    return before


@dataclass
class Context:
    """Who asked, and when: what goes into events and which deliveries to make."""

    settings: SandboxSettings
    #: the moment the action happens (a sweep may be run for a later moment); deliveries
    #: are always due at the real time
    now: float = field(default_factory=time.time)
    #: the API request's id (``req_...``) and idempotency key; None for the control page
    request_id: str | None = None
    idempotency_key: str | None = None
    #: the ``Stripe-Version`` the request asked for
    api_version: str | None = None
    #: send every event of this action twice (as well as the control page's switch)
    deliver_twice: bool = False
    #: deliveries written so far (the caller wakes the worker after the commit)
    deliveries: int = 0
    _options: dict[str, Any] | None = None

    @property
    def timestamp(self) -> int:
        return int(self.now)

    def option(self, conn: Connection, name: str) -> Any:
        if self._options is None:
            self._options = store.get_options(conn)
        return self._options.get(name)


def emit(
    conn: Connection,
    ctx: Context,
    event_type: str,
    snapshot: dict[str, Any],
    *,
    notes: dict[str, Any],
    payment_intent: str | None,
) -> dict[str, Any]:
    """Record an event about ``snapshot`` and queue its deliveries to the webhook endpoint.

    ``notes`` are the sandbox's notes of the session or payment the event is about: they
    hold the API version the session was created with. Like Stripe, the event goes to the
    endpoint of the moment it happens (:func:`webhook_endpoint`), whoever made the session.
    """
    url = webhook_endpoint(ctx.settings)
    sent = event_type in ENDPOINT_EVENTS and bool(url)
    twice = ctx.deliver_twice or bool(ctx.option(conn, "deliver_twice"))
    event = objects.event(
        event_type=event_type,
        snapshot=copy.deepcopy(snapshot),
        created=ctx.timestamp,
        api_version=notes.get("api_version") or ctx.api_version,
        request_id=ctx.request_id,
        idempotency_key=ctx.idempotency_key,
        pending_webhooks=1 if sent else 0,
    )
    store.insert_object(
        conn,
        event,
        extra={"webhook_url": url, "api_version": event["api_version"]},
        payment_intent=payment_intent,
        status=event_type,
    )
    if sent:
        for _ in range(2 if twice else 1):
            store.add_delivery(
                conn, event_id=event["id"], event_type=event_type, url=url, now=time.time()
            )
            ctx.deliveries += 1
    return event


def _money(amount: int, currency: str) -> str:
    return Amount(amount, currency).format("en")


# --- checkout sessions ----------------------------------------------------------------------


def create_checkout_session(
    conn: Connection,
    ctx: Context,
    params: Params,
    *,
    hosted_url: Callable[[str], str],
) -> dict[str, Any]:
    """Open a Checkout Session in payment mode from Stripe's parameters.

    Raises:
        StripeApiError: a missing, unknown or invalid parameter (with its ``param``).
    """
    mode = params.string("mode", required=True)
    if mode != "payment":
        raise invalid_parameter("mode", "The sandbox supports mode=payment only.")
    items = params.hashes("line_items", required=True)
    if not items:
        raise StripeApiError("Missing required param: line_items.", param="line_items")
    if len(items) > 100:
        raise invalid_parameter("line_items", "A Checkout Session has at most 100 line items.")
    currency: str | None = None
    line_items = []
    for index, item in enumerate(items):
        if "price" in item:
            raise invalid_parameter(
                item.path("price"), "The sandbox supports line items with price_data only."
            )
        quantity = item.integer("quantity", required=True, minimum=1, maximum=999_999)
        price = item.hash("price_data", required=True)
        assert price is not None
        assert quantity is not None
        item_currency = (price.string("currency", required=True) or "").lower()
        if not is_currency(item_currency):
            raise invalid_parameter(price.path("currency"), f"Invalid currency: {item_currency}")
        if currency is None:
            currency = item_currency
        elif item_currency != currency:
            raise invalid_parameter(
                f"line_items[{index}][price_data][currency]",
                "All line items must have the same currency.",
            )
        unit_amount = price.integer("unit_amount", required=True, minimum=0, maximum=MAX_AMOUNT)
        product = price.hash("product_data", required=True)
        assert product is not None
        assert unit_amount is not None
        name = product.string("name", required=True, max_length=250)
        description = product.string("description", max_length=40_000)
        product.metadata()
        line_items.append(
            objects.line_item(
                name=name or "",
                description=description,
                currency=item_currency,
                unit_amount=unit_amount,
                quantity=quantity,
                created=ctx.timestamp,
            )
        )
    assert currency is not None
    amount_total = sum(item["amount_total"] for item in line_items)
    if amount_total < 1 or amount_total > MAX_AMOUNT:
        raise invalid_parameter(
            "line_items",
            f"The Checkout Session's total amount due must be between 1 and {MAX_AMOUNT} "
            f"({currency}).",
        )
    client_reference_id = params.string("client_reference_id", max_length=200)
    customer_email = params.email("customer_email")
    locale = params.choice("locale", sorted(STRIPE_LOCALES))
    metadata = params.metadata()
    intent_data: dict[str, Any] = {"metadata": {}, "description": None, "receipt_email": None}
    intent_params = params.hash("payment_intent_data")
    if intent_params is not None:
        intent_data = {
            "metadata": intent_params.metadata(),
            "description": intent_params.string("description", max_length=1000),
            "receipt_email": intent_params.email("receipt_email"),
        }
    success_url = params.url("success_url", required=True)
    cancel_url = params.url("cancel_url")
    expires_at = params.integer("expires_at")
    if expires_at is None:
        expires_at = ctx.timestamp + MAX_EXPIRY_SECONDS
    elif expires_at < ctx.timestamp + MIN_EXPIRY_SECONDS:
        raise invalid_parameter(
            "expires_at",
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
            "creation.",
        )
    elif expires_at > ctx.timestamp + MAX_EXPIRY_SECONDS:
        raise invalid_parameter(
            "expires_at",
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
        )
    for method_type in params.strings("payment_method_types"):
        if method_type != "card":
            raise invalid_parameter(
                "payment_method_types", "The sandbox supports payment_method_types=card only."
            )
    expand = params.strings("expand")
    params.finish()
    assert success_url is not None

    session_id = objects.new_session_id()
    session = objects.checkout_session(
        session_id=session_id,
        url=hosted_url(session_id),
        created=ctx.timestamp,
        expires_at=expires_at,
        currency=currency,
        amount_total=amount_total,
        client_reference_id=client_reference_id,
        customer_email=customer_email,
        locale=locale,
        metadata=metadata,
        success_url=success_url,
        cancel_url=cancel_url,
    )
    notes = {
        "line_items": line_items,
        "payment_intent_data": intent_data,
        "api_version": ctx.api_version or objects.DEFAULT_API_VERSION,
    }
    stored = store.insert_object(conn, session, extra=notes, due_at=float(expires_at))
    return expand_object(conn, stored, expand)


def expire_checkout_session(conn: Connection, ctx: Context, session_id: str) -> dict[str, Any]:
    """Close an open session (``checkout.session.expired``).

    Raises:
        StripeApiError: no such session (404), or it is not open.
    """
    session = _session(conn, session_id, lock=True)
    if session.data["status"] != "open":
        raise StripeApiError(
            'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
            f'Session has a status of "{session.data["status"]}".',
            param="session",
        )
    _expire(conn, ctx, session)
    return session.data


def _expire(conn: Connection, ctx: Context, session: store.Stored) -> None:
    session.data.update(status="expired", url=None)
    session.due_at = None
    store.save_object(conn, session)
    emit(
        conn,
        ctx,
        "checkout.session.expired",
        session.data,
        notes=session.extra,
        payment_intent=session.data["payment_intent"],
    )


def _session(conn: Connection, session_id: str, *, lock: bool = False) -> store.Stored:
    session = store.load(conn, session_id, "checkout.session", lock=lock)
    if session is None:
        raise no_such("checkout.session", session_id, "session")
    return session


def pay_checkout_session(
    conn: Connection, ctx: Context, session_id: str, method: str
) -> dict[str, Any]:
    """Pay an open session the way the hosted page's buttons do; returns the session.

    ``card`` succeeds at once (``checkout.session.completed``, paid). ``async_success`` and
    ``async_failure`` complete the session unpaid, then settle after the async delay
    (``checkout.session.async_payment_succeeded``/``_failed``). ``declined`` changes nothing.

    Raises:
        StripeApiError: no such session (404); it is no longer open (400); the card was
            declined (402, ``card_declined``).
    """
    session = _session(conn, session_id, lock=True)
    if session.data["status"] == "open" and session.data["expires_at"] <= ctx.now:
        _expire(conn, ctx, session)
    if session.data["status"] != "open":
        raise StripeApiError(
            f"This Checkout Session is no longer active (status {session.data['status']}).",
            param="session",
            code="checkout_session_not_open",
        )
    if method == "declined":
        raise StripeApiError(
            "Your card was declined.",
            status=402,
            type="card_error",
            code="card_declined",
            decline_code="generic_decline",
        )
    if method not in PAYMENT_METHODS:
        raise invalid_parameter("payment_method", f"Unknown payment method: {method}")
    paid = method == "card"
    notes = session.extra
    intent_data = notes.get("payment_intent_data") or {}
    intent = objects.payment_intent(
        created=ctx.timestamp,
        amount=session.data["amount_total"],
        currency=session.data["currency"],
        metadata=dict(intent_data.get("metadata") or {}),
        description=intent_data.get("description"),
        receipt_email=intent_data.get("receipt_email") or session.data["customer_email"],
        payment_method_type="card" if paid else ASYNC_METHOD_TYPE,
    )
    charge = objects.charge(created=ctx.timestamp, intent=intent, paid=paid)
    intent["latest_charge"] = charge["id"]
    intent["status"] = "succeeded" if paid else "processing"
    intent["amount_received"] = intent["amount"] if paid else 0
    payment_notes = {
        "api_version": notes.get("api_version"),
        "session": session.id,
    }
    store.insert_object(conn, intent, extra=payment_notes, payment_intent=intent["id"])
    store.insert_object(conn, charge, extra=payment_notes, payment_intent=intent["id"])
    session.data.update(
        status="complete",
        payment_status="paid" if paid else "unpaid",
        payment_intent=intent["id"],
        customer_details=objects.customer_details(session.data["customer_email"]),
        url=None,
    )
    if paid:
        session.due_at = None
        emit(conn, ctx, "charge.succeeded", charge, notes=notes, payment_intent=intent["id"])
        emit(
            conn, ctx, "payment_intent.succeeded", intent, notes=notes, payment_intent=intent["id"]
        )
    else:
        notes["async_outcome"] = "succeeded" if method == "async_success" else "failed"
        session.due_at = ctx.now + ctx.settings.async_seconds
        emit(conn, ctx, "charge.pending", charge, notes=notes, payment_intent=intent["id"])
        emit(
            conn,
            ctx,
            "payment_intent.processing",
            intent,
            notes=notes,
            payment_intent=intent["id"],
        )
    store.save_object(conn, session, payment_intent=intent["id"])
    emit(
        conn,
        ctx,
        "checkout.session.completed",
        session.data,
        notes=notes,
        payment_intent=intent["id"],
    )
    return session.data


def _settle_async_payment(conn: Connection, ctx: Context, session: store.Stored) -> None:
    """The delayed method's outcome arrives: the payment succeeds or fails."""
    intent = store.load(conn, session.data["payment_intent"], "payment_intent", lock=True)
    assert intent is not None
    charge = store.load(conn, intent.data["latest_charge"], "charge", lock=True)
    assert charge is not None
    succeeded = session.extra.pop("async_outcome", "succeeded") == "succeeded"
    pi = intent.id
    if succeeded:
        charge.data.update(
            status="succeeded",
            paid=True,
            captured=True,
            amount_captured=charge.data["amount"],
            balance_transaction=objects.new_id("txn"),
        )
        intent.data.update(status="succeeded", amount_received=intent.data["amount"])
        session.data["payment_status"] = "paid"
    else:
        charge.data.update(
            status="failed",
            failure_code="insufficient_funds",
            failure_message="The account has insufficient funds to complete the purchase.",
            outcome={**charge.data["outcome"], "type": "issuer_declined"},
        )
        intent.data.update(
            status="requires_payment_method",
            last_payment_error={
                "code": "insufficient_funds",
                "message": "The account has insufficient funds to complete the purchase.",
                "type": "card_error",
            },
        )
    session.due_at = None
    store.save_object(conn, charge)
    store.save_object(conn, intent)
    store.save_object(conn, session)
    notes = session.extra
    if succeeded:
        emit(conn, ctx, "charge.succeeded", charge.data, notes=notes, payment_intent=pi)
        emit(conn, ctx, "payment_intent.succeeded", intent.data, notes=notes, payment_intent=pi)
        kind = "checkout.session.async_payment_succeeded"
    else:
        emit(conn, ctx, "charge.failed", charge.data, notes=notes, payment_intent=pi)
        emit(
            conn, ctx, "payment_intent.payment_failed", intent.data, notes=notes, payment_intent=pi
        )
        kind = "checkout.session.async_payment_failed"
    emit(conn, ctx, kind, session.data, notes=notes, payment_intent=pi)


def sweep(conn: Connection, ctx: Context, only: list[str] | None = None) -> int:
    """Expire the open sessions past ``expires_at`` and settle async payments that are due.

    ``only`` limits the sweep to those ids (a read of one session checks it first).
    Returns how many objects changed.
    """
    due = store.due_objects(conn, ctx.now)
    changed = 0
    for object_id in due:
        if only is not None and object_id not in only:
            continue
        session = store.load(conn, object_id, "checkout.session", lock=True)
        if session is None or session.due_at is None or session.due_at > ctx.now:
            continue
        if session.data["status"] == "open":
            _expire(conn, ctx, session)
        elif session.data["status"] == "complete" and "async_outcome" in session.extra:
            _settle_async_payment(conn, ctx, session)
        else:
            session.due_at = None
            store.save_object(conn, session)
        changed += 1
    return changed


# --- refunds and disputes -------------------------------------------------------------------


def _payment(
    conn: Connection, payment_intent: str | None, charge_id: str | None
) -> tuple[store.Stored, store.Stored]:
    """The payment intent and its latest charge, locked, from either id."""
    if charge_id is not None:
        charge = store.load(conn, charge_id, "charge", lock=True)
        if charge is None:
            raise no_such("charge", charge_id, "charge")
        payment_intent = charge.data["payment_intent"]
    assert payment_intent is not None
    intent = store.load(conn, payment_intent, "payment_intent", lock=True)
    if intent is None:
        raise no_such("payment_intent", payment_intent, "payment_intent")
    charge = (
        store.load(conn, intent.data["latest_charge"], "charge", lock=True)
        if intent.data["latest_charge"]
        else None
    )
    if charge is None or charge.data["status"] != "succeeded":
        raise StripeApiError(
            f"This PaymentIntent ({intent.id}) does not have a successful charge to refund.",
            param="payment_intent",
            code="charge_not_refundable",
        )
    return intent, charge


def _dispute_of(conn: Connection, intent_id: str) -> store.Stored | None:
    disputes = store.of_payment_intents(conn, "dispute", [intent_id])
    return disputes[-1] if disputes else None


def create_refund(conn: Connection, ctx: Context, params: Params) -> dict[str, Any]:
    """Refund all or part of what is left of a payment (``charge.refunded``).

    Raises:
        StripeApiError: no such payment intent or charge (404); neither or both given; no
            successful charge; an open or lost dispute (``charge_disputed``); nothing left
            (``charge_already_refunded``); more than is left (``amount_too_large``).
    """
    payment_intent = params.string("payment_intent", max_length=255)
    charge_id = params.string("charge", max_length=255)
    amount = params.integer("amount", minimum=1, maximum=MAX_AMOUNT)
    metadata = params.metadata()
    reason = params.choice("reason", ["duplicate", "fraudulent", "requested_by_customer"])
    expand = params.strings("expand")
    params.finish()
    if (payment_intent is None) == (charge_id is None):
        raise StripeApiError(
            "You must pass either a payment_intent or a charge (and not both).",
            param="payment_intent",
            code="parameter_missing",
        )
    intent, charge = _payment(conn, payment_intent, charge_id)
    dispute = _dispute_of(conn, intent.id)
    if dispute is not None and dispute.data["status"] in DISPUTE_OPEN | {"lost"}:
        raise StripeApiError(
            f"Charge {charge.id} has been charged back; cannot issue a refund.",
            param="charge",
            code="charge_disputed",
        )
    currency = charge.data["currency"]
    left = charge.data["amount"] - charge.data["amount_refunded"]
    if left <= 0:
        raise StripeApiError(
            f"Charge {charge.id} has already been refunded.",
            code="charge_already_refunded",
        )
    if amount is None:
        amount = left
    elif amount > left:
        raise StripeApiError(
            f"Refund amount ({_money(amount, currency)}) is greater than unrefunded amount on "
            f"charge ({_money(left, currency)})",
            param="amount",
            code="amount_too_large",
        )
    refund = objects.refund(
        created=ctx.timestamp, charge=charge.data, amount=amount, metadata=metadata, reason=reason
    )
    stored = store.insert_object(conn, refund, extra=intent.extra, payment_intent=intent.id)
    charge.data["amount_refunded"] += amount
    charge.data["refunded"] = charge.data["amount_refunded"] >= charge.data["amount"]
    store.save_object(conn, charge)
    emit(conn, ctx, "refund.created", refund, notes=intent.extra, payment_intent=intent.id)
    emit(conn, ctx, "charge.refunded", charge.data, notes=intent.extra, payment_intent=intent.id)
    return expand_object(conn, stored, expand)


def open_dispute(
    conn: Connection, ctx: Context, payment_intent: str, reason: str = "fraudulent"
) -> dict[str, Any]:
    """The customer's bank disputes the payment (``charge.dispute.created``).

    Raises:
        StripeApiError: no such payment (404), no successful charge, already disputed, or
            fully refunded.
    """
    intent, charge = _payment(conn, payment_intent, None)
    if _dispute_of(conn, intent.id) is not None:
        raise StripeApiError(
            f"Charge {charge.id} has already been disputed.", code="charge_already_disputed"
        )
    amount = charge.data["amount"] - charge.data["amount_refunded"]
    if amount <= 0:
        raise StripeApiError(
            f"Charge {charge.id} has already been refunded.", code="charge_already_refunded"
        )
    dispute = objects.dispute(
        created=ctx.timestamp, charge=charge.data, amount=amount, reason=reason
    )
    store.insert_object(conn, dispute, extra=intent.extra, payment_intent=intent.id)
    charge.data["disputed"] = True
    store.save_object(conn, charge)
    emit(conn, ctx, "charge.dispute.created", dispute, notes=intent.extra, payment_intent=intent.id)
    return dispute


def close_dispute(conn: Connection, ctx: Context, dispute_id: str, won: bool) -> dict[str, Any]:
    """The bank decides: ``won`` (the merchant keeps the money) or lost; ``charge.dispute.closed``.

    Raises:
        StripeApiError: no such dispute (404), or it is already closed.
    """
    dispute = store.load(conn, dispute_id, "dispute", lock=True)
    if dispute is None:
        raise no_such("dispute", dispute_id, "dispute")
    if dispute.data["status"] not in DISPUTE_OPEN:
        raise StripeApiError(
            f"Dispute {dispute_id} is already closed ({dispute.data['status']}).",
            code="dispute_already_closed",
        )
    dispute.data.update(status="won" if won else "lost", is_charge_refundable=won)
    store.save_object(conn, dispute)
    emit(
        conn,
        ctx,
        "charge.dispute.closed",
        dispute.data,
        notes=dispute.extra,
        payment_intent=dispute.data["payment_intent"],
    )
    return dispute.data


def resend_event(conn: Connection, ctx: Context, event_id: str) -> int:
    """Queue ``event_id`` for delivery again (twice with ``ctx.deliver_twice``), to the
    webhook endpoint of now. Returns the number of deliveries queued.

    Raises:
        StripeApiError: no such event (404), or it has no endpoint to go to.
    """
    event = store.load(conn, event_id, "event")
    if event is None:
        raise no_such("event", event_id, "event")
    url = webhook_endpoint(ctx.settings)
    if not url or event.data["type"] not in ENDPOINT_EVENTS:
        raise StripeApiError(f"Event {event_id} has no webhook endpoint to go to.")
    count = 2 if ctx.deliver_twice else 1
    for _ in range(count):
        store.add_delivery(
            conn, event_id=event_id, event_type=event.data["type"], url=url, now=time.time()
        )
    ctx.deliveries += count
    return count


# --- expansion ------------------------------------------------------------------------------


def expand_object(conn: Connection, stored: store.Stored, paths: list[str]) -> dict[str, Any]:
    """``stored``'s object with the ids named in ``paths`` (Stripe's ``expand``) replaced
    by the objects they name: ``payment_intent``, ``payment_intent.latest_charge``,
    ``line_items`` of a session, ``data.payment_intent`` in a list.

    Raises:
        StripeApiError: a path that names nothing expandable.
    """
    data = copy.deepcopy(stored.data)
    for path in paths:
        parts = path.split(".")
        if len(parts) > 4:
            raise invalid_parameter("expand", f"You cannot expand more than 4 levels ({path}).")
        _expand(conn, data, parts, path, stored)
    return data


def _expand(
    conn: Connection,
    node: dict[str, Any],
    parts: list[str],
    path: str,
    stored: store.Stored | None,
) -> None:
    key, rest = parts[0], parts[1:]
    if key == "line_items" and node.get("object") == "checkout.session":
        session = stored if stored is not None and stored.id == node["id"] else None
        session = session or store.load(conn, node["id"])
        items = (session.extra.get("line_items") if session else None) or []
        node["line_items"] = objects.list_object(
            f"/v1/checkout/sessions/{node['id']}/line_items", items, False
        )
        return
    if key not in node:
        raise invalid_parameter("expand", f"This property cannot be expanded ({path}).")
    value = node[key]
    if isinstance(value, str):
        target = store.load(conn, value)
        if target is None:
            raise invalid_parameter("expand", f"This property cannot be expanded ({path}).")
        node[key] = value = copy.deepcopy(target.data)
        stored = target
    if rest and isinstance(value, dict):
        _expand(conn, value, rest, path, stored)
