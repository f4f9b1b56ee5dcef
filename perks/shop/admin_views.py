"""The shop's back office: products and categories (HR and finance), orders and refunds
(finance).

Who may do what:

* products and categories: HR, who write the storefront, and finance, whose prices they are;
  every change is audited with the old and new values;
* orders, their Stripe events and refunds: finance (the customer's full details are shown
  here only);
* admins: everything, as everywhere.

Views turn forms into plain data, call one service, and turn domain errors into form errors
or messages; the services audit.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from perks.errors import ChangedMeanwhile, Conflict, ValidationFailed
from perks.forms import (
    ConfirmForm,
    Form,
    ask_for_the_file_again,
    entered_values,
    page_arg,
    require_confirmation,
)
from perks.money import Money, format_money
from perks.payments.stripe_gateway import PaymentProviderError, PaymentProviderUnavailable
from perks.people.access import roles_required
from perks.people.models import Role
from perks.shop import admin_queries, product_admin, refunds
from perks.shop.admin_forms import (
    CategoryForm,
    EditedProductForm,
    OrderFilterForm,
    ProductFilterForm,
    ProductForm,
    RefundForm,
)
from perks.shop.attribution import reason_label as attribution_reason_label
from perks.shop.models import Order, OrderStatus, Product

bp = Blueprint("shop_admin", __name__, url_prefix="/manage")

Page = str | tuple[str, int]

shelf_keepers = roles_required(Role.HR, Role.FINANCE)
finance_only = roles_required(Role.FINANCE)


def _field_error(form: Form, error: ValidationFailed) -> None:
    """Put a service's refusal on the field it names, else above the form."""
    name = error.details.get("field")
    field = getattr(form, str(name), None) if name else None
    if field is not None and hasattr(field, "errors"):
        if not isinstance(field.errors, list):
            field.errors = list(field.errors)
        field.errors.append(error.message)
    else:
        form.form_errors.append(error.message)


# --- products -------------------------------------------------------------------------------


@bp.get("/products")
@shelf_keepers
def products() -> Page:
    categories = product_admin.categories_for_admin()
    form = ProductFilterForm(request.args, categories=categories)
    if request.args and not form.validate():
        page = render_template(
            "shop/admin/products.html", form=form, products=None, confirm_form=ConfirmForm()
        )
        return page, 400
    chosen = form.category.data or ""
    shown = product_admin.products_for_admin(
        category_id=int(chosen) if chosen.isdigit() else None,
        uncategorised=chosen == "none",
        active={"active": True, "inactive": False}.get(form.active.data or ""),
        currency=form.currency.data or "",
    )
    return render_template(
        "shop/admin/products.html", form=form, products=shown, confirm_form=ConfirmForm()
    )


def _product_form(product: Product | None = None, *, as_saved: bool = False) -> ProductForm:
    """The form for a new product, or for changes of ``product`` (an ``EditedProductForm``,
    carrying its row version): filled from the request's form, or on a GET (or
    ``as_saved``) with the product as it is."""
    categories = product_admin.categories_for_admin()
    if product is None:
        return ProductForm(categories=categories)
    if request.method == "GET" or as_saved:
        return EditedProductForm.for_product(product, categories=categories, formdata=None)
    return EditedProductForm(categories=categories)


#: what a product's form sets: (form field, what the service would set, as compared)
PRODUCT_FIELDS: tuple[tuple[str, Callable[[product_admin.ProductData], object]], ...] = (
    ("name_vi", lambda d: d.name_vi.strip()),
    ("name_en", lambda d: d.name_en.strip()),
    ("description_vi", lambda d: d.description_vi.strip()),
    ("description_en", lambda d: d.description_en.strip()),
    ("category_id", lambda d: d.category_id),
    ("currency", lambda d: d.price.currency),
    ("price", lambda d: d.price),
    ("staff_price", lambda d: d.staff_price),
    ("staff_discount", lambda d: d.staff_discount_bps),
    ("redemption_mode", lambda d: d.redemption_mode),
    ("max_quantity_per_order", lambda d: d.max_quantity_per_order),
    ("active", lambda d: d.active),
)


def _entered(refused: ProductForm, product: Product) -> list[tuple[str, str]]:
    """What a refused form said where it differs from the product as it is now: (label,
    what was entered), so the person can enter their changes again without guessing them.
    Amounts are compared as read (2.000.000 and 2000000 are one price)."""
    mine, saved = refused.data_for_service(), product_admin.product_data_of(product)
    differing = [name for name, value in PRODUCT_FIELDS if value(mine) != value(saved)]
    if mine.slug and mine.slug != saved.slug:
        differing.append("slug")
    entered = entered_values(refused, differing)
    if refused.image.data:
        entered.append((str(refused.image.label.text), _("A new image: choose it again.")))
    return entered


