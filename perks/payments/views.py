"""Stripe's webhook endpoint, and the event log admins and finance read.

``POST /stripe/webhook`` is called by Stripe (or the sandbox), never by a browser: it has no
session, no CSRF token (the signature stands in for both) and no rate limit (Stripe's retries
must get through); it answers 400 to a delivery it cannot trust, 200 once the event is stored
(or was already), and 500 when applying it failed, so that Stripe delivers it again.
"""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from perks.errors import NotFound
from perks.extensions import csrf, limiter
from perks.forms import ConfirmForm, Form, enum_choices, page_arg, require_confirmation
from perks.payments import event_queries, webhooks
from perks.payments.models import EventOutcome, event_description
from perks.payments.stripe_gateway import InvalidWebhook
from perks.people.access import roles_required
from perks.people.models import Role

bp = Blueprint("payments", __name__)
bp.add_app_template_filter(event_description, "stripe_event")

#: the back office's page of one order (``order_id``); the log links to it when it exists
ORDER_PAGE_ENDPOINT = "shop_admin.order"


# --- the webhook -----------------------------------------------------------------------------


@bp.post("/stripe/webhook")
@csrf.exempt
@limiter.exempt
def stripe_webhook() -> tuple[Response, int]:
    log = current_app.logger
    try:
        stored = webhooks.handle(request.get_data(), request.headers.get("Stripe-Signature"))
    except InvalidWebhook as error:
        log.warning("stripe webhook refused (400): %s", error)
        return jsonify(error="invalid webhook"), 400
    except Exception:
        # Rolled back: nothing of it is stored, and Stripe delivers it again later.
        log.exception("stripe webhook failed (500); Stripe will deliver it again")
        return jsonify(error="the event could not be processed"), 500
    if stored is None:
        log.info("stripe webhook: duplicate delivery, nothing changed")
        return jsonify(received=True, duplicate=True), 200
    log.info(
        "stripe webhook %s %s: %s %s",
        stored.event_id,
        stored.type,
        stored.outcome.value,
        stored.detail,
    )
    return jsonify(received=True), 200


# --- the event log -----------------------------------------------------------------------------


class EventFilterForm(Form):
    class Meta:
        csrf = False  # a GET search form changes nothing

    outcome = SelectField(_l("Outcome"), validators=[Optional()])
    type = SelectField(_l("Event type"), validators=[Optional()])


def _order_links(order_ids: set[int]) -> dict[int, tuple[str, str | None]]:
    """Each order's number, and the link to its back-office page where there is one."""
    links: dict[int, tuple[str, str | None]] = {}
    for order_id, number in event_queries.order_numbers(order_ids).items():
        try:
            url: str | None = url_for(ORDER_PAGE_ENDPOINT, order_id=order_id)
        except BuildError:
            url = None
        links[order_id] = (number, url)
    return links


@bp.get("/admin/stripe-events")
@roles_required(Role.FINANCE)
def events() -> str | tuple[str, int]:
    form = EventFilterForm(request.args)
    form.outcome.choices = [SelectChoice("", _l("Any outcome")), *enum_choices(EventOutcome)]
    types = event_queries.event_types()
    form.type.choices = [SelectChoice("", _l("Any type"))] + [
        SelectChoice(name, name) for name in types
    ]
    if request.args and not form.validate():
        return render_template("payments/events.html", form=form, page=None, orders={}), 400
    page = event_queries.stripe_events(
        outcome=EventOutcome(form.outcome.data) if form.outcome.data else None,
        event_type=form.type.data or "",
        page=page_arg(),
    )
    orders = _order_links({e.order_id for e in page.items if e.order_id is not None})
    return render_template("payments/events.html", form=form, page=page, orders=orders)


@bp.get("/admin/stripe-events/<int:stored_id>")
@roles_required(Role.FINANCE)
def event(stored_id: int) -> str:
    stored = event_queries.stripe_event(stored_id)
    orders = _order_links({stored.order_id} if stored.order_id is not None else set())
    return render_template(
        "payments/event.html",
        event=stored,
        order=orders.get(stored.order_id) if stored.order_id is not None else None,
        payload=json.dumps(stored.payload, indent=2, sort_keys=True, ensure_ascii=False),
        form=ConfirmForm(),
    )


@bp.post("/admin/stripe-events/<int:stored_id>/replay")
@roles_required(Role.ADMIN)
def replay_event(stored_id: int) -> Response:
    require_confirmation()
    try:
        stored = webhooks.replay(stored_id, current_user)
    except NotFound:
        abort(404)
    flash(
        _(
            "Event %(event)s replayed: %(outcome)s.",
            event=stored.event_id,
            outcome=stored.outcome.label,
        ),
        "success",
    )
    return redirect(url_for(".event", stored_id=stored_id))
