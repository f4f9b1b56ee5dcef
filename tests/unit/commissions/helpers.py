"""Order stories for commission tests, told through the shop's real services and signals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from perks.commissions import ledger, lifecycle
from perks.commissions.models import Commission, LedgerEntry
from perks.db import utcnow
from perks.extensions import db
from perks.money import Money
from perks.people.models import User
from perks.shop import orders, redemption
from perks.shop.models import DisputeStatus, Order, Product
from tests import factories


def referred_order(
    product: Product | None = None,
    *,
    quantity: int = 1,
    employee: User | None = None,
    **fields: object,
) -> Order:
    """A pending order of ``product`` brought by a link of ``employee`` (a new one if None)."""
    link = factories.ReferralLinkFactory(user=employee or factories.UserFactory())
    fields.setdefault("attribution_reason", "cookie")
    return factories.OrderFactory(
        product=product or factories.ProductFactory(),
        quantity=quantity,
        referral_link_id=link.id,
        **fields,
    )


def referred_order_of(lines: Iterable[tuple[Product, int]], *, employee: User) -> Order:
    """A pending order with one line per (product, quantity), brought by ``employee``'s link."""
    lines = list(lines)
    link = factories.ReferralLinkFactory(user=employee)
    total = sum(product.price_amount * quantity for product, quantity in lines)
    order = factories.OrderFactory(
        with_line=False,
        product=lines[0][0],
        subtotal_amount=total,
        total_amount=total,
        referral_link_id=link.id,
        attribution_reason="cookie",
    )
    for product, quantity in lines:
        factories.OrderLineFactory(order=order, product=product, quantity=quantity)
    db.session.refresh(order)
    return order


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


def dispute(order: Order, status: DisputeStatus) -> None:
    orders.record_dispute(order, status)
    db.session.commit()


def after_holding(days: int = 15) -> datetime:
    return utcnow() + timedelta(days=days)


def tick(now: datetime | None = None) -> int:
    return lifecycle.release_due_commissions(now or after_holding())


@dataclass
class Payroll:
    """A stand-in for the finance capability's batches: remembers which entries it paid."""

    paid_entry_ids: set[int] = field(default_factory=set)

    def pay_out(self, now: datetime | None = None) -> dict[int, Money]:
        """Pay every person whose released, not-yet-paid entries net positive."""
        now = now or after_holding(30)
        entries = [
            e
            for e in db.session.scalars(ledger.payable_entries(now))
            if e.id not in self.paid_entry_ids
        ]
        paid = {}
        for line in ledger.net_per_person(entries):
            if line.amount <= 0:
                continue  # carried forward
            lifecycle.record_payout(
                line.user_id,
                line.net,
                entry_ids=line.entry_ids,
                payout_batch_id=None,
                actor=None,
                paid_at=now,
            )
            self.paid_entry_ids.update(line.entry_ids)
            paid[line.user_id] = line.net
        db.session.commit()
        return paid


def commissions_of(order: Order) -> list[Commission]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Commission).where(Commission.order_id == order.id).order_by(Commission.id)
        )
    )


def entries_of(user: User) -> list[tuple[str, int]]:
    return [
        (e.kind.value, e.amount)
        for e in db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.user_id == user.id).order_by(LedgerEntry.id)
        )
    ]
