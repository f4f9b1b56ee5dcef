"""HR pages: perks, code pools, images, publishing, draws.

Every privileged action is audited inside the service it calls; these views only turn forms
into plain data and domain errors into messages.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from perks.background import JobState
from perks.catalog import admin_queries, draws, services
from perks.catalog.forms import (
    CodesForm,
    EditedPerkForm,
    OpenDrawForm,
    PerkFilterForm,
    PerkForm,
    PublicValueForm,
)
from perks.catalog.models import (
    Allocation,
    CodeMode,
    Draw,
    DrawStatus,
    EntryOutcome,
    LimitPeriod,
    Perk,
    PerkCategory,
    PerkKind,
    PerkStatus,
)
from perks.db import utcnow
from perks.errors import ChangedMeanwhile, Conflict, ValidationFailed
from perks.forms import (
    ConfirmForm,
    ask_for_the_file_again,
    entered_values,
    page_arg,
    require_confirmation,
)
from perks.i18n import company_zone, format_number
from perks.people import services as people_services
from perks.people.access import roles_required
from perks.people.models import EmploymentType, Role

bp = Blueprint("catalog_admin", __name__, url_prefix="/admin/perks")

hr_only = roles_required(Role.HR)


# --- the list -------------------------------------------------------------------------------


@bp.get("/")
@hr_only
def index() -> str | tuple[str, int]:
    form = PerkFilterForm(request.args)
    if request.args and not form.validate():
        return render_template("catalog/admin_index.html", form=form, perks=None), 400
    status = form.status.data or "all"
    perks = services.list_perks_for_admin(None if status == "all" else PerkStatus(status))
    ids = [perk.id for perk in perks]
    return render_template(
        "catalog/admin_index.html",
        form=form,
        perks=perks,
        claimed=services.claimed_counts(ids),
        codes_left=services.unused_code_counts(ids),
        waiting_draws=len(draws.waiting_for_public_value()),
    )


# --- creating and editing -------------------------------------------------------------------


def _perk_form(perk: Perk | None = None, *, as_saved: bool = False) -> PerkForm:
    """The form for a new perk, or for ``perk``'s details (an ``EditedPerkForm``): filled
    from the request's form, or on a GET (or ``as_saved``) with the perk as it is."""
    as_saved = as_saved or request.method == "GET"
    choices: dict[str, Any] = {
        "departments": people_services.departments(),
        # a place nobody works in any more stays selectable while the perk names it
        "locations": admin_queries.staff_locations(perk.locations if perk else ()),
    }
    if perk is None:
        return PerkForm(**choices)
    if as_saved:
        form = EditedPerkForm(formdata=None, obj=perk, **choices)
        form.department_ids.data = [d.id for d in perk.departments]
        form.shown.data = services.shown_fingerprint(perk)
        return form
    return EditedPerkForm(**choices)


def _perk_data(form: PerkForm) -> services.PerkData:
    return services.PerkData(
        title_vi=form.title_vi.data or "",
        title_en=form.title_en.data or "",
        kind=PerkKind(form.kind.data),
        category=PerkCategory(form.category.data),
        description_vi=form.description_vi.data or "",
        description_en=form.description_en.data or "",
        partner_name=form.partner_name.data or "",
        value_vi=form.value_vi.data or "",
        value_en=form.value_en.data or "",
        terms_vi=form.terms_vi.data or "",
        terms_en=form.terms_en.data or "",
        starts_on=form.starts_on.data,
        ends_on=form.ends_on.data,
        code_mode=CodeMode(form.code_mode.data),
        shared_code=form.shared_code.data or "",
        total_stock=form.total_stock.data,
        per_person_limit=form.per_person_limit.data,
        limit_period=LimitPeriod(form.limit_period.data),
        allocation=Allocation(form.allocation.data),
        department_ids=frozenset(form.department_ids.data or ()),
        locations=tuple(form.locations.data or ()),
        employment_types=frozenset(EmploymentType(t) for t in form.employment_types.data or ()),
        min_tenure_days=form.min_tenure_days.data or 0,
        points_price=form.points_price.data,
    )


