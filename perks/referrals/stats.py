"""Referral figures behind the stats pages: a person's links, one link, a manager's team,
departments and the company. The fraud signals (``perks.referrals.fraud``) count the same way,
through ``counted_clicks``, ``visitor`` and ``counted_orders``.

Read-side only, in the style of ``perks.catalog.queries``: each page runs a fixed number of
grouped statements, however many clicks and orders there are (PERFORMANCE.md, P4), and the
page is assembled in Python.

What is counted:

- *clicks* are human clicks: link-preview bots and crawlers are stored (flagged) but never
  counted;
- *unique visitors* are distinct IP hashes in the period (the IP itself is never stored), so
  a total's visitors are not the sum of its rows' visitors;
- *orders* are the storefront's orders attributed to a link and paid in the period (``paid_at``
  in it), whose payment matched the order (no ``mismatch``); refunds do not take them away;
- *revenue* is the sum of those orders' totals, one amount per currency: VND and USD are never
  added together, and the pages show each currency on its own line;
- *conversion* is orders per unique visitor (orders ÷ unique visitors, in basis points), so a
  visitor who clicks five times and buys once converted once. It can pass 100 % when customers
  type a code at checkout without clicking; with no visitors there is no conversion ("—");
- the period runs from midnight, company time (``BABEL_DEFAULT_TIMEZONE``), ``days - 1``
  days ago to now, and the chart's buckets are company-time days, weeks (from Monday) or
  months; orders fall in the bucket of their payment.

Bucketing happens in SQL so that unique visitors per week or month are exact: PostgreSQL
truncates in the company's time zone (``date_trunc`` on ``timezone(zone, clicked_at)``,
daylight saving included); SQLite, used in development and tests, has no time-zone data and
shifts by the zone's current UTC offset, which is exact for zones without daylight saving,
like the default Asia/Ho_Chi_Minh.

Scale (PERFORMANCE.md, P7: 2,000,000 clicks). The employee, link and team pages read only
their own links' clicks through the ``(link_id, clicked_at)`` index. The company page and
the fraud signals read every click of the period: on PostgreSQL through
``ix_click_clicked_at_covering`` (``clicked_at`` with the link, bot flag, IP hash and
referrer alongside, migration 0008), an index-only scan, and they count distinct visitors on
a 64-bit hash of the IP hash (``hashtextextended``): sorting 8-byte integers instead of
64-character strings is several times faster, and the chance that two of a year's few
hundred thousand visitors share a 64-bit hash is about 10⁻⁸ (SQLite, for development and
tests, counts the IP hashes themselves).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    distinct,
    false,
    func,
    literal,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import lazyload

from perks.db import page_within
from perks.errors import NotFound
from perks.extensions import db
from perks.folding import alphabetical, name_order
from perks.money import Money
from perks.people.models import Department, User
from perks.referrals import rollup
from perks.referrals.models import Click, ReferralLink
from perks.referrals.periods import (  # the pages import them from here too
    STATS_DAYS,  # noqa: F401
    Window,
    as_date,
    bucket_sql,
    company_zone,  # noqa: F401
    dialect,
    window_from_args,  # noqa: F401
)
from perks.shop.models import Order

#: the link page lists this many referrer domains and browsers
TOP_SOURCES = 10


# --- figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sales:
    """Paid orders attributed to links: how many, and their totals, one per currency."""

    orders: int = 0
    #: the default currency first, then the others from A to Z; empty when there are none
    revenue: tuple[Money, ...] = ()

    def __add__(self, other: Sales) -> Sales:
        amounts = {money.currency: money.amount for money in self.revenue}
        for money in other.revenue:
            amounts[money.currency] = amounts.get(money.currency, 0) + money.amount
        return Sales(self.orders + other.orders, _revenue(amounts))


NO_SALES = Sales()


def _revenue(amounts: dict[str, int]) -> tuple[Money, ...]:
    """One ``Money`` per currency, the company's own currency first: never added together."""
    default = current_app.config.get("DEFAULT_CURRENCY", "VND")
    return tuple(
        Money(amounts[code], code) for code in sorted(amounts, key=lambda c: (c != default, c))
    )


@dataclass(frozen=True)
class Figures:
    """What a link, a person, a team or the company brought in the window."""

    #: human clicks
    clicks: int = 0
    #: distinct IP hashes
    visitors: int = 0
    #: paid orders attributed to the links (module docstring)
    orders: int = 0
    #: those orders' totals, one per currency (see ``Sales.revenue``)
    revenue: tuple[Money, ...] = ()

    @property
    def conversion_bps(self) -> int | None:
        """Orders per unique visitor, in basis points; None when there were no visitors."""
        if not self.visitors:
            return None
        return self.orders * 10_000 // self.visitors


