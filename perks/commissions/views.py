"""Employee pages: my earnings, and how commissions are computed.

Every signed-in person has an earnings page; it only ever shows their own commissions (the
queries take the signed-in person's id, never one from the request).
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from perks.commissions import groups, personal, queries, services, tax
from perks.commissions.charts import earnings_chart
from perks.commissions.forms import PersonPreviewForm
from perks.commissions.models import Commission, reason_label
from perks.db import utcnow
from perks.forms import page_arg
from perks.i18n import company_date
from perks.money import Money
from perks.people.access import login_required
from perks.people.models import Role
from perks.referrals import returning

bp = Blueprint("commissions", __name__)


@bp.app_template_global()
def commission_explanation(commission: Commission, taken_back: dict[int, int]) -> str:
    """``queries.explanation``; ``taken_back``: ``queries.taken_back_after_paid`` of the
    list the commission is in."""
    return queries.explanation(commission, taken_back)


@bp.app_template_global()
def commission_rate(commission: Commission) -> str:
    return queries.rate_text(commission)


@bp.app_template_global()
def money_of(amount: int, currency: str) -> Money:
    return Money(amount, currency)


@bp.app_template_filter("entry_reason")
def entry_reason(reason: str) -> str:
    """A ledger entry's reason as people read it (``models.reason_label``)."""
    return reason_label(reason)


def my_earnings_chart(monthly: queries.MonthlyEarnings) -> Markup:
    return earnings_chart(
        monthly.labels,
        currency=monthly.currency,
        earned=monthly.earned,
        taken_back=monthly.taken_back,
        paid_out=monthly.paid,
        title=_("My commissions per month (%(currency)s)", currency=monthly.currency),
        ident="earnings-chart",
        empty_text=_("Nothing earned yet."),
    )


@bp.get("/earnings")
@login_required
def my_earnings() -> str:
    page = page_arg()
    user_id = current_user.id
    today = company_date(utcnow())
    mine = queries.my_earnings(user_id, today, current_app.config["DEFAULT_CURRENCY"])
    profile = tax.profile_of(user_id)
    commissions = queries.commissions_page(user_id, page, mine.mine.count)
    return render_template(
        "commissions/my_earnings.html",
        totals=mine.mine.totals,
        total_states=mine.mine.totals.headed_states(),
        taken_back_since_paid=mine.mine.taken_back_since_paid,
        balances=mine.balances,
        commissions=commissions,
        taken_back_after_paid=queries.taken_back_after_paid(commissions.items),
        adjustments=mine.adjustments,
        payouts=mine.payouts,
        monthly=mine.monthly,
        chart=my_earnings_chart(mine.monthly),
        currency=mine.currency,
        holding_days=current_app.config["COMMISSION_HOLDING_DAYS"],
        tiers=personal.tier_progress(current_user, utcnow(), mine.currency),
        tax_profile=profile,
        on_payroll=tax.is_on_payroll(current_user, profile),
        tax_year=today.year,
        withheld_this_year=mine.withheld_this_year,
    )


def _preview_people() -> list[tuple[int, str]]:
    """Whom the preview may be for: finance and administrators choose anyone with a referral
    link; everyone else previews for themselves."""
    if current_user.has_role(Role.FINANCE):
        return queries.sellers_choices()
    return [(current_user.id, current_user.name)]


@bp.get("/earnings/rules")
@login_required
def rules() -> str | tuple[str, int]:
    rules = queries.live_rules(company_date(utcnow()))
    products, _categories = services.rule_choices()
    form = PersonPreviewForm(request.args, people=_preview_people(), products=products)
    preview = None
    status = 200
    if "product" in request.args:
        if form.validate():
            preview = personal.preview_for(form.person.data, form.product.data, utcnow())
        else:
            status = 400
    elif request.method == "GET":
        form.person.data = current_user.id
    page = render_template(
        "commissions/rules.html",
        rules=rules,
        examples=services.rule_examples(rules, current_app.config["DEFAULT_CURRENCY"]),
        holding_days=current_app.config["COMMISSION_HOLDING_DAYS"],
        form=form,
        preview=preview,
        returning=returning.current_policy(),
        memberships=groups.memberships_of(current_user.id),
    )
    return page, status
