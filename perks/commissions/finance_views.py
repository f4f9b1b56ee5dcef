"""Finance pages: every commission with filters and totals, flagged orders, adjustments, the
commission rules (create, new version, end, preview), the named groups rules may target, and
the returning-customer setting.

Every change is audited by the service it calls; these views only turn forms into plain
data and domain errors into messages.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from perks.commissions import groups, ledger, queries, services
from perks.commissions.forms import (
    AdjustmentForm,
    CommissionFilterForm,
    EndRuleForm,
    GroupForm,
    MemberForm,
    ReturningCustomersForm,
    RevisedRuleForm,
    RuleForm,
)
from perks.commissions.models import CommissionRule, CommissionState, RuleKind, TierMeasure
from perks.db import utcnow
from perks.errors import ChangedMeanwhile, Conflict, NotFound, NotPermitted, ValidationFailed
from perks.forms import ConfirmForm, page_arg
from perks.i18n import company_date, format_bps, format_day
from perks.money import Money, format_money
from perks.people import services as people_services
from perks.people.access import roles_required
from perks.people.models import Role
from perks.referrals import returning
from perks.shop.attribution import reason_label as attribution_reason_label

bp = Blueprint("commissions_finance", __name__, url_prefix="/finance")

finance_only = roles_required(Role.FINANCE)
Page = str | tuple[str, int]


# --- commissions -------------------------------------------------------------------------------


@bp.get("/commissions")
@finance_only
def index() -> Page:
    products, _categories = services.rule_choices()
    form = CommissionFilterForm(
        request.args,
        departments=[(d.id, d.name) for d in people_services.departments()],
        products=products,
    )
    valid = not request.args or form.validate()
    person_id = form.chosen_person() if valid else None
    if not valid or form.person.errors:
        return render_template("commissions/finance_index.html", form=form, page=None), 400
    chosen = queries.CommissionFilter(
        start=form.start.data,
        end=form.end.data,
        state=CommissionState(form.state.data) if form.state.data else None,
        department_id=form.department.data or None,
        user_id=person_id,
        product_id=form.product.data or None,
    )
    page = queries.all_commissions(chosen, page_arg())
    return render_template(
        "commissions/finance_index.html",
        form=form,
        page=page,
        taken_back_after_paid=queries.taken_back_after_paid(page.items),
        totals=queries.filtered_totals(chosen),
        states=list(CommissionState),
    )


@bp.get("/commissions/flagged")
@finance_only
def flagged() -> str:
    page = queries.flagged_orders(page_arg())
    return render_template(
        "commissions/flagged.html",
        page=page,
        orders=page.items,
        attribution_reason_label=attribution_reason_label,
    )


def _adjustment_form() -> AdjustmentForm:
    form = AdjustmentForm(people=queries.people_choices())
    if not form.is_submitted():
        form.request_token.data = ledger.new_request_token()
    return form


@bp.route("/commissions/adjustments", methods=["GET", "POST"])
@finance_only
def adjustments() -> Response | Page:
    form = _adjustment_form()
    status = 400 if form.is_submitted() else 200
    if form.validate_on_submit():
        assert form.money is not None
        try:
            ledger.record_adjustment(
                form.user_id.data,
                form.money,
                form.reason.data or "",
                actor=current_user,
                request_token=form.request_token.data or None,
            )
        except (ValidationFailed, NotFound, NotPermitted, Conflict) as error:
            form.form_errors.append(error.message)
            status = {NotPermitted: 403, Conflict: 409}.get(type(error), 400)
        else:
            flash(_("The adjustment is recorded."), "success")
            return redirect(url_for(".adjustments"))
    page = render_template(
        "commissions/adjustments.html", form=form, adjustments=queries.recent_adjustments()
    )
    return page, status


# --- rules -------------------------------------------------------------------------------------


@bp.get("/commission-rules")
@finance_only
def rules() -> str:
    rules = queries.all_rules()
    return render_template(
        "commissions/finance_rules.html",
        rules=rules,
        examples=services.rule_examples(rules, current_app.config["DEFAULT_CURRENCY"]),
        applied=queries.applied_rule_ids([r.id for r in rules]),
        replaced={r.supersedes_id for r in rules if r.supersedes_id is not None},
        end_form=EndRuleForm(),
        today=company_date(utcnow()),
    )


def _rule_form(rule: CommissionRule | None = None, *, as_saved: bool = False) -> RuleForm:
    """The form for a new rule, or for new terms of ``rule`` (a ``RevisedRuleForm``): filled
    from the request's form, or on a GET (or ``as_saved``) with the rule as it is."""
    products, categories = services.rule_choices()
    choices: dict[str, object] = {
        "products": products,
        "categories": categories,
        "departments": [(d.id, d.name) for d in people_services.departments()],
        "groups": groups.group_choices(),
    }
    if as_saved:
        choices["formdata"] = None
    form = (
        RuleForm(**choices)  # type: ignore[arg-type]
        if rule is None
        else RevisedRuleForm(fixed_target=True, **choices)  # type: ignore[arg-type]
    )
    if request.method == "GET" or as_saved:
        form.effective_from.data = company_date(utcnow())
        form.preview_amount.data = "2.000.000" if (form.currency.data or "VND") == "VND" else ""
        if rule is not None:
            _fill(form, rule)
    return form