NO_FIGURES = Figures()


def _figures(traffic: tuple[int, int] | None, sales: Sales | None = None) -> Figures:
    clicks, visitors = traffic or (0, 0)
    sold = sales or NO_SALES
    return Figures(clicks, visitors, sold.orders, sold.revenue)


@dataclass(frozen=True)
class Bucket:
    """One day, week or month of the chart."""

    start: date
    figures: Figures


@dataclass(frozen=True)
class LinkRow:
    link: ReferralLink
    figures: Figures


@dataclass(frozen=True)
class MyLinks:
    """One person's links, each with its figures, their total and the chart."""

    links: list[LinkRow]
    total: Figures
    series: list[Bucket]


@dataclass(frozen=True)
class Source:
    """Where a link's visitors came from (a referrer domain, or a browser or app)."""

    name: str
    clicks: int


@dataclass(frozen=True)
class LinkDetail:
    link: ReferralLink
    figures: Figures
    series: list[Bucket]
    #: referrer domains, most clicks first ("" is a direct visit: typed, an app, no referrer)
    referrers: list[Source]
    #: browsers and apps ("Zalo", "Chrome"), most clicks first
    browsers: list[Source]
    #: link-preview bots and crawlers in the window: redirected, not counted
    bot_visits: int


@dataclass(frozen=True)
class PersonRow:
    user_id: int
    name: str
    active: bool
    department: str | None
    figures: Figures


@dataclass(frozen=True)
class TeamStats:
    """A manager's direct reports, each with their figures, and the team's total."""

    people: list[PersonRow]
    total: Figures
    series: list[Bucket]


@dataclass(frozen=True)
class DepartmentRow:
    department_id: int | None
    name: str | None
    #: people of the department with human clicks in the window
    people: int
    figures: Figures


@dataclass(frozen=True)
class CompanyStats:
    departments: list[DepartmentRow]
    #: people with clicks or orders in the window, most clicks first, a page of them
    people: ListPagination
    total: Figures
    series: list[Bucket]


class ListPagination(Pagination):
    """Flask-SQLAlchemy's pagination of rows already in memory (the ``rows`` argument)."""

    def _query_items(self) -> list[Any]:
        rows: list[Any] = self._query_args["rows"]
        return rows[self._query_offset : self._query_offset + self.per_page]

    def _query_count(self) -> int:
        return len(self._query_args["rows"])


def counted_clicks(window: Window) -> list[ColumnElement[bool]]:
    """The clicks that count: human ones (no bots or crawlers) in the window."""
    return [
        Click.is_bot.is_(false()),
        Click.clicked_at >= window.start,
        Click.clicked_at < window.end,
    ]


def visitor() -> SQLColumnExpression[Any]:
    """What tells visitors apart in ``count(DISTINCT ...)``: on PostgreSQL a 64-bit hash of
    the IP hash (module docstring, "Scale"), elsewhere the IP hash itself."""
    if dialect() == "postgresql":
        return func.hashtextextended(Click.ip_hash, 0)
    return Click.ip_hash


def _counts() -> tuple[Any, Any]:
    # count(*), not count(click.id): the id is not in the covering index (index-only scans)
    return func.count(), func.count(distinct(visitor()))


def counted_orders(window: Window) -> list[ColumnElement[bool]]:
    """Orders attributed to a link, paid in the window, and paid what they asked for."""
    return [
        Order.referral_link_id.is_not(None),
        Order.paid_at >= window.start,
        Order.paid_at < window.end,
        Order.mismatch == "",
    ]


def _sales(
    window: Window,
    key: SQLColumnExpression[Any] | None,
    *where: ColumnElement[bool],
    with_owner: bool = False,
) -> dict[Any, Sales]:
    """Paid attributed orders in the window per ``key`` (None: one total, under the key 0),
    one statement. ``where`` may use the order's link; with ``with_owner``, its owner too."""
    inner = (
        select(
            (key if key is not None else literal(0)).label("key"),
            Order.currency.label("currency"),
            Order.total_amount.label("amount"),
        )
        .select_from(Order)
        .join(ReferralLink, ReferralLink.id == Order.referral_link_id)
    )
    if with_owner:
        inner = inner.join(User, User.id == ReferralLink.user_id)
    sold = inner.where(*counted_orders(window), *where).subquery()
    return _sales_of(
        db.session.execute(
            select(sold.c.key, sold.c.currency, func.count(), func.sum(sold.c.amount)).group_by(
                sold.c.key, sold.c.currency
            )
        )
    )


