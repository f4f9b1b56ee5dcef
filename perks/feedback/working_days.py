"""Vietnamese working days: Monday to Friday, less the public holidays of the Labour Code
(article 112) and the days off that make up for a holiday falling on a weekend (article 111).

The holidays: 1/1; Tết, five days (the last day of the lunar year and the first four of the
new one, as the government usually sets them); Giỗ Tổ Hùng Vương (10/3 lunar); 30/4; 1/5;
Quốc khánh, 2/9 and the day before it (the Code says "a day before or after"; 1/9 is the
government's recent choice). Lunar dates come from ``perks.recognition.lunar``, the calendar
the occasions use. The government announces each year's exact breaks (and swaps of days);
this is the rule it follows in most years.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

from perks.recognition.lunar import to_solar

_SATURDAY = 5


def _weekend(day: date) -> bool:
    return day.weekday() >= _SATURDAY


@cache
def public_holidays(year: int) -> frozenset[date]:
    """The days off of ``year``: the public holidays and the days that make up for those on a
    weekend (the next working day).

    Raises:
        ValidationFailed: ``year`` is outside the lunar calendar's years (1901-2099).
    """
    new_year = to_solar(year, 1, 1)  # Tết: 1/1 lunar of the lunar year starting this year
    holidays = {
        date(year, 1, 1),
        *(new_year + timedelta(days=offset) for offset in range(-1, 4)),
        to_solar(year, 3, 10),
        date(year, 4, 30),
        date(year, 5, 1),
        date(year, 9, 2),
        date(year, 9, 1),
    }
    days_off = set(holidays)
    for holiday in sorted(holidays):
        if _weekend(holiday):
            extra = holiday + timedelta(days=1)
            while _weekend(extra) or extra in days_off:
                extra += timedelta(days=1)
            days_off.add(extra)
    return frozenset(days_off)


def is_working_day(day: date) -> bool:
    return not _weekend(day) and day not in public_holidays(day.year)


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
