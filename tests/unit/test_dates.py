"""Dates read day first in both languages (a Vietnamese reader takes "12/4/26" for 12 April),
and moments are shown in the company's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask import render_template_string
from flask_babel import force_locale

from perks.i18n import format_axis_label, format_day, format_moment, format_month, format_quarter

DAY = date(2026, 12, 4)
#: 02:05 UTC is 09:05 in Hà Nội (UTC+7), the same day; 20:00 UTC is the next day there
MORNING = datetime(2026, 12, 4, 2, 5, tzinfo=UTC)
LATE = datetime(2026, 12, 4, 20, 0, tzinfo=UTC).replace(tzinfo=None)  # naive UTC, as stored


@pytest.mark.parametrize(
    ("locale", "short", "medium", "long"),
    [
        ("en", "04/12/2026", "4 Dec 2026", "4 December 2026"),
        ("vi", "04/12/2026", "4 tháng 12, 2026", "4 tháng 12, 2026"),
    ],
)
def test_days_are_day_first_in_both_languages(app, locale, short, medium, long):
    with app.test_request_context(), force_locale(locale):
        assert format_day(DAY, "short") == short
        assert format_day(DAY) == medium
        assert format_day(DAY, "long") == long


@pytest.mark.parametrize(
    ("locale", "morning", "late"),
    [
        ("en", "04/12/2026, 09:05", "05/12/2026, 03:00"),
        ("vi", "09:05 04/12/2026", "03:00 05/12/2026"),
    ],
)
def test_moments_are_in_the_company_time_zone_and_24_hour(app, locale, morning, late):
    with app.test_request_context(), force_locale(locale):
        assert format_moment(MORNING) == morning
        assert format_moment(LATE) == late
        assert format_day(LATE, "short") == "05/12/2026"  # the day it is in Hà Nội


def test_the_template_filters_are_the_same_functions(app):
    with app.test_request_context(), force_locale("en"):
        shown = render_template_string(
            "{{ day|date('short') }} | {{ day|date }} | {{ moment|datetime('short') }}",
            day=DAY,
            moment=MORNING,
        )
    assert shown == "04/12/2026 | 4 Dec 2026 | 04/12/2026, 09:05"


def test_nothing_to_show_is_empty(app):
    with app.test_request_context():
        assert format_day(None) == ""
        assert format_moment(None) == ""


@pytest.mark.parametrize(("locale", "shown"), [("vi", "Quý 4/2026"), ("en", "Q4 2026")])
def test_a_quarter_reads_in_the_readers_language(app, locale, shown):
    with app.test_request_context(), force_locale(locale):
        assert format_quarter("2026-Q4") == shown
        assert format_quarter("2026-Q5") == "2026-Q5"  # not a quarter: as it is
        assert format_quarter(None) == ""


@pytest.mark.parametrize(
    ("locale", "day", "month"), [("vi", "4/12", "Tháng 12/2026"), ("en", "4 Dec", "Dec 2026")]
)
def test_a_charts_labels_read_as_the_pages_dates(app, locale, day, month):
    with app.test_request_context(), force_locale(locale):
        assert format_axis_label(DAY, "day") == day
        assert format_axis_label(DAY, "month") == month
    if locale == "vi":  # a month reads as it does everywhere else on the page
        with app.test_request_context(), force_locale(locale):
            assert format_axis_label(DAY, "month") == format_month("2026-12")
