"""Kudos and points pages: my points (``/points``), give kudos (``/kudos/new``), the rewards
(``/rewards``) and spending points on one; HR's points settings and company values
(``/manage/points``).

Each person sees only their own balances and history: no page takes a person's id.
Views turn forms into plain data and call one service.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from perks.errors import ChangedMeanwhile, Conflict, NotEligible, ValidationFailed
from perks.forms import ConfirmForm, page_arg, require_confirmation, shown_as_saved
from perks.i18n import company_today, format_number
from perks.people.access import roles_required
from perks.people.models import Role, User
from perks.recognition import kudos, points, services
from perks.recognition.points_forms import (
    EditedValueForm,
    KudosForm,
    PointsSettingsForm,
    ValueForm,
)
from perks.recognition.points_models import CompanyValue
from perks.recognition.views import field_error

bp = Blueprint("points", __name__)

Page = str | tuple[str, int]

hr_only = roles_required(Role.HR)


@bp.get("/points")
@roles_required()
def mine() -> str:
    """The person's own balances and history, a page at a time (nobody else's: no id in
    the URL)."""
    today = company_today()
    page = points.history_page(current_user.id, page_arg())
    entries = list(page.items)
    return render_template(
        "points/mine.html",
        balances=points.balances(current_user, today),
        entries=entries,
        page=page,
        kudos=kudos.kudos_of(current_user.id, [e.kudos_id for e in entries if e.kudos_id]),
        subjects=kudos.history_subjects(current_user.id, entries),
        month=points.month_of(today),
    )


@bp.route("/kudos/new", methods=["GET", "POST"])
@roles_required()
def give() -> Response | Page:
    form = KudosForm()
    form.set_choices(kudos.values(active_only=True))
    if form.is_submitted():
        valid = form.validate()
        try:
            # the colleague is found even when another field is wrong, so that the page
            # comes back with them named rather than asking again
            colleague = kudos.find_colleague(
                current_user, form.colleague.data or "", form.recipient.data
            )
            form.show_colleague(colleague)
            if valid:
                given = kudos.give_kudos(
                    current_user,
                    colleague.id,
                    int(form.points.data or 0),
                    int(form.value.data),
                    form.message.data or "",
                    today=company_today(),
                )
                flash(
                    ngettext(
                        "You gave %(name)s %(points)s point.",
                        "You gave %(name)s %(points)s points.",
                        given.points,
                        points=format_number(given.points),
                        name=given.recipient.name,
                    ),
                    "success",
                )
                return redirect(url_for(".mine"), 303)
        except ValidationFailed as error:
            form.offer_colleagues(
                error.detail_items("candidates", User), more=bool(error.details.get("more"))
            )
            if error.details.get("field") == "recipient":
                form.colleague.errors = [*form.colleague.errors, error.message]
            else:
                field_error(form, error)
        except Conflict as error:
            form.form_errors.append(error.message)
    status = 400 if form.is_submitted() else 200
    page = render_template(
        "points/give.html",
        form=form,
        balances=points.balances(current_user, company_today()),
        settings=services.current_settings(),
    )
    return page, status


@bp.get("/rewards")
@roles_required()
def rewards() -> str:
    return render_template(
        "points/rewards.html",
        rewards=kudos.reward_cards(current_user, company_today()),
        received=points.received_balance(current_user.id),
        confirm_form=ConfirmForm(),
    )


@bp.post("/rewards/<int:perk_id>/spend")
@roles_required()
def spend(perk_id: int) -> Response:
    """Raises NotFound (404): no such reward."""
    require_confirmation()
    try:
        claim = kudos.spend_points(
            perk_id,
            current_user,
            today=company_today(),
            offered_price=request.form.get("price", type=int),
        )
    except (Conflict, NotEligible) as error:
        flash(error.message, "warning")
        return redirect(url_for(".rewards"), 303)
    flash(_("Your reward is ready: show its code at the counter."), "success")
    return redirect(url_for("catalog.my_claim", claim_id=claim.id), 303)


# --- HR -------------------------------------------------------------------------------------


@bp.route("/manage/points", methods=["GET", "POST"])
@hr_only
def settings() -> Response | Page:
    form = PointsSettingsForm.with_roles()
    if request.method == "GET":
        form.fill(services.current_settings())
    entered: list[tuple[str, str]] = []
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            kudos.update_points_settings(
                form.data_for_service(), actor=current_user, shown=form.shown.data
            )
        except ChangedMeanwhile as error:
            current = PointsSettingsForm.with_roles(formdata=None)
            current.fill(services.current_settings())
            names = [*POINTS_FIELDS, *(f.name for f in form.role_fields())]
            form, entered, status = shown_as_saved(form, current, names, error)
        except ValidationFailed as error:
            field_error(form, error)
        except Conflict as error:
            form.form_errors.append(error.message)
            status = error.status_code
        else:
            flash(_("Changes saved."), "success")
            return redirect(url_for(".settings"), 303)
    elif form.shown.errors:
        form.form_errors.append(_("This page is out of date: open the points settings again."))
    page = render_template(
        "points/settings.html", form=form, values=kudos.values(), entered=entered
    )
    return page, status


#: the fields of the points settings a refused stale save lists (and each role's allowance),
#: where what was entered differs
POINTS_FIELDS = ("monthly_allowance", "pair_monthly_limit", "point_value")
#: the fields of a company value a refused stale save lists, where what was entered differs
VALUE_FIELDS = ("name_vi", "name_en", "active")


def _save_value(value: CompanyValue | None) -> Response | Page:
    form: ValueForm
    if value is None:
        form = ValueForm()
    elif request.method == "GET":
        form = EditedValueForm.for_value(value)
    else:
        form = EditedValueForm()
    entered: list[tuple[str, str]] = []
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            if value is None:
                saved = kudos.create_value(form.data_for_service(), actor=current_user)
            else:
                assert isinstance(form, EditedValueForm)
                saved = kudos.update_value(
                    value.id, form.data_for_service(), actor=current_user, shown=form.shown.data
                )
        except ChangedMeanwhile as error:
            assert value is not None
            value = kudos.get_value(value.id)
            current = EditedValueForm.for_value(value, formdata=None)
            form, entered, status = shown_as_saved(form, current, VALUE_FIELDS, error)
        except ValidationFailed as error:
            field_error(form, error)
        else:
            flash(_("The value “%(name)s” is saved.", name=saved.name), "success")
            return redirect(url_for(".settings"), 303)
    elif isinstance(form, EditedValueForm) and form.shown.errors:
        form.form_errors.append(_("This page is out of date: open the value again."))
    page = render_template("points/value_form.html", form=form, value=value, entered=entered)
    return page, status


@bp.route("/manage/points/values/new", methods=["GET", "POST"])
@hr_only
def create_value() -> Response | Page:
    return _save_value(None)


@bp.route("/manage/points/values/<int:value_id>/edit", methods=["GET", "POST"])
@hr_only
def edit_value(value_id: int) -> Response | Page:
    """Raises NotFound (404): no such value."""
    return _save_value(kudos.get_value(value_id))
