"""The commissions' side of the shop's order signals (connected by ``perks.register_receivers``).

Each receiver runs inside the transaction that changed the order (a webhook, a redemption)
and only flushes, so an order's change and its commissions are written together or not at
all. A signal is sent once per real change (perks.shop.orders), and each receiver is also
safe when it is not: commissions exist once per line, and refunds work from running totals.
"""

from __future__ import annotations

from typing import Any

from perks.commissions import lifecycle
from perks.money import Money
from perks.shop.models import Order


def on_order_paid(order: Order, **_kwargs: Any) -> None:
    lifecycle.create_commissions(order)


def on_order_redeemed(order: Order, **_kwargs: Any) -> None:
    lifecycle.earn_order(order)


def on_order_refunded(
    order: Order, *, refunded_total: Money, previous_total: Money, **_kwargs: Any
) -> None:
    lifecycle.refund_order(order, refunded_total, previous_total)


def on_dispute_opened(order: Order, **_kwargs: Any) -> None:
    lifecycle.hold_order(order)


def on_dispute_closed(order: Order, *, won: bool, **_kwargs: Any) -> None:
    lifecycle.close_dispute(order, won)
