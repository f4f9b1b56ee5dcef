"""The company's occasions (perks.recognition.services): their next dates, people's
birthdays and work anniversaries, and HR's changes, audited."""

from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from perks.audit import AuditEvent
from perks.errors import Conflict, ValidationFailed
from perks.extensions import db
from perks.people.models import Role
from perks.recognition import services
from perks.recognition.calendar import VIETNAMESE_CALENDAR
from perks.recognition.lunar import LunarDate
from perks.recognition.models import Occasion, OccasionKind
from perks.recognition.services import OccasionData
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _in_english(app):  # type: ignore[no-untyped-def]
    with force_locale("en"):
        yield


@pytest.fixture
def hr():  # type: ignore[no-untyped-def]
    return UserFactory(roles={Role.HR})


def by_key(items: list[services.NextDate]) -> dict[str | None, services.NextDate]:
    return {item.occasion.key: item for item in items}


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_the_vietnamese_calendar_is_added_once(hr):
    added = services.add_vietnamese_calendar(actor=hr)
    assert [o.key for o in added] == [b.key for b in VIETNAMESE_CALENDAR]
    assert services.add_vietnamese_calendar(actor=hr) == []
    assert actions() == ["recognition.calendar_added"]


def test_the_calendar_added_after_an_occasion_of_the_same_name_stays_off(hr):
    """HR's own "Tết Trung Thu" made the calendar's "Tết Trung thu" appear beside it: two
    occasions on the calendar nobody could tell apart."""
    own = services.create_occasion(
        OccasionData("TẾT TRUNG THU", "Lantern night", OccasionKind.LUNAR, 8, 14), actor=hr
    )
    added = services.add_vietnamese_calendar(actor=hr)
    assert [o.key for o in added] == [b.key for b in VIETNAMESE_CALENDAR]
    assert [o.key for o in added if not o.active] == ["mid_autumn"]
    assert db.session.get(Occasion, own.id).active
    with pytest.raises(Conflict):  # it comes on only once the company's is off
        services.set_active(added[[o.key for o in added].index("mid_autumn")].id, True, actor=hr)
    assert services.add_vietnamese_calendar(actor=hr) == []


def test_next_dates_from_new_year_2026(hr):
    services.add_vietnamese_calendar(actor=hr)
    dates = by_key(services.upcoming(date(2026, 1, 1)))
    assert dates["new_year"].on == date(2026, 1, 1)
    assert dates["tet"].on == date(2026, 2, 17)
    assert dates["tet"].lunar == LunarDate(2026, 1, 1)
    assert dates["hung_kings"].on == date(2026, 4, 26)
    assert dates["mid_autumn"].on == date(2026, 9, 25)
    assert dates["mid_autumn"].lunar == LunarDate(2026, 8, 15)
    assert dates["reunification_day"].on == date(2026, 4, 30)
    assert dates["labour_day"].on == date(2026, 5, 1)
    assert dates["womens_day"].lunar is None
    # no founding day yet, and personal occasions have no company date: last
    assert dates["founding_day"].on is None
    assert [item.on for item in services.upcoming(date(2026, 1, 1))][-3:] == [None] * 3


def test_after_tet_comes_next_years_tet(hr):
    services.add_vietnamese_calendar(actor=hr)
    assert by_key(services.upcoming(date(2026, 2, 18)))["tet"].on == date(2027, 2, 6)
    assert by_key(services.upcoming(date(2027, 2, 7)))["tet"].on == date(2028, 1, 26)


def test_upcoming_is_soonest_first_and_leaves_inactive_ones_out(hr):
    services.add_vietnamese_calendar(actor=hr)
    tet = db.session.scalars(select(Occasion).where(Occasion.key == "tet")).one()
    services.set_active(tet.id, False, actor=hr)
    items = services.upcoming(date(2026, 3, 1))
    days = [item.on for item in items if item.on]
    assert days == sorted(days)
    assert days[0] == date(2026, 3, 8)
    assert "tet" not in by_key(items)
    assert "tet" in by_key(services.upcoming(date(2026, 3, 1), active_only=False))


