"""Occasions: everyone's calendar of the company's occasions (``/occasions``) and HR's page
to manage them (``/manage/occasions``): add, edit and deactivate the company's own, add the
Vietnamese calendar's, set the founding day and the work anniversaries' milestones; HR's gift
programmes (``/manage/gifts``): add, edit, pause and resume them, preview the next 30 days; awards
(``/awards``), managers' nominations (``/awards/nominate``, ``/awards/nominations``), HR's
awards and nominations queue (``/manage/awards``, ``/manage/nominations``) and HR's fairness
report (``/manage/fairness``).

Views turn forms into plain data and call one service; the services audit.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import Field

from perks.catalog import admin_queries
from perks.errors import ChangedMeanwhile, Conflict, NotEligible, NotPermitted, ValidationFailed
from perks.forms import (
    ConfirmForm,
    Form,
    page_arg,
    require_confirmation,
    shown_as_saved,
)
from perks.i18n import company_today
from perks.people import services as people_services
from perks.people.access import roles_required
from perks.people.models import Role
from perks.recognition import awards, fairness, gifts, services, wall
from perks.recognition.calendar import VIETNAMESE_CALENDAR
from perks.recognition.forms import (
    DEPARTMENT_BUDGET,
    AwardForm,
    DeclineForm,
    EditedAwardForm,
    EditedOccasionForm,
    EditedProgrammeForm,
    FairnessForm,
    NominationForm,
    OccasionForm,
    ProgrammeForm,
    SettingsForm,
    WallForm,
)
from perks.recognition.models import Award, GiftProgramme

bp = Blueprint("recognition", __name__)

Page = str | tuple[str, int]

#: how far ahead HR's page lists birthdays and work anniversaries
PERSONAL_WINDOW_DAYS = 30
#: how many of a day's birthdays and work anniversaries the company calendar lists (the rest
#: behind a link to that day)
CELEBRATIONS_PER_DAY = 4

hr_only = roles_required(Role.HR)
managers_only = roles_required(Role.MANAGER)


def _language() -> str:
    return str(get_locale() or "vi")


def field_error(form: Form, error: ValidationFailed) -> None:
    """Put a service's refusal on the field it names, else above the form."""
    field = getattr(form, str(error.details.get("field")), None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def _day_arg() -> date | None:
    """The day the query string names (``?day=``, ISO); None when missing or not a day."""
    try:
        return date.fromisoformat(request.args.get("day", ""))
    except ValueError:
        return None


@bp.get("/occasions")
@roles_required()
def calendar() -> str:
    """The company's active occasions, soonest first, and colleagues' birthdays and work
    anniversaries but those hidden, by day, a few a day but on the day the query string
    names (``?day=2026-12-24``: all of that day's) (read-only, for everyone)."""
    today = company_today()
    celebrations = services.celebrations(today, PERSONAL_WINDOW_DAYS)
    return render_template(
        "recognition/calendar.html",
        items=services.upcoming(today),
        settings=services.current_settings(),
        celebration_days=services.by_day(
            celebrations, per_day=CELEBRATIONS_PER_DAY, whole_day=_day_arg()
        ),
        window_days=PERSONAL_WINDOW_DAYS,
        language=_language(),
    )


@bp.get("/wall", endpoint="wall")
@roles_required()
def wall_page() -> str:
    """The recognition wall: kudos and awards, newest first, and the coming days'
    celebrations (on the first page), of one department when the query string names it
    (everyone's when it names none or no valid one)."""
    form = WallForm(request.args)
    form.set_choices(people_services.departments())
    department_id = (form.department_id.data or None) if form.validate() else None
    page = wall.entries(page_arg(), department_id=department_id)
    celebrations = (
        wall.celebrations(company_today(), department_id=department_id) if page.page == 1 else []
    )
    return render_template(
        "recognition/wall.html",
        form=form,
        page=page,
        department_id=department_id,
        celebrations=celebrations[: wall.CELEBRATIONS_SHOWN],
        more_celebrations=len(celebrations[wall.CELEBRATIONS_SHOWN :]),
        window_days=wall.CELEBRATION_DAYS,
    )


@bp.get("/manage/occasions")
@hr_only
def manage() -> str:
    """Every occasion, and everyone's birthdays and work anniversaries of the coming days
    (those hidden from colleagues too, marked), by day, a few a day but on the day the query
    string names (``?day=2026-12-24``: all of that day's), as the company calendar."""
    today = company_today()
    items = services.upcoming(today, active_only=False)
    present = {item.occasion.key for item in items}
    return render_template(
        "recognition/manage.html",
        items=items,
        settings=services.current_settings(),
        personal_days=services.by_day(
            services.personal_dates(today, PERSONAL_WINDOW_DAYS),
            per_day=CELEBRATIONS_PER_DAY,
            whole_day=_day_arg(),
        ),
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
            ngettext(
                "%(num)s occasion of the Vietnamese calendar added.",
                "%(num)s occasions of the Vietnamese calendar added.",
                len(added),
            ),
            "success",
        )
        if off := [occasion.localized("name") for occasion in added if not occasion.active]:
            flash(
                _(
                    "%(names)s: not put on the calendar, because an occasion of the company's "
                    "own has the same name. To use the calendar's, take the company's off the "
                    "calendar, then put this one on.",
                    names=", ".join(off),
                ),
                "info",
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
            field_error(form, error)
        else:
            flash(
                _("The occasion “%(name)s” is saved.", name=occasion.localized("name")), "success"
            )
            return redirect(url_for(".manage"), 303)
    status = 400 if form.is_submitted() else 200
    return render_template("recognition/occasion_form.html", form=form, occasion=None), status


#: the fields a refused stale save of an occasion lists, where what was entered differs
OCCASION_FIELDS = ("name_vi", "name_en", "kind", "day", "month")
#: the occasion settings page's fields, as ``shown_as_saved`` compares them
SETTINGS_FIELDS = ("founded_on", "anniversary_milestones")


@bp.route("/manage/occasions/<int:occasion_id>/edit", methods=["GET", "POST"])
@hr_only
def edit(occasion_id: int) -> Response | Page:
    """Raises NotFound (404): no such occasion; Conflict (409): one of the calendar's."""
    occasion = services.get_occasion(occasion_id)
    if occasion.builtin:
        raise Conflict(str(services.BUILTIN_FIXED))
    form = (
        EditedOccasionForm()
        if request.method == "POST"
        else EditedOccasionForm.for_occasion(occasion)
    )
    entered: list[tuple[str, str]] = []
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            services.update_occasion(
                occasion.id, form.data_for_service(), actor=current_user, shown=form.shown.data
            )
        except ChangedMeanwhile as error:
            occasion = services.get_occasion(occasion.id)
            current = EditedOccasionForm.for_occasion(occasion, formdata=None)
            form, entered, status = shown_as_saved(form, current, OCCASION_FIELDS, error)
        except ValidationFailed as error:
            field_error(form, error)
        else:
            flash(_("Changes saved."), "success")
            return redirect(url_for(".manage"), 303)
    elif form.shown.errors:
        form.form_errors.append(_("This page is out of date: open the occasion again."))
    page = render_template(
        "recognition/occasion_form.html", form=form, occasion=occasion, entered=entered
    )
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
    entered: list[tuple[str, str]] = []
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            services.update_settings(
                form.founded_on.data,
                form.milestones(),
                today=company_today(),
                actor=current_user,
                shown=form.shown.data,
            )
        except ChangedMeanwhile as error:
            saved = SettingsForm.for_settings(services.current_settings(), formdata=None)
            form, entered, status = shown_as_saved(form, saved, SETTINGS_FIELDS, error)
        except ValidationFailed as error:
            field_error(form, error)
        except Conflict as error:
            form.form_errors.append(error.message)
            status = error.status_code
        else:
            flash(_("Changes saved."), "success")
            return redirect(url_for(".manage"), 303)
    elif form.shown.errors:
        form.form_errors.append(_("This page is out of date: open the occasion settings again."))
    page = render_template("recognition/settings.html", form=form, entered=entered)
    return page, status


# --- gift programmes ------------------------------------------------------------------------


def _programme_form(programme: GiftProgramme | None, *, as_saved: bool = False) -> ProgrammeForm:
    """The programme form with its choices: active occasions (and the programme's own), gift
    perks (and the programme's own), departments, the places people work in. For changes of
    ``programme``, an ``EditedProgrammeForm`` (carrying its row version); ``as_saved``: not
    filled from the request's form (the caller fills it with the programme as it is)."""
    kind = ProgrammeForm if programme is None else EditedProgrammeForm
    form = kind.for_departments(
        people_services.departments(), **({"formdata": None} if as_saved else {})
    )
    occasions = services.occasions(active_only=True)
    perks = gifts.gift_perks()
    if programme is not None:
        if programme.occasion not in occasions:
            occasions.append(programme.occasion)
        if programme.perk is not None and programme.perk not in perks:
            perks.append(programme.perk)
    form.set_choices(
        occasions, perks, admin_queries.staff_locations(programme.locations if programme else ())
    )
    return form


@bp.get("/manage/gifts")
@hr_only
def programmes() -> str:
    year = company_today().year
    programmes = gifts.programmes()
    return render_template(
        "recognition/programmes.html",
        programmes=programmes,
        counts=gifts.granted_counts(year),
        spent=gifts.spent_per_programme(programmes, year),
        year=year,
        catch_up_days=gifts.CATCH_UP_DAYS,
        confirm_form=ConfirmForm(),
    )


@bp.get("/manage/gifts/preview")
@hr_only
def preview() -> str:
    """Who will receive what in the next days, and the cost."""
    today = company_today()
    return render_template(
        "recognition/preview.html",
        preview=gifts.preview(today),
        days=gifts.PREVIEW_DAYS,
        today=today,
    )


@bp.get("/manage/gifts/<int:programme_id>/granted")
@hr_only
def granted(programme_id: int) -> str:
    """Who received the programme's gifts of an occasion year (``?year=``, this year when
    missing or not a year), a page at a time. Raises NotFound (404): no such programme."""
    programme = gifts.get_programme(programme_id)
    this_year = company_today().year
    year = request.args.get("year", this_year, type=int) or this_year
    if not 2000 <= year <= 2099:
        year = this_year
    return render_template(
        "recognition/granted.html",
        programme=programme,
        year=year,
        this_year=this_year,
        page=gifts.granted_gifts(programme.id, year, page_arg()),
        spent=gifts.spent_this_year(programme, year),
    )


def _entered(refused: ProgrammeForm, current: ProgrammeForm) -> list[tuple[str, str]]:
    """What a refused form said where it differs from the programme as it is now (``current``,
    filled with it): (label, what was entered), so the person can enter their changes again
    without guessing them. Amounts are compared as read (200.000 and 200000 are one cost)."""
    mine, saved = refused.data_for_service(), current.data_for_service()
    compared = {
        "department_ids": sorted,
        "locations": sorted,
        "employment_types": sorted,
    }
    entered = []
    for name in (
        "name_vi",
        "name_en",
        "occasion_id",
        "perk_id",
        "points",
        "days_ahead",
        "message_vi",
        "message_en",
        "unit_cost",
        "budget",
        "department_ids",
        "locations",
        "employment_types",
        "min_tenure_days",
        "gender",
        "requires_children",
    ):
        as_read = compared.get(name, lambda value: value)
        if as_read(getattr(mine, name)) != as_read(getattr(saved, name)):
            entered.append(_shown(refused[name]))
    for field in refused.budget_fields():
        department_id = int(field.name.removeprefix(DEPARTMENT_BUDGET))
        if mine.department_budgets.get(department_id) != saved.department_budgets.get(
            department_id
        ):
            entered.append(_shown(field))
    return entered


def _shown(field: Field) -> tuple[str, str]:
    """A field's label and what it says, as the person reads it."""
    if isinstance(field.data, bool):
        shown = _("Yes") if field.data else _("No")
    elif hasattr(field, "iter_choices"):
        shown = ", ".join(str(c[1]) for c in field.iter_choices() if c[2])
    else:
        shown = "" if field.data is None else str(field.data)
    return str(field.label.text), shown or "—"


def _save_programme(programme: GiftProgramme | None) -> Response | Page:
    form = _programme_form(programme)
    if programme is not None and request.method == "GET":
        form.fill(programme)
    entered: list[tuple[str, str]] = []
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            if programme is None:
                saved = gifts.create_programme(
                    form.data_for_service(), actor=current_user, sending=form.sending.data or None
                )
            else:
                assert isinstance(form, EditedProgrammeForm)
                saved = gifts.update_programme(
                    programme.id,
                    form.data_for_service(),
                    actor=current_user,
                    expected_row_version=int(form.row_version.data),
                )
        except ChangedMeanwhile as error:
            # the form shows the programme as it is now (and its row version: saving it again
            # is a decision made on what is saved), with what was entered beside it
            assert programme is not None
            programme = gifts.get_programme(programme.id)
            current = _programme_form(programme, as_saved=True)
            current.fill(programme)
            entered = _entered(form, current)
            form = current
            form.form_errors.append(error.message)
            status = error.status_code
        except ValidationFailed as error:
            field_error(form, error)
        else:
            flash(_("The gift programme “%(name)s” is saved.", name=saved.name), "success")
            return redirect(url_for(".programmes"), 303)
    elif isinstance(form, EditedProgrammeForm) and form.row_version.errors:
        form.form_errors.append(_("This page is out of date: open the gift programme again."))
    page = render_template(
        "recognition/programme_form.html", form=form, programme=programme, entered=entered
    )
    return page, status


@bp.route("/manage/gifts/new", methods=["GET", "POST"])
@hr_only
def create_programme() -> Response | Page:
    return _save_programme(None)


@bp.route("/manage/gifts/<int:programme_id>/edit", methods=["GET", "POST"])
@hr_only
def edit_programme(programme_id: int) -> Response | Page:
    """Raises NotFound (404): no such programme."""
    return _save_programme(gifts.get_programme(programme_id))


def _set_programme_active(programme_id: int, active: bool) -> Response:
    require_confirmation()
    try:
        programme = gifts.set_programme_active(programme_id, active, actor=current_user)
    except Conflict as error:
        flash(error.message, "warning")
    else:
        if active:
            flash(_("“%(name)s” grants its gifts again.", name=programme.name), "success")
        else:
            flash(_("“%(name)s” is paused: it grants nothing.", name=programme.name), "success")
    return redirect(url_for(".programmes"), 303)


@bp.post("/manage/gifts/<int:programme_id>/pause")
@hr_only
def pause_programme(programme_id: int) -> Response:
    return _set_programme_active(programme_id, False)


@bp.post("/manage/gifts/<int:programme_id>/resume")
@hr_only
def resume_programme(programme_id: int) -> Response:
    return _set_programme_active(programme_id, True)


# --- awards and nominations -----------------------------------------------------------------


@bp.get("/awards")
@roles_required()
def award_list() -> str:
    """The awards that take nominations; a manager nominates from here."""
    return render_template(
        "recognition/awards.html",
        awards=awards.awards(active_only=True),
        mine=awards.awards_of(current_user),
    )


@bp.get("/manage/awards")
@hr_only
def manage_awards() -> str:
    return render_template("recognition/manage_awards.html", awards=awards.awards())


#: the fields a refused stale save of an award lists, where what was entered differs
AWARD_FIELDS = (
    "name_vi",
    "name_en",
    "description_vi",
    "description_en",
    "perk_id",
    "points",
    "active",
)


def _award_form(award: Award | None, *, as_saved: bool = False) -> AwardForm:
    """The award form with its gift choices (published gift perks, and the award's own); for
    changes of ``award``, an ``EditedAwardForm`` (carrying what its page showed) filled with
    the award on a GET or when ``as_saved``."""
    kind = AwardForm if award is None else EditedAwardForm
    form = kind(formdata=None) if as_saved else kind()
    perks = gifts.gift_perks()
    if award is not None and award.perk is not None and award.perk not in perks:
        perks.append(award.perk)
    form.set_choices(perks)
    if award is not None and (as_saved or request.method == "GET"):
        form.fill(award)
    return form


def _save_award(award: Award | None) -> Response | Page:
    form = _award_form(award)
    entered: list[tuple[str, str]] = []
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            if award is None:
                saved = awards.create_award(
                    form.data_for_service(), actor=current_user, sending=form.sending.data or None
                )
            else:
                assert isinstance(form, EditedAwardForm)
                saved = awards.update_award(
                    award.id, form.data_for_service(), actor=current_user, shown=form.shown.data
                )
        except ChangedMeanwhile as error:
            assert award is not None
            award = awards.get_award(award.id)
            current = _award_form(award, as_saved=True)
            form, entered, status = shown_as_saved(form, current, AWARD_FIELDS, error)
        except ValidationFailed as error:
            field_error(form, error)
        else:
            flash(_("The award “%(name)s” is saved.", name=saved.name), "success")
            return redirect(url_for(".manage_awards"), 303)
    elif isinstance(form, EditedAwardForm) and form.shown.errors:
        form.form_errors.append(_("This page is out of date: open the award again."))
    page = render_template("recognition/award_form.html", form=form, award=award, entered=entered)
    return page, status


@bp.route("/manage/awards/new", methods=["GET", "POST"])
@hr_only
def create_award() -> Response | Page:
    return _save_award(None)


@bp.route("/manage/awards/<int:award_id>/edit", methods=["GET", "POST"])
@hr_only
def edit_award(award_id: int) -> Response | Page:
    """Raises NotFound (404): no such award."""
    return _save_award(awards.get_award(award_id))


@bp.route("/awards/nominate", methods=["GET", "POST"])
@managers_only
def nominate() -> Response | Page:
    """A manager nominates a person of their team; ``?award=`` and ``?person=`` preselect."""
    form = NominationForm()
    form.set_choices(awards.awards(active_only=True), awards.team(current_user))
    if request.method == "GET":
        form.award_id.data = request.args.get("award", type=int)
        form.nominee_id.data = request.args.get("person", type=int)
    if form.validate_on_submit():
        try:
            awards.nominate(
                int(form.award_id.data),
                int(form.nominee_id.data),
                form.reason.data or "",
                actor=current_user,
            )
        except ValidationFailed as error:
            field_error(form, error)
        except NotPermitted as error:
            form.form_errors.append(error.message)
        else:
            flash(_("Your nomination is sent to HR."), "success")
            return redirect(url_for(".my_nominations"), 303)
    status = 400 if form.is_submitted() else 200
    return render_template("recognition/nominate.html", form=form), status


@bp.get("/awards/nominations")
@roles_required()
def my_nominations() -> str:
    """The person's own nominations: a manager's, and those of someone no longer a manager
    (HR's decision on them still reaches them, and its notification leads here)."""
    return render_template(
        "recognition/my_nominations.html",
        nominations=awards.nominations_by(current_user),
        confirm_form=ConfirmForm(),
    )


@bp.post("/awards/nominations/<int:nomination_id>/withdraw")
@roles_required()
def withdraw_nomination(nomination_id: int) -> Response:
    """Raises NotFound (404): no such nomination, or not the viewer's."""
    require_confirmation()
    try:
        awards.withdraw(nomination_id, actor=current_user)
    except Conflict as error:
        flash(error.message, "warning")
    else:
        flash(_("Your nomination is withdrawn."), "success")
    return redirect(url_for(".my_nominations"), 303)


@bp.get("/manage/nominations")
@hr_only
def nominations() -> str:
    return _nominations_page()


def _nominations_page(declined: DeclineForm | None = None, declined_id: int | None = None) -> str:
    """The queue; ``declined`` is the decline form of nomination ``declined_id`` as sent
    back (its errors and text kept), every other nomination's is empty."""
    pending = awards.pending(current_user)
    return render_template(
        "recognition/nominations.html",
        pending=pending,
        received=awards.already_received(pending),
        offered={n.id: awards.offered_fingerprint(n.award) for n in pending},
        decided=awards.decided(current_user),
        confirm_form=ConfirmForm(),
        decline_form=DeclineForm(formdata=None),
        declined=declined,
        declined_id=declined_id,
    )


@bp.post("/manage/nominations/<int:nomination_id>/approve")
@hr_only
def approve_nomination(nomination_id: int) -> Response:
    """Raises NotFound (404): no such nomination."""
    require_confirmation()
    try:
        nomination = awards.approve(
            nomination_id, actor=current_user, offered=request.form.get("offered")
        )
    except (Conflict, NotPermitted, NotEligible) as error:
        flash(error.message, "warning")
    else:
        flash(
            _(
                "%(name)s receives “%(award)s”.",
                name=nomination.nominee.name,
                award=nomination.award.name,
            ),
            "success",
        )
    return redirect(url_for(".nominations"), 303)


@bp.post("/manage/nominations/<int:nomination_id>/decline")
@hr_only
def decline_nomination(nomination_id: int) -> Response | tuple[str, int]:
    """A reason the form refuses (none, too long) comes back on the queue, 400.
    Raises NotFound (404): no such nomination."""
    form = DeclineForm()
    if not form.validate_on_submit():
        return _nominations_page(form, nomination_id), 400
    try:
        awards.decline(nomination_id, form.reason.data or "", actor=current_user)
    except (Conflict, NotPermitted, ValidationFailed) as error:
        flash(error.message, "warning")
    else:
        flash(_("The nomination is declined; the nominator is told why."), "success")
    return redirect(url_for(".nominations"), 303)


def _fairness_report() -> tuple[FairnessForm, fairness.Report]:
    """The report for the year and filters the query string asks for (this year, everyone,
    when they are not valid)."""
    form = FairnessForm(request.args)
    form.set_choices(people_services.departments(), admin_queries.staff_locations())
    year = company_today().year
    filters = fairness.Filters()
    if form.validate():
        year = form.year.data or year
        filters = form.filters()
    return form, fairness.report(year, filters)


@bp.get("/manage/fairness")
@hr_only
def fairness_report() -> str:
    """Gifts and awards per group for a year, small groups merged; who received nothing."""
    form, report = _fairness_report()
    return render_template(
        "recognition/fairness.html", form=form, report=report, min_group=fairness.MIN_GROUP
    )


@bp.get("/manage/fairness.csv")
@hr_only
def fairness_csv() -> Response:
    """The same groups as a CSV file (not the people who received nothing)."""
    _, report = _fairness_report()
    return Response(
        fairness.to_csv(report),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f"attachment; filename=perks-fairness-{report.year}.csv",
            "Cache-Control": "no-store",  # HR's figures, as every other download
        },
    )
