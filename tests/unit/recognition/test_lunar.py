"""The Vietnamese lunar calendar (perks.recognition.lunar), checked against the ``holidays``
library's tables and against published Vietnamese calendars."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from holidays.calendars.chinese import CHINESE_CALENDAR, VIETNAMESE_CALENDAR, _ChineseLunisolar

from perks.errors import ValidationFailed
from perks.recognition import lunar
from perks.recognition.lunar import LunarDate

YEARS = range(lunar.FIRST_YEAR, lunar.LAST_YEAR + 1)


def library_dates(calendar_name: str, year: int) -> dict[tuple[int, int], date | None]:
    """The library's solar dates of lunar festivals, keyed by lunar (month, day).

    The library keeps them in the tables of a private class, with no conversion of any other
    lunar date: this is the one place that reads them. It has Vietnamese tables for Tết and
    Giỗ Tổ only; its Vietnamese Trung thu is China's.
    """
    calendar = _ChineseLunisolar(calendar_name)
    dates = {
        (1, 1): calendar.lunar_new_year_date(year)[0],
        (3, 10): calendar.hung_kings_date(year)[0],
        (8, 15): calendar.mid_autumn_date(year)[0],
    }
    if calendar_name == CHINESE_CALENDAR:
        dates[(5, 5)] = calendar.dragon_boat_date(year)[0]
        dates[(9, 9)] = calendar.double_ninth_date(year)[0]
    return dates


# Published dates. Tết Bính Ngọ: 17/02/2026, Đinh Mùi: 06/02/2027, Mậu Thân: 26/01/2028
# (Hồ Ngọc Đức's Vietnamese calendar, https://www.informatik.uni-leipzig.de/~duc/amlich/;
# the government's Tết holidays of 2026 are 14-22/02). Giỗ Tổ Hùng Vương 2026 (10/3 âm lịch):
# Sunday 26/04/2026 (Thanh Niên, 23/02/2026: "Giỗ tổ Hùng Vương rơi vào chủ nhật (ngày 26.4
# dương lịch)", https://thanhnien.vn/gio-to-hung-vuong-304-15-quoc-khanh-29-nam-2026-duoc-
# nghi-may-ngay-185260223083506397.htm). Trung thu 2026 (15/8 âm lịch): Friday 25/09/2026.
# Each is also the library's date.
@pytest.mark.parametrize(
    ("year", "month", "day", "solar"),
    [
        (2026, 1, 1, date(2026, 2, 17)),
        (2027, 1, 1, date(2027, 2, 6)),
        (2028, 1, 1, date(2028, 1, 26)),
        (2026, 3, 10, date(2026, 4, 26)),
        (2026, 8, 15, date(2026, 9, 25)),
    ],
)
def test_published_dates(year: int, month: int, day: int, solar: date) -> None:
    assert lunar.to_solar(year, month, day) == solar
    assert lunar.to_lunar(solar) == LunarDate(year, month, day)
    assert library_dates(VIETNAMESE_CALENDAR, year)[(month, day)] == solar


def test_tet_and_hung_kings_agree_with_the_library_every_year() -> None:
    differences = [
        (year, key, expected, lunar.to_solar(year, *key))
        for year in YEARS
        for key, expected in library_dates(VIETNAMESE_CALENDAR, year).items()
        if key != (8, 15) and expected != lunar.to_solar(year, *key)
    ]
    assert differences == []


def test_vietnam_and_china_differ_where_the_library_says() -> None:
    """Tết 1985 and 2007: Vietnam's calendar (UTC+7) is not China's (UTC+8)."""
    assert lunar.to_solar(1985, 1, 1) == date(1985, 1, 21)
    assert library_dates(CHINESE_CALENDAR, 1985)[(1, 1)] == date(1985, 2, 20)
    assert lunar.to_solar(2007, 1, 1) == date(2007, 2, 17)
    assert library_dates(CHINESE_CALENDAR, 2007)[(1, 1)] == date(2007, 2, 18)


@pytest.fixture
def china_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The same calendar computed for UTC+8: China's."""
    caches = (lunar._new_moon_day, lunar._month_11_start, lunar._leap_month_offset)
    for cache in caches:
        cache.cache_clear()
    monkeypatch.setattr(lunar, "TIME_ZONE_HOURS", 8)
    yield
    for cache in caches:
        cache.cache_clear()


@pytest.mark.usefixtures("china_time")
def test_for_utc_8_it_is_chinas_calendar_of_the_library() -> None:
    """Computed for China's meridian, the method gives the library's Chinese dates of five
    festivals for 199 years: all but one, the Double Ninth of 2057, whose new moon falls
    within minutes of midnight (the simplified astronomy is a few minutes off)."""
    differences = [
        (year, key)
        for year in YEARS
        for key, expected in library_dates(CHINESE_CALENDAR, year).items()
        if expected is not None and expected != lunar.to_solar(year, *key)
    ]
    assert differences == [(2057, (9, 9))]


