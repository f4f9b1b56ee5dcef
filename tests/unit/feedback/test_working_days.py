"""Vietnamese working days: weekends, public holidays, Tết, the days that make up for a
holiday on a weekend, and the government's swaps of days, as the ``holidays`` library keeps
them."""

from __future__ import annotations

from datetime import date

import holidays

from perks.feedback.working_days import (
    add_working_days,
    is_working_day,
    public_holidays,
    working_days_between,
)

FRIDAY = date(2026, 12, 4)
MONDAY = date(2026, 12, 7)
#: Tết Bính Ngọ: 17/2/2026 (Tuesday); the break is Monday 16 to Friday 20 February
BEFORE_TET = date(2026, 2, 13)  # the Friday before


def test_a_weekend_is_not_counted():
    assert working_days_between(FRIDAY, MONDAY) == 1
    assert add_working_days(FRIDAY, 2) == date(2026, 12, 8)


def test_the_same_day_takes_no_working_day():
    assert working_days_between(MONDAY, MONDAY) == 0
    assert working_days_between(MONDAY, FRIDAY) == 0


def test_tet_is_five_days_off_from_lunar_new_years_eve():
    tet = [date(2026, 2, day) for day in range(16, 21)]
    assert all(day in public_holidays(2026) for day in tet)
    assert not any(is_working_day(day) for day in tet)
    assert is_working_day(date(2026, 2, 23))


def test_an_item_sent_before_tet_waits_for_the_end_of_the_break():
    # Friday 13/2, then Tết (16-20/2) and a weekend on each side: Monday 23/2 is the first
    # working day, so acknowledging then took one working day
    assert working_days_between(BEFORE_TET, date(2026, 2, 23)) == 1
    assert add_working_days(BEFORE_TET, 2) == date(2026, 2, 24)
    assert add_working_days(BEFORE_TET, 10) == date(2026, 3, 6)


def test_a_holiday_on_a_weekend_gives_the_next_working_day_off():
    # Giỗ Tổ Hùng Vương 10/3 lunar is Sunday 26/4/2026: Monday 27/4 is off instead
    assert date(2026, 4, 26) in public_holidays(2026)
    assert not is_working_day(date(2026, 4, 27))
    assert working_days_between(date(2026, 4, 24), date(2026, 4, 28)) == 1


def test_the_fixed_holidays_are_off():
    for day in (date(2027, 1, 1), date(2027, 4, 30), date(2026, 5, 1), date(2026, 9, 2)):
        assert not is_working_day(day), day
    assert not is_working_day(date(2026, 9, 1))  # Quốc khánh's second day


def test_the_days_off_are_the_holidays_librarys_the_governments_decisions_included():
    for year in (2024, 2025, 2026, 2027, 2030):
        assert public_holidays(year) == frozenset(holidays.Vietnam(years=year)), year


def test_a_saturday_worked_to_make_a_bridge_is_a_working_day():
    # 2026: Monday 31/8 is off, to make a four-day National Day break; Saturday 22/8 is
    # worked instead
    assert not is_working_day(date(2026, 8, 31))
    assert is_working_day(date(2026, 8, 22))
    assert working_days_between(date(2026, 8, 21), date(2026, 8, 24)) == 2


def test_vietnam_cultural_day_is_off_from_2026():
    assert not is_working_day(date(2026, 11, 24))  # a Tuesday
    assert is_working_day(date(2025, 11, 24))


def test_the_2025_tet_break_is_the_one_the_government_decided():
    # 27/1 to 31/1/2025 (the 28th of the last lunar month to the 3rd of the first);
    # Monday 3/2 was a working day
    assert not any(is_working_day(date(2025, 1, day)) for day in range(27, 32))
    assert is_working_day(date(2025, 2, 3))
