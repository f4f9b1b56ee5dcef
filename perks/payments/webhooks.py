"""Stripe webhooks: verified, stored once under their event id, applied to orders.

Every event Stripe signs and sends to ``/stripe/webhook`` goes through ``handle``: its
signature is checked on the raw body (``stripe_gateway.construct_event``), then, in ONE
transaction, the event is stored under its unique id and handed to the applier registered
for its type (``handle_events``). Payments sit below the shop (ARCHITECTURE.md: nothing
imports upward), so the shop registers its appliers (``perks.shop.payment_events``: find
and lock the order, record the effect through ``perks.shop.orders``, which sends the order
signals) in ``perks.register_receivers()``; an event type nobody handles is stored as
ignored. A second delivery of the same event finds it stored and changes nothing, even when
both arrive at the same moment on two workers (the unique id decides). Anything unexpected
rolls the whole thing back, so Stripe delivers the event again later.

Stripe delivers events in any order. The effects are facts read from the object's current
state (a session is paid, a charge's running total of refunds, a dispute's status), recorded
by the shop so that any order of delivery ends in the same order state.

Orders are found by what this app gave Stripe: the session's ``client_reference_id`` and the
``order_id`` metadata of the session and of its payment intent (Stripe copies the latter to
the charge), and the payment intent and charge ids remembered on the order; an order found by
its id only when the metadata carries its number too (another integration on the same Stripe
account may use the same fields). Amounts always come from Stripe's own fields, never from
metadata. A dispute carries no metadata of ours:
one that arrives before the payment taught the order its payment intent is kept (ignored,
no order) and applied, after the payment, by the event that teaches it.

Locks, always taken in this order: the event's unique id (its insert), a transaction lock on
its payment intent (PostgreSQL advisory lock: an event looking for its order and the event
teaching the order that payment intent never miss each other), the order's row
(``FOR UPDATE``: two events about one order are recorded one after the other), then the
waiting events' rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Text, cast, select, text
from sqlalchemy.exc import IntegrityError

from perks import audit
from perks.db import transaction, utcnow
from perks.errors import NotFound
from perks.extensions import db
from perks.payments import stripe_gateway
from perks.payments.models import EventOutcome, StripeEvent
from perks.payments.stripe_gateway import InvalidWebhook

if TYPE_CHECKING:
    from perks.people.models import User

#: Checkout Session events, and the session's payment_status values that mean "paid"
SESSION_COMPLETED = "checkout.session.completed"
SESSION_ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
SESSION_ASYNC_FAILED = "checkout.session.async_payment_failed"
SESSION_EXPIRED = "checkout.session.expired"
PAID_STATUSES = frozenset({"paid", "no_payment_required"})
CHARGE_REFUNDED = "charge.refunded"
#: every dispute event carries the dispute as it is now; its status is what counts, so the
#: balance events (funds withdrawn, reinstated) tell the same story as created and closed
DISPUTE_EVENTS = frozenset(
    {
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
        "charge.dispute.closed",
    }
)
#: Stripe's dispute statuses that end a dispute in the merchant's favour
#: (an inquiry closed without a chargeback, a dispute prevented, a dispute won)
DISPUTE_WON = frozenset({"won", "warning_closed", "prevented"})
DISPUTE_LOST = frozenset({"lost"})
#: events that may arrive before the order knows the payment they are about (a dispute has
#: no metadata of ours): kept as ignored, and applied when it learns it (for this long)
WAITING_TYPES = frozenset({CHARGE_REFUNDED} | DISPUTE_EVENTS)
WAITING_FOR = timedelta(days=7)


class PaidOrder(Protocol):
    """What the webhooks need to know of the order an event is about."""

    @property
    def id(self) -> int: ...

    @property
    def number(self) -> str: ...

    @property
    def payment_intent_id(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Effect:
    """What an event did: the order it is about (if any), the outcome, and in words."""

    order: PaidOrder | None
    outcome: EventOutcome
    detail: str
    #: the order learned its payment intent from this event
    learned: bool = False


#: records an event (its type, its ``data.object``) on its order, flushing only
Applier = Callable[[str, dict[str, Any]], Effect]
_APPLIERS: dict[str, Applier] = {}


def handle_events(appliers: Mapping[str, Applier]) -> None:
    """Apply each event type of ``appliers`` with its applier from now on (called once, by
    ``perks.register_receivers()``; registering again replaces)."""
    _APPLIERS.update(appliers)


# --- receiving ---------------------------------------------------------------------------------


def handle(payload: bytes, signature: str | None) -> StripeEvent | None:
    """Verify, store and apply one webhook delivery; None when it was already received.

    Raises:
        InvalidWebhook: a missing, bad or stale signature, a tampered body, or a body that
            is not an event; nothing is stored.
        Exception: anything unexpected while applying it; nothing is stored either, and the
            caller answers 5xx so that Stripe delivers it again.
    """
    # Stored and applied as Stripe sent it; the bytes are verified before they are parsed.
    event = stripe_gateway.construct_event(payload, signature)
    event_id, event_type, created = _envelope(event)
    if _stored_id(event_id) is not None:
        db.session.rollback()  # end the read-only transaction the check opened
        return None
    try:
        with transaction():
            stored = StripeEvent(
                event_id=event_id,
                type=event_type,
                livemode=bool(event.get("livemode")),
                stripe_created_at=created,
                received_at=utcnow(),
                payload=event,
                outcome=EventOutcome.IGNORED,
                detail="",
            )
            db.session.add(stored)
            # The unique event id is claimed before anything else: a concurrent delivery of
            # the same event waits here for this one to end, then fails and applies nothing.
            db.session.flush()
            effect = apply_event(event, stored_id=stored.id)
            stored.order_id = effect.order.id if effect.order is not None else None
            stored.outcome = effect.outcome
            stored.detail = effect.detail
            db.session.flush()
            return stored
    except IntegrityError:
        # Rolled back already. A duplicate if the event is stored now (by the delivery that
        # won the race); anything else is a real error.
        duplicate = _stored_id(event_id) is not None
        db.session.rollback()
        if not duplicate:
            raise
        return None


def _envelope(event: dict[str, Any]) -> tuple[str, str, datetime]:
    """The id, type and creation time of a verified event.

    Raises:
        InvalidWebhook: the body is signed but is not a Stripe event.
    """
    event_id = event.get("id")
    event_type = event.get("type")
    data = event.get("data")
    if (
        event.get("object") != "event"
        or not isinstance(event_id, str)
        or not event_id
        or len(event_id) > 255
        or not isinstance(event_type, str)
        or not event_type
        or len(event_type) > 80
        or not isinstance(data, dict)
        or not isinstance(data.get("object"), dict)
    ):
        raise InvalidWebhook("not a Stripe event")
    created = event.get("created")
    if created is None:
        raise InvalidWebhook("not a Stripe event")
    try:
        when = datetime.fromtimestamp(int(created), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise InvalidWebhook("not a Stripe event") from None
    return event_id, event_type, when


def _stored_id(event_id: str) -> int | None:
    return db.session.scalar(select(StripeEvent.id).where(StripeEvent.event_id == event_id))


# --- replaying -------------------------------------------------------------------------------


def replay(event_id: str | int, actor: User | None) -> StripeEvent:
    """Apply a stored event again (an admin's repair after a fix); audited.

    ``event_id`` is Stripe's id (``"evt_..."``) or the stored row's id. The effects are facts
    recorded once, so a replay changes only what the order does not already reflect. The
    event's outcome becomes the replay's when it applied something or found a mismatch;
    the detail gains a line; ``replays`` counts.

    Raises:
        NotFound: no such event is stored.
    """
    with transaction():
        query = select(StripeEvent)
        if isinstance(event_id, int):
            query = query.where(StripeEvent.id == event_id)
        else:
            query = query.where(StripeEvent.event_id == event_id)
        stored = db.session.scalar(query)
        if stored is None:
            raise NotFound()
        effect = apply_event(stored.payload, stored_id=stored.id)
        # Locked after the order (the order in which the webhook locks them too).
        db.session.refresh(stored, with_for_update=True)
        stored.replays += 1
        if effect.order is not None:
            stored.order_id = effect.order.id
        if effect.outcome in (EventOutcome.APPLIED, EventOutcome.MISMATCH):
            stored.outcome = effect.outcome
        _add_detail(stored, f"replay {stored.replays}: {effect.outcome.value}: {effect.detail}")
        audit.record(
            "payments.stripe_event_replayed",
            actor=actor,
            target=stored,
            event_id=stored.event_id,
            type=stored.type,
            outcome=effect.outcome.value,
            detail=effect.detail,
        )
        return stored


def _add_detail(stored: StripeEvent, line: str) -> None:
    stored.detail = f"{stored.detail}\n{line}" if stored.detail else line


# --- effects -----------------------------------------------------------------------------------


def apply_event(event: dict[str, Any], *, stored_id: int | None = None) -> Effect:
    """Record what ``event`` says on its order, in the caller's transaction (flushes only).

    When the event teaches the order its payment intent, the events about that payment that
    arrived before (a dispute, a refund: kept as ignored, not knowing their order) are
    applied now, after it. ``stored_id`` is the event's own row, never one of those.

    Raises:
        Exception: only for the unexpected (the caller rolls back).
    """
    event_type = str(event.get("type") or "")
    obj = (event.get("data") or {}).get("object") or {}
    applier = _APPLIERS.get(event_type)
    if applier is None:
        return Effect(None, EventOutcome.IGNORED, f"{event_type or 'an event'} is not handled")
    payment_intent = object_id(obj.get("payment_intent"))
    _serialize_payment(payment_intent)
    effect = applier(event_type, obj)
    order = effect.order
    if (
        order is not None
        and effect.learned
        and payment_intent is not None
        and order.payment_intent_id == payment_intent
    ):
        waited = _apply_waiting(order, payment_intent, exclude=stored_id)
        if waited:
            effect = replace(effect, detail=f"{effect.detail}; then {waited}")
    return effect


def _serialize_payment(payment_intent: str | None) -> None:
    """Take a transaction lock on ``payment_intent`` (PostgreSQL; SQLite serialises writers).

    An event that cannot find its order by the payment intent waits (stored as ignored) for
    the event that teaches the order that payment intent; both take this lock first, so the
    teacher either sees the waiting event or commits before the other looks for the order.
    """
    if payment_intent and db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"perks.stripe.payment_intent:{payment_intent}"},
        )


def _payment_intent_of(event: dict[str, Any]) -> str | None:
    """The payment intent a stored event is about (sent as an id, or expanded)."""
    obj = (event.get("data") or {}).get("object") or {}
    return object_id(obj.get("payment_intent")) if isinstance(obj, dict) else None


def _apply_waiting(order: PaidOrder, payment_intent: str, *, exclude: int | None) -> str:
    """Apply the events about ``payment_intent`` that arrived before ``order`` knew it."""
    query = (
        select(StripeEvent)
        .where(
            StripeEvent.order_id.is_(None),
            StripeEvent.outcome == EventOutcome.IGNORED,
            StripeEvent.type.in_(WAITING_TYPES),
            StripeEvent.received_at >= utcnow() - WAITING_FOR,
            # The payload's text names the payment intent; which field is checked below.
            # Never a JSON path: PostgreSQL refuses to extract any field of a json document
            # holding a "\u0000" (anyone's metadata may), which would fail every payment.
            cast(StripeEvent.payload, Text).contains(f'"{payment_intent}"', autoescape=True),
        )
        .order_by(StripeEvent.stripe_created_at, StripeEvent.id)
        .with_for_update()
    )
    if exclude is not None:
        query = query.where(StripeEvent.id != exclude)
    done = []
    for waiting in db.session.scalars(query):
        if _payment_intent_of(waiting.payload) != payment_intent:
            continue
        effect = apply_event(waiting.payload, stored_id=waiting.id)
        if effect.order is None:
            continue
        waiting.order_id = effect.order.id
        waiting.outcome = effect.outcome
        _add_detail(
            waiting, f"applied once order {order.number}'s payment was known: {effect.detail}"
        )
        done.append(f"{waiting.type} {waiting.event_id}: {effect.outcome.value}")
    db.session.flush()
    return ", ".join(done)


def object_id(value: object) -> str | None:
    """An object's id whether Stripe sent it as an id or expanded it."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None
