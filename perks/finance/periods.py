"""Report periods (a month, a quarter, or any run of days) in the company's time zone.

A period is a run of whole company days; as moments it is ``[start_at, end_at)`` in UTC, so a
ledger entry written at 23:59 on the last day (company time) is in, one written at midnight
after it is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _

from perks.errors import ValidationFailed
from perks.i18n import (
    EARLIEST_DAY,
    LATEST_DAY,
    company_today,
    day_start,
    format_day,
    format_number,
)

PERIOD_KINDS = ("month", "quarter", "custom")
#: the longest custom period a report covers (a few years of history is plenty)
MAX_PERIOD_DAYS = 3 * 366
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True)
class Period:
    """Company days ``start`` to ``end``, both included."""

    start: date
    end: date

    @property
    def start_at(self) -> datetime:
        return day_start(self.start)

    @property
    def end_at(self) -> datetime:
        """The first moment after the period (exclusive)."""
        return day_start(self.end + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def as_args(self) -> dict[str, str]:
        """The query-string arguments of the custom period that equals this one."""
        return {"period": "custom", "start": self.start.isoformat(), "end": self.end.isoformat()}


def month_period(year: int, month: int) -> Period:
    start = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return Period(start, following - timedelta(days=1))


def quarter_period(year: int, quarter: int) -> Period:
    first = month_period(year, 3 * quarter - 2)
    last = month_period(year, 3 * quarter)
    return Period(first.start, last.end)


def custom_period(start: date, end: date) -> Period:
    """Raises ValidationFailed: the end is before the start, or the period is too long."""
    if end < start:
        raise ValidationFailed(_("The last day cannot be before the first day."))
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise ValidationFailed(
            _(
                "Choose a period of at most %(days)s days.",
                days=format_number(MAX_PERIOD_DAYS),
            )
        )
    return Period(start, end)


def parse_month(text: str) -> Period:
    """``"2026-11"`` → November 2026. Raises ValidationFailed."""
    match = _MONTH.match((text or "").strip())
    if (
        not match
        or not 1 <= int(match.group(2)) <= 12
        or not 2000 <= int(match.group(1)) <= LATEST_DAY.year
    ):
        raise ValidationFailed(_("Enter a month like %(example)s.", example="2026-11"))
    return month_period(int(match.group(1)), int(match.group(2)))


def parse_quarter(text: str) -> Period:
    """``"2026-Q4"`` → October to December 2026. Raises ValidationFailed."""
    match = _QUARTER.match((text or "").strip().upper())
    if not match or not 2000 <= int(match.group(1)) <= LATEST_DAY.year:
        raise ValidationFailed(_("Enter a quarter like %(example)s.", example="2026-Q4"))
    return quarter_period(int(match.group(1)), int(match.group(2)))


def current_month(today: date | None = None) -> Period:
    today = today or company_today()
    return month_period(today.year, today.month)


def recent_quarters(today: date, count: int = 8) -> list[str]:
    """The last ``count`` quarters, newest first ("2026-Q4", "2026-Q3", ...)."""
    year, quarter = today.year, (today.month - 1) // 3 + 1
    quarters = []
    for _i in range(count):
        quarters.append(f"{year}-Q{quarter}")
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return quarters


def parse_day(text: str) -> date:
    """An ISO day (``2026-11-30``) from ``EARLIEST_DAY`` to ``LATEST_DAY``, the days the pages'
    date fields take (9999-12-31 has no next day to end a period at). Raises ValidationFailed."""
    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError as error:
        raise ValidationFailed(_("Enter a day like %(example)s.", example="2026-11-30")) from error
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise ValidationFailed(
            _(
                "Date must be between %(min)s and %(max)s.",
                min=format_day(EARLIEST_DAY, "short"),
                max=format_day(LATEST_DAY, "short"),
            )
        )
    return day