def _refused(form: PerkForm, error: ValidationFailed | Conflict) -> None:
    """Put a service's refusal at the field it names (which the page marks, and which takes
    the focus: the form is long), else above the form."""
    name = error.details.get("field")
    field = getattr(form, str(name), None) if name else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def _store_image(form: PerkForm, perk: Perk) -> str | None:
    """Save the uploaded image, if there is one; the reason when it is refused."""
    if not form.image.data:
        return None
    try:
        services.set_perk_image(perk.id, form.image.data.read(), actor=current_user)
    except ValidationFailed as error:
        return error.message
    return None


@bp.route("/new", methods=["GET", "POST"])
@hr_only
def create() -> Response | str | tuple[str, int]:
    form = _perk_form()
    if form.validate_on_submit():
        try:
            perk = services.create_perk(
                _perk_data(form), actor=current_user, sending=form.sending.data or None
            )
        except ValidationFailed as error:
            _refused(form, error)
        else:
            # The form checked the image already: a refusal here is rare, and the draft exists.
            problem = _store_image(form, perk)
            if problem:
                flash(
                    _("The perk was saved, but not its image: %(reason)s", reason=problem), "danger"
                )
                return redirect(url_for(".edit", perk_id=perk.id))
            flash(_("The draft is saved. Staff see it once you publish it."), "success")
            if perk.code_mode is CodeMode.POOL:
                return redirect(url_for(".codes", perk_id=perk.id))
            return redirect(url_for(".edit", perk_id=perk.id))
    status = 400 if form.is_submitted() else 200
    ask_for_the_file_again(form.image)
    return render_template("catalog/admin_form.html", form=form, perk=None), status


def _entered(refused: PerkForm, perk: Perk) -> list[tuple[str, str]]:
    """What a refused form said where it differs from ``perk`` as it is now."""
    mine, theirs = _perk_data(refused), services.perk_data_of(perk)
    differing = [
        name
        for name in (*services.SHOWN_COLUMNS, "department_ids")
        if _compared(getattr(mine, name)) != _compared(getattr(theirs, name))
    ]
    entered = entered_values(refused, differing)
    if refused.image.data:
        # a file input cannot be filled again: the chosen image was not stored either
        entered.append((str(refused.image.label.text), _("A new image: choose it again.")))
    return entered


