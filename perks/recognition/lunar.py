"""Vietnam's lunisolar calendar (âm lịch): the solar date of a lunar date and back.

Vietnam's calendar is the Chinese lunisolar one computed for Vietnam's meridian (UTC+7), so
it sometimes differs from China's (UTC+8) by a day or a month: Tết 1985 fell on 21 January
in Vietnam and on 20 February in China, Tết 2007 on 17 February here and 18 February there.

The ``holidays`` library knows Vietnam's public holidays and keeps, for 1901-2099, the solar
dates of a few lunar festivals in the Vietnamese calendar (Tết, Giỗ Tổ Hùng Vương), but only
as tables inside a private class (``holidays.calendars.chinese._ChineseLunisolar``): it has
no conversion of any other lunar date, nor of a solar date into the lunar calendar. So the
conversion is written here, with the astronomical method Vietnam's calendar is made with
(Hồ Ngọc Đức, "Thuật toán tính âm lịch",
https://www.informatik.uni-leipzig.de/~duc/amlich/calrules_vn.html, after Jean Meeus'
*Astronomical Algorithms*):

* a lunar month starts on the day (in UTC+7) of a new moon;
* month 11 is the one holding the winter solstice;
* a year with 13 months between two months 11 has a leap month: the first one that holds no
  major solar term (no multiple of 30° of the sun's longitude) repeats the month before it.

The library is the reference it is checked against: ``tests/unit/recognition/test_lunar.py``
reads its private tables (there, and nowhere else) and proves that this conversion gives
its Vietnamese dates of Tết and Giỗ Tổ for every year from 1901 to 2099, and, computed for
UTC+8, China's dates of its five lunar festivals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from flask_babel import gettext as _

from perks.errors import ValidationFailed

#: Vietnam's calendar is computed for this offset from UTC, in hours
TIME_ZONE_HOURS = 7
#: the Julian day number of 1 January of year 1 (proleptic Gregorian) is this plus 1
_ORDINAL_TO_JULIAN_DAY = 1_721_425
#: the mean length of a lunar month (synodic month), in days
_SYNODIC_MONTH = 29.530588853
#: the Julian day of the first new moon of 1900 (Meeus' origin for ``k``)
_NEW_MOON_EPOCH = 2_415_021.076998695
_RADIANS = math.pi / 180

#: the months' names in Vietnamese ("tháng Giêng" for the first, "tháng Chạp" for the last)
MONTH_NAMES_VI = (
    "Giêng",
    "Hai",
    "Ba",
    "Tư",
    "Năm",
    "Sáu",
    "Bảy",
    "Tám",
    "Chín",
    "Mười",
    "Một",
    "Chạp",
)
#: the ten heavenly stems and twelve earthly branches that name a lunar year (can chi)
_STEMS = ("Giáp", "Ất", "Bính", "Đinh", "Mậu", "Kỷ", "Canh", "Tân", "Nhâm", "Quý")
_BRANCHES = ("Tý", "Sửu", "Dần", "Mão", "Thìn", "Tỵ", "Ngọ", "Mùi", "Thân", "Dậu", "Tuất", "Hợi")
#: the years the conversion is checked for (against the library), and accepts
FIRST_YEAR = 1901
LAST_YEAR = 2099


@dataclass(frozen=True)
class LunarDate:
    """A day of the Vietnamese lunar calendar. ``leap`` marks a day of the leap month (tháng
    nhuận), which repeats ``month`` in some years."""

    year: int
    month: int
    day: int
    leap: bool = False

    def __str__(self) -> str:
        return f"{self.day}/{self.month}{'+' if self.leap else ''}/{self.year}"

    @property
    def year_name(self) -> str:
        """The year's name in the sexagenary cycle: "Bính Ngọ" for 2026."""
        return f"{_STEMS[(self.year + 6) % 10]} {_BRANCHES[(self.year + 8) % 12]}"

    def describe(self, language: str) -> str:
        """The day as people say it: "mùng 1 tháng Giêng", "rằm tháng Tám", "mùng 10 tháng
        Ba nhuận" in Vietnamese; "1st day of the 1st lunar month" in English (any language
        but ``vi``). Without the year. Raises nothing."""
        if language == "vi":
            if self.day <= 10:
                day = f"mùng {self.day}"
            elif self.day == 15:
                day = "rằm"
            else:
                day = f"ngày {self.day}"
            leap = " nhuận" if self.leap else ""
            return f"{day} tháng {MONTH_NAMES_VI[self.month - 1]}{leap}"
        leap = "leap " if self.leap else ""
        return f"{_ordinal(self.day)} day of the {leap}{_ordinal(self.month)} lunar month"


