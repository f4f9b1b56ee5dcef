"""The sandbox's pages: Stripe's hosted checkout page, and a control page for developers.

``/pay/<session_id>`` is what ``session.url`` points at: the customer sees the order and
pays with a test card, a declined card, or a delayed ("async") method, then goes back to the
shop's ``success_url`` (or ``cancel_url``). ``/`` lists sessions, payments and webhook
deliveries, and does what Stripe's Dashboard (and the customer's bank) would: refunds,
disputes won or lost, events sent again. The hosted page needs no account, as Stripe's does
not; the control page needs the sandbox's secret key (``access.py``): it refunds and disputes
the product's orders. Both are forms a browser posts, so they carry CSRF tokens, unlike the
API.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from stripe_sandbox import operations, service, webhooks
from stripe_sandbox.access import key_required
from stripe_sandbox.errors import StripeApiError
from stripe_sandbox.forms import (
    ActionForm,
    CloseDisputeForm,
    OptionsForm,
    PayForm,
    RefundForm,
)
from stripe_sandbox.settings import SandboxSettings

bp = Blueprint("pages", __name__)


def from_unix(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


@bp.before_request
def start_worker() -> None:
    webhooks.ensure_worker(service.current_settings())


def _settings() -> SandboxSettings:
    return service.current_settings()


# --- the hosted checkout page ---------------------------------------------------------------


def _checkout_or_404(session_id: str) -> service.CheckoutPage:
    try:
        return service.checkout_page(_settings(), session_id)
    except StripeApiError:
        abort(404)


def _render_checkout(
    page: service.CheckoutPage, form: PayForm, *, declined: bool = False, refused: bool = False
) -> str:
    # The page speaks the language the shop asked Stripe for, like Stripe's own page.
    locale = page.locale if page.locale in ("vi", "en") else None
    with force_locale(locale) if locale else nullcontext():
        return render_template("pay.html", page=page, form=form, declined=declined, refused=refused)


@bp.get("/pay/<session_id>")
def checkout_page(session_id: str) -> str:
    return _render_checkout(_checkout_or_404(session_id), PayForm())


@bp.post("/pay/<session_id>")
def pay(session_id: str) -> Response | tuple[str, int]:
    page = _checkout_or_404(session_id)
    form = PayForm()
    if not form.validate():
        return _render_checkout(page, form), 400
    try:
        service.pay_checkout_session(_settings(), session_id, form.method.data)
    except StripeApiError as exc:
        if exc.code == "card_declined":
            return _render_checkout(page, form, declined=True), 402
        return _render_checkout(_checkout_or_404(session_id), form, refused=True), 409
    return redirect(page.success_url, 303)


# --- the control page -----------------------------------------------------------------------


@bp.get("/")
@key_required
def control() -> str:
    return render_template(
        "control.html",
        overview=service.control_overview(_settings()),
        action_form=ActionForm(),
        refund_form=RefundForm(),
        close_form=CloseDisputeForm(),
        options_form=OptionsForm(),
        from_unix=from_unix,
        endpoint=operations.webhook_endpoint(_settings()),
    )


def _done(message: str) -> Response:
    flash(message, "success")
    return redirect(url_for(".control"), 303)


def _refused(exc: StripeApiError) -> Response:
    """A refusal: 404 for an id the sandbox does not know, else a message on the page."""
    if exc.status == 404:
        abort(404)
    flash(_("The sandbox refused: %(reason)s", reason=exc.message), "error")
    return redirect(url_for(".control"), 303)


def _invalid_form() -> Response:
    flash(_("The form was not valid. Reload the page and try again."), "error")
    return redirect(url_for(".control"), 303)


@bp.post("/sessions/<session_id>/expire")
@key_required
def expire_session(session_id: str) -> Response:
    if not ActionForm().validate():
        return _invalid_form()
    try:
        service.expire_checkout_session(_settings(), session_id)
    except StripeApiError as exc:
        return _refused(exc)
    return _done(_("Checkout session %(id)s expired.", id=session_id))


@bp.post("/payments/<payment_intent>/refund")
@key_required
def refund(payment_intent: str) -> Response:
    form = RefundForm()
    if not form.validate():
        return _invalid_form()
    try:
        refunded = service.refund_payment(
            _settings(),
            payment_intent,
            form.amount.data or None,
            deliver_twice=form.deliver_twice.data,
        )
    except StripeApiError as exc:
        return _refused(exc)
    return _done(_("Refund %(id)s created.", id=refunded["id"]))


@bp.post("/payments/<payment_intent>/dispute")
@key_required
def open_dispute(payment_intent: str) -> Response:
    form = ActionForm()
    if not form.validate():
        return _invalid_form()
    try:
        dispute = service.open_dispute(
            _settings(), payment_intent, deliver_twice=form.deliver_twice.data
        )
    except StripeApiError as exc:
        return _refused(exc)
    return _done(_("Dispute %(id)s opened.", id=dispute["id"]))


@bp.post("/disputes/<dispute_id>/close")
@key_required
def close_dispute(dispute_id: str) -> Response:
    form = CloseDisputeForm()
    if not form.validate():
        return _invalid_form()
    try:
        service.close_dispute(
            _settings(),
            dispute_id,
            won=form.outcome.data == "won",
            deliver_twice=form.deliver_twice.data,
        )
    except StripeApiError as exc:
        return _refused(exc)
    return _done(_("Dispute %(id)s closed.", id=dispute_id))


@bp.post("/events/<event_id>/resend")
@key_required
def resend_event(event_id: str) -> Response:
    form = ActionForm()
    if not form.validate():
        return _invalid_form()
    try:
        service.resend_event(_settings(), event_id, deliver_twice=form.deliver_twice.data)
    except StripeApiError as exc:
        return _refused(exc)
    return _done(_("Event %(id)s queued for delivery again.", id=event_id))


@bp.post("/options")
@key_required
def save_options() -> Response:
    form = OptionsForm()
    if not form.validate():
        return _invalid_form()
    service.set_options(_settings(), deliver_twice=form.deliver_twice.data, paused=form.paused.data)
    return _done(_("Sandbox options saved."))


@bp.post("/deliveries/retry")
@key_required
def retry_deliveries() -> Response:
    if not ActionForm().validate():
        return _invalid_form()
    count = service.retry_deliveries_now(_settings())
    return _done(
        ngettext(
            "%(num)d pending delivery will be sent now.",
            "%(num)d pending deliveries will be sent now.",
            count,
        )
    )
