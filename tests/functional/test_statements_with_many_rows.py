"""Pages whose lists the ten-fold world of ``test_statements_per_page.py`` leaves short run as
many SQL statements with many rows as with few (PERFORMANCE.md, P4): gift programmes (the
world has one), and the pages that list or count every person or every entrant of a draw
(SQLAlchemy loads the roles of people a statement per 500 of them, and P7 counts 10,000
people)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from perks import audit
from perks.catalog import draws
from perks.catalog.models import PerkKind
from perks.extensions import db
from perks.feedback.surveys_models import Survey
from perks.i18n import company_today
from perks.money import Money
from perks.people.models import Role, User
from perks.recognition import gifts
from perks.recognition import services as occasions
from perks.recognition.gifts import ProgrammeData
from perks.recognition.models import Occasion
from tests import factories
from tests.helpers import counting_statements, login


def _statements(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with counting_statements() as statements:
        response = client.get(url)
        response.get_data()
    assert response.status_code == 200, (url, response.status_code)
    return len(statements)


def _add_programmes(count: int, hr: User, birthday: Occasion) -> None:
    for _ in range(count):
        perk = factories.PerkFactory(kind=PerkKind.GIFT, per_person_limit=None)
        gifts.create_programme(
            ProgrammeData(
                name_vi=f"Quà {perk.id}",
                name_en=f"Gift {perk.id}",
                occasion_id=birthday.id,
                perk_id=perk.id,
                days_ahead=0,
                message_vi="Chúc mừng sinh nhật!",
                message_en="Happy birthday!",
                unit_cost=Money(150_000, "VND"),
                budget=None,
            ),
            actor=hr,
        )


def test_the_gift_programmes_page_runs_as_many_statements_with_ten_programmes(
    app: Flask, client
) -> None:
    hr = factories.UserFactory(roles={Role.HR})
    occasions.add_vietnamese_calendar(actor=hr)
    birthday = db.session.scalars(select(Occasion).where(Occasion.key == "birthday")).one()
    today = company_today()
    factories.UserFactory(birth_month=today.month, birth_day=today.day)
    login(client, hr)

    _add_programmes(1, hr, birthday)
    gifts.grant_due_gifts(today)
    client.get("/manage/gifts")  # what a session loads once
    one = _statements(client, "/manage/gifts")
    _add_programmes(9, hr, birthday)
    gifts.grant_due_gifts(today)
    ten = _statements(client, "/manage/gifts")

    assert ten == one
    # and each programme still shows what its gift cost this year
    page = client.get("/manage/gifts").get_data(as_text=True)
    assert page.count("1 granted, ₫150,000 spent") == 10, page


#: the pages that list or count every person (or every one who acted): HR's and the admin's
EVERYONE_PAGES = {
    "people.create": lambda s: "/people/new",
    "people.edit": lambda s: f"/people/{s['person']}/edit",
    "feedback.edit_desk": lambda s: f"/manage/feedback/{s['department']}",
    "surveys.detail": lambda s: f"/manage/surveys/{s['survey']}",
    "recognition.preview": lambda s: "/manage/gifts/preview",
    "recognition.fairness_report": lambda s: "/manage/fairness",
    "recognition.fairness_csv": lambda s: "/manage/fairness.csv",
    "admin.audit_log": lambda s: "/admin/audit",
}


def _add_people(count: int, department_id: int) -> None:
    """``count`` people of the department, each of whom signed in (the audit log offers
    everyone who acted as a filter)."""
    for _ in range(count):
        person = factories.UserFactory(department_id=department_id)
        audit.record("auth.login", actor=person, target=person)
    db.session.commit()


def test_pages_of_everyone_run_as_many_statements_with_600_people(app: Flask) -> None:
    viewer = factories.UserFactory(roles={Role.HR, Role.ADMIN})
    department = factories.DepartmentFactory()
    survey = Survey(title_vi="Khảo sát", title_en="Pulse")
    db.session.add(survey)
    db.session.commit()
    samples = {"person": viewer.id, "department": department.id, "survey": survey.id}
    client = app.test_client()
    login(client, viewer)

    counts: dict[str, list[int]] = {name: [] for name in EVERYONE_PAGES}
    for people in (20, 600):
        _add_people(people - db.session.scalar(select(func.count(User.id))), department.id)
        for name, url in EVERYONE_PAGES.items():
            client.get(url(samples))  # what a session loads once
            counts[name].append(_statements(client, url(samples)))

    growing = [f"{name}: {few} -> {many}" for name, (few, many) in counts.items() if few != many]
    assert growing == [], "statements grow with the people:\n" + "\n".join(growing)


def test_a_draw_s_pages_run_as_many_statements_with_600_entries(app: Flask) -> None:
    hr = factories.UserFactory(roles={Role.HR})
    draw = factories.DrawFactory(show_names=True)
    entrant = factories.UserFactory()
    draws.enter_draw(draw.perk_id, entrant)
    pages = {"public": f"/draws/{draw.id}", "HR": f"/admin/perks/{draw.perk_id}/draw"}
    clients = {"public": app.test_client(), "HR": app.test_client()}
    login(clients["public"], entrant)
    login(clients["HR"], hr)

    counts: dict[str, list[int]] = {name: [] for name in pages}
    for entries in (20, 600):
        for _ in range(entries - len(draws.draw_entries(draw.id))):
            draws.enter_draw(draw.perk_id, factories.UserFactory())
        for name, url in pages.items():
            clients[name].get(url)  # what a session loads once
            counts[name].append(_statements(clients[name], url))

    assert all(few == many for few, many in counts.values()), counts