def test_founding_day_counts_years(hr):
    services.add_vietnamese_calendar(actor=hr)
    services.update_settings(date(2016, 7, 12), [1, 3], today=date(2026, 1, 1), actor=hr)
    founding = by_key(services.upcoming(date(2026, 7, 12)))["founding_day"]
    assert (founding.on, founding.years) == (date(2026, 7, 12), 10)
    founding = by_key(services.upcoming(date(2026, 7, 13)))["founding_day"]
    assert (founding.on, founding.years) == (date(2027, 7, 12), 11)


def test_solar_29_february_is_28_february_in_common_years(hr):
    occasion = services.create_occasion(
        OccasionData("Ngày nhuận", "Leap day", OccasionKind.SOLAR, 2, 29), actor=hr
    )
    settings = services.current_settings()
    assert services.next_date(occasion, date(2026, 1, 1), settings).on == date(2026, 2, 28)
    assert services.next_date(occasion, date(2027, 3, 1), settings).on == date(2028, 2, 29)


def test_a_custom_lunar_occasion(hr):
    occasion = services.create_occasion(
        OccasionData(" Tất niên ", "Year-end party", OccasionKind.LUNAR, 12, 30), actor=hr
    )
    assert occasion.name_vi == "Tất niên"
    item = services.next_date(occasion, date(2026, 1, 1), services.current_settings())
    # tháng Chạp of Ất Tỵ has 29 days: its last day, the eve of Tết
    assert (item.on, item.lunar) == (date(2026, 2, 16), LunarDate(2025, 12, 29))


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (OccasionData("", "Party", OccasionKind.SOLAR, 1, 1), "name_vi"),
        (OccasionData("Tiệc", " ", OccasionKind.SOLAR, 1, 1), "name_en"),
        (OccasionData("Tiệc", "Party", OccasionKind.SOLAR, 4, 31), "day"),
        (OccasionData("Tiệc", "Party", OccasionKind.SOLAR, 13, 1), "month"),
        (OccasionData("Tiệc", "Party", OccasionKind.LUNAR, 1, 31), "day"),
        (OccasionData("Tiệc", "Party", OccasionKind.BIRTHDAY, 1, 1), "kind"),
    ],
)
def test_bad_occasions_are_refused_on_their_field(hr, data, field):
    with pytest.raises(ValidationFailed) as refused:
        services.create_occasion(data, actor=hr)
    assert refused.value.details["field"] == field
    assert db.session.scalar(select(Occasion.id)) is None


