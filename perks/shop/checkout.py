"""Checkout: who the buyer is, what they pay, and the order with its Stripe Checkout Session.

``place_order`` is the only way an order comes to be. It decides the attribution on the
server (``perks.shop.attribution``, whose policy is the referral links': the cookie, the
typed code, the buyer), prices the order (``perks.shop.pricing``: staff price or friends
discount, never both), and writes the order and its lines in one transaction. Then it asks
Stripe for a Checkout Session and stores it on the order in a second one. If Stripe fails,
the order is closed (``closed_reason = "checkout_failed"``, status cancelled) and the error
reaches the customer, whose cart is untouched.

The order is fulfilled only by the payment webhook (perks.payments.webhooks); the customer's
pages here only read it, by its unguessable token.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from perks.db import transaction, utcnow
from perks.errors import NotFound, ValidationFailed
from perks.extensions import db
from perks.i18n import company_date, format_number
from perks.money import format_money
from perks.payments import stripe_gateway
from perks.people.models import User
from perks.shop.attribution import (
    Attribution,
    AttributionReason,
    attribute_order,
    typed_code_problem,
)
from perks.shop.cart import Cart
from perks.shop.models import Order, OrderLine, OrderStatus, Product
from perks.shop.pricing import PricingItem, Quote, choose_discount, price_order
from perks.text import trim
from perks.urls import absolute_url

#: why an order closed when Stripe would not open its Checkout Session
CHECKOUT_FAILED = "checkout_failed"
#: what the customer's name and e-mail may hold (the order's columns)
MAX_NAME = 120
MAX_EMAIL = 254

_PHONE_SEPARATORS = re.compile(r"[\s.\-()/]")
#: Vietnamese mobile numbers: 03x, 05x, 07x, 08x, 09x and 8 more digits
_VN_MOBILE = re.compile(r"[35789]\d{8}")
#: Vietnamese landlines: 02x (area code) and 8 more digits
_VN_LANDLINE = re.compile(r"2\d{9}")
#: any other country, E.164: a country code and up to 15 digits in all
_INTERNATIONAL = re.compile(r"[1-9]\d{7,14}")


@dataclass(frozen=True, slots=True)
class Customer:
    """Who pays, as typed at checkout (the e-mail receives the confirmation)."""

    name: str
    email: str
    phone: str


@dataclass(frozen=True, slots=True)
class CheckoutPreview:
    """What the buyer would pay now, and why (the checkout and cart pages show it)."""

    quote: Quote
    attribution: Attribution
    staff_buyer: bool


# --- inputs ---------------------------------------------------------------------------------


def normalize_phone(text: str) -> str:
    """A phone number as typed, in E.164 (``+84912345678``).

    Vietnamese numbers may be typed nationally (``0912 345 678``, ``024 3825 1234``) or
    internationally (``+84 912 345 678``, ``84912345678``); other countries' with their
    ``+`` and country code (``+1 415 555 0100``). Spaces, dots, dashes, slashes and
    parentheses are ignored.

    Raises:
        ValidationFailed: anything else.
    """
    compact = _PHONE_SEPARATORS.sub("", text or "")
    invalid = ValidationFailed(
        _("Enter a phone number such as 0912 345 678 or +84 912 345 678."), field="phone"
    )
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if compact.startswith("+"):
        digits = compact[1:]
        if not digits.isdigit():
            raise invalid
        if digits.startswith("84"):
            national = digits[2:]
        elif _INTERNATIONAL.fullmatch(digits):
            return "+" + digits
        else:
            raise invalid
    elif not compact.isdigit():
        raise invalid
    elif compact.startswith("0"):
        national = compact[1:]
    elif compact.startswith("84") and len(compact) in (11, 12):
        national = compact[2:]
    else:
        raise invalid
    if national.startswith("0"):  # "+84 0912 ..." : the trunk 0 typed after the country code
        national = national[1:]
    if _VN_MOBILE.fullmatch(national) or _VN_LANDLINE.fullmatch(national):
        return "+84" + national
    raise invalid


def clean_customer(name: str, email: str, phone: str) -> Customer:
    """The customer's details, trimmed and checked (the form checks the same first).

    Raises:
        ValidationFailed: an empty or too long name, an e-mail that cannot be one, or a phone
            number ``normalize_phone`` refuses (``details['field']`` names the field).
    """
    name = " ".join(trim(name or "").split())
    if not name or len(name) > MAX_NAME:
        raise ValidationFailed(_("Enter your name."), field="name")
    email = trim(email or "").lower()
    local, _at, domain = email.partition("@")
    if not local or "." not in domain or len(email) > MAX_EMAIL or any(c.isspace() for c in email):
        raise ValidationFailed(_("Enter a valid e-mail address."), field="email")
    return Customer(name=name, email=email, phone=normalize_phone(phone))


# --- who pays what --------------------------------------------------------------------------


def is_staff_buyer(buyer_email: str, buyer_user: User | None, now: datetime) -> bool:
    """Whether the buyer gets staff prices at ``now``: only a signed-in, active person of
    the company whose leaving date has not come (the daily task deactivates a leaver only
    later that day, and never the last administrator).

    An e-mail alone proves nothing (anyone can type a colleague's address): a buyer who
    gives a staff e-mail without signing in pays the list price, and the attribution still
    treats the order as a staff purchase (flagged, no commission for anybody). The same goes
    for former employees. ``buyer_email`` is accepted for symmetry with the attribution.
    Raises nothing.
    """
    del buyer_email
    return bool(
        buyer_user is not None
        and getattr(buyer_user, "is_authenticated", False)
        and getattr(buyer_user, "is_active", False)
        and not buyer_user.has_left(company_date(now))
    )


def friends_discount_bps() -> int:
    return int(current_app.config["FRIENDS_DISCOUNT_BPS"])


def _quote(items: Sequence[PricingItem], attribution: Attribution, staff_buyer: bool) -> Quote:
    bps = friends_discount_bps()
    kind = choose_discount(
        staff_buyer=staff_buyer, referred=attribution.link is not None, friends_bps=bps
    )
    return price_order(items, kind, bps)


def preview(
    cart: Cart,
    *,
    buyer_email: str,
    typed_code: str | None,
    referral_cookie: str | None,
    buyer_user: User | None,
    now: datetime,
) -> CheckoutPreview | None:
    """What ``cart`` would cost this buyer now (None for an empty cart). Reads only."""
    if cart.is_empty:
        return None
    attribution = attribute_order(referral_cookie, typed_code, buyer_email, buyer_user, now)
    staff = is_staff_buyer(buyer_email, buyer_user, now)
    items = [PricingItem.of(line.product, line.quantity) for line in cart.lines]
    return CheckoutPreview(_quote(items, attribution, staff), attribution, staff)


#: the total the checkout page showed, as it sends it back: minor units
_QUOTED_TOTAL = re.compile(r"[0-9]{1,18}")


def total_rose(quoted: str | None, estimate: CheckoutPreview) -> str | None:
    """Why the customer would now pay more than the total they were shown, in their
    language; None when they would not (or the page sent no total: ``quoted`` is its minor
    units). The checkout page shows a total before anyone has typed an e-mail or a code, and
    what they type can take a discount away (a member of staff not signed in, a customer
    using their own link): nobody should meet a higher price only on the payment page. A
    lower one (a typed code's discount) needs no stop: the payment page shows it."""
    total = estimate.quote.total
    if not quoted or not _QUOTED_TOTAL.fullmatch(quoted) or total.amount <= int(quoted):
        return None
    reason = estimate.attribution.reason
    if reason is AttributionReason.EMPLOYEE_BUYER and not estimate.staff_buyer:
        why = _(
            "This e-mail address belongs to a member of our staff: staff prices apply once "
            "you sign in, and the friends discount is not for staff."
        )
    elif reason is AttributionReason.SELF_REFERRAL:
        why = _("Nobody gets the friends discount through their own referral link.")
    else:
        # Nothing the customer typed raises a price: the shop's prices changed, or a
        # discount went (the referral link was paused, the click is too old by now).
        why = _("Our prices or discounts changed since this page was shown.")
    return _(
        "The total is now %(total)s. %(why)s Check your order, then continue to payment.",
        total=format_money(total),
        why=why,
    )


# --- placing the order ----------------------------------------------------------------------


def _ordered_products(items: Sequence[tuple[int, int]]) -> list[tuple[Product, int]]:
    """The products of ``items`` (one statement), checked as the cart checks them.

    Raises:
        ValidationFailed: nothing to order, a product no longer on sale, a quantity outside
            what one order may hold, or more than one currency.
    """
    if not items:
        raise ValidationFailed(_("Your cart is empty."))
    ids = [product_id for product_id, _quantity in items]
    products = {
        p.id: p
        for p in db.session.scalars(
            select(Product).where(Product.id.in_(ids), Product.active.is_(True))
        )
    }
    ordered: list[tuple[Product, int]] = []
    for product_id, quantity in items:
        product = products.get(product_id)
        if product is None:
            raise ValidationFailed(
                _("A product in your cart is no longer on sale. Check your cart and try again.")
            )
        if not 1 <= quantity <= product.max_quantity_per_order:
            raise ValidationFailed(
                _(
                    "Choose a quantity from 1 to %(max)s for %(product)s.",
                    max=format_number(product.max_quantity_per_order),
                    product=product.name,
                )
            )
        if ordered and product.currency != ordered[0][0].currency:
            raise ValidationFailed(_("One order is paid in one currency. Check your cart."))
        ordered.append((product, quantity))
    return ordered


def place_order(
    items: Sequence[tuple[int, int]],
    customer: Customer,
    *,
    typed_code: str | None,
    referral_cookie: str | None,
    buyer_user: User | None,
    locale: str,
    now: datetime,
) -> Order:
    """Create the order for ``items`` (``(product_id, quantity)``) and its Checkout Session.

    The order is attributed, priced and written with its lines in one transaction; the
    Checkout Session's id, URL and expiry are stored in a second. Stripe returns the
    customer to ``/shop/orders/<token>?from=checkout`` when they have paid and to
    ``/shop/orders/<token>/cancelled`` when they give up. Needs a request context (the URLs
    are absolute, on the request's host).

    Raises:
        ValidationFailed: bad customer details, a typed referral code that cannot be used
            (``details['field'] == 'referral_code'``), or a cart that cannot be ordered
            (empty, a product no longer on sale, a bad quantity, mixed currencies), or one
            that comes to nothing to pay (a staff price of 0: Stripe charges at least 1
            minor unit); nothing is written.
        perks.payments.stripe_gateway.PaymentProviderError: Stripe refused or could not be
            reached; the order is kept, closed as cancelled (``checkout_failed``).
    """
    customer = clean_customer(customer.name, customer.email, customer.phone)
    problem = typed_code_problem(typed_code)
    if problem is not None:
        raise ValidationFailed(problem, field="referral_code")
    signed_in = buyer_user if getattr(buyer_user, "is_authenticated", False) else None

    with transaction():
        ordered = _ordered_products(items)
        attribution = attribute_order(referral_cookie, typed_code, customer.email, signed_in, now)
        staff = is_staff_buyer(customer.email, signed_in, now)
        quote = _quote(
            [PricingItem.of(product, quantity) for product, quantity in ordered],
            attribution,
            staff,
        )
        if quote.total.amount <= 0:
            # Stripe opens no Checkout Session for nothing (its least amount is 1 minor unit).
            raise ValidationFailed(
                _(
                    "This order comes to nothing to pay, and orders here are paid online: a "
                    "free product cannot be ordered through the storefront. Ask HR how to "
                    "receive it."
                )
            )
        order = Order(
            customer_name=customer.name,
            customer_email=customer.email,
            customer_phone=customer.phone,
            locale=locale if locale in ("vi", "en") else "vi",
            buyer_id=signed_in.id if signed_in is not None else None,
            currency=quote.currency,
            subtotal_amount=quote.subtotal.amount,
            discount_amount=quote.discount.amount,
            total_amount=quote.total.amount,
            discount_kind=quote.discount_kind,
            referral_link_id=attribution.link.id if attribution.link is not None else None,
            referral_click_id=attribution.click_id,
            attribution_reason=attribution.reason.value,
            attribution_flagged=attribution.flagged,
        )
        for (product, _quantity), line in zip(ordered, quote.lines, strict=True):
            order.lines.append(
                OrderLine(
                    product_id=product.id,
                    product_name=product.localized("name", order.locale),
                    quantity=line.quantity,
                    unit_list_amount=line.unit_list.amount,
                    unit_amount=line.unit.amount,
                    line_total_amount=line.line_total.amount,
                )
            )
        order.refresh_status()
        db.session.add(order)
        db.session.flush()

    _open_checkout_session(order)
    return order


def _open_checkout_session(order: Order) -> None:
    """Ask Stripe for the order's Checkout Session and keep it on the order.

    Raises:
        PaymentProviderError: Stripe refused or could not be reached (the order is closed).
    """
    expires_in = timedelta(minutes=int(current_app.config["CHECKOUT_EXPIRY_MINUTES"]))
    try:
        session = stripe_gateway.create_checkout_session(
            order,
            success_url=absolute_url("shop.order", token=order.token, **{"from": "checkout"}),
            cancel_url=absolute_url("shop.order_cancelled", token=order.token),
            expires_in=expires_in,
        )
    except stripe_gateway.PaymentProviderError:
        with transaction():
            order.closed_at = utcnow()
            order.closed_reason = CHECKOUT_FAILED
            order.refresh_status()
        raise
    with transaction():
        order.checkout_session_id = session.id
        order.checkout_url = session.url
        order.checkout_expires_at = session.expires_at


def checkout_outcome(token: str) -> tuple[OrderStatus, str, bool] | None:
    """How the order this browser was last sent to pay stands: its status, its number and
    whether it is paid (None: no such order). One statement, columns only. Raises nothing."""
    row = db.session.execute(
        select(Order.status, Order.number, Order.paid_at).where(Order.token == token)
    ).one_or_none()
    if row is None:
        return None
    return row.status, row.number, row.paid_at is not None


def order_left_unpaid(token: str | None) -> Order | None:
    """The order this browser was last sent to pay, while it waits unpaid (Stripe's cancel
    button, or a tab left behind): its details fill the checkout form again. None otherwise.
    Raises nothing."""
    if not token:
        return None
    return db.session.scalar(
        select(Order).where(
            Order.token == token, Order.status == OrderStatus.PENDING, Order.paid_at.is_(None)
        )
    )


def close_previous_checkout(token: str | None, now: datetime) -> Order | None:
    """Before this browser opens another Checkout Session for its cart, close the one it was
    sent to last (``token`` names its order), so one cart can never be paid twice: from a
    second tab, or after Stripe's cancel button and checkout again.

    Returns that order when the cart is being paid there already (its session is complete,
    or its payment is settling): the customer should be shown it rather than a second order.
    None when there was nothing to close, or it is closed now (Stripe's
    ``checkout.session.expired`` webhook closes the order).

    Raises:
        PaymentProviderError: Stripe could not be reached or refused to say how the session
            stands; no new order should be made.
    """
    if not token:
        return None
    previous = db.session.scalar(select(Order).where(Order.token == token))
    if previous is None or previous.status is not OrderStatus.PENDING:
        return None
    if previous.payment_intent_id:  # paid by a method that settles later
        return previous
    if not previous.checkout_session_id or not can_resume_payment(previous, now):
        return None
    try:
        stripe_gateway.expire_checkout_session(previous.checkout_session_id)
    except stripe_gateway.PaymentProviderUnavailable:
        raise
    except stripe_gateway.PaymentProviderError:
        # Refused: the session is no longer open. Paid (the webhook is on its way), or expired.
        session = stripe_gateway.retrieve_checkout_session(previous.checkout_session_id)
        if session.status == "complete":
            return previous
    return None


# --- the customer's pages -------------------------------------------------------------------


def order_by_token(token: str) -> Order:
    """The order whose pages live at ``/shop/orders/<token>``, with its lines.

    The token is the only key: order ids and numbers never reach an order's public pages.

    Raises:
        NotFound: no order has this token.
    """
    if not token or len(token) > 64:
        raise NotFound()
    order = db.session.scalar(
        select(Order)
        .where(Order.token == token)
        .options(selectinload(Order.lines).joinedload(OrderLine.product))
    )
    if order is None:
        raise NotFound()
    return order


def can_resume_payment(order: Order, now: datetime) -> bool:
    """Whether the customer may go back to the order's Checkout Session: pending, not expired,
    and not yet finished there (a payment that settles later, such as a bank debit, has its
    payment intent already: Stripe's page would only say the session is complete)."""
    expires = order.checkout_expires_at
    if order.status is not OrderStatus.PENDING or not order.checkout_url or expires is None:
        return False
    if order.payment_intent_id:
        return False
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)  # SQLite gives naive datetimes; they are UTC
    return expires > now


def shows_code(order: Order) -> bool:
    """Whether the customer's pages show the redemption code and its QR.

    Only once the webhook has confirmed the payment (and the amounts matched), and until a
    full refund or a dispute takes it away; a redeemed order keeps showing it, as a record.
    """
    return order.redeemable or order.redeemed_at is not None
