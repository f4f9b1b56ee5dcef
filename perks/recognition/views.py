"""Occasions: everyone's calendar of the company's occasions (``/occasions``) and HR's page
to manage them (``/manage/occasions``): add, edit and deactivate the company's own, add the
Vietnamese calendar's, set the founding day and the work anniversaries' milestones.

Views turn forms into plain data and call one service; the services audit.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from perks.catalog.claims import company_today
from perks.errors import Conflict, ValidationFailed
from perks.forms import ConfirmForm, Form, require_confirmation
from perks.people.access import roles_required
from perks.people.models import Role
from perks.recognition import services
from perks.recognition.calendar import VIETNAMESE_CALENDAR
from perks.recognition.forms import OccasionForm, SettingsForm

bp = Blueprint("recognition", __name__)

Page = str | tuple[str, int]

#: how far ahead HR's page lists birthdays and work anniversaries
PERSONAL_WINDOW_DAYS = 30

hr_only = roles_required(Role.HR)


def _language() -> str:
    return str(get_locale() or "vi")


def _field_error(form: Form, error: ValidationFailed) -> None:
    """Put a service's refusal on the field it names, else above the form."""
    field = getattr(form, str(error.details.get("field")), None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


@bp.get("/occasions")
@roles_required()
def calendar() -> str:
    """The company's active occasions, soonest first (read-only, for everyone)."""
    return render_template(
        "recognition/calendar.html",
        items=services.upcoming(company_today()),
        settings=services.current_settings(),
        language=_language(),
    )


@bp.get("/manage/occasions")
@hr_only
def manage() -> str:
    today = company_today()
    items = services.upcoming(today, active_only=False)
    present = {item.occasion.key for item in items}
    return render_template(
        "recognition/manage.html",
        items=items,
        settings=services.current_settings(),
        personal=services.personal_dates(today, PERSONAL_WINDOW_DAYS),
        window_days=PERSONAL_WINDOW_DAYS,
        missing=[b for b in VIETNAMESE_CALENDAR if b.key not in present],
        language=_language(),
        confirm_form=ConfirmForm(),
    )


@bp.post("/manage/occasions/calendar")
@hr_only
def add_calendar() -> Response:
    require_confirmation()
    added = services.add_vietnamese_calendar(actor=current_user)
    if added:
        flash(
            _("%(count)d occasions of the Vietnamese calendar added.", count=len(added)), "success"
        )
    else:
        flash(_("The company already has every occasion of the Vietnamese calendar."), "info")
    return redirect(url_for(".manage"), 303)


@bp.route("/manage/occasions/new", methods=["GET", "POST"])
@hr_only
def create() -> Response | Page:
    form = OccasionForm()
    if form.validate_on_submit():
        try:
            occasion = services.create_occasion(form.data_for_service(), actor=current_user)
        except ValidationFailed as error:
            _field_error(form, error)
        else:
            flash(
                _("The occasion “%(name)s” is saved.", name=occasion.localized("name")), "success"
            )
            return redirect(url_for(".manage"), 303)
    status = 400 if form.is_submitted() else 200
    return render_template("recognition/occasion_form.html", form=form, occasion=None), status


@bp.route("/manage/occasions/<int:occasion_id>/edit", methods=["GET", "POST"])
@hr_only
def edit(occasion_id: int) -> Response | Page:
    """Raises NotFound (404): no such occasion; Conflict (409): one of the calendar's."""
    occasion = services.get_occasion(occasion_id)
    if occasion.builtin:
        raise Conflict(str(services.BUILTIN_FIXED))
    form = OccasionForm() if request.method == "POST" else OccasionForm.for_occasion(occasion)
    if form.validate_on_submit():
        try:
            services.update_occasion(occasion.id, form.data_for_service(), actor=current_user)
        except ValidationFailed as error:
            _field_error(form, error)
        else:
            flash(_("Changes saved."), "success")
            return redirect(url_for(".manage"), 303)
    status = 400 if form.is_submitted() else 200
    page = render_template("recognition/occasion_form.html", form=form, occasion=occasion)
    return page, status


def _set_active(occasion_id: int, active: bool) -> Response:
    require_confirmation()
    try:
        occasion = services.set_active(occasion_id, active, actor=current_user)
    except Conflict as error:
        flash(error.message, "warning")
    else:
        name = occasion.localized("name")
        if active:
            flash(_("“%(name)s” is back on the calendar.", name=name), "success")
        else:
            flash(_("“%(name)s” is off the calendar.", name=name), "success")
    return redirect(url_for(".manage"), 303)


@bp.post("/manage/occasions/<int:occasion_id>/deactivate")
@hr_only
def deactivate(occasion_id: int) -> Response:
    return _set_active(occasion_id, False)


@bp.post("/manage/occasions/<int:occasion_id>/activate")
@hr_only
def activate(occasion_id: int) -> Response:
    return _set_active(occasion_id, True)


@bp.route("/manage/occasions/settings", methods=["GET", "POST"])
@hr_only
def settings() -> Response | Page:
    current = services.current_settings()
    form = SettingsForm() if request.method == "POST" else SettingsForm.for_settings(current)
    if form.validate_on_submit():
        try:
            services.update_settings(
                form.founded_on.data,
                form.milestones(),
                today=company_today(),
                actor=current_user,
            )
        except ValidationFailed as error:
            _field_error(form, error)
        else:
            flash(_("Changes saved."), "success")
            return redirect(url_for(".manage"), 303)
    status = 400 if form.is_submitted() else 200
    return render_template("recognition/settings.html", form=form), status