def _sales_of(rows: Iterable[Any]) -> dict[Any, Sales]:
    """``(key, currency, orders, amount)`` rows folded into each key's ``Sales``."""
    amounts: dict[Any, dict[str, int]] = {}
    counts: dict[Any, int] = {}
    for value, currency, count, amount in rows:
        # PostgreSQL sums BIGINT into NUMERIC: back to whole minor units
        amounts.setdefault(value, {})[currency] = int(amount or 0)
        counts[value] = counts.get(value, 0) + count
    return {value: Sales(counts[value], _revenue(amounts[value])) for value in amounts}


def _total_of(parts: Any) -> Sales:
    total = NO_SALES
    for part in parts:
        total = total + part
    return total


@dataclass(frozen=True)
class Breakdown:
    """Some links' figures in the window three ways: per key (a link, a person), per bucket
    of the chart, and in all (a visitor counted once, however many keys and buckets they
    clicked in)."""

    by_key: dict[Any, Figures]
    series: list[Bucket]
    total: Figures


def _breakdown(
    window: Window, key: SQLColumnExpression[Any], *where: ColumnElement[bool]
) -> Breakdown:
    """The figures of the links ``where`` selects (it may use the click's or order's link),
    per ``key`` (a column of the link), per bucket and in all: two statements, whatever the
    number of keys and buckets.

    Each statement reads its rows once, as a common table expression, and counts them in
    parts joined by ``UNION ALL``: the clicks per key, per bucket and in all; the orders per
    key and per bucket (the orders' total is the keys' sum: an order has one link). A part
    leaves the other part's column NULL; keys and buckets themselves are never NULL."""
    clicks = (
        select(key.label("key"), bucket_sql(window).label("bucket"), visitor().label("visitor"))
        .select_from(Click)
        .join(ReferralLink, ReferralLink.id == Click.link_id)
        .where(*counted_clicks(window), *where)
        .cte("counted_clicks")
    )
    counts = (func.count(), func.count(distinct(clicks.c.visitor)))
    traffic: dict[Any, tuple[int, int]] = {}
    traffic_by_bucket: dict[date, tuple[int, int]] = {}
    total = (0, 0)
    for value, start, count, visitors in db.session.execute(
        union_all(
            select(clicks.c.key, null(), *counts).group_by(clicks.c.key),
            select(null(), clicks.c.bucket, *counts).group_by(clicks.c.bucket),
            select(null(), null(), *counts),
        )
    ):
        if value is not None:
            traffic[value] = (count, visitors)
        elif start is not None:
            traffic_by_bucket[as_date(start)] = (count, visitors)
        else:
            total = (count, visitors)
    orders = (
        select(
            key.label("key"),
            bucket_sql(window, column=Order.paid_at).label("bucket"),
            Order.currency.label("currency"),
            Order.total_amount.label("amount"),
        )
        .select_from(Order)
        .join(ReferralLink, ReferralLink.id == Order.referral_link_id)
        .where(*counted_orders(window), *where)
        .cte("counted_orders")
    )
    sums = (func.count(), func.sum(orders.c.amount))
    by_key: list[tuple[Any, str, int, Any]] = []
    by_bucket: list[tuple[date, str, int, Any]] = []
    for value, start, currency, count, amount in db.session.execute(
        union_all(
            select(orders.c.key, null(), orders.c.currency, *sums).group_by(
                orders.c.key, orders.c.currency
            ),
            select(null(), orders.c.bucket, orders.c.currency, *sums).group_by(
                orders.c.bucket, orders.c.currency
            ),
        )
    ):
        if value is not None:
            by_key.append((value, currency, count, amount))
        else:
            by_bucket.append((as_date(start), currency, count, amount))
    sales = _sales_of(by_key)
    sales_by_bucket = _sales_of(by_bucket)
    sold = _total_of(sales.values())
    return Breakdown(
        {
            value: _figures(traffic.get(value), sales.get(value))
            for value in traffic.keys() | sales.keys()
        },
        [
            Bucket(start, _figures(traffic_by_bucket.get(start), sales_by_bucket.get(start)))
            for start in window.bucket_starts()
        ],
        Figures(total[0], total[1], sold.orders, sold.revenue),
    )


def _per_user(window: Window, *where: ColumnElement[bool]) -> dict[int, Figures]:
    """Each person's figures (people with clicks or orders only): two statements."""
    traffic = {
        user_id: (clicks, visitors)
        for user_id, clicks, visitors in db.session.execute(
            select(ReferralLink.user_id, *_counts())
            .select_from(Click)
            .join(ReferralLink, ReferralLink.id == Click.link_id)
            .where(*counted_clicks(window), *where)
            .group_by(ReferralLink.user_id)
        )
    }
    sales = _sales(window, ReferralLink.user_id, *where)
    return {
        user_id: _figures(traffic.get(user_id), sales.get(user_id))
        for user_id in traffic.keys() | sales.keys()
    }