def test_the_librarys_vietnamese_trung_thu_is_chinas() -> None:
    """Where the two differ, the library's "Vietnamese" Trung thu is China's date: it keeps no
    Vietnamese table for it, so ours, computed for UTC+7, is a day or a month apart."""
    differing = [
        year
        for year in YEARS
        if library_dates(VIETNAMESE_CALENDAR, year)[(8, 15)] != lunar.to_solar(year, 8, 15)
    ]
    assert differing == [1938, 1978, 2034, 2041, 2065, 2080, 2099]
    for year in differing:
        assert (
            library_dates(VIETNAMESE_CALENDAR, year)[(8, 15)]
            == (library_dates(CHINESE_CALENDAR, year)[(8, 15)])
        )


def test_every_day_goes_there_and_back() -> None:
    """Every day the calendar knows, from Tết 1901 (half a second): 7 May 2054 and 9 April 2062 read
    as day 0 of the next month when only 2019-2040 was checked (the mean moon's guess was a
    new moon too far)."""
    day = date(1901, 2, 20)
    previous = lunar.to_lunar(day - timedelta(days=1))
    while day < date(2099, 12, 1):
        found = lunar.to_lunar(day)
        assert lunar.to_solar(found.year, found.month, found.day, leap=found.leap) == day
        if found.day == 1:  # a new month: the next one, or its leap repeat
            assert previous.day in (29, 30)
        else:
            assert (found.year, found.month, found.leap) == (
                previous.year,
                previous.month,
                previous.leap,
            )
            assert found.day == previous.day + 1
        previous = found
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("year", "month"),
    [(2020, 4), (2023, 2), (2025, 6), (2028, 5), (2033, 11)],
)
def test_leap_months(year: int, month: int) -> None:
    assert lunar.leap_month(year) == month
    first = lunar.to_solar(year, month, 1, leap=True)
    assert lunar.to_lunar(first) == LunarDate(year, month, 1, leap=True)
    assert first > lunar.to_solar(year, month, 1)


def test_years_without_a_leap_month() -> None:
    assert lunar.leap_month(2026) is None
    with pytest.raises(ValidationFailed):
        lunar.to_solar(2026, 4, 1, leap=True)
    with pytest.raises(ValidationFailed):
        lunar.to_solar(2025, 5, 1, leap=True)  # 2025's leap month is the sixth


def test_day_30_of_a_short_month_is_its_last_day() -> None:
    # tháng Chạp of Ất Tỵ (2025) has 29 days: the eve of Tết 2026 is 16/02/2026
    assert lunar.to_lunar(date(2026, 2, 16)) == LunarDate(2025, 12, 29)
    assert lunar.to_solar(2025, 12, 30) == date(2026, 2, 16)


@pytest.mark.parametrize(
    ("year", "month", "day"),
    [(1900, 1, 1), (2100, 1, 1), (2026, 0, 1), (2026, 13, 1), (2026, 1, 31)],
)
def test_refuses_what_is_not_a_lunar_date(year: int, month: int, day: int) -> None:
    with pytest.raises(ValidationFailed):
        lunar.to_solar(year, month, day)


def test_next_solar() -> None:
    assert lunar.next_solar(1, 1, date(2026, 1, 1)) == date(2026, 2, 17)
    assert lunar.next_solar(1, 1, date(2026, 2, 17)) == date(2026, 2, 17)
    assert lunar.next_solar(1, 1, date(2026, 2, 18)) == date(2027, 2, 6)
    # the last month of lunar 2025 is in solar 2026
    assert lunar.next_solar(12, 23, date(2026, 1, 1)) == date(2026, 2, 10)


def test_describe() -> None:
    assert LunarDate(2026, 1, 1).describe("vi") == "mùng 1 tháng Giêng"
    assert LunarDate(2026, 3, 10).describe("vi") == "mùng 10 tháng Ba"
    assert LunarDate(2026, 8, 15).describe("vi") == "rằm tháng Tám"
    assert LunarDate(2025, 12, 23).describe("vi") == "ngày 23 tháng Chạp"
    assert LunarDate(2025, 6, 2, leap=True).describe("vi") == "mùng 2 tháng Sáu nhuận"
    assert LunarDate(2026, 1, 1).describe("en") == "1st day of the 1st lunar month"
    assert LunarDate(2026, 8, 15).describe("en") == "15th day of the 8th lunar month"
    assert LunarDate(2025, 6, 22, leap=True).describe("en") == (
        "22nd day of the leap 6th lunar month"
    )
    assert LunarDate(2026, 1, 1).year_name == "Bính Ngọ"
    assert LunarDate(2025, 1, 1).year_name == "Ất Tỵ"
