"""What Stripe's events do to orders: the shop's appliers of ``perks.payments.webhooks``.

The webhooks verify an event, store it once and hand it here by its type (``APPLIERS``,
registered in ``perks.register_receivers()``), in their transaction: the order it is about
is found by what this app gave Stripe (the session's ``client_reference_id`` and the
``order_id`` metadata of the session and of its payment intent, which Stripe copies to the
charge; the payment intent and charge ids remembered on the order), locked, and the effect
recorded through ``perks.shop.orders``. An order found by its id (the reference or the
metadata) is ours only when the metadata also carries its number: another integration on the
same Stripe account may use the same fields for its own ids. Amounts always come from Stripe's
own fields, never from metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from perks.extensions import db
from perks.money import Money
from perks.payments import stripe_gateway
from perks.payments.models import EventOutcome
from perks.payments.webhooks import (
    CHARGE_REFUNDED,
    DISPUTE_EVENTS,
    DISPUTE_LOST,
    DISPUTE_WON,
    PAID_STATUSES,
    SESSION_ASYNC_FAILED,
    SESSION_ASYNC_SUCCEEDED,
    SESSION_COMPLETED,
    SESSION_EXPIRED,
    Applier,
    Effect,
    object_id,
)
from perks.shop import orders
from perks.shop.models import DisputeStatus, Order


def _effect(order: Order, recorded: orders.Recorded, *, learned: bool = False) -> Effect:
    return Effect(order, EventOutcome(recorded.outcome.value), recorded.detail, learned)


def _money(amount: object, currency: object) -> Money | None:
    """Stripe's amount as Money, or None when it cannot be read."""
    if isinstance(amount, bool) or not isinstance(amount, int) or not isinstance(currency, str):
        return None
    try:
        return stripe_gateway.from_stripe_amount(amount, currency)
    except (TypeError, ValueError):
        return None


def _apply_session(event_type: str, session: dict[str, Any]) -> Effect:
    order = _order_for_session(session)
    if order is None:
        return Effect(
            None, EventOutcome.IGNORED, f"no order for Checkout Session {session.get('id')}"
        )
    payment_intent = object_id(session.get("payment_intent"))
    knew = order.payment_intent_id
    session_id = object_id(session.get("id"))
    if (
        event_type in (SESSION_EXPIRED, SESSION_ASYNC_FAILED)
        and order.checkout_session_id
        and session_id != order.checkout_session_id
    ):
        # An older session of the order ended unpaid: the order's own session still may not.
        return Effect(
            order,
            EventOutcome.NO_CHANGE,
            f"session {session_id} is not the order's current one ({order.checkout_session_id})",
        )
    if event_type == SESSION_EXPIRED:
        recorded = orders.record_closed(order, "expired")
    elif event_type == SESSION_ASYNC_FAILED:
        orders.remember_stripe_ids(order, payment_intent_id=payment_intent)
        recorded = orders.record_payment_failed(order)
    elif event_type == SESSION_ASYNC_SUCCEEDED or session.get("payment_status") in PAID_STATUSES:
        amount = _money(session.get("amount_total"), session.get("currency"))
        if amount is None:
            orders.remember_stripe_ids(order, payment_intent_id=payment_intent)
            recorded = orders.record_mismatch(
                order,
                f"Stripe reported a payment of {session.get('amount_total')!r} "
                f"{session.get('currency')!r}, which cannot be read",
            )
        else:
            recorded = orders.record_payment(
                order, amount, payment_intent_id=payment_intent, charge_id=None
            )
    else:
        recorded = orders.record_awaiting_payment(order, payment_intent_id=payment_intent)
        recorded = replace(
            recorded, detail=f"{recorded.detail}; payment_status {session.get('payment_status')}"
        )
    return _effect(order, recorded, learned=order.payment_intent_id != knew)


def _apply_refund(event_type: str, charge: dict[str, Any]) -> Effect:
    def record(order: Order) -> orders.Recorded:
        total = _money(charge.get("amount_refunded"), charge.get("currency"))
        if total is None:
            return orders.record_mismatch(
                order,
                f"Stripe reported refunds of {charge.get('amount_refunded')!r} "
                f"{charge.get('currency')!r}, which cannot be read",
            )
        return orders.record_refund_total(order, total)

    return _on_charge(charge, object_id(charge.get("id")), record)


