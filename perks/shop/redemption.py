"""Order redemption: the customer used what they paid for.

A redeemer scans the order's QR code or types its redemption code at the counter; products
redeemed on payment are redeemed by the payment webhook itself. Either way the order is
redeemed once (a conditional UPDATE decides between two racing redeemers), and
``order_redeemed`` is sent in the same transaction: it turns pending commissions into earned.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select, update

from perks import audit
from perks.db import affected_rows, transaction, utcnow
from perks.errors import Conflict, NotFound
from perks.extensions import db
from perks.i18n import format_moment
from perks.people.models import User
from perks.shop.events import order_redeemed
from perks.shop.models import ORDER_NUMBER_LENGTH, Order, OrderStatus, RedemptionMode


def _compact(code: str) -> str:
    """A code as typed ("568s dwty-q8") as it is stored ("568SDWTYQ8")."""
    return "".join(code.split()).replace("-", "").upper()


def order_number_note(code: str) -> str | None:
    """What to tell a redeemer who typed an order's *number* (its heading, "PK-QRRQ7Q6Z"),
    not its code; None when ``code`` is no order's number."""
    text = _compact(code)
    if not (text.startswith("PK") and len(text) == ORDER_NUMBER_LENGTH):
        return None
    number = f"PK-{text[2:]}"
    if db.session.scalar(select(Order.id).where(Order.number == number)) is None:
        return None
    return _(
        "%(number)s is the number of a shop order, not its code: the code is under the number "
        "on the customer's order page and in their e-mail (or scan its QR code).",
        number=number,
    )


def find_order_by_code(code: str) -> Order:
    """The order a redemption code (typed in any case, with or without spaces and dashes,
    or scanned) points at.

    Raises:
        NotFound: no order has this code (the message says so when it is an order's number).
    """
    text = _compact(code)
    if not text:
        raise NotFound(_("Enter or scan a code."))
    order = db.session.scalar(select(Order).where(Order.redemption_code == text))
    if order is None:
        raise NotFound(
            order_number_note(code) or _("No order has the code %(code)s.", code=code.strip())
        )
    return order


def _redeemer(order: Order) -> str:
    return order.redeemed_by.name if order.redeemed_by else _("automatically on payment")


def redeemed_note(order: Order) -> str:
    """When and by whom a redeemed ``order`` was redeemed, as the counter shows it on looking
    the order up (right after redeeming it, say), in the user's language."""
    assert order.redeemed_at is not None  # a redeemed order
    return _(
        "Redeemed on %(when)s (%(who)s).",
        when=format_moment(order.redeemed_at, "short"),
        who=_redeemer(order),
    )


def why_not_redeemable(order: Order) -> str | None:
    """Why ``order`` cannot be redeemed now, in the user's language; None if it can."""
    if order.redeemed_at is not None:
        return _(
            "Already redeemed on %(when)s (%(who)s).",
            when=format_moment(order.redeemed_at, "short"),
            who=_redeemer(order),
        )
    if order.mismatch:
        return _("The payment did not match the order; finance is looking into it.")
    if order.paid_at is None:
        return _("This order is not paid (%(status)s).", status=order.status.label)
    if order.status is OrderStatus.REFUNDED:
        return _("This order was refunded.")
    if order.status is OrderStatus.DISPUTED:
        return _("The payment of this order is disputed.")
    return None


def mark_redeemed(order: Order, redeemer: User | None) -> None:
    """Redeem ``order`` inside the caller's transaction (flushes, never commits).

    Raises:
        Conflict: the order cannot be redeemed (already, unpaid, refunded, disputed), or
            another redeemer was a moment faster.
    """
    # Read again under the order's lock: a refund or a dispute recorded since it was looked
    # up (its webhook holds the same lock) stops the redemption.
    db.session.refresh(order, with_for_update=True)
    problem = why_not_redeemable(order)
    if problem is not None:
        raise Conflict(problem)
    now = utcnow()
    result = db.session.execute(
        update(Order)
        .where(Order.id == order.id, Order.redeemed_at.is_(None))
        .values(redeemed_at=now, redeemed_by_id=redeemer.id if redeemer else None)
        .execution_options(synchronize_session=False)
    )
    if affected_rows(result) != 1:
        db.session.refresh(order)
        raise Conflict(why_not_redeemable(order) or _("This order was just redeemed."))
    db.session.refresh(order)
    order.refresh_status()
    db.session.flush()
    order_redeemed.send(order, redeemed_by=redeemer)


def redeem_order(code: str, redeemer: User) -> Order:
    """A redeemer marks the order with ``code`` used at the counter.

    Raises:
        NotFound: no order has this code.
        Conflict: already redeemed (says when and by whom), not paid, refunded or disputed.
    """
    with transaction():
        order = find_order_by_code(code)
        mark_redeemed(order, redeemer)
        audit.record("shop.order_redeemed", actor=redeemer, target=order, number=order.number)
        return order


def redeems_on_payment(order: Order) -> bool:
    """True when every product of ``order`` is redeemed as soon as it is paid."""
    return bool(order.lines) and all(
        line.product.redemption_mode is RedemptionMode.ON_PAYMENT for line in order.lines
    )
