"""HR's gift programme pages (create, edit, pause, preview; 400 with the reason on bad
input; audited), the greeting card on a person's home on the day, the privacy choices on
/account honoured on the company calendar, and what HR records for programmes."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from perks.audit import AuditEvent
from perks.catalog.models import CodeMode, PerkKind
from perks.extensions import db
from perks.i18n import company_today
from perks.people import services as people_services
from perks.people.models import Gender, Role, User
from perks.recognition import gifts, services
from perks.recognition.models import GiftProgramme, Occasion
from tests.factories import DepartmentFactory, PerkFactory, UserFactory


def _occasion(key: str) -> Occasion:
    services.add_vietnamese_calendar(actor=None)
    return db.session.scalars(select(Occasion).where(Occasion.key == key)).one()


def _form(occasion_id: int, perk_id: int, **changes: object) -> dict[str, object]:
    return {
        "name_vi": "Quà sinh nhật",
        "name_en": "Birthday gift",
        "occasion_id": str(occasion_id),
        "perk_id": str(perk_id),
        "days_ahead": "0",
        "message_vi": "Chúc mừng sinh nhật!",
        "message_en": "Happy birthday!",
        "unit_cost": "200.000",
        "budget": "10.000.000",
        "min_tenure_days": "0",
        "gender": "",
        **changes,
    }


def test_hr_creates_edits_pauses_and_previews_a_programme(client, login_as):
    hr = login_as(Role.HR, locale="en")
    sales = DepartmentFactory(name="Sales")
    soon = company_today() + timedelta(days=3)
    person = UserFactory(name="Lê Thị Sinh", birth_month=soon.month, birth_day=soon.day)
    perk = PerkFactory(kind=PerkKind.GIFT, per_person_limit=None, title_en="Cake voucher")
    birthday = _occasion("birthday")
    assert client.get("/manage/gifts/new").status_code == 200
    response = client.post(
        "/manage/gifts/new",
        data=_form(birthday.id, perk.id, **{f"department_budget_{sales.id}": "400.000"}),
    )
    assert response.status_code == 303
    programme = db.session.scalars(select(GiftProgramme)).one()
    assert (programme.unit_cost_amount, programme.budget_amount) == (200_000, 10_000_000)
    assert [(b.department_id, b.amount) for b in programme.department_budgets] == [
        (sales.id, 400_000)
    ]
    page = client.get("/manage/gifts").get_data(as_text=True)
    assert "Quà sinh nhật" in page
    preview = client.get("/manage/gifts/preview").get_data(as_text=True)
    assert "Lê Thị Sinh" in preview
    assert "Cake voucher" in preview
    assert "200,000" in preview
    edit = client.get(f"/manage/gifts/{programme.id}/edit").get_data(as_text=True)
    assert 'value="Happy birthday!"' in edit or "Happy birthday!" in edit
    response = client.post(
        f"/manage/gifts/{programme.id}/edit",
        data=_form(
            birthday.id,
            perk.id,
            days_ahead="2",
            gender="female",
            row_version=str(programme.row_version),
        ),
    )
    assert response.status_code == 303
    db.session.refresh(programme)
    assert (programme.days_ahead, programme.gender, programme.department_budgets) == (
        2,
        Gender.FEMALE,
        [],
    )
    assert "Lê Thị Sinh" not in client.get("/manage/gifts/preview").get_data(as_text=True)
    assert client.post(f"/manage/gifts/{programme.id}/pause").status_code == 303
    db.session.refresh(programme)
    assert not programme.active
    assert 'data-testid="paused"' in client.get("/manage/gifts").get_data(as_text=True)
    assert client.post(f"/manage/gifts/{programme.id}/resume").status_code == 303
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.actor_id == hr.id).order_by(AuditEvent.id)
    ).all()
    assert [a for a in actions if a.startswith("recognition.programme")] == [
        "recognition.programme_created",
        "recognition.programme_changed",
        "recognition.programme_paused",
        "recognition.programme_resumed",
    ]
    assert person.id


def test_the_preview_says_which_gifts_the_perk_has_no_codes_for(client, login_as):
    login_as(Role.HR, locale="vi")
    soon = company_today() + timedelta(days=3)
    UserFactory(name="Lê Thị Sinh", birth_month=soon.month, birth_day=soon.day)
    perk = PerkFactory(kind=PerkKind.GIFT, per_person_limit=None, code_mode=CodeMode.POOL)
    assert client.post("/manage/gifts/new", data=_form(_occasion("birthday").id, perk.id))
    preview = client.get("/manage/gifts/preview").get_data(as_text=True)
    assert "Lê Thị Sinh" in preview
    assert "Đã hết mã hoặc hết số lượng: không tặng" in preview
    assert 'data-testid="no-gift"' in preview


def test_hr_is_warned_before_pausing_a_programme_or_deactivating_its_occasion(client, login_as):
    """Deactivating an occasion stopped its programmes' gifts while the gift page still
    showed them running, and neither button said what it would stop."""
    login_as(Role.HR, locale="en")
    perk = PerkFactory(kind=PerkKind.GIFT, per_person_limit=None)
    birthday = _occasion("birthday")
    assert client.post("/manage/gifts/new", data=_form(birthday.id, perk.id)).status_code == 303

    page = client.get("/manage/gifts").get_data(as_text=True)
    assert (
        "Pause “Birthday gift”? It gives no gift while paused; once resumed, it gives the gifts"
        f" it missed only for the last {gifts.CATCH_UP_DAYS} days." in page
    )
    assert 'data-testid="occasion-inactive"' not in page
    occasions = client.get("/manage/occasions").get_data(as_text=True)
    assert (
        "Take “Birthday” off the calendar? Its gift programmes give nothing while it is"
        " inactive." in occasions
    )

    client.post(f"/manage/occasions/{birthday.id}/deactivate")

    page = client.get("/manage/gifts").get_data(as_text=True)
    assert 'data-testid="occasion-inactive"' in page
    assert "Its occasion is inactive: no gifts" in page


def test_hr_sees_who_received_a_programmes_gifts_year_by_year_page_by_page(client, login_as):
    """HR could see how many gifts a programme granted, not to whom: asked "where is my
    birthday gift?", they had nowhere to look."""
    hr = login_as(Role.HR, locale="en")
    perk = PerkFactory(kind=PerkKind.GIFT, per_person_limit=None, title_en="Cake voucher")
    programme = gifts.create_programme(
        gifts.ProgrammeData(
            name_vi="Quà 8/3",
            name_en="8 March gift",
            occasion_id=_occasion("womens_day").id,
            perk_id=perk.id,
            days_ahead=0,
            message_vi="Chúc mừng!",
            message_en="Congratulations!",
            unit_cost=gifts.Money(200_000, "VND"),
            budget=None,
        ),
        actor=hr,
    )
    sales = DepartmentFactory(name="Sales")
    for n in range(52):
        UserFactory(name=f"Người {n:02d}", department=sales)
    this_year = company_today().year
    on = date(this_year, 3, 8)
    assert gifts.grant_due_gifts(on) == 53  # HR too

    listing = client.get("/manage/gifts").get_data(as_text=True)
    assert f'href="/manage/gifts/{programme.id}/granted"' in listing
    page = client.get(f"/manage/gifts/{programme.id}/granted").get_data(as_text=True)
    assert page.count('data-testid="granted-gift"') == 50
    assert "53 gifts, ₫10,600,000" in page
    assert "Người 00 </a>" in page or "Người 00</a>" in page
    assert "Cake voucher · <span" in page
    assert f'href="/manage/gifts/{programme.id}/granted?page=2"' in page
    second = client.get(f"/manage/gifts/{programme.id}/granted?page=2").get_data(as_text=True)
    assert second.count('data-testid="granted-gift"') == 3
    last_year = client.get(f"/manage/gifts/{programme.id}/granted?year={this_year - 1}")
    assert 'data-testid="no-granted"' in last_year.get_data(as_text=True)
    assert client.get(f"/manage/gifts/{programme.id}/granted?year=x").status_code == 200
    assert client.get("/manage/gifts/999/granted").status_code == 404


