"""The public storefront: products, the cart, checkout and the customer's order pages.

No account needed. Customers arrive here from employees' referral links; signed-in people of
the company see staff prices and buy through the same checkout at those prices. The cart
lives in the session (``perks.shop.cart``); checkout creates the order and its Stripe
Checkout Session by POST only (``perks.shop.checkout.place_order``) and sends the customer
to Stripe. An order's pages are reached by its unguessable token alone, and never leak it.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from perks.db import utcnow
from perks.errors import NotFound, PerksError, ValidationFailed
from perks.extensions import limiter
from perks.forms import ConfirmForm
from perks.payments.stripe_gateway import (
    PaymentProviderError,
    PaymentProviderUnavailable,
    checkout_origins,
)
from perks.people.models import User
from perks.qr import qr_png_bytes, qr_svg, qr_svg_bytes
from perks.security import CONTENT_SECURITY_POLICY
from perks.shop import cart, checkout, queries
from perks.shop.attribution import REFERRAL_COOKIE, AttributionReason
from perks.shop.forms import AddToCartForm, CheckoutForm, QuantityForm
from perks.shop.models import OrderStatus, Product
from perks.text import trim

bp = Blueprint("shop", __name__, url_prefix="/shop")

Page = str | tuple[str, int]

#: the session key remembering the order the cart was sent to Stripe with; once that order
#: is paid, its page empties the cart
CHECKOUT_ORDER_KEY = "checkout_order"

#: Stripe's hosted checkout page (or the sandbox's): the checkout form's POST ends in a
#: redirect there, which a browser only follows if the page's CSP allows that form action


@bp.context_processor
def _cart_badge() -> dict[str, object]:
    """How many items the cart holds, for the storefront's cart button (no query)."""
    return {"cart_count": cart.item_count(session)}


#: the order's own page (it empties the cart itself), and answers that are not pages
_NOT_SETTLING = frozenset(
    {"shop.order", "shop.order_status", "shop.order_qr_png", "shop.order_qr_svg"}
)


@bp.before_request
def _settle_the_checkout_order() -> None:
    """Once the order this browser was last sent to pay is paid, its cart has done its job:
    emptied on any storefront page, not only on the order's page Stripe returns to (a tab
    closed on the way back would leave it there to be paid twice). An order that closed
    unpaid is forgotten and its cart kept. The order's own page does this itself; its status
    and QR files are not pages to say it on."""
    token = session.get(CHECKOUT_ORDER_KEY)
    if not token or request.endpoint in _NOT_SETTLING:
        return
    outcome = checkout.checkout_outcome(token)
    if outcome is None:
        session.pop(CHECKOUT_ORDER_KEY, None)
        return
    status, number, paid = outcome
    if paid:
        cart.clear_cart(session)
        session.pop(CHECKOUT_ORDER_KEY, None)
        flash(
            _(
                "Your order %(number)s is paid: its code is in the e-mail we sent you.",
                number=number,
            ),
            "success",
        )
    elif status is not OrderStatus.PENDING:
        session.pop(CHECKOUT_ORDER_KEY, None)


def _staff_prices() -> bool:
    return queries.sees_staff_prices(current_user)


def _buyer() -> User | None:
    return current_user if current_user.is_authenticated else None