@bp.route("/products/new", methods=["GET", "POST"])
@shelf_keepers
def create_product() -> Response | Page:
    form = _product_form()
    if form.validate_on_submit():
        try:
            product = product_admin.create_product(
                form.data_for_service(),
                actor=current_user,
                image=form.image_bytes(),
                sending=form.sending.data or None,
            )
        except ValidationFailed as error:
            _field_error(form, error)
        else:
            flash(_("“%(name)s” is saved.", name=product.name), "success")
            return redirect(url_for(".edit_product", product_id=product.id), 303)
    status = 400 if form.is_submitted() else 200
    ask_for_the_file_again(form.image)
    return render_template("shop/admin/product_form.html", form=form, product=None), status


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@shelf_keepers
def edit_product(product_id: int) -> Response | Page:
    product = product_admin.get_product(product_id)
    form = _product_form(product)
    assert isinstance(form, EditedProductForm)
    entered: list[tuple[str, str]] = []
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            product_admin.update_product(
                product.id,
                form.data_for_service(),
                actor=current_user,
                image=form.image_bytes(),
                expected_row_version=int(form.row_version.data),
            )
        except ChangedMeanwhile as error:
            # the form shows the product as it is now (and its row version: saving it again
            # is a decision made on what is saved), with what was entered beside it
            product = product_admin.get_product(product.id)
            entered = _entered(form, product)
            form = _product_form(product, as_saved=True)
            form.form_errors.append(error.message)
            status = error.status_code
        except ValidationFailed as error:
            _field_error(form, error)
        else:
            flash(_("Changes saved."), "success")
            return redirect(url_for(".edit_product", product_id=product.id), 303)
    elif form.row_version.errors:
        form.form_errors.append(_("This page is out of date: open the product again."))
    if not entered:  # a refused form (a stale one lists the image among what was entered)
        ask_for_the_file_again(form.image)
    page = render_template(
        "shop/admin/product_form.html",
        form=form,
        product=product,
        confirm_form=ConfirmForm(),
        entered=entered,
    )
    return page, status


@bp.post("/products/<int:product_id>/deactivate")
@shelf_keepers
def deactivate_product(product_id: int) -> Response:
    require_confirmation()
    product = product_admin.set_product_active(product_id, False, actor=current_user)
    flash(
        _("“%(name)s” is off sale: the storefront no longer shows it.", name=product.name),
        "success",
    )
    return redirect(url_for(".products"), 303)


@bp.post("/products/<int:product_id>/reactivate")
@shelf_keepers
def reactivate_product(product_id: int) -> Response:
    require_confirmation()
    product = product_admin.set_product_active(product_id, True, actor=current_user)
    flash(_("“%(name)s” is on sale again.", name=product.name), "success")
    return redirect(url_for(".products"), 303)


# --- categories -----------------------------------------------------------------------------


@bp.get("/categories")
@shelf_keepers
def categories() -> str:
    return render_template(
        "shop/admin/categories.html",
        categories=product_admin.categories_for_admin(),
        counts=product_admin.product_counts(),
        confirm_form=ConfirmForm(),
    )


@bp.route("/categories/new", methods=["GET", "POST"])
@shelf_keepers
def create_category() -> Response | Page:
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            category = product_admin.create_category(
                form.data_for_service(), actor=current_user, sending=form.sending.data or None
            )
        except ValidationFailed as error:
            _field_error(form, error)
        else:
            flash(_("The category “%(name)s” is saved.", name=category.name), "success")
            return redirect(url_for(".categories"), 303)
    status = 400 if form.is_submitted() else 200
    return render_template("shop/admin/category_form.html", form=form, category=None), status


