"""The order counter: a redeemer scans or types a customer's code and marks the order redeemed.

``GET /redeem-order?code=...`` only reads: it shows the order's items, the customer's first
name (nothing else of them), whether it is paid and not yet redeemed, and why not when it
cannot be redeemed. ``POST /redeem-order/redeem`` marks it (``redemption.redeem_order``): an
order is redeemed once, and a second attempt says when and by whom. Both are rate limited
per person (``REDEEM_RATE_LIMIT``), like the perk counter.

The phone camera scans the QR code in the page (``static/js/scan-code.js`` with the vendored
jsQR decoder, shared with the perk counter), and so does any scanner that types what it reads:
the code, or a URL that carries it (``?code=``) or the order's page, are all accepted. A code
of a perk claim sends the redeemer to the perk counter (``perks.counters``), and the perk
counter sends an order's code here.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from perks import counters
from perks.errors import Conflict, NotFound
from perks.extensions import limiter
from perks.people.access import roles_required
from perks.people.models import Role
from perks.shop import admin_queries, redemption
from perks.shop.admin_forms import OrderLookupForm, RedeemOrderForm
from perks.shop.models import Order

bp = Blueprint("order_redeem", __name__)

Page = str | tuple[str, int]

redeemers = roles_required(Role.REDEEMER)

#: the order counter, as the perk counter knows it (``perks.counters``, registered in
#: ``perks.register_receivers``)
COUNTER = counters.Counter(
    name="orders",
    endpoint="order_redeem.redeem",
    recognise=admin_queries.redemption_code_of,
    message=_l("This is the code of a shop order, not of a perk claim."),
    link_text=_l("Redeem it at the order counter"),
    explain=redemption.order_number_note,
)


def _per_person() -> str:
    return f"redeem-order:{current_user.get_id()}"


limited = limiter.limit(lambda: current_app.config["REDEEM_RATE_LIMIT"], key_func=_per_person)


def _page(
    form: OrderLookupForm,
    order: Order | None = None,
    error: str | None = None,
    status: int = 200,
) -> Page:
    problem = redemption.why_not_redeemable(order) if order is not None else None
    if order is not None and order.redeemed_at is not None and error is None:
        # Looked up, not a second attempt: when and by whom, as a fact
        problem = redemption.redeemed_note(order)
    # The button carries the order's own code, whatever was scanned to find it.
    redeem_form = (
        RedeemOrderForm(formdata=None, code=order.redemption_code)
        if order is not None and problem is None
        else None
    )
    code = form.code.data or ""
    page = render_template(
        "shop/redeem_order.html",
        form=form,
        order=order,
        problem=problem,
        redeem_form=redeem_form,
        error=error,
        # A code no order has may be a perk claim's: the page sends the redeemer there.
        elsewhere=counters.elsewhere(code, here=COUNTER.name) if status == 404 and code else None,
    )
    return page, status


@bp.get("/redeem-order")
@redeemers
@limited
def redeem() -> Page:
    form = OrderLookupForm(request.args)
    if "code" not in request.args:
        return _page(form)
    if not form.validate():
        return _page(form, status=400)
    try:
        order = admin_queries.order_for_redeemer(form.code.data or "")
    except NotFound as error:
        return _page(form, error=error.message, status=404)
    return _page(form, order)


@bp.post("/redeem-order/redeem")
@redeemers
@limited
def mark_redeemed() -> Response | Page:
    redeem_form = RedeemOrderForm()
    code = redeem_form.code.data or ""
    lookup = OrderLookupForm(formdata=None, code=code)
    if not redeem_form.validate_on_submit():
        return _page(lookup, error=_("Enter or scan a code."), status=400)
    try:
        order = redemption.redeem_order(admin_queries.scanned_code(code), current_user)
    except NotFound as error:
        return _page(lookup, error=error.message, status=404)
    except Conflict as error:
        # Already redeemed (when, by whom), unpaid, refunded, disputed or a mismatch.
        shown = admin_queries.order_for_redeemer(code)
        return _page(lookup, shown, error=error.message, status=409)
    flash(
        _(
            "Order %(number)s is redeemed for %(name)s.",
            number=order.number,
            name=order.customer_first_name,
        ),
        "success",
    )
    return redirect(url_for(".redeem", code=order.redemption_code), 303)
