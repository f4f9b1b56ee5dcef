"""HR: the directory, creating and editing people, roles, departments, deactivation."""

from __future__ import annotations

import unicodedata
from datetime import date
from html import unescape

import pytest

from perks.audit import AuditEvent
from perks.auth import services as auth_services
from perks.extensions import db
from perks.people import services
from perks.people.models import Department, EmploymentType, Role, User
from tests import factories
from tests.helpers import login


def person_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Phạm Thị Lan",
        "email": "Lan.Pham@Example.com",
        "employee_number": "SV0100",
        "location": "Đà Nẵng",
        "employment_type": "contractor",
        "hire_date": "2025-03-01",
        "birth_day": "29",
        "birth_month": "2",
        "locale": "vi",
        "roles": ["employee"],
        "department_id": "",
        "manager_id": "",
    }
    data.update(overrides)
    return data


def as_shown(person: User, data: dict[str, object]) -> dict[str, object]:
    """``data`` as sent from the edit page of ``person`` opened just now."""
    db.session.expire(person)
    return {**data, "shown": services.shown_fingerprint(person)}


def audit_actions() -> list[str]:
    return list(db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_hr_adds_a_person_and_it_is_audited(client, login_as):
    hr = login_as(Role.HR)
    response = client.post("/people/new", data=person_form())
    assert response.status_code == 302
    person = db.session.scalar(db.select(User).where(User.email == "lan.pham@example.com"))
    assert person.employment_type is EmploymentType.CONTRACTOR
    assert (person.birth_day, person.birth_month) == (29, 2)
    assert person.hire_date == date(2025, 3, 1)
    assert person.password_hash is None
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "people.created"))
    assert event.actor_id == hr.id
    assert event.target_id == str(person.id)


def test_email_is_unique_whatever_its_case(client, login_as):
    factories.UserFactory(email="lan.pham@example.com")
    login_as(Role.HR)
    response = client.post("/people/new", data=person_form(email="LAN.PHAM@example.com"))
    assert response.status_code == 400
    assert "already has this e-mail" in response.get_data(as_text=True)


def test_an_employee_number_pasted_with_invisible_characters_is_the_number(client, login_as):
    """Copied from a spreadsheet or a chat, a number brings zero-width spaces along: it is the
    number someone already has, as the people import reads it."""
    factories.UserFactory(employee_number="SV0100")
    login_as(Role.HR)
    response = client.post(
        "/people/new", data=person_form(email="lan@congty.vn", employee_number="SV0100\u200b")
    )
    assert response.status_code == 400
    assert "already has this employee number" in response.get_data(as_text=True)

    response = client.post(
        "/people/new", data=person_form(email="lan@congty.vn", employee_number="\ufeffSV0101 ")
    )
    assert response.status_code == 302
    person = db.session.scalar(db.select(User).where(User.email == "lan@congty.vn"))
    assert person.employee_number == "SV0101"


def test_a_location_pasted_with_invisible_characters_is_the_place(client, login_as):
    """Perks and surveys for "Hà Nội" go to the people whose location is exactly that: one
    pasted with a zero-width space must not make a second Hà Nội nobody's rules name."""
    login_as(Role.HR)
    response = client.post(
        "/people/new", data=person_form(email="lan@congty.vn", location="\u200bHà Nội\ufeff ")
    )
    assert response.status_code == 302
    person = db.session.scalar(db.select(User).where(User.email == "lan@congty.vn"))
    assert person.location == "Hà Nội"


#: an address with Vietnamese accents, as Unikey's "Unicode dựng sẵn" (composed) and "Unicode
#: tổ hợp" (decomposed) type it: the same address, which reads the same
COMPOSED_EMAIL = unicodedata.normalize("NFC", "nguyễn.lan@congty.vn")
DECOMPOSED_EMAIL = unicodedata.normalize("NFD", COMPOSED_EMAIL)


def test_an_email_typed_decomposed_is_the_same_address_as_typed_composed(client, login_as):
    factories.UserFactory(email=COMPOSED_EMAIL)
    login_as(Role.HR)
    response = client.post("/people/new", data=person_form(email=DECOMPOSED_EMAIL))
    assert response.status_code == 400
    assert "already has this e-mail" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 2


