"""The customer's cart, kept in their session: which products, how many of each.

The session (Flask's signed cookie) holds only ``[[product_id, quantity], ...]`` in the order
the products were added; prices, names and whether a product is still on sale are read from
the database each time the cart is shown, in one statement. A cart holds one currency: Stripe
charges an order in one, so a product in another currency is refused with the reason.

The functions take the session as a plain mutable mapping (``flask.session`` in the views)
and raise domain errors with a message for the customer; they never write to the database.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from perks.errors import Conflict, NotFound, ValidationFailed
from perks.extensions import db
from perks.i18n import format_number
from perks.money import Money, format_money
from perks.shop.models import Product
from perks.shop.queries import product_by_slug

#: the session key of the cart
CART_KEY = "cart"
#: different products one cart may hold (the cart lives in a cookie: keep it small)
MAX_LINES = 20

Session = MutableMapping[str, Any]


@dataclass(frozen=True, slots=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def unit_price(self) -> Money:
        return self.product.price

    @property
    def list_total(self) -> Money:
        return self.product.price * self.quantity


@dataclass(frozen=True, slots=True)
class Cart:
    lines: tuple[CartLine, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.lines

    @property
    def currency(self) -> str | None:
        return self.lines[0].product.currency if self.lines else None

    @property
    def subtotal(self) -> Money | None:
        """The cart at list prices; None when it is empty."""
        if not self.lines:
            return None
        return sum(
            (line.list_total for line in self.lines), Money.zero(self.lines[0].unit_price.currency)
        )

    @property
    def count(self) -> int:
        return sum(line.quantity for line in self.lines)

    def items(self) -> list[tuple[int, int]]:
        """``(product_id, quantity)`` of each line: what checkout orders."""
        return [(line.product.id, line.quantity) for line in self.lines]


# --- the session's content ------------------------------------------------------------------


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def stored_items(session: Session) -> list[tuple[int, int]]:
    """The cart's ``(product_id, quantity)`` pairs as the session holds them, each product once.

    Anything not shaped like a cart (an old format, say) is ignored rather than trusted.
    """
    raw = session.get(CART_KEY)
    if not isinstance(raw, list):
        return []
    items: list[tuple[int, int]] = []
    seen: set[int] = set()
    for entry in raw[:MAX_LINES]:
        if not (isinstance(entry, list | tuple) and len(entry) == 2):
            continue
        product_id, quantity = entry
        if _is_count(product_id) and _is_count(quantity) and product_id not in seen:
            seen.add(product_id)
            items.append((product_id, quantity))
    return items


def _store(session: Session, items: list[tuple[int, int]]) -> None:
    if items:
        session[CART_KEY] = [[product_id, quantity] for product_id, quantity in items]
    else:
        session.pop(CART_KEY, None)


def item_count(session: Session) -> int:
    """How many units the cart holds, from the session alone (the header's badge)."""
    return sum(quantity for _product_id, quantity in stored_items(session))


# --- reading --------------------------------------------------------------------------------


def load_cart(session: Session) -> tuple[Cart, list[str]]:
    """The cart with its products (one statement), and what had to change, for the customer.

    A product no longer on sale (inactive or deleted) is dropped, so is one whose currency
    changed away from the cart's; a quantity above what a product now allows per order is
    lowered to it. The session is updated to match, and each change is explained in the
    returned messages (in the request's language).
    """
    items = stored_items(session)
    if not items:
        _store(session, [])
        return Cart(), []
    ids = [product_id for product_id, _quantity in items]
    products = {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids)))}
    notices: list[str] = []
    lines: list[CartLine] = []
    for product_id, quantity in items:
        product = products.get(product_id)
        if product is None or not product.active:
            if product is None:
                notices.append(_("A product in your cart is no longer on sale: it was removed."))
            else:
                notices.append(
                    _(
                        "%(product)s is no longer on sale: it was removed from your cart.",
                        product=product.name,
                    )
                )
            continue
        if lines and product.currency != lines[0].product.currency:
            notices.append(
                _(
                    "%(product)s is now priced in %(currency)s, unlike the rest of your cart: "
                    "it was removed.",
                    product=product.name,
                    currency=product.currency,
                )
            )
            continue
        if quantity > product.max_quantity_per_order:
            quantity = product.max_quantity_per_order
            notices.append(
                _(
                    "At most %(max)s of %(product)s can be ordered at once: "
                    "your cart now has %(max)s.",
                    max=format_number(quantity),
                    product=product.name,
                )
            )
        lines.append(CartLine(product, quantity))
    cleaned = [(line.product.id, line.quantity) for line in lines]
    if cleaned != items:
        _store(session, cleaned)
    return Cart(tuple(lines)), notices


