"""What an order costs: list prices, the one discount it gets, and exact totals.

Pure functions, no database, no request: checkout prices an order with them, the cart and
checkout pages preview the same figures with them.

The rules:

* An order gets at most one discount (``DiscountKind``): the **staff** price when the buyer is
  a person of the company, else the **friends** discount (``FRIENDS_DISCOUNT_BPS``) when the
  order is attributed to an employee's referral link, else none. Staff and friends discounts
  never stack: a person of the company never gets the friends discount on top.
* The staff price of a product is its ``staff_price`` (a fixed staff price, or the list price
  less ``staff_discount_bps``); a product with neither costs staff its list price. A staff
  price above the list price is never charged: the list price caps it.
* Discounts are computed **per unit** and rounded there, to a whole minor unit (đồng, cent),
  half up (``Money.percent``'s default: 2,5 → 3). So every line is exactly
  ``unit_amount × quantity``, the total is exactly the sum of the lines, and
  ``subtotal − discount = total`` holds to the last đồng or cent, whatever the quantities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from perks.money import CurrencyMismatch, Money, Rounding
from perks.shop.models import DiscountKind, Product

#: how a per-unit discount rounds to a whole minor unit (see the module docstring)
DISCOUNT_ROUNDING: Rounding = "half_up"


@dataclass(frozen=True, slots=True)
class PricingItem:
    """One product and how many, with the two prices pricing may choose between."""

    product_id: int
    quantity: int
    #: the list price of one unit
    unit_list: Money
    #: what one unit costs a person of the company; None: no staff price (list price)
    unit_staff: Money | None = None

    @classmethod
    def of(cls, product: Product, quantity: int) -> PricingItem:
        """The item for ``quantity`` units of ``product`` (its list and staff prices)."""
        return cls(product.id, quantity, product.price, product.staff_price)


@dataclass(frozen=True, slots=True)
class PricedLine:
    product_id: int
    quantity: int
    unit_list: Money
    #: what one unit costs after the order's discount
    unit: Money

    @property
    def list_total(self) -> Money:
        return self.unit_list * self.quantity

    @property
    def line_total(self) -> Money:
        return self.unit * self.quantity

    @property
    def discount(self) -> Money:
        return self.list_total - self.line_total


@dataclass(frozen=True, slots=True)
class Quote:
    """An order's prices: its lines, at list price and after the one discount."""

    currency: str
    lines: tuple[PricedLine, ...]
    discount_kind: DiscountKind
    #: the friends discount rate applied, in basis points (0 unless ``FRIENDS``)
    friends_bps: int = 0

    @property
    def subtotal(self) -> Money:
        return sum((line.list_total for line in self.lines), Money.zero(self.currency))

    @property
    def total(self) -> Money:
        return sum((line.line_total for line in self.lines), Money.zero(self.currency))

    @property
    def discount(self) -> Money:
        return self.subtotal - self.total


def choose_discount(*, staff_buyer: bool, referred: bool, friends_bps: int) -> DiscountKind:
    """The one discount an order gets: staff before friends, never both.

    ``staff_buyer``: the buyer is a person of the company; ``referred``: the order is
    attributed to a referral link (never true for a staff purchase, but staff wins anyway).
    """
    if staff_buyer:
        return DiscountKind.STAFF
    if referred and friends_bps > 0:
        return DiscountKind.FRIENDS
    return DiscountKind.NONE


def unit_price(item: PricingItem, kind: DiscountKind, friends_bps: int) -> Money:
    """What one unit of ``item`` costs with the order's discount ``kind``.

    Raises:
        ValueError: a negative friends rate, or one above 100 %.
    """
    if not 0 <= friends_bps <= 10_000:
        raise ValueError("friends_bps must be between 0 and 10000")
    if kind is DiscountKind.STAFF:
        if item.unit_staff is None:
            return item.unit_list
        return min(item.unit_staff, item.unit_list)
    if kind is DiscountKind.FRIENDS:
        return item.unit_list - item.unit_list.percent(friends_bps, DISCOUNT_ROUNDING)
    return item.unit_list


def price_order(items: Sequence[PricingItem], kind: DiscountKind, friends_bps: int) -> Quote:
    """Price ``items`` (one currency) with the order's one discount ``kind``.

    ``friends_bps`` is only used for ``DiscountKind.FRIENDS``.

    Raises:
        ValueError: no items, a quantity under 1, a negative or too large friends rate.
        perks.money.CurrencyMismatch: the items are in more than one currency.
    """
    if not items:
        raise ValueError("an order needs at least one item")
    currency = items[0].unit_list.currency
    lines = []
    for item in items:
        if item.quantity < 1:
            raise ValueError("quantities start at 1")
        if item.unit_list.currency != currency:
            raise CurrencyMismatch(currency, item.unit_list.currency)
        unit = unit_price(item, kind, friends_bps)
        lines.append(PricedLine(item.product_id, item.quantity, item.unit_list, unit))
    return Quote(
        currency=currency,
        lines=tuple(lines),
        discount_kind=kind,
        friends_bps=friends_bps if kind is DiscountKind.FRIENDS else 0,
    )