def _ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


# --- astronomy ------------------------------------------------------------------------------


def _julian_day(day: date) -> int:
    return day.toordinal() + _ORDINAL_TO_JULIAN_DAY


def _from_julian_day(number: int) -> date:
    return date.fromordinal(number - _ORDINAL_TO_JULIAN_DAY)


def _new_moon(k: int) -> float:
    """The Julian day (UTC, fractional) of the ``k``-th new moon after 1 January 1900."""
    t = k / 1236.85
    t2 = t * t
    t3 = t2 * t
    mean = 2_415_020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3
    mean += 0.00033 * math.sin((166.56 + 132.87 * t - 0.009173 * t2) * _RADIANS)
    sun_anomaly = (359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3) * _RADIANS
    moon_anomaly = (306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3) * _RADIANS
    latitude = (21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3) * _RADIANS
    correction = (
        (0.1734 - 0.000393 * t) * math.sin(sun_anomaly)
        + 0.0021 * math.sin(2 * sun_anomaly)
        - 0.4068 * math.sin(moon_anomaly)
        + 0.0161 * math.sin(2 * moon_anomaly)
        - 0.0004 * math.sin(3 * moon_anomaly)
        + 0.0104 * math.sin(2 * latitude)
        - 0.0051 * math.sin(sun_anomaly + moon_anomaly)
        - 0.0074 * math.sin(sun_anomaly - moon_anomaly)
        + 0.0004 * math.sin(2 * latitude + sun_anomaly)
        - 0.0004 * math.sin(2 * latitude - sun_anomaly)
        - 0.0006 * math.sin(2 * latitude + moon_anomaly)
        + 0.0010 * math.sin(2 * latitude - moon_anomaly)
        + 0.0005 * math.sin(2 * moon_anomaly + sun_anomaly)
    )
    if t < -11:
        delta_t = 0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 - 0.000000081 * t * t3
    else:
        delta_t = -0.000278 + 0.000265 * t + 0.000262 * t2
    return mean + correction - delta_t


def _sun_longitude(julian_day: float) -> float:
    """The sun's apparent longitude at a Julian day (UTC), in radians in [0, 2π)."""
    t = (julian_day - 2_451_545.0) / 36525
    t2 = t * t
    anomaly = (357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2) * _RADIANS
    mean_longitude = 280.46645 + 36000.76983 * t + 0.0003032 * t2
    centre = (
        (1.914600 - 0.004817 * t - 0.000014 * t2) * math.sin(anomaly)
        + (0.019993 - 0.000101 * t) * math.sin(2 * anomaly)
        + 0.000290 * math.sin(3 * anomaly)
    )
    longitude = (mean_longitude + centre) * _RADIANS
    return longitude - 2 * math.pi * math.floor(longitude / (2 * math.pi))


@lru_cache(maxsize=4096)
def _new_moon_day(k: int) -> int:
    """The Julian day number of the day, in UTC+7, of the ``k``-th new moon."""
    return math.floor(_new_moon(k) + 0.5 + TIME_ZONE_HOURS / 24)


def _major_term(day_number: int) -> int:
    """Which of the twelve 30° sectors the sun is in at the start of a day in UTC+7 (0-11)."""
    return math.floor(_sun_longitude(day_number - 0.5 - TIME_ZONE_HOURS / 24) / math.pi * 6)


@lru_cache(maxsize=512)
def _month_11_start(year: int) -> int:
    """The Julian day number on which lunar month 11 (the winter solstice's) of ``year``
    starts."""
    k = math.floor((_julian_day(date(year, 12, 31)) - 2_415_021) / _SYNODIC_MONTH)
    start = _new_moon_day(k)
    if _major_term(start) >= 9:  # the solstice's month started before this new moon
        start = _new_moon_day(k - 1)
    return start


def _moon_index(day_number: int) -> int:
    """``k`` of the new moon on or just before ``day_number``, rounded to the nearest."""
    return math.floor((day_number - _NEW_MOON_EPOCH) / _SYNODIC_MONTH + 0.5)


@lru_cache(maxsize=512)
def _leap_month_offset(month_11_start: int) -> int:
    """In a 13-month span after the month 11 starting on ``month_11_start``: how many months
    after it the leap month comes (the first month with no major term)."""
    k = _moon_index(month_11_start)
    offset = 1
    term = _major_term(_new_moon_day(k + offset))
    while True:
        previous = term
        offset += 1
        term = _major_term(_new_moon_day(k + offset))
        if term == previous or offset >= 14:
            return offset - 1


