"""Administration: the audit log, outgoing messages, and the development-only e-mail outbox."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from perks import mail
from perks.admin import queries
from perks.admin.audit_details import (
    action_filter_choices,
    action_label,
    readable_details,
    target_label,
)
from perks.errors import Conflict
from perks.forms import ConfirmForm, DayField, Form, days_in_order, page_arg
from perks.i18n import day_start
from perks.people.access import roles_required
from perks.people.models import Role

bp = Blueprint("admin", __name__)


class AuditFilterForm(Form):
    class Meta:
        csrf = False  # a GET search form changes nothing

    actor = SelectField(_l("Who"), coerce=str, validators=[Optional()])
    #: a full code (``people.created``) or an area's prefix (``people.``): the links of the
    #: free-text filter this replaced keep working; anything else is refused, named
    action = SelectField(_l("Action"), coerce=str, default="")
    date_from = DayField(_l("Since"), validators=[Optional()])
    date_to = DayField(_l("Until"), validators=[Optional()])

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        """The fields' own checks, then an until day not before the since day."""
        return super().validate(extra_validators) and days_in_order(self.date_from, self.date_to)


@bp.get("/admin/audit")
@roles_required(Role.ADMIN)
def audit_log() -> tuple[str, int] | str:
    form = AuditFilterForm(request.args)
    form.actor.choices = [
        SelectChoice("", _l("Anyone")),
        SelectChoice(queries.SYSTEM, _l("System")),  # tasks and the command line
        *(SelectChoice(str(u.id), u.name) for u in queries.audit_actors()),
    ]
    form.action.choices = [SelectChoice("", _l("Any action"))] + [
        SelectChoice(value, label, optgroup=area) for value, label, area in action_filter_choices()
    ]
    if request.args and not form.validate():
        return render_template("admin/audit.html", form=form, page=None), 400
    # company days, as UTC moments: SQLite compares the stored UTC text, so a moment in the
    # company's zone would be read 7 hours off there
    page = queries.audit_events(
        actor=form.actor.data or None,
        action=form.action.data or "",
        start=day_start(form.date_from.data) if form.date_from.data else None,
        end=day_start(form.date_to.data + timedelta(days=1)) if form.date_to.data else None,
        page=page_arg(),
    )
    return render_template(
        "admin/audit.html",
        form=form,
        page=page,
        details=readable_details(page.items),
        action_label=action_label,
        target_label=target_label,
    )


def _require_outbox() -> None:
    if current_app.config["PERKS_ENV"] == "production":
        abort(404)


@bp.get("/dev/outbox")
@roles_required(Role.ADMIN)
def outbox() -> str:
    _require_outbox()
    page = queries.outbox_messages(page=page_arg())
    return render_template("admin/outbox.html", page=page)


@bp.get("/dev/outbox/<int:message_id>")
@roles_required(Role.ADMIN)
def outbox_message(message_id: int) -> str:
    _require_outbox()
    return render_template("admin/outbox_message.html", message=queries.outbox_message(message_id))


@bp.get("/admin/messages")
@roles_required(Role.ADMIN)
def messages() -> tuple[str, int]:
    """Every outgoing message with its delivery state (never its body: it may hold a link).
    An unknown ``?status=`` is a 400 that says so, not the whole list as if it were "All"."""
    status = request.args.get("status", "")
    statuses = {s.value: s for s in mail.MessageStatus}
    known = not status or status in statuses
    page = queries.outbox_messages(page=page_arg(), status=statuses.get(status)) if known else None
    return render_template(
        "admin/messages.html",
        page=page,
        status=status,
        statuses=list(mail.MessageStatus),
        counts=queries.message_counts(),
        confirm_form=ConfirmForm(),
    ), 200 if known else 400


@bp.post("/admin/messages/<int:message_id>/retry")
@roles_required(Role.ADMIN)
def retry_message(message_id: int) -> Response:
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            mail.retry_message(message_id, actor=current_user)
        except Conflict as error:
            flash(str(error), "danger")
        else:
            flash(_("The message is queued again."), "success")
    return redirect(url_for("admin.messages", status=mail.MessageStatus.FAILED.value))
