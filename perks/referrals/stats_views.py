"""Referral stats pages: an employee's links, a manager's team, the company; fraud signals.

Every page takes ``?period=day|week|month&days=...`` (anything else is a 400) and shows its
figures as a server-drawn SVG chart and as tables. Nobody sees another team's per-person
figures, except finance and admins on the company page.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from perks.charts import PALETTE, Series, bar_chart, line_chart
from perks.forms import page_arg
from perks.i18n import format_axis_label, number_formatter
from perks.money import Money
from perks.people.access import login_required, roles_required
from perks.people.models import Role
from perks.referrals import fraud, snapshots, stats
from perks.referrals.attribution import AttributionReason
from perks.referrals.periods import Period, Window
from perks.referrals.stats import Bucket

bp = Blueprint("referral_stats", __name__)


def _window(choices: tuple[int, ...] = stats.STATS_DAYS, default: int | None = None) -> Window:
    return stats.window_from_args(
        request.args.get("period"),
        request.args.get("days"),
        choices=choices,
        default_days=default,
    )


def bucket_label(start: date, period: Period) -> str:
    """A bucket's name in the page's language: its first day ("12/5", "12 May") for days and
    weeks, its month ("Tháng 5/2026", "May 2026") for months."""
    return format_axis_label(start, "month" if period is Period.MONTH else "day")


def over_time_chart(series: list[Bucket], labels: list[str]) -> Markup:
    return line_chart(
        labels,
        [
            Series(_("Clicks"), [b.figures.clicks for b in series], PALETTE[0]),
            Series(_("Unique visitors"), [b.figures.visitors for b in series], PALETTE[1]),
        ],
        title=_("Clicks and unique visitors over time"),
        ident="clicks-chart",
        empty_text=_("No clicks yet."),
        number=number_formatter(),
    )


def orders_chart(series: list[Bucket], labels: list[str]) -> Markup:
    """Orders per bucket, on their own axis: there are far fewer orders than clicks."""
    return line_chart(
        labels,
        [Series(_("Orders"), [b.figures.orders for b in series], PALETTE[2])],
        title=_("Orders over time"),
        ident="orders-chart",
        empty_text=_("No orders yet."),
        number=number_formatter(),
    )


def _page(template: str, window: Window, series: list[Bucket], **context: object) -> str:
    """A stats page: its figures, the window switcher, the charts and the charts' table."""
    labels = [bucket_label(bucket.start, window.period) for bucket in series]
    return render_template(
        template,
        window=window,
        series=series,
        chart=over_time_chart(series, labels),
        orders_chart=orders_chart(series, labels),
        labels=labels,
        periods=list(Period),
        choices=stats.STATS_DAYS,
        no_revenue=Money(0, current_app.config["DEFAULT_CURRENCY"]),
        **context,
    )


@bp.get("/stats/links")
@login_required
def my_links() -> str:
    window = _window()
    result = stats.my_links(current_user, window)
    return _page("referrals/stats_links.html", window, result.series, result=result)


@bp.get("/stats/links/<int:link_id>")
@login_required
def link(link_id: int) -> str:
    window = _window()
    detail = stats.link_detail(link_id, current_user, window)
    return _page("referrals/stats_link.html", window, detail.series, detail=detail)


@bp.get("/stats/team")
@roles_required(Role.MANAGER)
def team() -> str:
    window = _window()
    result = stats.team_stats(current_user, window)
    return _page("referrals/stats_team.html", window, result.series, result=result)


@bp.get("/stats/company")
@roles_required(Role.FINANCE)
def company() -> str:
    window = _window()
    page = page_arg()
    result = snapshots.company(window, page=page, per_page=current_app.config["PEOPLE_PER_PAGE"])
    departments = bar_chart(
        [row.name or _("No department") for row in result.departments],
        [
            Series(_("Clicks"), [row.figures.clicks for row in result.departments], PALETTE[0]),
            Series(
                _("Unique visitors"),
                [row.figures.visitors for row in result.departments],
                PALETTE[1],
            ),
        ],
        title=_("Clicks and unique visitors per department"),
        ident="departments-chart",
        empty_text=_("No clicks yet."),
        number=number_formatter(),
    )
    return _page(
        "referrals/stats_company.html",
        window,
        result.series,
        result=result,
        departments_chart=departments,
    )


@bp.get("/finance/fraud", endpoint="fraud")
@roles_required(Role.FINANCE)
def fraud_page() -> str:
    window = _window(fraud.FRAUD_DAYS, default=fraud.FRAUD_DAYS[1])
    snapshot = snapshots.fraud_signals(window)
    return render_template(
        "referrals/fraud.html",
        signals=snapshot.signals,
        as_of=snapshot.as_of,
        window=window,
        choices=fraud.FRAUD_DAYS,
        rules=fraud,
        reasons=AttributionReason,
    )
