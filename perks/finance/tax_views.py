"""Finance's tax pages: people's tax profiles, the dated withholding rates, the yearly
withholding summary, the named column mappings and the payroll and bank files of a batch.

Finance (and admins) only: a tax profile is personal data nobody else reads here (a person
sees their own on their earnings page). Every change is audited by the service it calls.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import IO

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from werkzeug.exceptions import NotFound as HttpNotFound
from werkzeug.wrappers import Response

from perks.commissions import tax
from perks.commissions.tax import ProfileFields
from perks.commissions.tax_models import TaxProfile
from perks.db import paginate
from perks.errors import ChangedMeanwhile, Conflict, NotPermitted, PerksError, ValidationFailed
from perks.extensions import db
from perks.finance import exports, payfiles, withholding
from perks.finance.forms import (
    EditedMappingForm,
    MappingForm,
    SummaryForm,
    TaxProfileForm,
    WithholdingRateForm,
)
from perks.finance.mapping_models import ExportMapping
from perks.folding import alphabetical
from perks.forms import page_arg, shown_as_saved
from perks.i18n import company_today
from perks.money import parse_money
from perks.people.access import roles_required
from perks.people.models import Role, User
from perks.people.services import person_matches

bp = Blueprint("finance_tax", __name__, url_prefix="/finance")

finance_only = roles_required(Role.FINANCE)
PER_PAGE = 50
Page = str | tuple[str, int]


def _send_spool(spool: IO[bytes], file_format: str, name: str) -> Response:
    spool.seek(0)

    def send() -> Iterator[bytes]:
        try:
            while piece := spool.read(exports.SEND_CHUNK):
                yield piece
        finally:
            spool.close()

    response = Response(send(), mimetype=exports.MIMETYPES[file_format])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- tax profiles ----------------------------------------------------------------------------


def _searched_code(text: str) -> str:
    """The tax code ``text`` is, as profiles store it ("0312.345.673 001" is
    "0312345673-001"); ``text`` without its spaces when it is no tax code. Raises nothing."""
    try:
        return tax.normalised_tax_code(text) or text
    except ValidationFailed:
        return "".join(text.split())


@bp.get("/tax")
@finance_only
def tax_profiles() -> str:
    """Everyone with their tax profile (or none yet), searchable by name, e-mail or number."""
    q = (request.args.get("q") or "").strip()[:100]
    page_number = page_arg()
    query = select(User).order_by(*alphabetical(User.name), User.id)
    if q:  # a name, e-mail or employee number; or a tax code, exactly, however written
        by_tax_code = select(TaxProfile.user_id).where(TaxProfile.tax_code == _searched_code(q))
        query = query.where(or_(person_matches(q), User.id.in_(by_tax_code)))
    page = paginate(query, page_number, PER_PAGE)
    profiles = tax.profiles_of([p.id for p in page.items])
    return render_template(
        "finance/tax_profiles.html",
        page=page,
        profiles=profiles,
        q=q,
        on_payroll={p.id: tax.is_on_payroll(p, profiles.get(p.id)) for p in page.items},
        summary_form=SummaryForm(formdata=None, year=company_today().year),
    )


#: the fields of the tax profile's form that are the profile (not its version or CSRF token)
PROFILE_FIELDS = (
    "tax_code",
    "resident",
    "long_contract",
    "commitment_year",
    "bank_account_number",
    "bank_name",
    "account_holder",
)


def _entered(refused: TaxProfileForm, current: TaxProfileForm) -> list[tuple[str, str]]:
    """What a refused form said where it differs from the profile as it is now: (label, what
    was entered), so the person can enter their changes again without guessing them."""

    def compared(value: object) -> object:
        if isinstance(value, str):
            return re.sub(r"[\s.-]", "", value) or None
        return value if value not in (None, False) else None

    entered = []
    for name in PROFILE_FIELDS:
        mine = refused[name].data
        if compared(mine) == compared(current[name].data):
            continue
        if isinstance(mine, bool):
            shown = _("Yes") if mine else _("No")
        else:
            shown = "" if mine is None else str(mine)
        entered.append((str(refused[name].label.text), shown or "—"))
    return entered


@bp.route("/tax/people/<int:user_id>", methods=["GET", "POST"])
@finance_only
def tax_profile(user_id: int) -> Page | Response:
    person = db.session.get(User, user_id)
    if person is None:
        raise HttpNotFound()
    profile = tax.profile_of(person.id)
    form = TaxProfileForm(obj=profile)
    if request.method == "GET" and profile is None:
        form.resident.data = True
        form.long_contract.data = tax.is_on_payroll(person, None)
    entered: list[tuple[str, str]] = []
    if form.validate_on_submit():
        fields = ProfileFields(
            tax_code=form.tax_code.data or "",
            resident=bool(form.resident.data),
            long_contract=bool(form.long_contract.data),
            commitment_year=form.commitment_year.data,
            bank_account_number=form.bank_account_number.data or "",
            bank_name=form.bank_name.data or "",
            account_holder=form.account_holder.data or "",
        )
        try:
            tax.save_tax_profile(
                person.id, fields, actor=current_user, expected_version=int(form.version.data)
            )
        except ChangedMeanwhile as error:
            # the form shows the profile as it is now (and its version: saving it again is a
            # decision made on what is saved), with what was entered beside it
            profile = tax.profile_of(person.id)
            current = TaxProfileForm(formdata=None, obj=profile)
            entered = _entered(form, current)
            form = current
            form.form_errors.append(error.message)
            status = error.status_code
        except (ValidationFailed, NotPermitted, Conflict) as error:
            form.form_errors.append(error.message)
            status = error.status_code
        else:
            flash(_("The tax profile of %(name)s is saved.", name=person.name), "success")
            return redirect(url_for(".tax_profile", user_id=person.id))
    else:
        if form.version.errors:
            form.form_errors.append(_("This page is out of date: open the tax profile again."))
        status = 400 if request.method == "POST" else 200
    return (
        render_template(
            "finance/tax_profile.html",
            person=person,
            profile=profile,
            form=form,
            own=person.id == current_user.id,
            entered=entered,
        ),
        status,
    )


# --- withholding rates and the yearly summary ------------------------------------------------


def _rate_bps(text: str) -> int:
    """ "10" or "12,5" per cent as basis points. Raises ValidationFailed."""
    try:
        value = Decimal(text.strip().replace(",", ".").rstrip("%").strip())
    except InvalidOperation as error:
        raise ValidationFailed(_("Enter the rate as a number of per cent, e.g. 10.")) from error
    if not value.is_finite():  # "NaN", "sNaN" (which no arithmetic takes), "Infinity"
        raise ValidationFailed(_("Enter the rate as a number of per cent, e.g. 10."))
    bps = value * 100
    if bps != bps.to_integral_value() or not 0 <= bps < 10000:
        raise ValidationFailed(
            _("A rate is from 0 to under 100 per cent, with two decimals at most.")
        )
    return int(bps)


@bp.route("/tax/rates", methods=["GET", "POST"])
@finance_only
def withholding_rates() -> Page | Response:
    form = WithholdingRateForm()
    if form.validate_on_submit():
        try:
            tax.add_withholding_rate(
                form.effective_from.data,
                resident=form.resident.data == "1",
                rate_bps=_rate_bps(form.rate_percent.data or ""),
                threshold=parse_money(form.threshold.data or "", form.currency.data or "VND"),
                note=form.note.data or "",
                actor=current_user,
            )
        except PerksError as error:
            form.form_errors.append(error.message)
        else:
            flash(_("The rate is added."), "success")
            return redirect(url_for(".withholding_rates"))
    status = 400 if request.method == "POST" else 200
    return (
        render_template(
            "finance/withholding_rates.html",
            rates=tax.rates(),
            form=form,
            today=company_today(),
            summary_form=SummaryForm(formdata=None, year=company_today().year),
        ),
        status,
    )


@bp.get("/tax/withholding-<int:year>.<file_format>")
@finance_only
def withholding_summary(year: int, file_format: str) -> Response:
    """The yearly per-person summary for the withholding certificates, in one click."""
    if file_format not in withholding.SUMMARY_FORMATS or not 2000 <= year <= 2200:
        raise HttpNotFound()
    spool = tempfile.TemporaryFile(prefix="perks-tax-")  # noqa: SIM115  closed by the sender
    name = withholding.write_summary(year, file_format, spool, actor=current_user)
    return _send_spool(spool, file_format, name)


@bp.get("/tax/summary")
@finance_only
def withholding_summary_form() -> Response:
    """The summary's year chosen in a form: on to the file."""
    form = SummaryForm(request.args)
    file_format = request.args.get("format", "xlsx")
    if not form.validate() or file_format not in withholding.SUMMARY_FORMATS:
        flash(_("Choose a year from 2000 on."), "danger")
        return redirect(url_for(".withholding_rates"))
    return redirect(url_for(".withholding_summary", year=form.year.data, file_format=file_format))