def _private(response: Response) -> Response:
    """An order's page: its URL is a secret, so no Referer carries it and nothing caches it."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


# --- products -------------------------------------------------------------------------------


@bp.get("/")
def index() -> str:
    products = queries.active_products()
    return render_template(
        "shop/index.html",
        categories=queries.storefront_categories(),
        shelves=queries.shelves(products),
        staff_prices=_staff_prices(),
    )


@bp.get("/c/<slug>")
def category(slug: str) -> str:
    shown = queries.category_by_slug(slug)
    return render_template(
        "shop/category.html",
        category=shown,
        categories=queries.storefront_categories(),
        products=queries.active_products(shown.id),
        staff_prices=_staff_prices(),
    )


def _product_page(
    product: Product,
    form: AddToCartForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> Page:
    form = form or AddToCartForm(product=product.slug, quantity=1)
    page = render_template(
        "shop/product.html",
        product=product,
        staff_prices=_staff_prices(),
        form=form,
        error=error,
    )
    return page, status


@bp.get("/p/<slug>")
def product(slug: str) -> Page:
    return _product_page(queries.product_by_slug(slug))


# --- the cart -------------------------------------------------------------------------------


def _cart_page(
    error: str | None = None, status: int = 200, refused_line: int | None = None
) -> Page:
    """The cart, with ``error`` above it; ``refused_line``: the product whose new quantity
    ``error`` refuses, whose field shows what was typed, marked refused and described by it."""
    shown, notices = cart.load_cart(session)
    for notice in notices:
        flash(notice, "warning")
    estimate = checkout.preview(
        shown,
        buyer_email=current_user.email if current_user.is_authenticated else "",
        typed_code=None,
        referral_cookie=request.cookies.get(REFERRAL_COOKIE),
        buyer_user=_buyer(),
        now=utcnow(),
    )
    forms = {line.product.id: QuantityForm(quantity=line.quantity) for line in shown.lines}
    page = render_template(
        "shop/cart.html",
        cart=shown,
        preview=estimate,
        quantity_forms=forms,
        form=ConfirmForm(),
        error=error,
        refused_line=refused_line,
        typed_quantity=request.form.get("quantity", "")[:20],
    )
    return page, status


@bp.get("/cart")
def cart_page() -> Page:
    return _cart_page()


@bp.post("/cart/add")
def add_to_cart() -> Response | Page:
    form = AddToCartForm()
    slug = form.product.data or ""
    shown = queries.product_by_slug(slug)  # NotFound: not on sale (any more)
    if not form.validate_on_submit():
        if form.quantity.errors:  # not a number, or beyond any product's: say this one's limit
            form.quantity.errors = [cart.quantity_refusal(shown)]
        return _product_page(shown, form, status=400)
    try:
        line = cart.add_to_cart(session, slug, form.quantity.data or 0)
    except PerksError as error:  # a quantity beyond the limit, another currency, a full cart
        if error.details.get("field") == "quantity":  # said on the field, which takes the focus
            form.quantity.errors = [error.message]
            return _product_page(shown, form, status=error.status_code)
        return _product_page(shown, form, error.message, error.status_code)
    flash(_("Added to your cart: %(item)s.", item=cart.describe(line)), "success")
    return redirect(url_for("shop.cart_page"), 303)


@bp.post("/cart/<int:product_id>/quantity")
def update_cart_line(product_id: int) -> Response | Page:
    form = QuantityForm()
    if not form.validate_on_submit():
        if not form.quantity.errors:
            return _cart_page(_("The request could not be understood."), 400)
        try:  # not a number, or beyond any product's: say this one's limit
            line = cart.line_in_cart(session, product_id)
        except NotFound as error:
            return _cart_page(error.message, error.status_code)
        return _cart_page(cart.quantity_refusal(line.product), 400, product_id)
    try:
        cart.update_quantity(session, product_id, form.quantity.data or 0)
    except PerksError as error:  # not in the cart, or more than one order may hold
        refused = product_id if error.details.get("field") == "quantity" else None
        return _cart_page(error.message, error.status_code, refused)
    flash(_("Your cart was updated."), "success")
    return redirect(url_for("shop.cart_page"), 303)


@bp.post("/cart/<int:product_id>/remove")
def remove_from_cart(product_id: int) -> Response | Page:
    if not ConfirmForm().validate_on_submit():
        return _cart_page(_("The request could not be understood."), 400)
    cart.remove_from_cart(session, product_id)
    flash(_("Removed from your cart."), "success")
    return redirect(url_for("shop.cart_page"), 303)


@bp.post("/cart/clear")
def clear_cart() -> Response | Page:
    if not ConfirmForm().validate_on_submit():
        return _cart_page(_("The request could not be understood."), 400)
    cart.clear_cart(session)
    flash(_("Your cart is empty."), "success")
    return redirect(url_for("shop.cart_page"), 303)


# --- checkout -------------------------------------------------------------------------------


def _estimate(
    shown: cart.Cart, form: CheckoutForm, typed_code: str | None
) -> checkout.CheckoutPreview | None:
    """What the cart costs this buyer now, with what the form holds (None: an empty cart)."""
    return checkout.preview(
        shown,
        buyer_email=form.email.data or "",
        typed_code=typed_code,
        referral_cookie=request.cookies.get(REFERRAL_COOKIE),
        buyer_user=_buyer(),
        now=utcnow(),
    )


def _checkout_page(
    form: CheckoutForm,
    shown: cart.Cart,
    *,
    error: str | None = None,
    status: int = 200,
    typed_code: str | None = None,
) -> Response:
    estimate = _estimate(shown, form, typed_code)
    response = current_app.make_response(
        (
            render_template(
                "shop/checkout.html", form=form, cart=shown, preview=estimate, error=error
            ),
            status,
        )
    )
    # The form's POST is answered with a redirect to Stripe's own page (real Stripe's origin,
    # or the sandbox's process).
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {checkout_origins()}"
    )
    return response


def _cart_for_checkout() -> tuple[cart.Cart, list[str]]:
    shown, notices = cart.load_cart(session)
    for notice in notices:
        flash(notice, "warning")
    return shown, notices


@bp.get("/checkout")
def checkout_page() -> Response:
    shown, _notices = _cart_for_checkout()
    if shown.is_empty:
        flash(_("Your cart is empty: add something first."), "info")
        return redirect(url_for("shop.cart_page"), 303)
    form = CheckoutForm()
    typed_code = None
    left = checkout.order_left_unpaid(session.get(CHECKOUT_ORDER_KEY))
    if left is not None:  # back from Stripe's cancel button: what they typed is not lost
        form.name.data = left.customer_name
        form.email.data = left.customer_email
        form.phone.data = left.customer_phone
        if left.attribution_reason == AttributionReason.TYPED_CODE and left.referral_link:
            typed_code = form.referral_code.data = left.referral_link.code
    elif current_user.is_authenticated:
        form.name.data = current_user.name
        form.email.data = current_user.email
    return _checkout_page(form, shown, typed_code=typed_code)


@bp.post("/checkout")
@limiter.limit(lambda: current_app.config["CHECKOUT_RATE_LIMIT"])
def place_order() -> Response:
    form = CheckoutForm()
    shown, notices = _cart_for_checkout()
    if shown.is_empty:
        flash(_("Your cart is empty: add something first."), "info")
        return redirect(url_for("shop.cart_page"), 303)
    typed_code = trim(form.referral_code.data or "") or None
    if not form.validate_on_submit():
        return _checkout_page(form, shown, status=400, typed_code=typed_code)
    if notices:  # the cart changed under the customer: let them see the new total first
        return _checkout_page(form, shown, status=409, typed_code=typed_code)
    estimate = _estimate(shown, form, typed_code)
    higher = estimate and checkout.total_rose(form.quoted_total.data, estimate)
    if higher:  # what they typed took a discount away: they see it here, not at Stripe
        return _checkout_page(form, shown, error=higher, status=409, typed_code=typed_code)
    try:
        paying = checkout.close_previous_checkout(session.get(CHECKOUT_ORDER_KEY), utcnow())
        if paying is not None:  # this cart is being paid already (another tab): no second order
            flash(_("This cart is already being paid for: here is its order."), "info")
            paying_url = url_for("shop.order", token=paying.token) + "?from=checkout"
            return redirect(paying_url, 303)
        order = checkout.place_order(
            shown.items(),
            checkout.Customer(
                name=form.name.data or "", email=form.email.data or "", phone=form.phone.data or ""
            ),
            typed_code=typed_code,
            referral_cookie=request.cookies.get(REFERRAL_COOKIE),
            buyer_user=_buyer(),
            locale=str(get_locale() or "vi"),
            now=utcnow(),
        )
    except ValidationFailed as error:
        field = getattr(form, str(error.details.get("field", "")), None)
        if field is not None:
            field.errors = [*field.errors, error.message]
            return _checkout_page(form, shown, status=400, typed_code=typed_code)
        return _checkout_page(form, shown, error=error.message, status=400, typed_code=typed_code)
    except PaymentProviderUnavailable:
        # Stripe did not answer within its bound (STRIPE_TIMEOUT_SECONDS): the order is closed,
        # the customer was never sent to pay, so nothing can have been charged.
        message = _(
            "Payments are not answering right now, so nothing was charged. Your cart is kept: "
            "please try again in a minute."
        )
        response = _checkout_page(form, shown, error=message, status=503, typed_code=typed_code)
        response.headers["Retry-After"] = "60"
        return response
    except PaymentProviderError:
        message = _(
            "We could not reach our payment provider, so nothing was charged. Your cart is "
            "kept: please try again in a moment."
        )
        return _checkout_page(form, shown, error=message, status=502, typed_code=typed_code)
    session[CHECKOUT_ORDER_KEY] = order.token
    return redirect(order.checkout_url or url_for("shop.order", token=order.token), 303)


# --- the customer's order -------------------------------------------------------------------


@bp.get("/orders/<token>")
def order(token: str) -> Response:
    shown = checkout.order_by_token(token)
    if shown.paid_at is not None and session.get(CHECKOUT_ORDER_KEY) == shown.token:
        # Paid: the cart it was made from has done its job.
        cart.clear_cart(session)
        session.pop(CHECKOUT_ORDER_KEY, None)
    showing_code = checkout.shows_code(shown)
    response = current_app.make_response(
        render_template(
            "shop/order.html",
            order=shown,
            shows_code=showing_code,
            qr=qr_svg(shown.redemption_code) if showing_code else None,
            from_checkout=request.args.get("from") == "checkout",
            resumable=checkout.can_resume_payment(shown, utcnow()),
        )
    )
    return _private(response)


@bp.get("/orders/<token>/status")
def order_status(token: str) -> Response:
    """What the order page polls while the payment is being confirmed (no code in it): the
    order's status, or ``checking`` once Stripe reported a payment that does not match it."""
    shown = checkout.order_by_token(token)
    if shown.mismatch:  # Stripe's payment did not match: never "pending" again by itself
        response = jsonify(status="checking", label=_("Payment being checked"))
    else:
        response = jsonify(status=shown.status.value, label=shown.status.label)
    return _private(response)


def _qr_file(token: str) -> str:
    shown = checkout.order_by_token(token)
    if not checkout.shows_code(shown):
        raise NotFound()
    return shown.redemption_code


@bp.get("/orders/<token>/qr.png")
def order_qr_png(token: str) -> Response:
    response = current_app.response_class(qr_png_bytes(_qr_file(token)), mimetype="image/png")
    return _private(response)


@bp.get("/orders/<token>/qr.svg")
def order_qr_svg(token: str) -> Response:
    response = current_app.response_class(qr_svg_bytes(_qr_file(token)), mimetype="image/svg+xml")
    return _private(response)


@bp.get("/orders/<token>/cancelled")
def order_cancelled(token: str) -> Response:
    """Where Stripe sends a customer who left its payment page without paying."""
    shown = checkout.order_by_token(token)
    if shown.paid_at is not None or shown.mismatch:  # money came in: the order page says how
        return _private(redirect(url_for("shop.order", token=shown.token), 303))
    resumable = checkout.can_resume_payment(shown, utcnow())
    response = current_app.make_response(
        render_template(
            "shop/order_cancelled.html",
            order=shown,
            resumable=resumable,
        )
    )
    return _private(response)