def test_a_person_added_under_a_decomposed_email_signs_in_with_it_composed(client, login_as):
    login_as(Role.HR)
    response = client.post("/people/new", data=person_form(email=DECOMPOSED_EMAIL))
    assert response.status_code == 302
    person = db.session.scalar(db.select(User).where(User.name == "Phạm Thị Lan"))
    assert person.email == COMPOSED_EMAIL
    auth_services.set_password(person, "a long passphrase of 2026")
    db.session.commit()
    other = client.application.test_client()
    answer = other.post(
        "/login", data={"email": COMPOSED_EMAIL, "password": "a long passphrase of 2026"}
    )
    assert answer.status_code == 302
    assert other.get("/account").status_code == 200


def test_a_person_is_found_by_their_email_typed_decomposed(app):
    """Finance's and HR's search fields (an adjustment's person, say) find a person by the
    address they type, composed or not."""
    person = factories.UserFactory(email=COMPOSED_EMAIL)
    assert services.find_person(DECOMPOSED_EMAIL) == person
    assert services.find_person(f"Lan <{DECOMPOSED_EMAIL.upper()}>") == person


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("birth_day", "31"),
        ("birth_month", "13"),
        ("email", "not-an-email"),
        ("name", ""),
        ("name", "\u200b\u200b"),  # zero-width spaces only: an invisible name
        ("name", "\ufeff \u2060"),
    ],
)
def test_bad_person_data_gets_a_400_and_writes_nothing(client, login_as, field, value):
    login_as(Role.HR)
    data = person_form(**{field: value})
    if field == "birth_day":
        data["birth_month"] = "4"  # 31 April does not exist
    response = client.post("/people/new", data=data)
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1