def test_bad_input_is_a_400_with_the_reason(client, login_as):
    login_as(Role.HR, locale="en")
    perk = PerkFactory(kind=PerkKind.GIFT)
    not_a_gift = PerkFactory()
    birthday = _occasion("birthday")
    cases = [
        (_form(birthday.id, perk.id, unit_cost="lots"), "unit_cost"),
        (_form(birthday.id, perk.id, days_ahead="90"), "days_ahead"),
        (_form(birthday.id, perk.id, message_en=""), "message_en"),
        (_form(birthday.id, not_a_gift.id), "perk_id"),
    ]
    for data, field in cases:
        response = client.post("/manage/gifts/new", data=data)
        assert response.status_code == 400, field
        page = response.get_data(as_text=True)
        assert f'id="{field}"' in page, field
        assert "is-invalid" in page, field
    assert db.session.scalars(select(GiftProgramme)).all() == []
    assert client.get("/manage/gifts/999/edit").status_code == 404


def test_a_budget_smaller_than_one_gift_is_refused_in_both_languages(client, login_as):
    """A budget below the cost of one gift was saved, and the preview then showed everyone
    over budget: no gift could ever be granted."""
    hr = login_as(Role.HR, locale="en")
    sales = DepartmentFactory(name="Sales")
    perk = PerkFactory(kind=PerkKind.GIFT, per_person_limit=None)
    birthday = _occasion("birthday")

    response = client.post("/manage/gifts/new", data=_form(birthday.id, perk.id, budget="150.000"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The budget per occasion year must cover at least one gift (₫200,000)" in page
    assert 'id="budget"' in page
    assert "is-invalid" in page

    hr.locale = "vi"
    db.session.commit()
    response = client.post("/manage/gifts/new", data=_form(birthday.id, perk.id, budget="0"))
    assert response.status_code == 400
    assert "Ngân sách mỗi năm của dịp phải đủ cho ít nhất một phần quà (200.000" in (
        response.get_data(as_text=True)
    )
    department = _form(birthday.id, perk.id, **{f"department_budget_{sales.id}": "100.000"})
    response = client.post("/manage/gifts/new", data=department)
    assert response.status_code == 400
    assert "Ngân sách của Sales phải đủ cho ít nhất một phần quà" in response.get_data(as_text=True)
    assert db.session.scalars(select(GiftProgramme)).all() == []

    # one gift exactly is a budget; empty stays "no limit"
    exact = client.post("/manage/gifts/new", data=_form(birthday.id, perk.id, budget="200.000"))
    assert exact.status_code == 303
    programme = db.session.scalars(select(GiftProgramme)).one()
    edit = client.post(
        f"/manage/gifts/{programme.id}/edit",
        data=_form(birthday.id, perk.id, budget="", row_version=str(programme.row_version)),
    )
    assert edit.status_code == 303
    db.session.refresh(programme)
    assert programme.budget_amount is None
    smaller = client.post(
        f"/manage/gifts/{programme.id}/edit",
        data=_form(birthday.id, perk.id, budget="1", row_version=str(programme.row_version)),
    )
    assert smaller.status_code == 400
    db.session.refresh(programme)
    assert programme.budget_amount is None


def test_the_greeting_card_shows_on_the_day_with_a_link_to_the_gift(client, login_as):
    today = company_today()
    person = login_as(Role.EMPLOYEE, locale="vi", birth_month=today.month, birth_day=today.day)
    hr = UserFactory(roles={Role.HR})
    perk = PerkFactory(kind=PerkKind.GIFT, per_person_limit=None, shared_code="")
    gifts.create_programme(
        gifts.ProgrammeData(
            name_vi="Quà sinh nhật",
            name_en="Birthday gift",
            occasion_id=_occasion("birthday").id,
            perk_id=perk.id,
            days_ahead=0,
            message_vi="Chúc mừng sinh nhật bạn!",
            message_en="Happy birthday to you!",
            unit_cost=gifts.Money(200_000, "VND"),
            budget=None,
        ),
        actor=hr,
    )
    assert 'data-testid="greeting-card"' not in client.get("/").get_data(as_text=True)
    assert gifts.grant_due_gifts(today) == 1
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="greeting-card"' in home
    assert "Chúc mừng sinh nhật bạn!" in home
    gift = db.session.scalars(select(gifts.Gift)).one()
    assert f'href="/my-perks/{gift.claim_id}"' in home
    claim_page = client.get(f"/my-perks/{gift.claim_id}").get_data(as_text=True)
    assert gift.claim.code in claim_page
    assert person.id == gift.user_id

    # HR changes the programme's gift for next year: today's card still names the gift
    # received (it named the programme's new perk, or nothing once it gave points)
    perk_title = gift.claim.perk.title_vi
    programme = gift.programme
    gifts.update_programme(
        programme.id,
        gifts.ProgrammeData(
            name_vi="Quà sinh nhật",
            name_en="Birthday gift",
            occasion_id=programme.occasion_id,
            perk_id=None,
            points=100,
            days_ahead=0,
            message_vi="Chúc mừng sinh nhật bạn!",
            message_en="Happy birthday to you!",
            unit_cost=gifts.Money(0, "VND"),
            budget=None,
        ),
        actor=hr,
    )
    home = client.get("/").get_data(as_text=True)
    assert f"Mở quà của bạn: {perk_title}" in home


def _celebrations(page: str) -> str:
    """The calendar's list of colleagues to celebrate (the navigation names the viewer)."""
    return page.split('data-testid="celebrations"', 1)[1]


def test_a_person_hides_their_birthday_from_colleagues_and_still_gets_the_gift(client, login_as):
    today = company_today()
    soon = today + timedelta(days=2)
    UserFactory(name="Phạm Văn Công Khai", birth_month=soon.month, birth_day=soon.day)
    services.add_vietnamese_calendar(actor=None)
    person = login_as(Role.EMPLOYEE, name="Đỗ Thị Kín", birth_month=soon.month, birth_day=soon.day)
    page = _celebrations(client.get("/occasions").get_data(as_text=True))
    assert "Đỗ Thị Kín" in page
    assert "Phạm Văn Công Khai" in page
    account = client.get("/account").get_data(as_text=True)
    assert 'data-testid="privacy"' in account
    # what each choice does is said under its box (descriptions of check boxes were not shown)
    assert 'aria-describedby="hide_personal_dates-help"' in account
    response = client.post("/account/privacy", data={"hide_personal_dates": "y"})
    assert response.status_code == 303
    stored = db.session.get(User, person.id)
    db.session.refresh(stored)
    assert (stored.hide_personal_dates, stored.public_celebration) == (True, False)
    page = _celebrations(client.get("/occasions").get_data(as_text=True))
    assert "Đỗ Thị Kín" not in page
    assert "Phạm Văn Công Khai" in page
    client.post("/account/privacy", data={"public_celebration": "y"})
    stored = db.session.get(User, person.id)
    db.session.refresh(stored)
    assert (stored.hide_personal_dates, stored.public_celebration) == (False, True)
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("people.privacy_changed") == 2
    # the birthday programme still gives them their gift (perks.recognition.gifts tests it)
    assert services.personal_dates(today, 30)


def test_hr_records_gender_and_children_on_the_person_form(client, login_as):
    login_as(Role.HR, locale="en")
    person = UserFactory(name="Vũ Thị Mẹ", email="me@example.com")
    response = client.post(
        f"/people/{person.id}/edit",
        data={
            "shown": people_services.shown_fingerprint(person),
            "name": "Vũ Thị Mẹ",
            "email": "me@example.com",
            "employment_type": "staff",
            "locale": "vi",
            "roles": ["employee"],
            "gender": "female",
            "children_under_15": "2",
        },
    )
    assert response.status_code in (302, 303)
    db.session.refresh(person)
    assert (person.gender, person.children_under_15) == (Gender.FEMALE, 2)
    form = client.get(f"/people/{person.id}/edit").get_data(as_text=True)
    assert '<option selected value="female">' in form or 'value="female" selected' in form
