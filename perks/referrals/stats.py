"""Referral figures behind the stats pages, and the fraud signals finance reviews.

Read-side only, in the style of ``perks.catalog.queries``: each page runs a fixed number of
grouped statements, however many clicks there are (PERFORMANCE.md, P4), and the page is
assembled in Python.

What is counted:

- *clicks* are human clicks: link-preview bots and crawlers are stored (flagged) but never
  counted;
- *unique visitors* are distinct IP hashes in the period (the IP itself is never stored), so
  a total's visitors are not the sum of its rows' visitors;
- the period runs from midnight, company time (``BABEL_DEFAULT_TIMEZONE``), ``days - 1``
  days ago to now, and the chart's buckets are company-time days, weeks (from Monday) or
  months.

Orders, revenue and conversion come from the storefront's orders, which do not exist yet
(the checkout is issue 5). Until then :attr:`Figures.orders` and :attr:`Figures.revenue` are
``None`` and the pages show "—" with a note, never a made-up zero. When orders arrive, each
function here gains one grouped statement over the attributed orders, keyed like its clicks
(per link, per person, per department, per bucket), that fills those two fields.

Bucketing happens in SQL so that unique visitors per week or month are exact: PostgreSQL
truncates in the company's time zone (``date_trunc`` on ``timezone(zone, clicked_at)``,
daylight saving included); SQLite, used in development and tests, has no time-zone data and
shifts by the zone's current UTC offset, which is exact for zones without daylight saving,
like the default Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    case,
    cast,
    distinct,
    false,
    func,
    select,
    true,
)
from sqlalchemy.orm import lazyload

from perks.auth.models import User
from perks.errors import NotFound, ValidationFailed
from perks.extensions import db
from perks.money import Money
from perks.people.models import Department
from perks.referrals.models import Click, ReferralLink

#: the periods a stats page offers, in days; the first is the default
STATS_DAYS = (30, 90, 365)
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
#: each fraud list shows at most this many rows, worst first
FRAUD_ROWS = 100
#: the link page lists this many referrer domains and browsers
TOP_SOURCES = 10


class Period(enum.StrEnum):
    """How the chart groups the clicks."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"

    @property
    def label(self) -> str:
        return str(PERIOD_LABELS[self])

    def start_of(self, day: date) -> date:
        """The first day of the bucket ``day`` falls in (weeks start on Monday)."""
        if self is Period.WEEK:
            return day - timedelta(days=day.weekday())
        if self is Period.MONTH:
            return day.replace(day=1)
        return day

    def after(self, start: date) -> date:
        """The first day of the next bucket."""
        if self is Period.WEEK:
            return start + timedelta(days=7)
        if self is Period.MONTH:
            return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return start + timedelta(days=1)


PERIOD_LABELS = {Period.DAY: _l("By day"), Period.WEEK: _l("By week"), Period.MONTH: _l("By month")}


def company_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