def _fill(form: RuleForm, rule: CommissionRule) -> None:
    form.scope.data = rule.scope.value
    form.product_id.data = rule.product_id or 0
    form.category_id.data = rule.category_id or 0
    form.kind.data = rule.kind.value
    form.currency.data = rule.currency or ""
    form.rate.data = format_bps(rule.rate_bps).rstrip("%") if rule.rate_bps else ""
    if rule.rate_bps == 0:
        form.rate.data = "0"
    currency = rule.currency or "VND"
    form.flat.data = (
        format_money(Money(rule.flat_amount, currency)).replace("\xa0", " ")
        if rule.flat_amount is not None
        else ""
    )
    form.cap.data = (
        format_money(Money(rule.cap_amount, currency)).replace("\xa0", " ")
        if rule.cap_amount is not None
        else ""
    )
    form.note.data = rule.note
    if isinstance(form, RevisedRuleForm):
        form.row_version.data = str(rule.row_version)
    form.audience.data = rule.audience.value
    form.employment_type.data = rule.employment_type.value if rule.employment_type else ""
    form.department_id.data = rule.department_id or 0
    form.group_id.data = rule.group_id or 0
    form.tier_measure.data = rule.tier_measure.value if rule.tier_measure else ""
    form.tiers.data = "\n".join(_tier_line(rule, tier) for tier in rule.tiers)
    if services.is_applied(rule.id):
        form.effective_from.data = max(company_date(utcnow()), rule.effective_from) + timedelta(
            days=1
        )
        # the new version keeps the rule's last day (a campaign's end), when it is to come
        if rule.effective_to is not None and rule.effective_to >= form.effective_from.data:
            form.effective_to.data = rule.effective_to
    else:
        form.effective_from.data = rule.effective_from
        form.effective_to.data = rule.effective_to


def _tier_line(rule: CommissionRule, tier: object) -> str:
    """A tier as the form's text, amounts as the reader writes them ("10 = 3",
    "50.000.000 ₫ = 3" in Vietnamese, "₫50,000,000 = 3" in English)."""
    currency = rule.currency or "VND"
    threshold = getattr(tier, "threshold", 0)
    if rule.tier_measure is TierMeasure.AMOUNT:
        left = format_money(Money(threshold, currency)).replace("\xa0", " ")
    else:
        left = str(threshold)
    if rule.kind is RuleKind.PERCENT:
        right = format_bps(getattr(tier, "rate_bps", 0) or 0).rstrip("%") or "0"
    else:
        right = format_money(Money(getattr(tier, "flat_amount", 0) or 0, currency))
        right = right.replace("\xa0", " ")
    return f"{left} = {right}"