# --- column mappings and the files -----------------------------------------------------------


@bp.get("/tax/mappings")
@finance_only
def mappings() -> str:
    return render_template(
        "finance/mappings.html", mappings=payfiles.mappings(), fields=payfiles.FIELDS
    )


#: the fields a refused stale save of a mapping lists, where what was entered differs
MAPPING_FIELDS = ("name", "kind", "columns")


def _filled(form: MappingForm, mapping: ExportMapping) -> MappingForm:
    form.name.data, form.kind.data = mapping.name, mapping.kind
    form.columns.data = payfiles.columns_text(mapping.columns)
    if isinstance(form, EditedMappingForm):
        form.shown.data = payfiles.shown_fingerprint(mapping)
    return form


@bp.route("/tax/mappings/new", methods=["GET", "POST"], defaults={"mapping_id": None})
@bp.route("/tax/mappings/<int:mapping_id>", methods=["GET", "POST"])
@finance_only
def mapping(mapping_id: int | None) -> Page | Response:
    existing = payfiles.get_mapping(mapping_id) if mapping_id is not None else None
    form = MappingForm() if existing is None else EditedMappingForm()
    entered: list[tuple[str, str]] = []
    status = 400 if request.method == "POST" else 200
    if request.method == "GET":
        if existing is not None:
            _filled(form, existing)
        else:
            kind = request.args.get("kind", "payroll")
            form.kind.data = kind if kind in payfiles.KINDS else "payroll"
            form.columns.data = payfiles.columns_text(payfiles.DEFAULT_COLUMNS[form.kind.data])
    if form.validate_on_submit():
        try:
            saved = payfiles.save_mapping(
                mapping_id,
                form.name.data or "",
                form.kind.data or "",
                form.columns.data or "",
                actor=current_user,
                shown=form.shown.data if isinstance(form, EditedMappingForm) else None,
            )
        except ChangedMeanwhile as error:
            assert mapping_id is not None
            existing = payfiles.get_mapping(mapping_id)
            current = _filled(EditedMappingForm(formdata=None), existing)
            form, entered, status = shown_as_saved(form, current, MAPPING_FIELDS, error)
        except PerksError as error:
            if error.status_code == 404:
                raise
            form.form_errors.append(error.message)
        else:
            flash(_("The mapping %(name)s is saved.", name=saved.name), "success")
            return redirect(url_for(".mappings"))
    elif isinstance(form, EditedMappingForm) and form.shown.errors:
        form.form_errors.append(_("This page is out of date: open the mapping again."))
    return (
        render_template(
            "finance/mapping_form.html",
            mapping=existing,
            form=form,
            fields=payfiles.FIELDS,
            entered=entered,
        ),
        status,
    )


@bp.get("/payouts/<int:batch_id>/files/<kind>/<int:mapping_id>.<file_format>")
@bp.get("/payouts/<int:batch_id>/files/<kind>.<file_format>", defaults={"mapping_id": None})
@finance_only
def pay_file(batch_id: int, kind: str, mapping_id: int | None, file_format: str) -> Response:
    """The batch's payroll or bank transfer file through a mapping (or the built-in one)."""
    if file_format not in ("csv", "xlsx") or kind not in payfiles.KINDS:
        raise HttpNotFound()
    spool = tempfile.TemporaryFile(prefix="perks-payfile-")  # noqa: SIM115  closed by sender
    try:
        name = payfiles.pay_file(batch_id, mapping_id, kind, file_format, spool, actor=current_user)
    except PerksError as error:
        spool.close()
        if error.status_code == 404:
            raise
        flash(error.message, "danger")
        return redirect(url_for("finance.batch_page", batch_id=batch_id))
    return _send_spool(spool, file_format, re.sub(r"[^A-Za-z0-9._-]", "", name))