# --- an employee's own links -----------------------------------------------------------------


def _links_of(user: User) -> Select[ReferralLink]:
    # The owner is the person asking: no need to load them again with every link.
    return (
        select(ReferralLink)
        .where(ReferralLink.user_id == user.id)
        .options(lazyload(ReferralLink.user))
    )


def my_links(user: User, window: Window) -> MyLinks:
    """``user``'s links (default first, then newest), each with its figures; their total and
    chart. Three statements."""
    links = list(
        db.session.scalars(
            _links_of(user).order_by(
                ReferralLink.is_default.desc(),
                ReferralLink.created_at.desc(),
                ReferralLink.id.desc(),
            )
        )
    )
    # orders and revenue add up across links; visitors do not (one person, several links)
    figures = _breakdown(window, ReferralLink.id, ReferralLink.user_id == user.id)
    return MyLinks(
        [LinkRow(link, figures.by_key.get(link.id, NO_FIGURES)) for link in links],
        figures.total,
        figures.series,
    )


def link_detail(link_id: int, user: User, window: Window) -> LinkDetail:
    """One of ``user``'s links with its figures, chart, referrers, browsers and bot visits.
    Six statements.

    Raises:
        NotFound: no such link, or it belongs to someone else (whoever is asking).
    """
    link = db.session.scalar(_links_of(user).where(ReferralLink.id == link_id))
    if link is None:
        raise NotFound()
    bot_visits = db.session.scalar(
        select(func.count()).where(
            Click.link_id == link.id,
            Click.is_bot.is_(true()),
            Click.clicked_at >= window.start,
            Click.clicked_at < window.end,
        )
    )
    figures = _breakdown(window, ReferralLink.id, ReferralLink.id == link.id)
    return LinkDetail(
        link,
        figures.total,
        figures.series,
        _top(Click.referrer_domain, window, Click.link_id == link.id),
        _top(Click.user_agent_family, window, Click.link_id == link.id),
        bot_visits or 0,
    )


def _top(column: Any, window: Window, *where: ColumnElement[bool]) -> list[Source]:
    clicks = func.count()
    rows = db.session.execute(
        select(column, clicks)
        .select_from(Click)
        .where(*counted_clicks(window), *where)
        .group_by(column)
        .order_by(clicks.desc(), column)
        .limit(TOP_SOURCES)
    )
    return [Source(name or "", count) for name, count in rows]


# --- a manager's team ------------------------------------------------------------------------


def team_people(manager: User, window: Window) -> list[PersonRow]:
    """``manager``'s direct reports (active or not), by name, each with their figures in the
    window. Three statements."""
    return _team_rows(manager, _per_user(window, _in_team(manager)))


def _team_rows(manager: User, figures: dict[Any, Figures]) -> list[PersonRow]:
    """``manager``'s direct reports, by name, each with their ``figures``: one statement."""
    people = db.session.execute(
        select(User.id, User.name, User.active, Department.name)
        .outerjoin(Department, Department.id == User.department_id)
        .where(User.manager_id == manager.id)
        .order_by(*alphabetical(User.name), User.id)
    )
    return [
        PersonRow(user_id, name, active, department, figures.get(user_id, NO_FIGURES))
        for user_id, name, active, department in people
    ]


def _in_team(manager: User) -> ColumnElement[bool]:
    """The links of ``manager``'s direct reports."""
    return ReferralLink.user_id.in_(
        select(User.id).where(User.manager_id == manager.id).scalar_subquery()
    )


def team_stats(manager: User, window: Window) -> TeamStats:
    """``manager``'s direct reports, each with their figures; the team's total (visitors
    counted once across the team) and chart. Three statements."""
    figures = _breakdown(window, ReferralLink.user_id, _in_team(manager))
    return TeamStats(_team_rows(manager, figures.by_key), figures.total, figures.series)


# --- the company (finance, admin) ------------------------------------------------------------


