"""Facts about an order's payment, recorded as Stripe reports them, and the signals they cause.

Each function here records one kind of fact on an ``Order`` inside the caller's transaction
(it flushes, never commits), sends the signals of ``perks.shop.events`` once per real change,
and derives the status again with ``Order.refresh_status``. Calling one twice with the same
fact changes nothing and sends nothing, so a webhook delivered or replayed again is harmless.

Stripe does not promise to deliver events in order: a refund or a dispute may be reported
before the payment it is about. Such facts are recorded when they arrive (the order's state is
a function of its facts) but their signals wait for the payment: ``record_payment`` sends
``order_paid`` first, redeems a product redeemed on payment as it would have been, and only
then sends the refund and dispute signals that were waiting. Whatever the order of delivery,
the order ends in the same state and the receivers (commissions) hear the same story.

The caller should hold the order's row lock (``SELECT ... FOR UPDATE``) so two events about
one order are recorded one after the other, each seeing the other's facts.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from flask import current_app

from perks.db import utcnow
from perks.extensions import db
from perks.money import Money, format_money
from perks.shop import redemption
from perks.shop.events import (
    order_dispute_closed,
    order_dispute_opened,
    order_paid,
    order_refunded,
)
from perks.shop.models import DisputeStatus, Order

#: why a never-paid order closed (``Order.closed_reason``)
CLOSED_REASONS = ("expired", "cancelled", "payment_failed")


class Outcome(enum.StrEnum):
    """What recording a fact did (the values match ``perks.payments.models.EventOutcome``)."""

    APPLIED = "applied"  # the order changed
    NO_CHANGE = "no_change"  # the order already knew
    MISMATCH = "mismatch"  # Stripe's amount or currency disagreed with the order


@dataclass(frozen=True, slots=True)
class Recorded:
    """The outcome of recording a fact, and what happened in words (English, for admins)."""

    outcome: Outcome
    detail: str

    @property
    def changed(self) -> bool:
        return self.outcome is Outcome.APPLIED


def _show(money: Money) -> str:
    return format_money(money, "en")


def _settle(order: Order) -> None:
    order.refresh_status()
    db.session.flush()


# --- Stripe's ids ----------------------------------------------------------------------------


def remember_stripe_ids(
    order: Order, *, payment_intent_id: str | None = None, charge_id: str | None = None
) -> bool:
    """Keep the payment intent and charge Stripe used for ``order`` (the first ones seen).

    Returns True when one of them was new. Later events and refunds find the order by them.
    """
    changed = False
    if payment_intent_id and not order.payment_intent_id:
        order.payment_intent_id = payment_intent_id
        changed = True
    if charge_id and not order.charge_id:
        order.charge_id = charge_id
        changed = True
    if changed:
        db.session.flush()
    return changed


def record_awaiting_payment(order: Order, *, payment_intent_id: str | None) -> Recorded:
    """The customer finished Checkout with a method that settles later (a bank transfer).

    Nothing is paid yet: only the payment intent is kept; ``record_payment`` or
    ``record_payment_failed`` follows when Stripe knows.
    """
    if remember_stripe_ids(order, payment_intent_id=payment_intent_id):
        return Recorded(
            Outcome.APPLIED, f"awaiting the payment of {payment_intent_id} (not paid yet)"
        )
    return Recorded(Outcome.NO_CHANGE, "awaiting the payment (not paid yet)")


# --- payment ---------------------------------------------------------------------------------


def record_mismatch(order: Order, description: str) -> Recorded:
    """Stripe reported a payment ``order`` cannot accept: keep why, for finance; never fulfil.

    The first description is kept; the order never becomes paid through ``record_payment``
    afterwards (finance decides: refund, or correct the order).
    """
    current_app.logger.warning("order %s: payment mismatch: %s", order.number, description)
    if order.mismatch:
        return Recorded(Outcome.MISMATCH, f"mismatch already recorded: {order.mismatch}")
    order.mismatch = description
    _settle(order)
    return Recorded(Outcome.MISMATCH, description)


def record_payment(
    order: Order, amount: Money, *, payment_intent_id: str | None, charge_id: str | None
) -> Recorded:
    """Stripe took ``amount`` for ``order``: it is paid if that is exactly the order's total.

    A different amount or currency is recorded as a mismatch (``Order.mismatch``), and the
    order is neither paid nor redeemed. Paid once: a second report changes nothing. On the
    payment, ``order_paid`` is sent; an order whose every product is redeemed on payment is
    redeemed (``order_redeemed``); then refunds and disputes Stripe reported before the
    payment are announced, in that order.
    """
    remember_stripe_ids(order, payment_intent_id=payment_intent_id, charge_id=charge_id)
    if amount != order.total:
        return record_mismatch(
            order,
            f"Stripe reported a payment of {_show(amount)} ({amount}); "
            f"the order's total is {_show(order.total)} ({order.total})",
        )
    if order.mismatch:
        return Recorded(
            Outcome.MISMATCH, f"not fulfilled: a mismatch is recorded ({order.mismatch})"
        )
    if order.paid_at is not None:
        return Recorded(Outcome.NO_CHANGE, "already paid")

    # Facts reported before the payment wait: they are announced after it, as they happened.
    early_refund = order.refunded_amount
    early_dispute = order.dispute_status
    order.refunded_amount = 0
    order.dispute_status = DisputeStatus.NONE

    order.paid_at = utcnow()
    order.paid_amount = amount.amount
    _settle(order)
    order_paid.send(order)
    details = [f"paid {_show(amount)}"]

    if order.redeemed_at is None and redemption.redeems_on_payment(order):
        redemption.mark_redeemed(order, None)
        details.append("redeemed on payment")
    if early_refund:
        details.append(record_refund_total(order, Money(early_refund, order.currency)).detail)
    if early_dispute is not DisputeStatus.NONE:
        details.append(record_dispute(order, early_dispute).detail)
    return Recorded(Outcome.APPLIED, "; ".join(details))


def record_closed(order: Order, reason: str) -> Recorded:
    """A never-paid order closed: its Checkout Session ``"expired"``, its payment failed
    (``"payment_failed"``), or it was ``"cancelled"``.

    Ignored for a paid order (the money came in), and for one already closed (the first
    reason stays).

    Raises:
        ValueError: ``reason`` is not one of ``CLOSED_REASONS``.
    """
    if reason not in CLOSED_REASONS:
        raise ValueError(f"unknown reason to close an order: {reason!r}")
    if order.paid_at is not None:
        return Recorded(Outcome.NO_CHANGE, f"not closed ({reason}): the order is paid")
    if order.closed_at is not None:
        return Recorded(Outcome.NO_CHANGE, f"already closed ({order.closed_reason})")
    order.closed_at = utcnow()
    order.closed_reason = reason
    _settle(order)
    return Recorded(Outcome.APPLIED, f"closed: {reason}")


def record_payment_failed(order: Order) -> Recorded:
    """The delayed payment of ``order`` failed: it closes unpaid (see ``record_closed``)."""
    return record_closed(order, "payment_failed")


# --- refunds and disputes ----------------------------------------------------------------------


def record_refund_total(order: Order, amount_refunded: Money) -> Recorded:
    """Stripe's running total of what was refunded on ``order``'s charge is ``amount_refunded``.

    Only an increase does anything (an older total arriving late is no news); the total is
    capped at the order's total. ``order_refunded`` goes out with the new and the previous
    totals, once the order is paid (see the module's note on events out of order).
    """
    if amount_refunded.currency != order.currency:
        return record_mismatch(
            order,
            f"Stripe reported refunds of {_show(amount_refunded)} ({amount_refunded}) "
            f"on an order in {order.currency}",
        )
    new_total = min(amount_refunded.amount, order.total_amount)
    capped = " (capped at the order's total)" if new_total < amount_refunded.amount else ""
    if new_total <= order.refunded_amount:
        return Recorded(
            Outcome.NO_CHANGE,
            f"refunds {_show(amount_refunded)} in all: already known "
            f"({_show(order.refunded)} recorded)",
        )
    previous = order.refunded
    order.refunded_amount = new_total
    _settle(order)
    refunded = order.refunded
    if order.paid_at is None:
        return Recorded(
            Outcome.APPLIED,
            f"refunded {_show(refunded)} in all{capped}, before the payment was recorded",
        )
    order_refunded.send(order, refunded_total=refunded, previous_total=previous)
    return Recorded(
        Outcome.APPLIED,
        f"refunded {_show(refunded)} in all{capped} (was {_show(previous)})",
    )


_DISPUTE_RANK = {
    DisputeStatus.NONE: 0,
    DisputeStatus.OPEN: 1,
    DisputeStatus.WON: 2,
    DisputeStatus.LOST: 2,
}


def record_dispute(order: Order, status: DisputeStatus) -> Recorded:
    """The dispute on ``order``'s charge is ``status`` (open, won or lost).

    A dispute only moves forward: opened, then closed (won or lost), and a closed one stays
    closed; news older than what is known changes nothing. ``order_dispute_opened`` and
    ``order_dispute_closed(won=...)`` go out once each, once the order is paid; a dispute
    reported closed before it was reported open sends both, in that order.

    Raises:
        ValueError: ``status`` is ``DisputeStatus.NONE``.
    """
    if status is DisputeStatus.NONE:
        raise ValueError("a dispute is open, won or lost")
    known = order.dispute_status
    if _DISPUTE_RANK[status] <= _DISPUTE_RANK[known]:
        return Recorded(Outcome.NO_CHANGE, f"dispute {status.value}: already {known.value}")
    order.dispute_status = status
    _settle(order)
    if order.paid_at is None:
        return Recorded(Outcome.APPLIED, f"dispute {status.value}, before the payment was recorded")
    if known is DisputeStatus.NONE:
        order_dispute_opened.send(order)
    if status is not DisputeStatus.OPEN:
        order_dispute_closed.send(order, won=status is DisputeStatus.WON)
    return Recorded(Outcome.APPLIED, f"dispute {status.value} (was {known.value})")
