"""Finance's leavers page: the leaver policy, who has left and their balances, and closing a
negative balance (deducted from the final salary or written off). The services audit."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from perks.commissions import leavers as commission_leavers
from perks.commissions.models import BalanceOutcome, LeaverPolicy
from perks.errors import Conflict, NotPermitted, ValidationFailed
from perks.finance import leavers
from perks.finance.leaver_forms import CloseBalanceForm, LeaverPolicyForm
from perks.money import Money
from perks.people.access import roles_required
from perks.people.models import Role

bp = Blueprint("leavers", __name__, url_prefix="/finance/leavers")

finance_only = roles_required(Role.FINANCE)
Page = str | tuple[str, int]


def _page(
    policy_form: LeaverPolicyForm | None = None,
    close_form: CloseBalanceForm | None = None,
    close_for: int | None = None,
    status: int = 200,
) -> Page:
    if policy_form is None:
        policy_form = LeaverPolicyForm(data={"policy": commission_leavers.current_policy().value})
    return render_template(
        "finance/leavers.html",
        policy_form=policy_form,
        close_form=close_form or CloseBalanceForm(),
        close_for=close_for,
        rows=leavers.leavers(),
        decisions=leavers.recent_decisions(),
    ), status


@bp.get("/")
@finance_only
def index() -> Page:
    return _page()


@bp.post("/policy")
@finance_only
def set_policy() -> Response | Page:
    form = LeaverPolicyForm()
    if not form.validate_on_submit():
        return _page(policy_form=form, status=400)
    commission_leavers.set_policy(LeaverPolicy(form.policy.data), actor=current_user)
    flash(_("The leaver policy is saved."), "success")
    return redirect(url_for(".index"))


@bp.post("/<int:user_id>/close")
@finance_only
def close_balance(user_id: int) -> Response | Page:
    form = CloseBalanceForm()
    status = 400
    if form.validate_on_submit():
        try:
            expected = Money(int(form.amount.data), form.currency.data)
        except ValueError:
            form.form_errors.append(_("Unknown currency."))
            return _page(close_form=form, close_for=user_id, status=400)
        try:
            leavers.close_negative_balance(
                user_id,
                expected,
                BalanceOutcome(form.outcome.data),
                form.reason.data or "",
                actor=current_user,
            )
        except (ValidationFailed, Conflict, NotPermitted) as error:
            # the error's own status: a person who has not left is a 400, their own balance
            # a 403, a balance that changed since the page showed it a 409
            form.form_errors.append(error.message)
            status = error.status_code
        else:
            flash(_("The balance is closed."), "success")
            return redirect(url_for(".index"))
    return _page(close_form=form, close_for=user_id, status=status)