def test_a_second_occasion_with_the_same_name_is_refused_on_create_and_edit(hr):
    """Two occasions could share a name: the calendar and the programme form then listed two
    "Ngày hội" nobody could tell apart."""
    services.add_vietnamese_calendar(actor=hr)
    services.create_occasion(
        OccasionData("Ngày hội", "Family day", OccasionKind.SOLAR, 6, 28), actor=hr
    )
    for data, field in [
        (OccasionData("  ngày   HỘI ", "Picnic", OccasionKind.SOLAR, 7, 1), "name_vi"),
        (OccasionData("Dã ngoại", "FAMILY  day", OccasionKind.LUNAR, 5, 5), "name_en"),
        (OccasionData("Tết nguyên đán", "Spring party", OccasionKind.SOLAR, 2, 1), "name_vi"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            services.create_occasion(data, actor=hr)
        assert refused.value.details["field"] == field
        assert "Another occasion is already called" in refused.value.message
    picnic = services.create_occasion(
        OccasionData("Dã ngoại", "Picnic", OccasionKind.SOLAR, 7, 1), actor=hr
    )
    with pytest.raises(ValidationFailed) as refused:
        services.update_occasion(
            picnic.id, OccasionData("NGÀY HỘI", "Picnic", OccasionKind.SOLAR, 7, 1), actor=hr
        )
    assert refused.value.details["field"] == "name_vi"
    # its own name is not another's: a change of day keeps it
    services.update_occasion(
        picnic.id, OccasionData("Dã ngoại", "Picnic ", OccasionKind.SOLAR, 7, 2), actor=hr
    )
    assert db.session.get(Occasion, picnic.id).day == 2


def test_an_inactive_occasion_frees_its_name_until_it_comes_back(hr):
    """The calendar's occasions keep their dates: HR deactivates one and adds their own of
    the same name; the old one cannot then come back beside it."""
    services.add_vietnamese_calendar(actor=hr)
    tet = db.session.scalars(select(Occasion).where(Occasion.key == "tet")).one()
    services.set_active(tet.id, False, actor=hr)
    own = services.create_occasion(
        OccasionData(tet.name_vi, tet.name_en, OccasionKind.SOLAR, 2, 1), actor=hr
    )
    with pytest.raises(Conflict) as refused:
        services.set_active(tet.id, True, actor=hr)
    assert "another active occasion has the same name" in refused.value.message
    services.set_active(own.id, False, actor=hr)
    assert services.set_active(tet.id, True, actor=hr).active


def test_hr_edits_their_own_occasions_not_the_calendars(hr):
    services.add_vietnamese_calendar(actor=hr)
    own = services.create_occasion(
        OccasionData("Ngày hội", "Family day", OccasionKind.SOLAR, 6, 28), actor=hr
    )
    services.update_occasion(
        own.id, OccasionData("Ngày hội", "Family day", OccasionKind.LUNAR, 5, 5), actor=hr
    )
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "recognition.occasion_changed")
    ).one()
    assert event.details["changes"] == {
        "kind": ["solar", "lunar"],
        "month": [6, 5],
        "day": [28, 5],
    }
    tet = db.session.scalars(select(Occasion).where(Occasion.key == "tet")).one()
    with pytest.raises(Conflict):
        services.update_occasion(
            tet.id, OccasionData("Tết", "Tet", OccasionKind.LUNAR, 1, 2), actor=hr
        )
    db.session.refresh(tet)
    assert (tet.month, tet.day) == (1, 1)


def test_deactivate_and_activate(hr):
    own = services.create_occasion(
        OccasionData("Ngày hội", "Family day", OccasionKind.SOLAR, 6, 28), actor=hr
    )
    services.set_active(own.id, False, actor=hr)
    with pytest.raises(Conflict):
        services.set_active(own.id, False, actor=hr)
    services.set_active(own.id, True, actor=hr)
    assert actions() == [
        "recognition.occasion_created",
        "recognition.occasion_deactivated",
        "recognition.occasion_activated",
    ]


def test_birthdays_and_milestone_anniversaries_in_a_window(hr):
    services.add_vietnamese_calendar(actor=hr)
    services.update_settings(None, [1, 5], today=date(2026, 1, 1), actor=hr)
    UserFactory(name="An", birth_month=3, birth_day=2, hire_date=date(2021, 3, 10))
    UserFactory(name="Bình", birth_month=2, birth_day=29, hire_date=date(2024, 3, 5))
    UserFactory(name="Cường", birth_month=3, birth_day=20, hire_date=date(2025, 3, 3))
    UserFactory(name="Dũng", birth_month=3, birth_day=1, active=False)
    found = services.personal_dates(date(2026, 2, 27), 14)
    assert [(p.person.name, p.occasion.kind, p.on, p.years) for p in found] == [
        ("Bình", OccasionKind.BIRTHDAY, date(2026, 2, 28), None),
        ("An", OccasionKind.BIRTHDAY, date(2026, 3, 2), None),
        ("Cường", OccasionKind.WORK_ANNIVERSARY, date(2026, 3, 3), 1),
        ("An", OccasionKind.WORK_ANNIVERSARY, date(2026, 3, 10), 5),
    ]  # Bình's second year is no milestone; Cường's birthday is after the window


