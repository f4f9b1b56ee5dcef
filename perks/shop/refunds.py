"""Refunds asked of Stripe by finance, fully or in part.

Asking is all this module does: the order's refunded total and state change only when Stripe
confirms with a ``charge.refunded`` webhook (``perks.payments.webhooks``), which carries the
charge's running total. Each request is audited with who asked, how much and why.

A double-clicked submit must not refund twice. The refund form carries a random token made
when the page was drawn; the Stripe idempotency key is the order's id and that token, so two
submissions of one form are one refund at Stripe (it answers the second with the first
refund), and the second finds the first's audit row and records nothing more. Two forms (two
tabs) are two requests: each is checked against what was paid less the larger of what Stripe
has confirmed and what was already requested, and Stripe refuses anything beyond the charge.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from perks import audit
from perks.audit import AuditEvent
from perks.db import transaction
from perks.errors import Conflict, NotFound, ValidationFailed
from perks.extensions import db
from perks.money import Money, format_money
from perks.payments import stripe_gateway
from perks.people.models import User
from perks.shop.admin_queries import REFUND_REQUESTED, refund_requests_of
from perks.shop.models import DisputeStatus, Order
from perks.text import trim


def new_request_token() -> str:
    """The token a refund form carries: one per form drawn (``admin_forms.RefundForm``)."""
    return secrets.token_urlsafe(18)


def idempotency_key(order_id: int, request_token: str) -> str:
    """The Stripe idempotency key of one refund request of one order."""
    return f"perks-order-{order_id}-refund-{request_token}"


def requested_total(order: Order, requests: list[AuditEvent] | None = None) -> Money:
    """What was asked of Stripe through this app for ``order`` so far (confirmed or not)."""
    rows = requests if requests is not None else refund_requests_of(order.id)
    return Money(
        sum(int(row.details.get("amount", 0)) for row in rows if _same_currency(row, order)),
        order.currency,
    )


def _same_currency(row: AuditEvent, order: Order) -> bool:
    return row.details.get("currency") == order.currency


def refundable(order: Order, requests: list[AuditEvent] | None = None) -> Money:
    """What may still be refunded: what was paid, less the larger of what Stripe confirmed
    and what was already requested (a request not yet confirmed still counts)."""
    if order.paid_at is None or order.paid_amount is None:
        return Money(0, order.currency)
    spoken_for = max(order.refunded_amount, requested_total(order, requests).amount)
    return Money(max(order.paid_amount - spoken_for, 0), order.currency)


def why_not_refundable(order: Order, requests: list[AuditEvent] | None = None) -> str | None:
    """Why nothing can be refunded on ``order`` now, in the user's language; None if it can."""
    if order.paid_at is None:
        if order.mismatch:
            return _(
                "The payment did not match this order and was never accepted: refund it "
                "from Stripe's dashboard."
            )
        return _("This order was never paid: there is nothing to refund.")
    if order.dispute_status is DisputeStatus.OPEN:
        return _("The payment is disputed: Stripe refunds nothing until the dispute is closed.")
    if order.dispute_status is DisputeStatus.LOST:
        return _("The dispute was lost: the customer's bank already took the money back.")
    if not order.payment_intent_id:
        return _("Stripe's payment of this order is not known: refund it from Stripe's dashboard.")
    if refundable(order, requests).amount <= 0:
        return _("Everything paid for this order is refunded or requested already.")
    return None


def _order(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound()
    return order


def _earlier_request(order_id: int, request_token: str) -> AuditEvent | None:
    for row in refund_requests_of(order_id):
        if row.details.get("request_token") == request_token:
            return row
    return None


def _refund_id_of_repeat(row: AuditEvent, amount: Money) -> str:
    """The refund an earlier submission of the same form got, if it asked the same.

    Raises:
        Conflict: the same form was sent again with another amount.
    """
    if row.details.get("amount") != amount.amount or row.details.get("currency") != amount.currency:
        raise Conflict(
            _("This refund form was already sent. Reload the order's page to ask for another.")
        )
    return str(row.details.get("refund_id", ""))


def request_refund(
    order_id: int,
    amount: Money,
    reason: str,
    actor: User,
    *,
    request_token: str | None = None,
) -> str:
    """Ask Stripe to refund ``amount`` of a paid order; returns Stripe's refund id.

    The order itself does not change: the ``charge.refunded`` webhook records the refund.
    ``request_token`` identifies the form that asked (see the module's docstring); a second
    call with the same token returns the first call's refund without asking again. Without a
    token, a new one is made (nothing to recognise a repeat by).

    Raises:
        NotFound: no such order.
        ValidationFailed: no reason, an amount that is not positive, in another currency, or
            more than is left to refund (``details["field"]`` names the form field).
        Conflict: the order cannot be refunded (never paid, disputed, refunded in full), or
            the same form was sent again for another amount.
        PaymentProviderError: Stripe refused or could not be reached; nothing is recorded.
    """
    token = request_token or new_request_token()
    reason = trim(reason or "")
    if not reason:
        raise ValidationFailed(_("Say why the order is refunded."), field="reason")

    with transaction():  # reads only: nothing is held while Stripe is asked
        order = _order(order_id)
        earlier = _earlier_request(order.id, token)
        if earlier is not None:
            return _refund_id_of_repeat(earlier, amount)
        requests = refund_requests_of(order.id)
        problem = why_not_refundable(order, requests)
        if problem is not None:
            raise Conflict(problem)
        _check_amount(order, amount, requests)

    refund_id = stripe_gateway.create_refund(
        order, amount, idempotency_key=idempotency_key(order_id, token)
    )

    with transaction():
        # The order's row is locked on PostgreSQL, so two submissions of one form that both
        # reached Stripe (and got the same refund) record it once.
        locked = db.session.scalar(select(Order).where(Order.id == order_id).with_for_update())
        if locked is None:  # pragma: no cover - orders are never deleted
            raise NotFound()
        order = locked
        if _earlier_request(order.id, token) is None:
            details: dict[str, Any] = {
                "amount": amount.amount,
                "currency": amount.currency,
                "reason": reason,
                "refund_id": refund_id,
                "request_token": token,
                "number": order.number,
            }
            audit.record(REFUND_REQUESTED, actor=actor, target=order, **details)
    return refund_id


def _check_amount(order: Order, amount: Money, requests: list[AuditEvent]) -> None:
    if amount.currency != order.currency:
        raise ValidationFailed(
            _("The refund is in the order's currency (%(currency)s).", currency=order.currency),
            field="amount",
        )
    if amount.amount <= 0:
        raise ValidationFailed(_("Enter an amount greater than zero."), field="amount")
    left = refundable(order, requests)
    if amount.amount > left.amount:
        raise ValidationFailed(
            _(
                "You can refund at most %(left)s: %(paid)s was paid and %(done)s is refunded "
                "or requested already.",
                left=format_money(left),
                paid=format_money(Money(order.paid_amount or 0, order.currency)),
                done=format_money(
                    Money(
                        max(order.refunded_amount, requested_total(order, requests).amount),
                        order.currency,
                    )
                ),
            ),
            field="amount",
        )