@dataclass(frozen=True)
class Window:
    """The days a page covers, in the company's time zone, and how its chart groups them."""

    first_day: date
    last_day: date
    zone: ZoneInfo
    period: Period = Period.DAY

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def start(self) -> datetime:
        """Midnight of the first day, company time, in UTC (stored times are UTC)."""
        return datetime.combine(self.first_day, time.min, self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """Midnight after the last day, company time, in UTC."""
        next_day = self.last_day + timedelta(days=1)
        return datetime.combine(next_day, time.min, self.zone).astimezone(UTC)

    def bucket_starts(self) -> list[date]:
        """Every bucket of the chart, oldest first; the first may begin before the window."""
        starts = []
        start = self.period.start_of(self.first_day)
        while start <= self.last_day:
            starts.append(start)
            start = self.period.after(start)
        return starts


def window_from_args(
    period: str | None,
    days: str | None,
    *,
    choices: Sequence[int] = STATS_DAYS,
    default_days: int | None = None,
    today: date | None = None,
) -> Window:
    """The window a page's query string asks for (``?period=week&days=90``).

    Missing values take the defaults (by day, the first of ``choices``).

    Raises:
        ValidationFailed: a period other than day/week/month, or days not in ``choices``.
    """
    try:
        chosen = Period(period) if period else Period.DAY
        count = int(days) if days else (default_days or choices[0])
    except ValueError:
        raise ValidationFailed() from None
    if count not in choices:
        raise ValidationFailed()
    zone = company_zone()
    last = today or datetime.now(zone).date()
    return Window(last - timedelta(days=count - 1), last, zone, chosen)


# --- figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """What a link, a person, a team or the company brought in the window."""

    #: human clicks
    clicks: int = 0
    #: distinct IP hashes
    visitors: int = 0
    #: None until the storefront records orders: shown as "—", never as a made-up 0
    orders: int | None = None
    revenue: Money | None = None

    @property
    def conversion_bps(self) -> int | None:
        """Orders per human click, in basis points; None while orders are not recorded."""
        if self.orders is None or not self.clicks:
            return None
        return self.orders * 10_000 // self.clicks


NO_FIGURES = Figures()


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
    people: int
    figures: Figures


@dataclass(frozen=True)
class CompanyStats:
    departments: list[DepartmentRow]
    #: people with clicks in the window, most clicks first, a page of them
    people: RowPagination
    total: Figures
    series: list[Bucket]


class RowPagination(SelectPagination):
    """Flask-SQLAlchemy's pagination of a select of whole rows (not scalars), each turned
    into an item by the ``item`` function it is given. A ``total`` known beforehand saves
    the counting statement."""

    def _query_items(self) -> list[Any]:
        statement = self._query_args["select"]
        statement = statement.limit(self.per_page).offset(self._query_offset)
        rows = self._query_args["session"].execute(statement)
        return [self._query_args["item"](*row) for row in rows]

    def _query_count(self) -> int:
        known: int | None = self._query_args.get("total")
        return known if known is not None else super()._query_count()


def _human(window: Window) -> list[ColumnElement[bool]]:
    return [
        Click.is_bot.is_(false()),
        Click.clicked_at >= window.start,
        Click.clicked_at < window.end,
    ]


def _counts() -> tuple[Any, Any]:
    return func.count(Click.id), func.count(distinct(Click.ip_hash))


def _bucket(window: Window, period: Period | None = None) -> ColumnElement[Any]:
    """SQL for the first day (company time) of the bucket a click falls in."""
    period = period or window.period
    if db.session.get_bind().dialect.name == "postgresql":
        local = func.timezone(window.zone.key, Click.clicked_at)
        return cast(func.date_trunc(period.value, local), Date)
    offset = datetime.now(window.zone).utcoffset() or timedelta()
    shift = f"{int(offset.total_seconds() // 60):+d} minutes"
    if period is Period.WEEK:
        return func.date(Click.clicked_at, shift, "weekday 0", "-6 days")
    if period is Period.MONTH:
        return func.date(Click.clicked_at, shift, "start of month")
    return func.date(Click.clicked_at, shift)


def _as_date(value: date | str) -> date:
    # PostgreSQL answers a date; SQLite's date() answers "YYYY-MM-DD".
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(value)


def _series(window: Window, *where: ColumnElement[bool]) -> list[Bucket]:
    """Clicks and unique visitors per bucket: one statement, one row per bucket with clicks."""
    clicks = (
        select(_bucket(window).label("bucket"), Click.ip_hash)
        .join(ReferralLink, ReferralLink.id == Click.link_id)
        .where(*_human(window), *where)
        .subquery()
    )
    rows = db.session.execute(
        select(clicks.c.bucket, func.count(), func.count(distinct(clicks.c.ip_hash))).group_by(
            clicks.c.bucket
        )
    )
    found = {_as_date(start): Figures(count, visitors) for start, count, visitors in rows}
    return [Bucket(start, found.get(start, NO_FIGURES)) for start in window.bucket_starts()]


def _total(window: Window, *where: ColumnElement[bool]) -> Figures:
    clicks, visitors = db.session.execute(
        select(*_counts())
        .join(ReferralLink, ReferralLink.id == Click.link_id)
        .where(*_human(window), *where)
    ).one()
    return Figures(clicks, visitors)


def _per_user(window: Window, *where: ColumnElement[bool]) -> dict[int, Figures]:
    rows = db.session.execute(
        select(ReferralLink.user_id, *_counts())
        .join(ReferralLink, ReferralLink.id == Click.link_id)
        .where(*_human(window), *where)
        .group_by(ReferralLink.user_id)
    )
    return {user_id: Figures(clicks, visitors) for user_id, clicks, visitors in rows}


# --- an employee's own links -----------------------------------------------------------------


def _links_of(user: User) -> Select[tuple[ReferralLink]]:
    # The owner is the person asking: no need to load them again with every link.
    return (
        select(ReferralLink)
        .where(ReferralLink.user_id == user.id)
        .options(lazyload(ReferralLink.user))
    )


def my_links(user: User, window: Window) -> MyLinks:
    """``user``'s links (default first, then newest), each with its figures; their total and
    chart. Four statements."""
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
    per_link = {
        link_id: Figures(clicks, visitors)
        for link_id, clicks, visitors in db.session.execute(
            select(Click.link_id, *_counts())
            .join(ReferralLink, ReferralLink.id == Click.link_id)
            .where(*_human(window), mine)
            .group_by(Click.link_id)
        )
    }
    return MyLinks(
        [LinkRow(link, per_link.get(link.id, NO_FIGURES)) for link in links],
        _total(window, mine),
        _series(window, mine),
    )


def link_detail(link_id: int, user: User, window: Window) -> LinkDetail:
    """One of ``user``'s links with its figures, chart, referrers, browsers and bot visits.

    Raises:
        NotFound: no such link, or it belongs to someone else (whoever is asking).
    """
    link = db.session.scalar(_links_of(user).where(ReferralLink.id == link_id))
    if link is None:
        raise NotFound()
    this_link = Click.link_id == link.id
    bot_visits = db.session.scalar(
        select(func.count()).where(
            this_link,
            Click.is_bot.is_(true()),
            Click.clicked_at >= window.start,
            Click.clicked_at < window.end,
        )
    )
    return LinkDetail(
        link,
        _total(window, this_link),
        _series(window, this_link),
        _top(Click.referrer_domain, window, this_link),
        _top(Click.user_agent_family, window, this_link),
        bot_visits or 0,
    )


def _top(column: Any, window: Window, *where: ColumnElement[bool]) -> list[Source]:
    clicks = func.count(Click.id)
    rows = db.session.execute(
        select(column, clicks)
        .where(*_human(window), *where)
        .group_by(column)
        .order_by(clicks.desc(), column)
        .limit(TOP_SOURCES)
    )
    return [Source(name or "", count) for name, count in rows]


# --- a manager's team ------------------------------------------------------------------------


def team_stats(manager: User, window: Window) -> TeamStats:
    """``manager``'s direct reports (active or not), each with their figures; the team's total
    (visitors counted once across the team) and chart. Four statements."""
    reports = select(User.id).where(User.manager_id == manager.id).scalar_subquery()
    in_team = ReferralLink.user_id.in_(reports)
    figures = _per_user(window, in_team)
    people = db.session.execute(
        select(User.id, User.name, User.active, Department.name)
        .outerjoin(Department, Department.id == User.department_id)
        .where(User.manager_id == manager.id)
        .order_by(User.name, User.id)
    )
    return TeamStats(
        [
            PersonRow(user_id, name, active, department, figures.get(user_id, NO_FIGURES))
            for user_id, name, active, department in people
        ],
        _total(window, in_team),
        _series(window, in_team),
    )


# --- the company (finance, admin) ------------------------------------------------------------


def company_stats(window: Window, *, page: int, per_page: int) -> CompanyStats:
    """Per department and, a page at a time, per person (people with clicks, most first);
    the company's total and chart. Four statements, each over the window's clicks: with
    millions of them, this page takes seconds (finance only; the employee pages read only
    their own links' clicks through the (link, time) index)."""
    clicks, visitors = _counts()
    departments = [
        DepartmentRow(department_id, name, members, Figures(count, unique))
        for department_id, name, members, count, unique in db.session.execute(
            select(Department.id, Department.name, func.count(distinct(User.id)), clicks, visitors)
            .select_from(Click)
            .join(ReferralLink, ReferralLink.id == Click.link_id)
            .join(User, User.id == ReferralLink.user_id)
            .outerjoin(Department, Department.id == User.department_id)
            .where(*_human(window))
            .group_by(Department.id, Department.name)
            .order_by(clicks.desc(), Department.name)
        )
    ]
    people_query = (
        select(User.id, User.name, User.active, Department.name, clicks, visitors)
        .select_from(Click)
        .join(ReferralLink, ReferralLink.id == Click.link_id)
        .join(User, User.id == ReferralLink.user_id)
        .outerjoin(Department, Department.id == User.department_id)
        .where(*_human(window))
        .group_by(User.id, User.name, User.active, Department.name)
        .order_by(clicks.desc(), User.name, User.id)
    )
    people = RowPagination(
        select=people_query,
        session=db.session(),
        item=lambda user_id, name, active, department, count, unique: PersonRow(
            user_id, name, active, department, Figures(count, unique)
        ),
        # everyone is in one department (or none): the departments' people add up
        total=sum(row.people for row in departments),
        page=page,
        per_page=per_page,
        max_per_page=None,
        error_out=False,
    )
    return CompanyStats(departments, people, _total(window), _series(window))


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
class FraudSignals:
    repeated_visitors: list[RepeatedVisitor]
    few_visitors: list[FewVisitors]
    bot_shares: list[BotShare]
    #: self-referral attempts are recorded by attribution when an order is created (issue 5);
    #: None until orders exist, and the page says so
    self_referrals: list[Any] | None = field(default=None)


def _with_owner(grouped: Any) -> Select[Any]:
    """The grouped rows with their link's code and its owner's name."""
    return (
        select(grouped, ReferralLink.code, User.name)
        .join(ReferralLink, ReferralLink.id == grouped.c.link_id)
        .join(User, User.id == ReferralLink.user_id)
    )


def fraud_signals(window: Window) -> FraudSignals:
    """The activity finance should look at in the window, worst first. Three statements."""
    clicks = func.count(Click.id)
    day = _bucket(window, Period.DAY)
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

    unique = func.count(distinct(Click.ip_hash))
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

    bots = func.sum(case((Click.is_bot.is_(true()), 1), else_=0))
    bot_heavy = (
        select(Click.link_id, clicks.label("visits"), bots.label("bots"))
        .where(Click.clicked_at >= window.start, Click.clicked_at < window.end)
        .group_by(Click.link_id)
        .having(clicks >= BOT_SHARE_MIN_CLICKS)
        .having(bots * 10_000 >= clicks * BOT_SHARE_MIN_BPS)
        .subquery()
    )
    bot_rows = db.session.execute(
        _with_owner(bot_heavy)
        .order_by(bot_heavy.c.bots.desc(), bot_heavy.c.link_id)
        .limit(FRAUD_ROWS)
    )
    return FraudSignals(
        [
            RepeatedVisitor(link_id, code, owner, _as_date(day), ip_hash, count)
            for link_id, day, ip_hash, count, code, owner in repeated_rows
        ],
        [
            FewVisitors(link_id, code, owner, count, visitors)
            for link_id, count, visitors, code, owner in concentrated_rows
        ],
        [
            BotShare(link_id, code, owner, visits, int(bot_count))
            for link_id, visits, bot_count, code, owner in bot_rows
        ],
    )