#: the terms a rule's change form sets: (``RuleData`` attribute, form field)
RULE_FIELDS = (
    ("kind", "kind"),
    ("rate_bps", "rate"),
    ("flat_amount", "flat"),
    ("cap_amount", "cap"),
    ("currency", "currency"),
    ("tier_measure", "tier_measure"),
    ("tiers", "tiers"),
    ("effective_from", "effective_from"),
    ("effective_to", "effective_to"),
    ("note", "note"),
)


def _entered(refused: RuleForm, current: RuleForm, rule: CommissionRule) -> list[tuple[str, str]]:
    """What a refused form said where it differs from the rule as it is now: (label, what was
    entered), so the person can enter their changes again without guessing them. Terms are
    compared as read (2,5 and 2.5 are the same rate), days with what the form now proposes."""
    assert refused.rule_data is not None
    saved = services.rule_data_of(rule)
    entered = []
    for attribute, name in RULE_FIELDS:
        mine = getattr(refused.rule_data, attribute)
        if name in ("effective_from", "effective_to"):
            theirs = current[name].data
        else:
            theirs = getattr(saved, attribute)
        if attribute == "tiers":
            mine, theirs = (
                sorted((t.threshold, t.rate_bps, t.flat_amount) for t in tiers)
                for tiers in (mine, theirs)
            )
        if mine == theirs:
            continue
        field = refused[name]
        if name in ("effective_from", "effective_to"):
            shown = format_day(mine) if mine else ""
        elif hasattr(field, "iter_choices"):
            shown = next((str(c[1]) for c in field.iter_choices() if c[2] and c[0]), "")
        else:
            shown = str(field.data or "")
        entered.append((str(field.label.text), shown or "—"))
    return entered


def _rule_page(
    form: RuleForm,
    rule: CommissionRule | None,
    status: int,
    entered: list[tuple[str, str]] | None = None,
) -> Page:
    preview = None
    if form.rule_data is not None and form.preview_base is not None:
        preview = (
            form.preview_base,
            form.preview_quantity.data or 1,
            services.preview(
                form.rule_data.terms, form.preview_base, form.preview_quantity.data or 1
            ),
        )
    applied = rule is not None and services.is_applied(rule.id)
    page = render_template(
        "commissions/rule_form.html",
        form=form,
        rule=rule,
        preview=preview,
        applied=applied,
        entered=entered or [],
    )
    return page, status


def _preview(form: RuleForm, rule: CommissionRule | None) -> Page:
    """The rule's example, once the rule passes the checks saving it would make (a rule that
    cannot be saved shows why, not an amount)."""
    assert form.rule_data is not None
    try:
        services.check_rule_data(form.rule_data)
    except ValidationFailed as error:
        form.form_errors.append(error.message)
        form.rule_data = None
        return _rule_page(form, rule, 400)
    return _rule_page(form, rule, 200)


@bp.route("/commission-rules/new", methods=["GET", "POST"])
@finance_only
def create_rule() -> Response | Page:
    form = _rule_form()
    if form.validate_on_submit():
        assert form.rule_data is not None
        if form.preview.data:
            return _preview(form, None)
        try:
            services.create_rule(
                form.rule_data, actor=current_user, sending=form.sending.data or None
            )
        except ValidationFailed as error:
            form.form_errors.append(error.message)
        else:
            flash(_("The rule is saved."), "success")
            return redirect(url_for(".rules"))
    return _rule_page(form, None, 400 if form.is_submitted() else 200)