def test_an_email_and_a_name_pasted_with_spaces_around_them_are_kept_without_them(client, login_as):
    login_as(Role.HR)
    response = client.post(
        "/people/new",
        data=person_form(email=" \u200bLan.Pham@Example.com \t", name="\ufeffPhạm Thị Lan\u200b "),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    person = db.session.scalar(db.select(User).where(User.email == "lan.pham@example.com"))
    assert person is not None
    assert person.name == "Phạm Thị Lan"


def test_an_invisible_department_name_is_refused(client, login_as):
    login_as(Role.HR)
    response = client.post("/people/departments", data={"name": "\u200b\u00a0\u200b"})
    assert response.status_code == 400
    assert db.session.scalar(db.select(db.func.count()).select_from(Department)) == 0


def test_hr_cannot_grant_finance_or_admin(client, login_as):
    login_as(Role.HR)
    response = client.post("/people/new", data=person_form(roles=["employee", "finance"]))
    assert response.status_code == 400
    assert db.session.scalar(db.select(User).where(User.email == "lan.pham@example.com")) is None


def test_admin_can_grant_finance(client, login_as):
    login_as(Role.ADMIN)
    assert client.post("/people/new", data=person_form(roles=["finance"])).status_code == 302
    person = db.session.scalar(db.select(User).where(User.email == "lan.pham@example.com"))
    assert person.roles == {Role.FINANCE}


def test_fields_outside_the_form_cannot_be_assigned(client, login_as):
    login_as(Role.HR)
    client.post(
        "/people/new",
        data=person_form(active="false", password_hash="x", session_token="mine", id="1"),
    )
    person = db.session.scalar(db.select(User).where(User.email == "lan.pham@example.com"))
    assert person.active is True
    assert person.password_hash is None
    assert person.session_token != "mine"


def test_role_change_is_audited_with_before_and_after(client, login_as):
    login_as(Role.ADMIN)
    person = factories.UserFactory(roles={Role.EMPLOYEE})
    data = person_form(
        email=person.email, name=person.name, employee_number="", roles=["employee", "redeemer"]
    )
    assert client.post(f"/people/{person.id}/edit", data=as_shown(person, data)).status_code == 302
    event = db.session.scalar(
        db.select(AuditEvent).where(AuditEvent.action == "auth.roles_changed")
    )
    assert event.details == {"before": ["employee"], "after": ["employee", "redeemer"]}


def test_a_person_cannot_report_to_someone_who_reports_to_them(client, login_as):
    login_as(Role.HR)
    boss = factories.UserFactory()
    report = factories.UserFactory(manager_id=boss.id)
    data = person_form(
        email=boss.email, name=boss.name, employee_number="", manager_id=str(report.id)
    )
    response = client.post(f"/people/{boss.id}/edit", data=as_shown(boss, data))
    assert response.status_code == 400
    assert (
        f"{report.name} already reports to {boss.name}, directly or through others"
        in response.get_data(as_text=True)
    )


@pytest.mark.parametrize(
    ("locale", "message"),
    [
        ("en", "{c} already reports to {a}, directly or through others: choose another manager."),
        ("vi", "{c} đã báo cáo cho {a}, trực tiếp hoặc qua người khác: hãy chọn quản lý khác."),
    ],
)
def test_a_reporting_loop_through_others_is_named_as_one(client, login_as, locale, message):
    """HR makes An report to Chi, who reports to Bình, who reports to An: they are told Chi
    reports to An through others, not that An would report to themselves."""
    login_as(Role.HR, locale=locale)
    a = factories.UserFactory(name="Lê Văn An")
    b = factories.UserFactory(name="Trần Thị Bình", manager_id=a.id)
    c = factories.UserFactory(name="Phạm Minh Chi", manager_id=b.id)
    data = person_form(email=a.email, name=a.name, employee_number="", manager_id=str(c.id))
    response = client.post(f"/people/{a.id}/edit", data=as_shown(a, data))
    assert response.status_code == 400
    html = unescape(response.get_data(as_text=True))
    assert message.format(a=a.name, c=c.name) in html
    assert db.session.get(User, a.id).manager_id is None


def test_directory_searches_filters_and_paginates(client, login_as, app):
    login_as(Role.HR, name="Zed HR")
    sales = factories.DepartmentFactory(name="Kinh doanh")
    for i in range(30):
        factories.UserFactory(name=f"Bán Hàng {i:02d}", department_id=sales.id)
    factories.UserFactory(name="Người Cũ", active=False)
    factories.UserFactory(name="Đối Tác", employment_type=EmploymentType.PARTNER)
    page1 = client.get(f"/people/?department={sales.id}").get_data(as_text=True)
    assert "Bán Hàng 00" in page1
    assert "Bán Hàng 29" not in page1  # 25 per page
    assert "30 people" in page1
    page2 = client.get(f"/people/?department={sales.id}&page=2").get_data(as_text=True)
    assert "Bán Hàng 29" in page2
    assert "Người Cũ" not in client.get("/people/").get_data(as_text=True)
    assert "Người Cũ" in client.get("/people/?status=inactive").get_data(as_text=True)
    partners = client.get("/people/?employment_type=partner").get_data(as_text=True)
    assert "Đối Tác" in partners
    assert "Bán Hàng" not in partners
    assert "Bán Hàng 07" in client.get("/people/?q=h%C3%A0ng+07").get_data(as_text=True)
    # "All departments" is an empty value (it put department=None in the address)
    everyone = client.get("/people/?department=&employment_type=partner").get_data(as_text=True)
    assert 'value="None"' not in everyone
    assert "Đối Tác" in everyone
    assert 'value="None"' not in client.get("/people/new").get_data(as_text=True)


def test_directory_search_ignores_accents_and_case(client, login_as):
    """HR types names as a phone keyboard without Telex does."""
    login_as(Role.HR)
    factories.UserFactory(name="Đặng Thị Ánh", employee_number="nv-0042")
    factories.UserFactory(name="Nguyễn Văn Bình")

    def found(q: str) -> bool:
        return "Đặng Thị Ánh" in client.get("/people/", query_string={"q": q}).text

    assert found("dang thi anh")
    assert found("ĐẶNG")
    assert found("NV-0042")
    assert not found("nguyen")
    assert "Nguyễn Văn Bình" in client.get("/people/?q=nguyen").text


def test_directory_search_finds_a_name_by_its_words_in_any_order(client, login_as):
    """HR types "nguyen an" for Nguyễn Văn An (the middle name left out) or "an nguyen" (as
    the name reads in English): the whole text was looked for in one piece, and found
    nobody."""
    login_as(Role.HR)
    factories.UserFactory(name="Nguyễn Văn An")
    factories.UserFactory(name="Nguyễn Thị Bình")

    def found(q: str) -> set[str]:
        page = client.get("/people/", query_string={"q": q}).text
        return {name for name in ("Nguyễn Văn An", "Nguyễn Thị Bình") if name in page}

    assert found("nguyen an") == {"Nguyễn Văn An"}
    assert found("An Nguyen") == {"Nguyễn Văn An"}
    assert found("nguyen") == {"Nguyễn Văn An", "Nguyễn Thị Bình"}
    assert found("nguyen binh van") == set()


def test_directory_lists_names_in_alphabet_order_whatever_their_accents(client, login_as):
    """ "Đặng" and "Ánh" sit among the D's and the A's, not after "Z" (code point order)."""
    login_as(Role.HR)
    for name in ("Zin Kha", "Đặng Thị Ánh", "Dương Văn Bảo", "Ánh Hồng", "Bùi Minh"):
        factories.UserFactory(name=f"{name} thư mục")

    page = client.get("/people/", query_string={"q": "thư mục"}).text
    shown = sorted(
        ("Zin Kha", "Đặng Thị Ánh", "Dương Văn Bảo", "Ánh Hồng", "Bùi Minh"), key=page.index
    )
    assert shown == ["Ánh Hồng", "Bùi Minh", "Đặng Thị Ánh", "Dương Văn Bảo", "Zin Kha"]


def test_bad_filter_values_get_a_400(client, login_as):
    login_as(Role.HR)
    assert client.get("/people/?employment_type=robot").status_code == 400
    assert client.get("/people/?department=abc").status_code == 400


def test_unknown_person_is_404(client, login_as):
    login_as(Role.HR)
    assert client.get("/people/424242").status_code == 404


def test_deactivate_and_reactivate(client, login_as):
    login_as(Role.HR)
    person = factories.UserFactory()
    token = person.session_token
    assert client.post(f"/people/{person.id}/deactivate").status_code == 302
    db.session.expire_all()
    assert person.active is False
    assert person.session_token != token
    assert client.post(f"/people/{person.id}/reactivate").status_code == 302
    db.session.expire_all()
    assert person.active is True
    assert audit_actions()[-2:] == ["people.deactivated", "people.reactivated"]


def test_someone_whose_leaving_date_has_passed_is_reactivated_once_it_is_cleared(client, login_as):
    """Coming back: reactivated with their old leaving date still on them, they could sign
    in and read 'Active' in the directory, yet claimed nothing, earned nothing on their
    links and the leavers' task, done with that date, never came back to them. HR is told to
    clear or move the date first."""
    from datetime import timedelta

    from perks.i18n import company_today

    login_as(Role.HR)
    person = factories.UserFactory(active=False, leaving_date=company_today() - timedelta(days=30))
    response = client.post(f"/people/{person.id}/reactivate", follow_redirects=True)
    assert "clear it or move it" in response.get_data(as_text=True)
    db.session.expire_all()
    assert person.active is False
    assert "people.reactivated" not in audit_actions()

    person.leaving_date = None
    db.session.commit()
    assert client.post(f"/people/{person.id}/reactivate").status_code == 302
    db.session.expire_all()
    assert person.active is True


def test_hr_cannot_deactivate_themselves(client, login_as):
    hr = login_as(Role.HR)
    response = client.post(f"/people/{hr.id}/deactivate")
    assert response.status_code == 400
    assert db.session.get(User, hr.id).active is True


def test_the_only_admin_cannot_untick_their_own_admin_role(client, login_as):
    """The only administrator unticking "Admin" on their own page was saved: nobody could
    reach the admin pages, grant finance or admin, or make service tokens any more."""
    admin = login_as(Role.ADMIN, Role.EMPLOYEE, locale="vi")
    data = person_form(email=admin.email, name=admin.name, employee_number="", roles=["employee"])
    response = client.post(f"/people/{admin.id}/edit", data=as_shown(admin, data))
    assert response.status_code == 400
    assert "Phải còn ít nhất một quản trị viên đang hoạt động" in response.get_data(as_text=True)
    db.session.expire_all()
    assert Role.ADMIN in db.session.get(User, admin.id).roles
    # With another active administrator, they may step down, keeping HR's pages.
    other = factories.UserFactory(roles={Role.ADMIN})
    to_hr = {**data, "roles": ["employee", "hr"]}
    assert client.post(f"/people/{admin.id}/edit", data=as_shown(admin, to_hr)).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, admin.id).roles == {Role.EMPLOYEE, Role.HR}
    # Leaving themselves no page to edit people on is refused; the other admin can do it.
    refused = client.post(f"/people/{admin.id}/edit", data=as_shown(admin, data))
    assert refused.status_code == 400
    assert "Bạn sẽ mất quyền vào các trang nhân sự" in refused.get_data(as_text=True)
    client.post("/logout")
    login(client, other)
    assert client.post(f"/people/{admin.id}/edit", data=as_shown(admin, data)).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, admin.id).roles == {Role.EMPLOYEE}