@bp.route("/categories/<int:category_id>/edit", methods=["GET", "POST"])
@shelf_keepers
def edit_category(category_id: int) -> Response | Page:
    category = product_admin.get_category(category_id)
    form = CategoryForm(obj=category if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            product_admin.update_category(category.id, form.data_for_service(), actor=current_user)
        except ValidationFailed as error:
            _field_error(form, error)
        else:
            flash(_("Changes saved."), "success")
            return redirect(url_for(".categories"), 303)
    status = 400 if form.is_submitted() else 200
    page = render_template("shop/admin/category_form.html", form=form, category=category)
    return page, status


@bp.post("/categories/<int:category_id>/move")
@shelf_keepers
def move_category(category_id: int) -> Response:
    require_confirmation()
    offset = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if offset is None:
        abort(400)
    product_admin.move_category(category_id, offset, actor=current_user)
    return redirect(url_for(".categories"), 303)


# --- orders ---------------------------------------------------------------------------------


@bp.get("/orders")
@finance_only
def orders() -> Page:
    form = OrderFilterForm(request.args)
    if request.args and not form.validate():
        return render_template("shop/admin/orders.html", form=form, page=None, items={}), 400
    filters = admin_queries.OrderFilters(
        q=form.q.data or "",
        status=OrderStatus(form.status.data) if form.status.data else None,
        currency=form.currency.data or "",
        attention=bool(form.attention.data),
        date_from=form.date_from.data,
        date_to=form.date_to.data,
    )
    page = admin_queries.orders_page(filters, page_arg())
    items = admin_queries.line_counts([order.id for order in page.items])
    return render_template("shop/admin/orders.html", form=form, page=page, items=items)


#: why a never-paid order closed (``Order.closed_reason``), as its page says it
CLOSED_REASONS = {
    "expired": _l("Its payment page expired unpaid"),
    "payment_failed": _l("Its payment did not go through"),
    "checkout_failed": _l("Its payment page could not be opened"),
    "cancelled": _l("Cancelled"),
}


def _refund_form(order: Order, data: dict[str, str] | None = None) -> RefundForm:
    if data is not None:
        return RefundForm(currency=order.currency)
    form = RefundForm(formdata=None, currency=order.currency)
    form.request_token.data = refunds.new_request_token()
    return form


def _order_page(
    order_id: int,
    refund_form: RefundForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> Page:
    order = admin_queries.order_for_back_office(order_id)
    requests = admin_queries.refund_requests_of(order.id)
    not_refundable = refunds.why_not_refundable(order, requests)
    left = refunds.refundable(order, requests)
    form = refund_form or _refund_form(order)
    if refund_form is None and not_refundable is None:
        form.amount.data = format_money(left)
    page = render_template(
        "shop/admin/order.html",
        order=order,
        events=admin_queries.stripe_events_of(order.id),
        refund_requests=requests,
        refund_form=form,
        refundable=left,
        requested=refunds.requested_total(order, requests),
        not_refundable=not_refundable,
        attribution=attribution_reason_label(order.attribution_reason),
        closed_reason=CLOSED_REASONS.get(order.closed_reason, order.closed_reason),
        error=error,
        money_of=Money,
    )
    return page, status


@bp.get("/orders/<int:order_id>")
@finance_only
def order(order_id: int) -> Page:
    return _order_page(order_id)


@bp.post("/orders/<int:order_id>/refund")
@finance_only
def refund_order(order_id: int) -> Response | Page:
    shown = admin_queries.order_for_back_office(order_id)
    form = _refund_form(shown, request.form)
    if not form.validate_on_submit():
        return _order_page(order_id, form, status=400)
    assert form.parsed_amount is not None
    try:
        refunds.request_refund(
            shown.id,
            form.parsed_amount,
            form.reason.data or "",
            current_user,
            request_token=form.request_token.data,
        )
    except ValidationFailed as error:
        _field_error(form, error)
        return _order_page(order_id, form, status=400)
    except Conflict as error:
        return _order_page(order_id, form, error=error.message, status=409)
    except PaymentProviderUnavailable:
        # No answer in time: Stripe may have made the refund. The form keeps its token, so
        # sending it again asks with the same idempotency key and can never refund twice.
        message = _(
            "Payments are not answering right now, so we cannot tell whether the refund was "
            "made. Send the form again in a minute: it will not refund twice."
        )
        return _order_page(order_id, form, error=message, status=503)
    except PaymentProviderError as error:
        # Stripe keeps the answer of a key: asking again needs a new one.
        form.request_token.data = refunds.new_request_token()
        message = _(
            "Stripe did not make the refund (%(reason)s). Nothing was refunded: try again "
            "later, or from Stripe's dashboard.",
            reason=error.message,
        )
        return _order_page(order_id, form, error=message, status=502)
    flash(
        _(
            "Refund of %(amount)s requested. The order updates when Stripe confirms it.",
            amount=format_money(form.parsed_amount),
        ),
        "success",
    )
    return redirect(url_for(".order", order_id=order_id), 303)
