"""Stories for finance tests: orders paid, used, refunded through the shop's real services
(their signals drive the commissions), and people with roles."""

from __future__ import annotations

from datetime import datetime, timedelta

from perks.commissions import lifecycle
from perks.db import utcnow
from perks.extensions import db
from perks.money import Money
from perks.people.models import Role, User
from perks.shop import orders, redemption
from perks.shop.models import Order, Product
from tests import factories


def finance_person(**fields: object) -> User:
    return factories.UserFactory(roles={Role.FINANCE}, **fields)


def referred_order(employee: User, product: Product | None = None, *, quantity: int = 1) -> Order:
    """A pending order of ``product`` brought by a new link of ``employee``."""
    link = factories.ReferralLinkFactory(user=employee)
    return factories.OrderFactory(
        product=product or factories.ProductFactory(),
        quantity=quantity,
        referral_link_id=link.id,
        attribution_reason="cookie",
    )


def pay(order: Order) -> None:
    orders.record_payment(
        order, order.total, payment_intent_id=f"pi_{order.id}", charge_id=f"ch_{order.id}"
    )
    db.session.commit()


def redeem(order: Order) -> None:
    redemption.mark_redeemed(order, None)
    db.session.commit()


def refund_to(order: Order, total: int) -> None:
    """Stripe's running total of refunds on ``order`` is now ``total`` minor units."""
    orders.record_refund_total(order, Money(total, order.currency))
    db.session.commit()


def after_holding(days: int = 15) -> datetime:
    return utcnow() + timedelta(days=days)


def make_payable() -> int:
    return lifecycle.release_due_commissions(after_holding())


def payable_order(employee: User, product: Product | None = None, *, quantity: int = 1) -> Order:
    """An order referred by ``employee``, paid, used, its holding period over."""
    order = referred_order(employee, product, quantity=quantity)
    pay(order)
    redeem(order)
    make_payable()
    return order
