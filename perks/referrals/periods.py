"""The periods of the referral stats pages: a window of company-time days, and how its chart
groups them (by day, week from Monday, or month), in Python and in SQL.

Bucketing happens in SQL so that unique visitors per week or month are exact: PostgreSQL
truncates in the company's time zone (``date_trunc`` on ``timezone(zone, clicked_at)``,
daylight saving included); SQLite, used in development and tests, has no time-zone data and
shifts by the zone's current UTC offset, which is exact for zones without daylight saving,
like the default Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Date, cast, func

from perks.errors import ValidationFailed
from perks.extensions import db
from perks.i18n import LabelledEnum, company_zone
from perks.referrals.models import Click

#: the periods a stats page offers, in days; the first is the default
STATS_DAYS = (30, 90, 365)


class Period(LabelledEnum):
    """How the chart groups the clicks."""

    DAY = "day", _l("By day")
    WEEK = "week", _l("By week")
    MONTH = "month", _l("By month")

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


def dialect() -> str:
    return db.session.get_bind().dialect.name


def bucket_sql(
    window: Window, period: Period | None = None, column: Any = Click.clicked_at
) -> ColumnElement[Any]:
    """SQL for the first day (company time) of the bucket ``column`` (a UTC time) falls in."""
    period = period or window.period
    if dialect() == "postgresql":
        local = func.timezone(window.zone.key, column)
        return cast(func.date_trunc(period.value, local), Date)
    offset = datetime.now(window.zone).utcoffset() or timedelta()
    shift = f"{int(offset.total_seconds() // 60):+d} minutes"
    if period is Period.WEEK:
        return func.date(column, shift, "weekday 0", "-6 days")
    if period is Period.MONTH:
        return func.date(column, shift, "start of month")
    return func.date(column, shift)


def as_date(value: date | str) -> date:
    # PostgreSQL answers a date; SQLite's date() answers "YYYY-MM-DD".
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else date.fromisoformat(value)


def day_of(moment: datetime, zone: ZoneInfo) -> date:
    """The company-time day of a stored time (naive times, from SQLite, are UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()