@bp.route("/commission-rules/<int:rule_id>/revise", methods=["GET", "POST"])
@finance_only
def revise_rule(rule_id: int) -> Response | Page:
    rule = services.get_rule(rule_id)
    form = _rule_form(rule)
    assert isinstance(form, RevisedRuleForm)
    if form.validate_on_submit():
        assert form.rule_data is not None
        if form.preview.data:
            return _preview(form, rule)
        try:
            saved = services.revise_rule(
                rule.id,
                form.rule_data,
                actor=current_user,
                expected_row_version=int(form.row_version.data),
            )
        except ChangedMeanwhile as error:
            # the form shows the rule as it is now (and its row version: saving it again is a
            # decision made on what is saved), with what was entered beside it
            current = _rule_form(rule, as_saved=True)
            entered = _entered(form, current, rule)
            current.form_errors.append(error.message)
            return _rule_page(current, rule, error.status_code, entered)
        except (ValidationFailed, Conflict) as error:
            form.form_errors.append(error.message)
            return _rule_page(form, rule, error.status_code)  # 409 for a replaced rule
        else:
            if saved.id == rule.id:
                flash(_("The rule is changed."), "success")
            else:
                flash(
                    _(
                        "Version %(version)d is saved; the previous one ends the day before.",
                        version=saved.version,
                    ),
                    "success",
                )
            return redirect(url_for(".rules"))
    elif form.row_version.errors:
        form.form_errors.append(_("This page is out of date: open the rule again."))
    return _rule_page(form, rule, 400 if form.is_submitted() else 200)


@bp.post("/commission-rules/<int:rule_id>/end")
@finance_only
def end_rule(rule_id: int) -> Response:
    services.get_rule(rule_id)
    form = EndRuleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.end_rule(rule_id, form.last_day.data, actor=current_user)
    except (ValidationFailed, Conflict) as error:
        flash(error.message, "danger")
    else:
        flash(_("The rule ends after %(date)s.", date=format_day(form.last_day.data)), "success")
    return redirect(url_for(".rules"))


# --- named groups ------------------------------------------------------------------------------


@bp.route("/commission-groups", methods=["GET", "POST"])
@finance_only
def groups_index() -> Response | Page:
    form = GroupForm()
    if form.validate_on_submit():
        try:
            group = groups.create_group(
                form.name.data or "", form.note.data or "", actor=current_user
            )
        except (ValidationFailed, Conflict) as error:
            form.form_errors.append(error.message)
        else:
            flash(_("The group is added."), "success")
            return redirect(url_for(".group", group_id=group.id))
    page = render_template("commissions/groups.html", form=form, groups=groups.all_groups())
    return page, 400 if form.is_submitted() else 200


@bp.route("/commission-groups/<int:group_id>", methods=["GET", "POST"])
@finance_only
def group(group_id: int) -> Response | Page:
    chosen = groups.get_group(group_id)
    form = MemberForm(people=queries.people_choices())
    status = 400
    if form.validate_on_submit():
        try:
            groups.add_member(chosen.id, form.user_id.data, actor=current_user)
        except NotFound:
            form.user_id.errors.append(_("Choose a person from the list."))
        except NotPermitted as error:
            form.user_id.errors.append(error.message)
            status = 403
        else:
            flash(_("The person is in the group."), "success")
            return redirect(url_for(".group", group_id=chosen.id))
    page = render_template(
        "commissions/group.html", group=chosen, form=form, remove_form=ConfirmForm()
    )
    return page, status if form.is_submitted() else 200


@bp.post("/commission-groups/<int:group_id>/members/<int:user_id>/remove")
@finance_only
def remove_member(group_id: int, user_id: int) -> Response:
    groups.get_group(group_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    groups.remove_member(group_id, user_id, actor=current_user)
    flash(_("The person is no longer in the group."), "success")
    return redirect(url_for(".group", group_id=group_id))


# --- returning customers -----------------------------------------------------------------------


@bp.route("/returning-customers", methods=["GET", "POST"])
@finance_only
def returning_customers() -> Response | Page:
    policy = returning.current_policy()
    form = ReturningCustomersForm()
    if request.method == "GET":
        form.window_days.data = policy.window_days
        form.rate.data = (
            format_bps(policy.rate_bps).rstrip("%") if policy.rate_bps is not None else ""
        )
    if form.validate_on_submit():
        try:
            returning.save_policy(form.window_days.data or 0, form.rate_bps, actor=current_user)
        except ValidationFailed as error:
            form.form_errors.append(error.message)
        else:
            flash(_("The returning-customer setting is saved."), "success")
            return redirect(url_for(".returning_customers"))
    page = render_template("commissions/returning_customers.html", form=form, policy=policy)
    return page, 400 if form.is_submitted() else 200