def test_a_birthday_before_the_persons_first_day_is_not_celebrated(hr):
    # imported ahead of their start: not a colleague yet on their birthday, and no gift
    # programme gives them one for it (perks.recognition.gifts: from their hire date)
    services.add_vietnamese_calendar(actor=hr)
    UserFactory(name="An", birth_month=3, birth_day=3, hire_date=date(2026, 3, 15))
    UserFactory(name="Bình", birth_month=3, birth_day=4, hire_date=date(2026, 3, 4))
    found = services.personal_dates(date(2026, 2, 27), 14)
    assert [(p.person.name, p.on) for p in found] == [("Bình", date(2026, 3, 4))]


def test_a_birthday_or_anniversary_on_or_after_the_persons_leaving_date_is_not_celebrated(hr):
    # gone by then (active until the leavers' task runs on their leaving date): colleagues are
    # not asked to celebrate them, and no gift programme gives them anything for it
    # (perks.recognition.gifts.in_audience: not left by the occasion's day)
    services.add_vietnamese_calendar(actor=hr)
    services.update_settings(None, [1], today=date(2026, 1, 1), actor=hr)
    UserFactory(name="An", birth_month=3, birth_day=5, leaving_date=date(2026, 3, 5))
    UserFactory(name="Bình", hire_date=date(2025, 3, 6), leaving_date=date(2026, 3, 1))
    UserFactory(name="Cường", birth_month=3, birth_day=4, leaving_date=date(2026, 3, 5))
    found = services.personal_dates(date(2026, 2, 27), 14)
    assert [(p.person.name, p.on) for p in found] == [("Cường", date(2026, 3, 4))]


def test_a_window_across_the_new_year(hr):
    services.add_vietnamese_calendar(actor=hr)
    UserFactory(name="An", birth_month=1, birth_day=2, hire_date=None)
    found = services.personal_dates(date(2026, 12, 30), 5)
    assert [(p.person.name, p.on) for p in found] == [("An", date(2027, 1, 2))]


def test_no_milestones_means_every_year_and_inactive_occasions_give_nothing(hr):
    services.add_vietnamese_calendar(actor=hr)
    services.update_settings(None, [], today=date(2026, 1, 1), actor=hr)
    UserFactory(name="An", hire_date=date(2024, 3, 5))
    assert [p.years for p in services.personal_dates(date(2026, 3, 1), 10)] == [2]
    anniversary = db.session.scalars(
        select(Occasion).where(Occasion.key == "work_anniversary")
    ).one()
    services.set_active(anniversary.id, False, actor=hr)
    assert services.personal_dates(date(2026, 3, 1), 10) == []


def test_personal_dates_window_limits():
    with pytest.raises(ValidationFailed):
        services.personal_dates(date(2026, 1, 1), 0)
    with pytest.raises(ValidationFailed):
        services.personal_dates(date(2026, 1, 1), 367)


def test_settings_are_audited_with_their_changes(hr):
    assert services.current_settings().anniversary_milestones == (1, 3, 5, 10)
    services.update_settings(date(2016, 7, 12), [10, 1, 5, 1], today=date(2026, 1, 1), actor=hr)
    assert services.current_settings() == services.Settings(date(2016, 7, 12), (1, 5, 10))
    event = db.session.scalars(select(AuditEvent)).one()
    assert event.action == "recognition.settings_changed"
    assert event.details["changes"] == {
        "founded_on": [None, "2016-07-12"],
        "anniversary_milestones": [[1, 3, 5, 10], [1, 5, 10]],
    }
    with pytest.raises(ValidationFailed):
        services.update_settings(date(2027, 1, 1), [1], today=date(2026, 1, 1), actor=hr)


@pytest.mark.parametrize(
    ("text", "years"),
    [("1, 3, 5, 10", (1, 3, 5, 10)), ("10;5 1,,1", (1, 5, 10)), ("", ())],
)
def test_parse_milestones(text, years):
    assert services.parse_milestones(text) == years


# "²" and "①" read as digits to str.isdigit but not to int(): a 500 on HR's settings page
@pytest.mark.parametrize("text", ["0", "61", "1, x", "-1", "2.5", "1, ²", "①", "١٠"])
def test_parse_milestones_refuses(text):
    with pytest.raises(ValidationFailed):
        services.parse_milestones(text)
