"""HR's occasions pages and everyone's company calendar: both calendars shown, bad input
refused with a 400 and its reason, every change audited."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from perks.audit import AuditEvent
from perks.extensions import db
from perks.i18n import company_today
from perks.people.models import Role
from perks.recognition import lunar, services
from perks.recognition.models import Occasion, OccasionKind
from perks.recognition.views import CELEBRATIONS_PER_DAY
from tests.factories import UserFactory


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_hr_adds_the_calendar_and_everyone_sees_both_calendars(client, login_as):
    login_as(Role.HR, locale="vi")
    page = client.get("/manage/occasions").get_data(as_text=True)
    assert 'data-testid="missing-calendar"' in page
    response = client.post("/manage/occasions/calendar")
    assert response.status_code == 303
    assert "recognition.calendar_added" in _actions()
    client.post("/logout")
    login_as(Role.EMPLOYEE, locale="vi")
    page = client.get("/occasions").get_data(as_text=True)
    tet = lunar.next_solar(1, 1, company_today())
    assert f'{tet:%d/%m/%Y}</span> · <span data-testid="lunar-date">mùng 1 tháng Giêng' in page
    assert "Giỗ Tổ Hùng Vương" in page
    assert "rằm tháng Tám" in page
    client.post("/language", data={"locale": "en"})
    login_as(Role.EMPLOYEE, locale="en")
    page = client.get("/occasions").get_data(as_text=True)
    assert "Lunar New Year" in page
    assert "1st day of the 1st lunar month" in page


def test_adding_the_calendar_says_which_occasions_stay_off_it(client, login_as):
    hr = login_as(Role.HR, locale="en")
    services.create_occasion(
        services.OccasionData("Quốc Khánh", "Our national day", OccasionKind.SOLAR, 9, 2),
        actor=hr,
    )
    db.session.commit()
    page = client.post("/manage/occasions/calendar", follow_redirects=True).get_data(as_text=True)
    count = len(services.VIETNAMESE_CALENDAR)
    assert f"{count} occasions of the Vietnamese calendar added." in page
    assert "National Day: not put on the calendar, because an occasion of the company" in page


def test_hr_creates_edits_and_deactivates_an_occasion(client, login_as):
    login_as(Role.HR)
    response = client.post(
        "/manage/occasions/new",
        data={
            "name_vi": "Tất niên",
            "name_en": "Year-end party",
            "kind": "lunar",
            "day": "23",
            "month": "12",
        },
    )
    assert response.status_code == 303
    occasion = db.session.scalars(select(Occasion)).one()
    assert (occasion.kind, occasion.month, occasion.day) == (OccasionKind.LUNAR, 12, 23)
    response = client.post(
        f"/manage/occasions/{occasion.id}/edit",
        data={
            "name_vi": "Tất niên",
            "name_en": "Year-end dinner",
            "kind": "lunar",
            "day": "23",
            "month": "12",
            "shown": services.shown_fingerprint(occasion),
        },
    )
    assert response.status_code == 303
    assert client.post(f"/manage/occasions/{occasion.id}/deactivate").status_code == 303
    db.session.refresh(occasion)
    assert (occasion.name_en, occasion.active) == ("Year-end dinner", False)
    client.get("/manage/occasions")  # shows the flash message
    assert "Year-end dinner" not in client.get("/occasions").get_data(as_text=True)
    assert _actions() == [
        "recognition.occasion_created",
        "recognition.occasion_changed",
        "recognition.occasion_deactivated",
    ]


def test_bad_input_is_a_400_that_says_why(client, login_as):
    login_as(Role.HR)
    response = client.post(
        "/manage/occasions/new",
        data={
            "name_vi": "Ngày lạ",
            "name_en": "Odd day",
            "kind": "solar",
            "day": "31",
            "month": "4",
        },
    )
    assert response.status_code == 400
    assert "This day is not in that month." in response.get_data(as_text=True)
    response = client.post(
        "/manage/occasions/new",
        data={
            "name_vi": "Ngày lạ",
            "name_en": "Odd day",
            "kind": "birthday",
            "day": "1",
            "month": "1",
        },
    )
    assert response.status_code == 400
    response = client.post(
        "/manage/occasions/settings",
        data={"founded_on": "2016-07-12", "anniversary_milestones": "1, 3, ten"},
    )
    assert response.status_code == 400
    assert "“ten” is not a number of years from 1 to 60." in response.get_data(as_text=True)
    assert db.session.scalar(select(Occasion.id)) is None
    assert _actions() == []


def test_a_duplicate_occasion_name_is_a_400_on_its_field_in_both_languages(client, login_as):
    hr = login_as(Role.HR, locale="en")
    form = {"name_vi": "Tất niên", "name_en": "Year-end party", "kind": "lunar"}
    assert (
        client.post("/manage/occasions/new", data=form | {"day": "23", "month": "12"}).status_code
        == 303
    )
    again = client.post(
        "/manage/occasions/new",
        data=form | {"name_vi": " tất  NIÊN", "name_en": "Party", "day": "1", "month": "12"},
    )
    assert again.status_code == 400
    page = again.get_data(as_text=True)
    assert "Another occasion is already called “tất  NIÊN”." in page
    assert "is-invalid" in page
    other = services.create_occasion(
        services.OccasionData("Dã ngoại", "Picnic", OccasionKind.SOLAR, 7, 1), actor=hr
    )
    hr.locale = "vi"
    db.session.commit()
    edit = client.post(
        f"/manage/occasions/{other.id}/edit",
        data={
            "name_vi": "Dã ngoại",
            "name_en": "year-end PARTY",
            "kind": "solar",
            "day": "1",
            "month": "7",
            "shown": services.shown_fingerprint(other),
        },
    )
    assert edit.status_code == 400
    assert "Đã có một dịp khác tên “year-end PARTY”." in edit.get_data(as_text=True)
    assert db.session.get(Occasion, other.id).name_en == "Picnic"


def test_the_calendars_occasions_are_not_edited(client, login_as):
    hr = login_as(Role.HR)
    services.add_vietnamese_calendar(actor=hr)
    tet = db.session.scalars(select(Occasion).where(Occasion.key == "tet")).one()
    response = client.get(f"/manage/occasions/{tet.id}/edit")
    assert response.status_code == 409
    assert "keep their names and dates" in response.get_data(as_text=True)


def test_hr_sets_the_founding_day_and_milestones(client, login_as):
    login_as(Role.HR)
    response = client.post(
        "/manage/occasions/settings",
        data={
            "founded_on": "2016-07-12",
            "anniversary_milestones": "10, 1, 5",
            "shown": services.shown_settings_fingerprint(services.current_settings()),
        },
    )
    assert response.status_code == 303
    assert services.current_settings() == services.Settings(date(2016, 7, 12), (1, 5, 10))
    assert _actions() == ["recognition.settings_changed"]
    page = client.get("/manage/occasions/settings").get_data(as_text=True)
    assert 'value="1, 5, 10"' in page


def test_hr_sees_birthdays_coming_up(client, login_as):
    hr = login_as(Role.HR)
    services.add_vietnamese_calendar(actor=hr)
    soon = company_today()
    # she hides her birthday from colleagues (account page): HR still sees it, marked
    UserFactory(
        name="Phạm Thu Hà", birth_month=soon.month, birth_day=soon.day, hide_personal_dates=True
    )
    page = client.get("/manage/occasions").get_data(as_text=True)
    assert "Phạm Thu Hà" in page
    assert 'data-testid="hidden-from-colleagues"' in page
    assert "Phạm Thu Hà" not in client.get("/occasions").get_data(as_text=True)


def test_hr_occasions_page_lists_a_few_personal_dates_a_day_and_the_rest_of_a_day_on_demand(
    client, login_as
):
    """HR's page listed every birthday and work anniversary of 30 days on one page: for a
    company of thousands, hundreds of rows. It is bounded as the company calendar is."""
    hr = login_as(Role.HR, locale="en")
    services.add_vietnamese_calendar(actor=hr)
    today = company_today()
    crowded = today + timedelta(days=2)
    for n in range(CELEBRATIONS_PER_DAY + 6):
        UserFactory(
            name=f"Sinh Nhật {n:02d}",
            birth_month=crowded.month,
            birth_day=crowded.day,
            hide_personal_dates=n == 9,
        )
    UserFactory(name="Hôm Nay", birth_month=today.month, birth_day=today.day)

    page = client.get("/manage/occasions").get_data(as_text=True)

    assert page.count('data-testid="personal-date"') == CELEBRATIONS_PER_DAY + 1
    assert "Hôm Nay" in page
    assert page.count('data-testid="personal-day"') == 2
    assert "and 6 more people this day" in page
    assert f'href="/manage/occasions?day={crowded.isoformat()}#day-{crowded.isoformat()}"' in page
    whole_day = client.get(f"/manage/occasions?day={crowded.isoformat()}").get_data(as_text=True)
    assert whole_day.count('data-testid="personal-date"') == CELEBRATIONS_PER_DAY + 6 + 1
    assert "Sinh Nhật 09" in whole_day  # HR sees the hidden one too, marked
    assert 'data-testid="hidden-from-colleagues"' in whole_day
    assert client.get("/manage/occasions?day=not-a-day").status_code == 200


def test_the_company_calendar_lists_a_few_celebrations_a_day_and_the_rest_of_a_day_on_demand(
    client, login_as
):
    hr = login_as(Role.HR, locale="en")
    services.add_vietnamese_calendar(actor=hr)
    today = company_today()
    crowded = today + timedelta(days=2)
    for n in range(CELEBRATIONS_PER_DAY + 6):
        UserFactory(name=f"Sinh Nhật {n:02d}", birth_month=crowded.month, birth_day=crowded.day)
    UserFactory(name="Hôm Nay", birth_month=today.month, birth_day=today.day)

    page = client.get("/occasions").get_data(as_text=True)

    assert page.count('data-testid="celebration"') == CELEBRATIONS_PER_DAY + 1
    assert "Hôm Nay" in page
    assert page.count('data-testid="celebration-day"') == 2
    assert "and 6 more colleagues to celebrate this day" in page
    whole_day = client.get(f"/occasions?day={crowded.isoformat()}").get_data(as_text=True)
    assert whole_day.count('data-testid="celebration"') == CELEBRATIONS_PER_DAY + 6 + 1
    assert "Sinh Nhật 09" in whole_day
    assert client.get("/occasions?day=not-a-day").status_code == 200