def test_hr_cannot_take_their_own_hr_role_by_accident(client, login_as):
    """HR unticking every role on their own page was saved, and the page they were sent to
    answered 403: only an administrator could give the role back."""
    hr = login_as(Role.HR, Role.EMPLOYEE, locale="en")
    data = person_form(email=hr.email, name=hr.name, employee_number="", roles=["employee"])
    response = client.post(f"/people/{hr.id}/edit", data=as_shown(hr, data))
    assert response.status_code == 400
    assert "ask another HR person or an administrator" in response.get_data(as_text=True)
    db.session.expire_all()
    assert Role.HR in db.session.get(User, hr.id).roles


def test_departments_are_unique_case_insensitively(client, login_as):
    login_as(Role.HR)
    assert client.post("/people/departments", data={"name": "Marketing"}).status_code == 302
    response = client.post("/people/departments", data={"name": "  marketing "})
    assert response.status_code == 400
    # Vietnamese capitals too ("Đ", which SQLite's lower() leaves as it is), typed composed
    # or decomposed; accents still tell names apart
    assert client.post("/people/departments", data={"name": "Phòng Đào tạo"}).status_code == 302
    for same in ("phòng đào tạo", unicodedata.normalize("NFD", "PHÒNG ĐÀO TẠO")):
        assert client.post("/people/departments", data={"name": same}).status_code == 400, same
    assert client.post("/people/departments", data={"name": "Phòng Đạo tạo"}).status_code == 302
    assert db.session.scalar(db.select(db.func.count()).select_from(Department)) == 3