def company_stats(window: Window, *, page: int, per_page: int) -> CompanyStats:
    """Per department and, a page at a time, per person (people with clicks or orders, most
    clicks first); the company's total and chart. Five statements.

    Clicks and visitors come from the daily roll-up (``perks.referrals.rollup``: a year of
    millions of clicks is a few hundred thousand rows at most), so *visitors* here are daily
    visitors: each link's unique visitors of each day, added up. Someone who clicks on three
    days, or on two links of one person, counts three times, or twice; the people's own pages
    count each visitor once over the whole period. Conversion here is orders ÷ daily visitors.
    """
    daily = rollup.daily_traffic(window, rollup.rolled_through())
    clicks, visitors = func.sum(daily.c.clicks), func.sum(daily.c.visitors)
    person = (User.id, User.name, User.active, User.department_id, Department.name)
    people: dict[int, tuple[str, bool, int | None, str | None]] = {}
    traffic: dict[int, tuple[int, int]] = {}
    for user_id, name, active, department_id, department, count, unique in db.session.execute(
        select(*person, clicks, visitors)
        .select_from(daily)
        .join(ReferralLink, ReferralLink.id == daily.c.link_id)
        .join(User, User.id == ReferralLink.user_id)
        .outerjoin(Department, Department.id == User.department_id)
        .group_by(*person)
        .having(clicks > 0)
    ):
        people[user_id] = (name, active, department_id, department)
        traffic[user_id] = (int(count), int(unique))
    amounts: dict[int, dict[str, int]] = {}
    orders: dict[int, int] = {}
    for (
        user_id,
        name,
        active,
        department_id,
        department,
        currency,
        count,
        amount,
    ) in db.session.execute(
        select(*person, Order.currency, func.count(), func.sum(Order.total_amount))
        .select_from(Order)
        .join(ReferralLink, ReferralLink.id == Order.referral_link_id)
        .join(User, User.id == ReferralLink.user_id)
        .outerjoin(Department, Department.id == User.department_id)
        .where(*counted_orders(window))
        .group_by(*person, Order.currency)
    ):
        people[user_id] = (name, active, department_id, department)
        amounts.setdefault(user_id, {})[currency] = int(amount or 0)
        orders[user_id] = orders.get(user_id, 0) + count
    rows = sorted(
        (
            PersonRow(
                user_id,
                name,
                active,
                department,
                _figures(
                    traffic.get(user_id),
                    Sales(orders[user_id], _revenue(amounts[user_id]))
                    if user_id in orders
                    else None,
                ),
            )
            for user_id, (name, active, _department_id, department) in people.items()
        ),
        key=lambda row: (
            -row.figures.clicks,
            -row.figures.orders,
            name_order(row.name),
            row.user_id,
        ),
    )
    return CompanyStats(
        _departments(rows, {user_id: info[2] for user_id, info in people.items()}),
        ListPagination(
            rows=rows,
            page=page_within(page, len(rows), per_page),
            per_page=per_page,
            max_per_page=None,
            error_out=False,
        ),
        _sum(row.figures for row in rows),
        _daily_series(window, daily),
    )


def _sum(parts: Any) -> Figures:
    """Figures added up: right for daily visitors, which add up (not for unique ones)."""
    clicks = visitors = 0
    sold = NO_SALES
    for figures in parts:
        clicks += figures.clicks
        visitors += figures.visitors
        sold = sold + Sales(figures.orders, figures.revenue)
    return Figures(clicks, visitors, sold.orders, sold.revenue)


def _departments(
    rows: list[PersonRow], department_of: dict[int, int | None]
) -> list[DepartmentRow]:
    """The people's figures added up per department (daily visitors add up)."""
    grouped: dict[int | None, list[PersonRow]] = {}
    for row in rows:
        grouped.setdefault(department_of[row.user_id], []).append(row)
    departments = [
        DepartmentRow(
            department_id,
            members[0].department,
            sum(1 for member in members if member.figures.clicks),
            _sum(member.figures for member in members),
        )
        for department_id, members in grouped.items()
    ]
    return sorted(
        departments,
        key=lambda row: (-row.figures.clicks, -row.figures.orders, name_order(row.name or "")),
    )


def _daily_series(window: Window, daily: Any) -> list[Bucket]:
    """The chart's buckets from the daily roll-up: one statement for the clicks (one row per
    day) and one for the orders."""
    per_day = db.session.execute(
        select(daily.c.day, func.sum(daily.c.clicks), func.sum(daily.c.visitors)).group_by(
            daily.c.day
        )
    )
    traffic: dict[date, tuple[int, int]] = {}
    for day, clicks, visitors in per_day:
        start = window.period.start_of(as_date(day))
        before = traffic.get(start, (0, 0))
        traffic[start] = (before[0] + int(clicks), before[1] + int(visitors))
    sales = {
        as_date(start): sold
        for start, sold in _sales(window, bucket_sql(window, column=Order.paid_at)).items()
    }
    return [
        Bucket(start, _figures(traffic.get(start), sales.get(start)))
        for start in window.bucket_starts()
    ]
