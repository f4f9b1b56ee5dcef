"""The person's notifications: the list, opening one, marking all read, e-mail choices.

Every lookup is the signed-in person's own (the services take the person, never an id of
someone from the request): another person's notification answers 404.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from perks.errors import NotPermitted
from perks.forms import ConfirmForm, page_arg
from perks.notifications import queries, services
from perks.notifications.forms import email_choices_form
from perks.notifications.rendering import render
from perks.people.access import login_required

bp = Blueprint("notifications", __name__)


@bp.app_template_global()
def notification_text(kind: str, params: dict[str, object]) -> object:
    """A notification's title and body in the reader's language (``.title``, ``.body``)."""
    return render(kind, params)


@bp.get("/notifications")
@login_required
def index() -> str:
    page = queries.notifications_page(current_user.id, page_arg())
    return render_template(
        "notifications/index.html",
        page=page,
        form=ConfirmForm(),
        newest=queries.newest_id(current_user.id),
    )


@bp.post("/notifications/<int:notification_id>/open")
@login_required
def open_notification(notification_id: int) -> Response:
    try:
        return redirect(services.open_notification(notification_id, current_user))
    except NotPermitted as error:  # a page of a role they no longer hold: say so, not 403
        flash(error.message, "info")
        return redirect(url_for("notifications.index"))


@bp.post("/notifications/read")
@login_required
def mark_all_read() -> Response:
    if ConfirmForm().validate_on_submit():
        # the newest the list showed: what came after it stays unread (a form without it,
        # every one)
        services.mark_all_read(current_user, up_to=request.form.get("seen_up_to", type=int))
        flash(_("All your notifications are marked read."), "success")
    return redirect(url_for("notifications.index"))


@bp.route("/notifications/preferences", methods=["GET", "POST"])
@login_required
def preferences() -> Response | str | tuple[str, int]:
    form = email_choices_form(
        queries.email_choices(current_user.id), queries.kinds_for(current_user)
    )
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_template("notifications/preferences.html", form=form), 400
        services.save_email_choices(current_user, form.chosen(), among=form.shown())
        flash(_("Your choices are saved."), "success")
        return redirect(url_for("notifications.preferences"))
    return render_template("notifications/preferences.html", form=form)