def test_invitation_is_refused_for_a_deactivated_person(client, login_as):
    login_as(Role.HR)
    person = factories.UserFactory(active=False, password_hash=None)
    assert client.post(f"/people/{person.id}/invite").status_code == 400


def test_home_page_shows_each_role_its_cards(client, login_as):
    login_as(Role.HR, Role.FINANCE)
    html = client.get("/").get_data(as_text=True)
    assert 'data-testid="home-hr"' in html
    assert 'data-testid="home-finance"' in html
    assert 'data-testid="home-admin"' not in html
    assert 'href="/people/"' in html  # navigation shows HR its pages
    assert 'href="/admin/audit"' not in html


def test_hr_cannot_change_someone_with_finance_rights(client, login_as):
    """Otherwise HR could change their e-mail, reset the password and take the account over."""
    login_as(Role.HR)
    accountant = factories.UserFactory(roles={Role.FINANCE}, email="ketoan@example.com")
    data = person_form(
        email="hr-owned@example.com", name=accountant.name, employee_number="", roles=["finance"]
    )
    response = client.post(f"/people/{accountant.id}/edit", data=as_shown(accountant, data))
    assert response.status_code == 400
    assert db.session.get(User, accountant.id).email == "ketoan@example.com"
    assert client.post(f"/people/{accountant.id}/deactivate").status_code == 403
    assert db.session.get(User, accountant.id).active is True


def test_admin_can_change_someone_with_finance_rights(client, login_as):
    login_as(Role.ADMIN)
    accountant = factories.UserFactory(roles={Role.FINANCE})
    data = person_form(
        email="new@example.com", name=accountant.name, employee_number="", roles=["finance"]
    )
    assert (
        client.post(f"/people/{accountant.id}/edit", data=as_shown(accountant, data)).status_code
        == 302
    )
    db.session.expire_all()
    assert db.session.get(User, accountant.id).email == "new@example.com"


def test_an_edit_keeps_a_deactivated_manager_and_the_audit_says_what_changed(client, login_as):
    login_as(Role.HR, locale="en")
    boss = factories.UserFactory(name="Trần Văn Sếp", active=False)
    person = factories.UserFactory(manager_id=boss.id, location="Hà Nội")
    form = client.get(f"/people/{person.id}/edit").get_data(as_text=True)
    assert f'<option selected value="{boss.id}">Trần Văn Sếp</option>' in form  # kept

    data = person_form(
        email=person.email,
        name=person.name,
        employee_number="",
        manager_id=str(boss.id),
        location="Đà Nẵng",
        hire_date="",
        birth_day="",
        birth_month="",
    )
    assert client.post(f"/people/{person.id}/edit", data=as_shown(person, data)).status_code == 302
    db.session.expire_all()
    changed = db.session.get(User, person.id)
    assert (changed.manager_id, changed.location) == (boss.id, "Đà Nẵng")
    event = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "people.updated"))
    assert "location" in event.details["fields"]
    assert "manager_id" not in event.details["fields"]


def test_an_edit_to_someone_elses_email_is_refused_and_keeps_what_was_typed(client, login_as):
    factories.UserFactory(email="lan.pham@example.com")
    login_as(Role.HR, locale="en")
    person = factories.UserFactory(email="other@example.com", name="Trần Văn Khác")
    data = person_form(email="LAN.Pham@example.com", name="Trần Văn Mới", employee_number="")
    response = client.post(f"/people/{person.id}/edit", data=as_shown(person, data))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "already has this e-mail" in page
    assert 'value="Trần Văn Mới"' in page
    db.session.expire_all()
    assert db.session.get(User, person.id).email == "other@example.com"