# --- conversions ----------------------------------------------------------------------------


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed(
            _(
                "The lunar calendar is known from %(first)d to %(last)d.",
                first=FIRST_YEAR,
                last=LAST_YEAR,
            ),
            field="year",
        )


def to_lunar(day: date) -> LunarDate:
    """The lunar date of a solar day.

    Raises:
        ValidationFailed: the day is outside the years 1901-2099.
    """
    _check_year(day.year)
    number = _julian_day(day)
    k = math.floor((number - _NEW_MOON_EPOCH) / _SYNODIC_MONTH)
    month_start = _new_moon_day(k + 1)
    while month_start > number:  # the mean moon's guess can be one new moon or two ahead
        k -= 1
        month_start = _new_moon_day(k + 1)
    month_11 = _month_11_start(day.year)
    next_month_11 = month_11
    if month_11 >= month_start:
        lunar_year = day.year
        month_11 = _month_11_start(day.year - 1)
    else:
        lunar_year = day.year + 1
        next_month_11 = _month_11_start(day.year + 1)
    months_after_11 = math.floor((month_start - month_11) / 29)
    leap = False
    month = months_after_11 + 11
    if next_month_11 - month_11 > 365:
        leap_offset = _leap_month_offset(month_11)
        if months_after_11 >= leap_offset:
            month = months_after_11 + 10
            leap = months_after_11 == leap_offset
    if month > 12:
        month -= 12
    if month >= 11 and months_after_11 < 4:
        lunar_year -= 1
    return LunarDate(lunar_year, month, number - month_start + 1, leap)


def leap_month(year: int) -> int | None:
    """Which month of the lunar year ``year`` has a leap month after it (4 in 2020, 2 in
    2023), or None.

    Raises:
        ValidationFailed: the year is outside 1901-2099.
    """
    _check_year(year)
    for month_11_year in (year - 1, year):
        start, end = _month_11_start(month_11_year), _month_11_start(month_11_year + 1)
        if end - start > 365:
            month = (_leap_month_offset(start) - 2) % 12 or 12
            # months 11 and 12 after the solstice belong to the next lunar year
            belongs_to = month_11_year if month >= 11 else month_11_year + 1
            if belongs_to == year:
                return month
    return None


def to_solar(year: int, month: int, day: int, *, leap: bool = False) -> date:
    """The solar date of day ``day`` of month ``month`` of the lunar year ``year`` (the year
    that starts at its Tết). A day 30 in a month of 29 days is its last day (the 29th),
    so an occasion on "30 tháng Chạp" falls on the eve of Tết every year.

    Raises:
        ValidationFailed: the year is outside 1901-2099, the month outside 1-12, the day
            outside 1-30, or ``leap`` is asked of a month that has no leap month that year.
    """
    _check_year(year)
    if not 1 <= month <= 12:
        raise ValidationFailed(_("A lunar month is from 1 to 12."), field="month")
    if not 1 <= day <= 30:
        raise ValidationFailed(_("A lunar day is from 1 to 30."), field="day")
    if month < 11:
        month_11, next_month_11 = _month_11_start(year - 1), _month_11_start(year)
    else:
        month_11, next_month_11 = _month_11_start(year), _month_11_start(year + 1)
    offset = (month - 11) % 12
    if next_month_11 - month_11 > 365:
        leap_offset = _leap_month_offset(month_11)
        if leap and (leap_offset - 2) % 12 != month % 12:
            raise ValidationFailed(
                _("The lunar year %(year)d has no leap month %(month)d.", year=year, month=month)
            )
        if leap or offset >= leap_offset:
            offset += 1
    elif leap:
        raise ValidationFailed(
            _("The lunar year %(year)d has no leap month %(month)d.", year=year, month=month)
        )
    k = _moon_index(month_11)
    start = _new_moon_day(k + offset)
    length = _new_moon_day(k + offset + 1) - start
    return _from_julian_day(start + min(day, length) - 1)


def next_solar(month: int, day: int, on_or_after: date) -> date:
    """The first solar date, on or after ``on_or_after``, of lunar ``day``/``month`` (its
    ordinary month, never the leap one).

    Raises:
        ValidationFailed: as ``to_solar``.
    """
    for year in (on_or_after.year - 1, on_or_after.year, on_or_after.year + 1):
        solar = to_solar(year, month, day)
        if solar >= on_or_after:
            return solar
    # unreachable: a lunar year never starts more than a year after its solar one
    raise AssertionError(on_or_after)
