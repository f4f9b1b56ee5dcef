"""Referral figures behind the stats pages, and the fraud signals finance reviews.

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
their own links' clicks through the ``(link_id, clicked_at)`` index. The company and fraud
pages read every click of the period: on PostgreSQL through ``ix_click_clicked_at_covering``
(``clicked_at`` with the link, bot flag, IP hash and referrer alongside, migration 0008), an
index-only scan, and they count distinct visitors on a 64-bit hash of the IP hash
(``hashtextextended``): sorting 8-byte integers instead of 64-character strings is several
times faster, and the chance that two of a year's few hundred thousand visitors share a
64-bit hash is about 10⁻⁸ (SQLite, for development and tests, counts the IP hashes
themselves).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    case,
    distinct,
    false,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.orm import aliased, lazyload

from perks.errors import NotFound
from perks.extensions import db
from perks.money import Money
from perks.people.models import Department, User
from perks.referrals import rollup
from perks.referrals.attribution import AttributionReason
from perks.referrals.models import Click, ReferralLink
from perks.referrals.periods import (  # the pages import them from here too
    STATS_DAYS,  # noqa: F401
    Period,
    Window,
    as_date,
    bucket_sql,
    company_zone,  # noqa: F401
    dialect,
    window_from_args,  # noqa: F401
)
from perks.shop.models import Order, OrderStatus

#: the periods the fraud page offers, in days; the second is the default
FRAUD_DAYS = (7, 30, 90)

#: fraud signal: this many human clicks on one link in one (company) day from one IP hash
SAME_VISITOR_CLICKS_PER_DAY = 50
#: fraud signal: a link with at least this many human clicks in the period...
FEW_VISITORS_MIN_CLICKS = 100
#: ...that average at least this many clicks per unique visitor
FEW_VISITORS_CLICKS_PER_VISITOR = 10
#: fraud signal: a link with at least this many clicks (bots included) in the period...
BOT_SHARE_MIN_CLICKS = 20
#: ...of which at least this share (basis points) were bots
BOT_SHARE_MIN_BPS = 5_000
#: fraud signal: a link with at least this many human clicks from one source (a referring
#: site, or none) in the period, and no order in it
NO_ORDERS_MIN_CLICKS = 100
#: each fraud list shows at most this many rows, worst first
FRAUD_ROWS = 100
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


def _human(window: Window) -> list[ColumnElement[bool]]:
    return [
        Click.is_bot.is_(false()),
        Click.clicked_at >= window.start,
        Click.clicked_at < window.end,
    ]


def _visitor() -> SQLColumnExpression[Any]:
    """What tells visitors apart in ``count(DISTINCT ...)``: on PostgreSQL a 64-bit hash of
    the IP hash (module docstring, "Scale"), elsewhere the IP hash itself."""
    if dialect() == "postgresql":
        return func.hashtextextended(Click.ip_hash, 0)
    return Click.ip_hash


def _counts() -> tuple[Any, Any]:
    # count(*), not count(click.id): the id is not in the covering index (index-only scans)
    return func.count(), func.count(distinct(_visitor()))


def _paid(window: Window) -> list[ColumnElement[bool]]:
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
    sold = inner.where(*_paid(window), *where).subquery()
    amounts: dict[Any, dict[str, int]] = {}
    counts: dict[Any, int] = {}
    for value, currency, count, amount in db.session.execute(
        select(sold.c.key, sold.c.currency, func.count(), func.sum(sold.c.amount)).group_by(
            sold.c.key, sold.c.currency
        )
    ):
        # PostgreSQL sums BIGINT into NUMERIC: back to whole minor units
        amounts.setdefault(value, {})[currency] = int(amount or 0)
        counts[value] = counts.get(value, 0) + count
    return {value: Sales(counts[value], _revenue(amounts[value])) for value in amounts}


def _total_of(parts: Any) -> Sales:
    total = NO_SALES
    for part in parts:
        total = total + part
    return total


def _series(window: Window, *where: ColumnElement[bool]) -> list[Bucket]:
    """Clicks, unique visitors, orders and revenue per bucket: two statements, whatever the
    number of buckets."""
    clicks = (
        select(bucket_sql(window).label("bucket"), _visitor().label("visitor"))
        .select_from(Click)
        .join(ReferralLink, ReferralLink.id == Click.link_id)
        .where(*_human(window), *where)
        .subquery()
    )
    rows = db.session.execute(
        select(clicks.c.bucket, func.count(), func.count(distinct(clicks.c.visitor))).group_by(
            clicks.c.bucket
        )
    )
    traffic = {as_date(start): (count, visitors) for start, count, visitors in rows}
    sales = {
        as_date(start): sold
        for start, sold in _sales(window, bucket_sql(window, column=Order.paid_at), *where).items()
    }
    return [
        Bucket(start, _figures(traffic.get(start), sales.get(start)))
        for start in window.bucket_starts()
    ]


def _traffic_total(window: Window, *where: ColumnElement[bool]) -> tuple[int, int]:
    clicks, visitors = db.session.execute(
        select(*_counts())
        .select_from(Click)
        .join(ReferralLink, ReferralLink.id == Click.link_id)
        .where(*_human(window), *where)
    ).one()
    return clicks, visitors


def _per_user(window: Window, *where: ColumnElement[bool]) -> dict[int, Figures]:
    """Each person's figures (people with clicks or orders only): two statements."""
    traffic = {
        user_id: (clicks, visitors)
        for user_id, clicks, visitors in db.session.execute(
            select(ReferralLink.user_id, *_counts())
            .select_from(Click)
            .join(ReferralLink, ReferralLink.id == Click.link_id)
            .where(*_human(window), *where)
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
    chart. Six statements."""
    links = list(
        db.session.scalars(
            _links_of(user).order_by(
                ReferralLink.is_default.desc(),
                ReferralLink.created_at.desc(),
                ReferralLink.id.desc(),
            )
        )
    )
    mine = ReferralLink.user_id == user.id
    traffic = {
        link_id: (clicks, visitors)
        for link_id, clicks, visitors in db.session.execute(
            select(Click.link_id, *_counts())
            .select_from(Click)
            .join(ReferralLink, ReferralLink.id == Click.link_id)
            .where(*_human(window), mine)
            .group_by(Click.link_id)
        )
    }
    sales = _sales(window, Order.referral_link_id, mine)
    clicks, visitors = _traffic_total(window, mine)
    # orders and revenue add up across links; visitors do not (one person, several links)
    sold = _total_of(sales.values())
    return MyLinks(
        [LinkRow(link, _figures(traffic.get(link.id), sales.get(link.id))) for link in links],
        Figures(clicks, visitors, sold.orders, sold.revenue),
        _series(window, mine),
    )


def link_detail(link_id: int, user: User, window: Window) -> LinkDetail:
    """One of ``user``'s links with its figures, chart, referrers, browsers and bot visits.
    Eight statements.

    Raises:
        NotFound: no such link, or it belongs to someone else (whoever is asking).
    """
    link = db.session.scalar(_links_of(user).where(ReferralLink.id == link_id))
    if link is None:
        raise NotFound()
    this_link = ReferralLink.id == link.id
    bot_visits = db.session.scalar(
        select(func.count()).where(
            Click.link_id == link.id,
            Click.is_bot.is_(true()),
            Click.clicked_at >= window.start,
            Click.clicked_at < window.end,
        )
    )
    sold = _sales(window, None, this_link).get(0, NO_SALES)
    clicks, visitors = _traffic_total(window, this_link)
    return LinkDetail(
        link,
        Figures(clicks, visitors, sold.orders, sold.revenue),
        _series(window, this_link),
        _top(Click.referrer_domain, window, Click.link_id == link.id),
        _top(Click.user_agent_family, window, Click.link_id == link.id),
        bot_visits or 0,
    )


def _top(column: Any, window: Window, *where: ColumnElement[bool]) -> list[Source]:
    clicks = func.count()
    rows = db.session.execute(
        select(column, clicks)
        .select_from(Click)
        .where(*_human(window), *where)
        .group_by(column)
        .order_by(clicks.desc(), column)
        .limit(TOP_SOURCES)
    )
    return [Source(name or "", count) for name, count in rows]


# --- a manager's team ------------------------------------------------------------------------


def team_stats(manager: User, window: Window) -> TeamStats:
    """``manager``'s direct reports (active or not), each with their figures; the team's total
    (visitors counted once across the team) and chart. Six statements."""
    reports = select(User.id).where(User.manager_id == manager.id).scalar_subquery()
    in_team = ReferralLink.user_id.in_(reports)
    figures = _per_user(window, in_team)
    people = db.session.execute(
        select(User.id, User.name, User.active, Department.name)
        .outerjoin(Department, Department.id == User.department_id)
        .where(User.manager_id == manager.id)
        .order_by(User.name, User.id)
    )
    clicks, visitors = _traffic_total(window, in_team)
    sold = _total_of(Sales(f.orders, f.revenue) for f in figures.values())
    return TeamStats(
        [
            PersonRow(user_id, name, active, department, figures.get(user_id, NO_FIGURES))
            for user_id, name, active, department in people
        ],
        Figures(clicks, visitors, sold.orders, sold.revenue),
        _series(window, in_team),
    )


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
        .where(*_paid(window))
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
        key=lambda row: (-row.figures.clicks, -row.figures.orders, row.name, row.user_id),
    )
    return CompanyStats(
        _departments(rows, {user_id: info[2] for user_id, info in people.items()}),
        ListPagination(rows=rows, page=page, per_page=per_page, max_per_page=None, error_out=False),
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
        departments, key=lambda row: (-row.figures.clicks, -row.figures.orders, row.name or "")
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


# --- fraud signals (finance, admin) ----------------------------------------------------------


@dataclass(frozen=True)
class RepeatedVisitor:
    """Many human clicks on one link in one day from one IP hash."""

    link_id: int
    code: str
    owner: str
    day: date
    ip_hash: str
    clicks: int


@dataclass(frozen=True)
class FewVisitors:
    """A link whose clicks come from few visitors (many clicks each)."""

    link_id: int
    code: str
    owner: str
    clicks: int
    visitors: int

    @property
    def clicks_per_visitor(self) -> int:
        return self.clicks // max(self.visitors, 1)


@dataclass(frozen=True)
class BotShare:
    """A link most of whose visits are bots and crawlers."""

    link_id: int
    code: str
    owner: str
    visits: int
    bots: int

    @property
    def share_bps(self) -> int:
        return self.bots * 10_000 // max(self.visits, 1)


@dataclass(frozen=True)
class NoOrders:
    """Many human clicks on a link from one source (a referring site, "" for none: an app,
    a typed address) in the period, and not one order on the link."""

    link_id: int
    code: str
    owner: str
    source: str
    clicks: int
    visitors: int


@dataclass(frozen=True)
class FlaggedOrder:
    """An order attribution flagged: a self-referral attempt, or a staff purchase."""

    order_id: int
    number: str
    created_at: datetime
    status: OrderStatus
    reason: AttributionReason
    customer_email: str
    #: the person of the company the buyer is (signed in, or by e-mail), if still known
    person: str | None
    total: Money


@dataclass(frozen=True)
class FraudSignals:
    repeated_visitors: list[RepeatedVisitor]
    few_visitors: list[FewVisitors]
    bot_shares: list[BotShare]
    no_orders: list[NoOrders] = field(default_factory=list)
    #: self-referral attempts first, then staff purchases; newest first
    flagged_orders: list[FlaggedOrder] = field(default_factory=list)
    #: how many orders of each reason were flagged in the window (the list may be cut short)
    flagged_counts: dict[AttributionReason, int] = field(default_factory=dict)

    @property
    def self_referrals(self) -> list[FlaggedOrder]:
        return [o for o in self.flagged_orders if o.reason is AttributionReason.SELF_REFERRAL]

    @property
    def staff_purchases(self) -> list[FlaggedOrder]:
        return [o for o in self.flagged_orders if o.reason is not AttributionReason.SELF_REFERRAL]


def _with_owner(grouped: Any) -> Select[Any]:
    """The grouped rows with their link's code and its owner's name."""
    return (
        select(grouped, ReferralLink.code, User.name)
        .join(ReferralLink, ReferralLink.id == grouped.c.link_id)
        .join(User, User.id == ReferralLink.user_id)
    )


def fraud_signals(window: Window) -> FraudSignals:
    """The activity finance should look at in the window, worst first. Six statements."""
    clicks = func.count()
    day = bucket_sql(window, Period.DAY)
    daily = select(Click.link_id, day.label("day"), Click.ip_hash).where(*_human(window)).subquery()
    per_visitor_day = func.count()
    repeated = (
        select(daily.c.link_id, daily.c.day, daily.c.ip_hash, per_visitor_day.label("clicks"))
        .group_by(daily.c.link_id, daily.c.day, daily.c.ip_hash)
        .having(per_visitor_day >= SAME_VISITOR_CLICKS_PER_DAY)
        .subquery()
    )
    repeated_rows = db.session.execute(
        _with_owner(repeated)
        .order_by(repeated.c.clicks.desc(), repeated.c.day.desc(), repeated.c.link_id)
        .limit(FRAUD_ROWS)
    )

    unique = func.count(distinct(_visitor()))
    concentrated = (
        select(Click.link_id, clicks.label("clicks"), unique.label("visitors"))
        .where(*_human(window))
        .group_by(Click.link_id)
        .having(clicks >= FEW_VISITORS_MIN_CLICKS)
        .having(clicks >= unique * FEW_VISITORS_CLICKS_PER_VISITOR)
        .subquery()
    )
    concentrated_rows = db.session.execute(
        _with_owner(concentrated)
        .order_by(concentrated.c.clicks.desc(), concentrated.c.link_id)
        .limit(FRAUD_ROWS)
    )

    daily = rollup.daily_traffic(window, rollup.rolled_through())
    bots = func.sum(daily.c.bots)
    visits = func.sum(daily.c.clicks) + bots
    bot_heavy = (
        select(daily.c.link_id, visits.label("visits"), bots.label("bots"))
        .group_by(daily.c.link_id)
        .having(visits >= BOT_SHARE_MIN_CLICKS)
        .having(bots * 10_000 >= visits * BOT_SHARE_MIN_BPS)
        .subquery()
    )
    bot_rows = db.session.execute(
        _with_owner(bot_heavy)
        .order_by(bot_heavy.c.bots.desc(), bot_heavy.c.link_id)
        .limit(FRAUD_ROWS)
    )

    sold_links = select(Order.referral_link_id).where(*_paid(window))
    per_source = (
        select(
            Click.link_id,
            Click.referrer_domain.label("source"),
            clicks.label("clicks"),
            unique.label("visitors"),
        )
        .where(*_human(window))
        .group_by(Click.link_id, Click.referrer_domain)
        .having(clicks >= NO_ORDERS_MIN_CLICKS)
        .subquery()
    )
    quiet_rows = db.session.execute(
        _with_owner(per_source)
        .where(per_source.c.link_id.not_in(sold_links))
        .order_by(per_source.c.clicks.desc(), per_source.c.link_id, per_source.c.source)
        .limit(FRAUD_ROWS)
    )

    flagged, flagged_counts = _flagged_orders(window)
    return FraudSignals(
        [
            RepeatedVisitor(link_id, code, owner, as_date(day), ip_hash, count)
            for link_id, day, ip_hash, count, code, owner in repeated_rows
        ],
        [
            FewVisitors(link_id, code, owner, count, visitors)
            for link_id, count, visitors, code, owner in concentrated_rows
        ],
        [
            BotShare(link_id, code, owner, int(count), int(bot_count))
            for link_id, count, bot_count, code, owner in bot_rows
        ],
        [
            NoOrders(link_id, code, owner, source or "", count, visitors)
            for link_id, source, count, visitors, code, owner in quiet_rows
        ],
        flagged,
        flagged_counts,
    )


def _flagged_orders(
    window: Window,
) -> tuple[list[FlaggedOrder], dict[AttributionReason, int]]:
    """Orders created in the window whose attribution was flagged (self-referral attempts,
    then staff purchases, newest first), with how many of each there were. One statement."""
    buyer = aliased(User)
    by_email = aliased(User)
    self_referral = AttributionReason.SELF_REFERRAL.value
    rows = db.session.execute(
        select(
            Order.id,
            Order.number,
            Order.created_at,
            Order.status,
            Order.attribution_reason,
            Order.customer_email,
            func.coalesce(buyer.name, by_email.name),
            Order.total_amount,
            Order.currency,
            func.count().over(partition_by=Order.attribution_reason),
        )
        .outerjoin(buyer, buyer.id == Order.buyer_id)
        .outerjoin(by_email, by_email.email == func.lower(Order.customer_email))
        .where(
            Order.attribution_flagged.is_(true()),
            Order.created_at >= window.start,
            Order.created_at < window.end,
        )
        .order_by(
            case((Order.attribution_reason == self_referral, 0), else_=1),
            Order.created_at.desc(),
            Order.id.desc(),
        )
        .limit(FRAUD_ROWS)
    )
    orders: list[FlaggedOrder] = []
    counts: dict[AttributionReason, int] = {}
    for order_id, number, created, status, reason, email, person, amount, currency, count in rows:
        known = _reason(reason)
        counts[known] = count
        orders.append(
            FlaggedOrder(
                order_id, number, created, status, known, email, person, Money(amount, currency)
            )
        )
    return orders, counts


def _reason(value: str) -> AttributionReason:
    try:
        return AttributionReason(value)
    except ValueError:  # a reason this version does not know: a staff purchase, for display
        return AttributionReason.EMPLOYEE_BUYER