def _compared(value: object) -> object:
    """A value as a save would store it: texts without the spaces around them and with the
    browser's line ends, lists in any order."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").strip()
    if isinstance(value, list | tuple | set | frozenset):
        return sorted(str(v) for v in value)
    return value


@bp.route("/<int:perk_id>/edit", methods=["GET", "POST"])
@hr_only
def edit(perk_id: int) -> Response | str | tuple[str, int]:
    perk = services.get_perk(perk_id)
    form = _perk_form(perk)
    assert isinstance(form, EditedPerkForm)
    status = 400 if form.is_submitted() else 200
    entered: list[tuple[str, str]] = []
    if form.validate_on_submit():
        try:
            services.update_perk(
                perk.id, _perk_data(form), actor=current_user, shown=form.shown.data
            )
        except ChangedMeanwhile as error:
            # the form shows the perk as it is now (and its fingerprint: saving it again is a
            # decision made on what is saved), with what was entered beside it
            entered = _entered(form, perk)
            form = _perk_form(perk, as_saved=True)
            form.form_errors.append(error.message)
            status = error.status_code
        except (ValidationFailed, Conflict) as error:  # Conflict: a draw under way (409)
            _refused(form, error)
            status = error.status_code
        else:
            problem = _store_image(form, perk)
            if problem:
                form.image.errors.append(problem)
            else:
                flash(_("Changes saved."), "success")
                return redirect(url_for(".edit", perk_id=perk.id))
    elif form.shown.errors:
        form.form_errors.append(_("This page is out of date: open the perk again."))
    ask_for_the_file_again(form.image)
    return render_template(
        "catalog/admin_form.html", **_perk_page(perk), form=form, entered=entered
    ), status


# --- publishing -----------------------------------------------------------------------------


@bp.post("/<int:perk_id>/publish")
@hr_only
def publish(perk_id: int) -> Response:
    require_confirmation()
    try:
        perk = services.publish_perk(perk_id, actor=current_user)
    except Conflict as error:
        flash(error.message, "danger")
        return redirect(url_for(".edit", perk_id=perk_id))
    flash(_("“%(title)s” is published: staff can see it now.", title=perk.title), "success")
    return redirect(url_for(".index"))


@bp.post("/<int:perk_id>/archive")
@hr_only
def archive(perk_id: int) -> Response:
    require_confirmation()
    try:
        perk = services.archive_perk(perk_id, actor=current_user)
    except Conflict as error:
        flash(error.message, "danger")
        return redirect(url_for(".edit", perk_id=perk_id))
    flash(
        _("“%(title)s” is archived: staff no longer see it; claims stay valid.", title=perk.title),
        "success",
    )
    return redirect(url_for(".index"))


# --- the code pool --------------------------------------------------------------------------


@bp.route("/<int:perk_id>/codes", methods=["GET", "POST"])
@hr_only
def codes(perk_id: int) -> Response | str | tuple[str, int]:
    perk = services.get_perk(perk_id)
    form = CodesForm()
    bad_lines: list[services.CodeError] = []
    if form.validate_on_submit():
        text = _uploaded_text(form) if form.file.data else form.codes.data or ""
        if text is not None:
            try:
                # Conflict (not a pooled perk) is left to the error page: there is no form.
                count = services.import_codes(perk.id, text, actor=current_user)
            except ValidationFailed as error:
                form.form_errors.append(error.message)
                bad_lines = error.detail_items("errors", services.CodeError)
            else:
                flash(
                    ngettext(
                        "%(count)s code added.",
                        "%(count)s codes added.",
                        count,
                        count=format_number(count),
                    ),
                    "success",
                )
                return redirect(url_for(".codes", perk_id=perk.id))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "catalog/admin_codes.html",
        **_perk_page(perk),
        form=form,
        bad_lines=bad_lines,
        counts=admin_queries.code_pool_counts(perk.id) if perk.code_mode is CodeMode.POOL else None,
    ), status


def _uploaded_text(form: CodesForm) -> str | None:
    """The uploaded file as text, or None (with the field's error) when it is not UTF-8."""
    data = form.file.data.read()
    try:
        return data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte-order mark
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        form.file.errors.append(
            _(
                "The file is not UTF-8 text (line %(line)d). Save it as UTF-8 and try again.",
                line=line,
            )
        )
        return None


# --- draws ----------------------------------------------------------------------------------


def _as_utc(moment: datetime) -> datetime:
    # SQLite gives naive datetimes back; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _default_close() -> datetime:
    """A week from now at 17:00, company time: a sensible first guess for the form."""
    later = datetime.now(company_zone()) + timedelta(days=7)
    return later.replace(hour=17, minute=0, second=0, microsecond=0, tzinfo=None)


#: entries the result of a draw lists at a time
RESULT_PAGE_SIZE = 100


@bp.route("/<int:perk_id>/draw", methods=["GET", "POST"])
@hr_only
def draw(perk_id: int) -> Response | str | tuple[str, int]:
    perk = services.get_perk(perk_id)
    form = OpenDrawForm()
    if form.validate_on_submit():
        # The form's time is company time; the service stores UTC.
        close_at = form.entries_close_at.data.replace(tzinfo=company_zone()).astimezone(UTC)
        try:
            draws.open_draw(
                perk.id,
                entries_close_at=close_at,
                decline_days=form.decline_days.data or 0,
                recent_winner_draws=form.recent_winner_draws.data or 0,
                show_names=bool(form.show_names.data),
                public_value_source=form.public_value_source.data
                or draws.DEFAULT_PUBLIC_VALUE_SOURCE,
                public_value_date=form.public_value_date.data,
                public_value_time=form.public_value_time.data,
                actor=current_user,
            )
        except (Conflict, ValidationFailed) as error:
            form.form_errors.append(error.message)
        else:
            flash(_("Entries are open. The commitment to the seed is published."), "success")
            return redirect(url_for(".draw", perk_id=perk.id))
    elif not form.is_submitted():
        form.entries_close_at.data = _default_close()
        form.public_value_source.data = draws.DEFAULT_PUBLIC_VALUE_SOURCE
        form.public_value_date.data = form.entries_close_at.data.date() + timedelta(days=1)
        form.public_value_time.data = draws.DEFAULT_PUBLIC_VALUE_TIME
    status = 400 if form.is_submitted() else 200
    return _draw_page(perk, form, PublicValueForm(formdata=None)), status


def _draw_page(perk: Perk, form: OpenDrawForm, value_form: PublicValueForm) -> str:
    latest = draws.current_draw(perk.id)
    return render_template(
        "catalog/admin_draw.html",
        **_perk_page(perk),
        form=form,
        value_form=value_form,
        draw=latest,
        entry_count=draws.entry_count(latest.id) if latest else 0,
        # the result, a page at a time (a popular draw has thousands of entries)
        page=draws.entries_page(latest.id, page_arg(), RESULT_PAGE_SIZE)
        if latest is not None and latest.status is DrawStatus.DRAWN
        else None,
        entries_closed=latest is not None and utcnow() >= _as_utc(latest.entries_close_at),
        seed=draws.public_seed(latest) if latest else None,
        method=draws.method_text(latest.method) if latest else "",
        public_url=_public_draw_url(latest),
        step_job=draws.draw_job(latest.id) if latest else None,
        zone=current_app.config["BABEL_DEFAULT_TIMEZONE"],
        DrawStatus=DrawStatus,
        EntryOutcome=EntryOutcome,
    )


@bp.post("/<int:perk_id>/draw/public-value")
@hr_only
def public_value(perk_id: int) -> Response | tuple[str, int]:
    perk = services.get_perk(perk_id)
    latest = draws.current_draw(perk.id)
    form = PublicValueForm()
    if latest is not None and form.validate_on_submit():
        try:
            draws.enter_public_value(latest.id, form.value.data or "", actor=current_user)
        except (Conflict, ValidationFailed) as error:
            form.form_errors.append(error.message)
        else:
            flash(_("The public value is recorded. The draw can be made."), "success")
            return redirect(url_for(".draw", perk_id=perk.id))
    elif latest is None:
        form.form_errors.append(_("There is no draw to make: open entries first."))
    return _draw_page(perk, OpenDrawForm(formdata=None), form), 400


@bp.post("/<int:perk_id>/draw/run")
@hr_only
def run_draw(perk_id: int) -> Response:
    require_confirmation()
    perk = services.get_perk(perk_id)
    latest = draws.current_draw(perk.id)
    if latest is None:
        flash(_("There is no draw to make: open entries first."), "danger")
        return redirect(url_for(".draw", perk_id=perk.id))
    # Method 2 draws go in two steps: freeze the entries, then (with the value) draw. Either
    # runs as a background job (ten thousand entries take a while): its page shows how far
    # it is, and the draw's page links to it until it is done.
    try:
        job = draws.start_next_step(latest.id, actor=current_user)
    except Conflict as error:
        flash(error.message, "danger")
        return redirect(url_for(".draw", perk_id=perk.id))
    if not job.state.finished:
        return redirect(url_for("background.job_page", token=job.token))
    if job.state is JobState.FAILED:
        flash(job.error_message, "danger")
    elif job.kind == draws.FREEZE_JOB_KIND:
        flash(_("Entries are frozen and their hash is published."), "success")
    else:
        entries = int((job.result or {}).get("entries") or 0)
        flash(
            ngettext(
                "The draw is made: %(count)s entry in draw order.",
                "The draw is made: %(count)s entries in draw order.",
                entries,
                count=format_number(entries),
            ),
            "success",
        )
    return redirect(url_for(".draw", perk_id=perk.id))


@bp.get("/draws/waiting")
@hr_only
def draws_waiting() -> str:
    """Draws whose entries are frozen and which wait for HR to enter their public value."""
    return render_template(
        "catalog/admin_draws_waiting.html", waiting=draws.waiting_for_public_value()
    )


# --- shared page parts ----------------------------------------------------------------------


def _optional_url(endpoint: str, **values: Any) -> str | None:
    """A link to a page another part of the app serves, when that page exists."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _public_draw_url(latest: Draw | None) -> str | None:
    return _optional_url("catalog.draw", draw_id=latest.id) if latest else None


def _perk_page(perk: Perk) -> dict[str, object]:
    """What every page about one perk shows in its header."""
    return {
        "perk": perk,
        "confirm_form": ConfirmForm(),
        "image_url": _optional_url("catalog.perk_image", perk_id=perk.id, name=perk.image_filename)
        if perk.image_filename
        else None,
    }