def _apply_dispute(event_type: str, dispute: dict[str, Any]) -> Effect:
    def record(order: Order) -> orders.Recorded:
        status = str(dispute.get("status") or "")
        recorded = orders.record_dispute(order, dispute_status(status))
        return replace(recorded, detail=f"{recorded.detail} (Stripe: {status or 'no status'})")

    return _on_charge(dispute, object_id(dispute.get("charge")), record)


def _on_charge(
    obj: dict[str, Any], charge_id: str | None, record: Callable[[Order], orders.Recorded]
) -> Effect:
    """Record an event about a charge (a refund, a dispute) on its order, which learns the
    charge and its payment intent on the way."""
    payment_intent = object_id(obj.get("payment_intent"))
    order, why = _order_for_charge(
        charge_id=charge_id, payment_intent=payment_intent, metadata=obj.get("metadata")
    )
    if order is None:
        return Effect(None, EventOutcome.IGNORED, why)
    knew = order.payment_intent_id
    orders.remember_stripe_ids(order, payment_intent_id=payment_intent, charge_id=charge_id)
    return _effect(order, record(order), learned=order.payment_intent_id != knew)


def dispute_status(stripe_status: str) -> DisputeStatus:
    """Our dispute status for Stripe's (``needs_response``, ``won``, ``lost``, ...)."""
    if stripe_status in DISPUTE_WON:
        return DisputeStatus.WON
    if stripe_status in DISPUTE_LOST:
        return DisputeStatus.LOST
    return DisputeStatus.OPEN


#: every event type the shop handles, and how (``perks.payments.webhooks.handle_events``)
APPLIERS: dict[str, Applier] = {
    SESSION_COMPLETED: _apply_session,
    SESSION_ASYNC_SUCCEEDED: _apply_session,
    SESSION_ASYNC_FAILED: _apply_session,
    SESSION_EXPIRED: _apply_session,
    CHARGE_REFUNDED: _apply_refund,
    **dict.fromkeys(DISPUTE_EVENTS, _apply_dispute),
}


# --- finding the order -------------------------------------------------------------------------


def _order_id(value: object) -> int | None:
    """An order id as this app gives it to Stripe (ASCII digits), or None: ``isdigit()``
    alone also admits "²" or "①", which ``int()`` refuses."""
    text = str(value).strip() if isinstance(value, str | int) else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def _metadata_order_id(metadata: object) -> int | None:
    return _order_id(metadata.get("order_id")) if isinstance(metadata, dict) else None


def _ours(order_id: int | None, metadata: object) -> Order | None:
    """The order ``order_id`` (a reference or metadata of a Stripe object), locked, when the
    object's metadata also carries that order's number: another integration on the same Stripe
    account may number its own carts and orders 1, 2, 3 and use the same fields."""
    number = metadata.get("order_number") if isinstance(metadata, dict) else None
    if order_id is None or not isinstance(number, str) or not number:
        return None
    return _locked(Order.id == order_id, Order.number == number)


def _locked(*criteria: Any) -> Order | None:
    """The first order matching ``criteria``, locked until the transaction ends."""
    return db.session.scalar(
        select(Order)
        .where(*criteria)
        .order_by(Order.id)
        .limit(1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _order_for_session(session: dict[str, Any]) -> Order | None:
    session_id = object_id(session.get("id"))
    if session_id:
        order = _locked(Order.checkout_session_id == session_id)
        if order is not None:
            return order
    metadata = session.get("metadata")
    for order_id in (
        _order_id(session.get("client_reference_id")),
        _metadata_order_id(metadata),
    ):
        order = _ours(order_id, metadata)
        if order is not None:
            return order
    return None


def _order_for_charge(
    *, charge_id: str | None, payment_intent: str | None, metadata: object
) -> tuple[Order | None, str]:
    """The order a charge (or a dispute or refund on it) belongs to, or why there is none."""
    if charge_id:
        order = _locked(Order.charge_id == charge_id)
        if order is not None:
            return order, ""
    if payment_intent:
        order = _locked(Order.payment_intent_id == payment_intent)
        if order is not None:
            return order, ""
    order = _ours(_metadata_order_id(metadata), metadata)
    if order is not None:
        if payment_intent and order.payment_intent_id not in (None, payment_intent):
            return None, (
                f"order {order.number} was paid through {order.payment_intent_id}, "
                f"not {payment_intent}"
            )
        return order, ""
    return None, f"no order for charge {charge_id} (payment intent {payment_intent})"