# --- changes --------------------------------------------------------------------------------


def quantity_refusal(product: Product) -> str:
    """What a customer reads when a quantity of ``product`` cannot be ordered: its own limit."""
    return _(
        "Choose a quantity from 1 to %(max)s for %(product)s.",
        max=format_number(product.max_quantity_per_order),
        product=product.name,
    )


def _check_quantity(product: Product, quantity: int) -> None:
    if not 1 <= quantity <= product.max_quantity_per_order:
        raise ValidationFailed(quantity_refusal(product), field="quantity")


def add_to_cart(session: Session, product_slug: str, quantity: int) -> CartLine:
    """Put ``quantity`` more of the product at ``/shop/p/<product_slug>`` in the cart.

    Returns the product's line as it now stands.

    Raises:
        NotFound: no product on sale has this slug.
        ValidationFailed: the quantity is under 1, or the cart would then hold more of the
            product than one order may (the message says how many it already has).
        Conflict: the product is priced in another currency than the cart, or the cart
            already holds ``MAX_LINES`` different products.
    """
    product = product_by_slug(product_slug)
    _check_quantity(product, quantity)
    cart, _notices = load_cart(session)
    items = cart.items()
    already = dict(items).get(product.id, 0)
    if already:
        total = already + quantity
        if total > product.max_quantity_per_order:
            raise ValidationFailed(
                _(
                    "At most %(max)s of %(product)s can be ordered at once, and your cart "
                    "already has %(count)s.",
                    max=format_number(product.max_quantity_per_order),
                    product=product.name,
                    count=format_number(already),
                ),
                field="quantity",
            )
        items = [(pid, total if pid == product.id else qty) for pid, qty in items]
    else:
        if cart.currency is not None and cart.currency != product.currency:
            raise Conflict(
                _(
                    "Your cart is priced in %(cart)s and %(product)s in %(currency)s: one order "
                    "is paid in one currency. Pay for your cart or empty it first.",
                    cart=cart.currency,
                    product=product.name,
                    currency=product.currency,
                )
            )
        if len(items) >= MAX_LINES:
            raise Conflict(_("Your cart is full (%(max)d different products).", max=MAX_LINES))
        items.append((product.id, quantity))
    _store(session, items)
    return CartLine(product, dict(items)[product.id])


def _line_of(cart: Cart, product_id: int) -> CartLine:
    line = next((line for line in cart.lines if line.product.id == product_id), None)
    if line is None:
        raise NotFound(_("This product is not in your cart."))
    return line


def line_in_cart(session: Session, product_id: int) -> CartLine:
    """The cart's line of a product.

    Raises:
        NotFound: the product is not in the cart (or no longer on sale).
    """
    cart, _notices = load_cart(session)
    return _line_of(cart, product_id)


def update_quantity(session: Session, product_id: int, quantity: int) -> CartLine:
    """Set how many of a product in the cart the customer wants.

    Raises:
        NotFound: the product is not in the cart (or no longer on sale).
        ValidationFailed: the quantity is under 1 or above what one order may hold.
    """
    cart, _notices = load_cart(session)
    line = _line_of(cart, product_id)
    _check_quantity(line.product, quantity)
    _store(session, [(pid, quantity if pid == product_id else qty) for pid, qty in cart.items()])
    return CartLine(line.product, quantity)


def remove_from_cart(session: Session, product_id: int) -> None:
    """Take a product out of the cart (nothing happens if it is not there)."""
    _store(session, [(pid, qty) for pid, qty in stored_items(session) if pid != product_id])


def clear_cart(session: Session) -> None:
    """Empty the cart."""
    _store(session, [])


def describe(line: CartLine) -> str:
    """ "2 × Ha Long Bay cruise (₫4,800,000)": what was added, for a confirmation message."""
    return _(
        "%(count)s × %(product)s (%(total)s)",
        count=format_number(line.quantity),
        product=line.product.name,
        total=format_money(line.list_total),
    )
