"""Vietnamese working days: Monday to Friday, less the public holidays of the Labour Code
(article 112) and the days off that make up for a holiday falling on a weekend (article 111),
plus a Saturday the government has people work in exchange for a bridge day off.

The days are the ``holidays`` library's (``holidays.Vietnam``): the holidays themselves
(1/1; Tết; Giỗ Tổ Hùng Vương, 10/3 lunar; 30/4; 1/5; Quốc khánh 2/9 and a day beside it;
Ngày Văn hóa Việt Nam 24/11 from 2026), and for the years the government has announced, its
exact Tết break and its swaps of days; for later years, the library's usual rule. A new
release of the library brings each year's decision.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import holidays


@cache
def _calendar(year: int) -> holidays.HolidayBase:
    return holidays.Vietnam(years=year)


def public_holidays(year: int) -> frozenset[date]:
    """The weekdays and weekend days off of ``year``: the public holidays and the days that
    make up for them. Raises nothing (none outside 1901-2100)."""
    return frozenset(_calendar(year))


def is_working_day(day: date) -> bool:
    """Whether people work on ``day``: a weekday that is not a day off, or a Saturday worked
    in exchange for one. Raises nothing."""
    return bool(_calendar(day.year).is_working_day(day))


def working_days_between(start: date, end: date) -> int:
    """The working days after ``start`` up to and including ``end`` (0 when ``end`` is not
    after ``start``): an item received on Friday and acknowledged on Monday took 1."""
    count = 0
    day = start + timedelta(days=1)
    while day <= end:
        count += is_working_day(day)
        day += timedelta(days=1)
    return count


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start``: the last day a target of ``days``
    working days is met."""
    day = start
    left = days
    while left > 0:
        day += timedelta(days=1)
        left -= is_working_day(day)
    return day
