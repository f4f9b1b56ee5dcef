"""Two people in HR changing one gift programme: a save from a page opened before the other's
change (a budget, a department's budget alone) is refused in the person's language, with
nothing of it written, and the form shows the programme as it is now with what they had
entered; a save from the programme as it is works. On PostgreSQL, two saves from the same
page racing: one is saved, the other refused."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from perks.catalog.models import Perk, PerkKind
from perks.extensions import db
from perks.people.models import Department, Role, User
from perks.recognition import services
from perks.recognition.models import GiftProgramme, Occasion
from tests import factories
from tests.helpers import is_postgres, signed_in
from tests.stale_saves import GuardedForm, audit_events


def hr_person(**fields: object) -> User:
    return factories.UserFactory(roles={Role.HR}, **fields)


def programme_form(sales: Department, **changes: object) -> dict[str, object]:
    """The programme as HR first saved it (``started``), with ``changes``."""
    services.add_vietnamese_calendar(actor=None)
    birthday = db.session.scalars(select(Occasion).where(Occasion.key == "birthday")).one()
    perk = db.session.scalars(select(Perk)).first()
    if perk is None:
        perk = factories.PerkFactory(kind=PerkKind.GIFT, per_person_limit=None)
    return {
        "name_vi": "Quà sinh nhật",
        "name_en": "Birthday gift",
        "occasion_id": str(birthday.id),
        "perk_id": str(perk.id),
        "days_ahead": "0",
        "message_vi": "Chúc mừng sinh nhật!",
        "message_en": "Happy birthday!",
        "unit_cost": "200.000",
        "budget": "10.000.000",
        "min_tenure_days": "0",
        "gender": "",
        f"department_budget_{sales.id}": "400.000",
        **changes,
    }


def started(client: FlaskClient, sales: Department) -> GiftProgramme:
    response = client.post("/manage/gifts/new", data=programme_form(sales))
    assert response.status_code == 303
    return db.session.scalars(select(GiftProgramme)).one()


def edit_page(programme_id: int) -> GuardedForm:
    return GuardedForm(
        f"/manage/gifts/{programme_id}/edit",
        field="row_version",
        audited=("recognition.programme_changed",),
        saved_status=303,
    )


def programme_changes() -> int:
    return audit_events("recognition.programme_changed")


def reload(programme_id: int) -> GiftProgramme:
    db.session.expire_all()
    programme = db.session.get(GiftProgramme, programme_id)
    assert programme is not None
    return programme


def budgets(programme: GiftProgramme) -> list[int]:
    return [b.amount for b in programme.department_budgets]


def test_a_save_from_a_page_opened_before_anothers_change_is_refused_and_writes_nothing(app):
    sales = factories.DepartmentFactory(name="Sales")
    first = signed_in(app, hr_person(name="Phạm Thu Hà"))
    second = signed_in(app, hr_person(locale="vi"))
    programme = started(first, sales)
    edit = edit_page(programme.id)
    opened = edit.opened(first, second)
    assert opened == "1"

    edit.saves(first, programme_form(sales, row_version=opened, budget="5.000.000"))
    department_budget = {f"department_budget_{sales.id}": "600.000"}
    refused = edit.refuses(second, programme_form(sales, row_version=opened, **department_budget))

    assert "Phạm Thu Hà đã thay đổi chương trình quà tặng này sau khi bạn mở trang" in (
        refused.text
    )
    saved = reload(programme.id)
    assert (saved.budget_amount, budgets(saved), saved.row_version) == (5_000_000, [400_000], 2)
    # the form shows the programme as it is now, and what was entered that differs from it
    assert re.search(r'name="budget"[^>]*value="5.000.000', refused.html)
    assert re.search(r"<dd[^>]*>10.000.000</dd>", refused.entered)  # the budget the page showed
    assert re.search(r"<dt[^>]*>Sales</dt><dd[^>]*>600.000</dd>", refused.entered)
    assert refused.version == "2"

    # Saved again from the form as it is now, it is saved.
    edit.saves(
        second,
        programme_form(
            sales,
            row_version=edit.version_shown(second),
            budget="5.000.000",
            **department_budget,
        ),
    )
    saved = reload(programme.id)
    assert (saved.budget_amount, budgets(saved)) == (5_000_000, [600_000])
    assert programme_changes() == 2


def test_a_change_of_a_departments_budget_alone_refuses_a_save_from_an_older_page(app):
    """Department budgets are rows of their own: changing one leaves the programme's row as
    it was."""
    sales = factories.DepartmentFactory(name="Sales")
    first, second = signed_in(app, hr_person()), signed_in(app, hr_person())
    programme = started(first, sales)
    edit = edit_page(programme.id)
    opened = edit.opened(first, second)

    budget = {f"department_budget_{sales.id}": "800.000"}
    edit.saves(first, programme_form(sales, row_version=opened, **budget))
    edit.refuses(second, programme_form(sales, row_version=opened, days_ahead="3"))

    saved = reload(programme.id)
    assert (saved.days_ahead, budgets(saved)) == (0, [800_000])


def test_a_save_without_the_row_version_its_page_showed_is_refused(app):
    sales = factories.DepartmentFactory(name="Sales")
    client = signed_in(app, hr_person())
    programme = started(client, sales)

    response = edit_page(programme.id).refuses_without_version(
        client, programme_form(sales, budget="1.000.000")
    )

    assert "This page is out of date: open the gift programme again." in response.text
    assert reload(programme.id).budget_amount == 10_000_000


def test_two_saves_of_a_programme_at_once_save_one_and_refuse_the_other(app):
    """PostgreSQL: without the lock both would read row version 1 and the last would win."""
    if not is_postgres(app):
        pytest.skip("racing saves need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    sales = factories.DepartmentFactory(name="Sales")
    emails = [hr_person().email, hr_person().email]
    programme = started(signed_in(app, hr_person()), sales)
    forms = [programme_form(sales, budget=f"{n + 2}.000.000") for n in range(2)]
    programme_id = programme.id
    edit = edit_page(programme.id)

    saved_form = edit.raced(
        app, emails, lambda n, client: forms[n] | {"row_version": edit.version_shown(client)}
    )

    with app.app_context():
        saved = db.session.get(GiftProgramme, programme_id)
        assert (saved.budget_amount, saved.row_version) == (
            int(str(saved_form["budget"]).replace(".", "")),
            2,
        )
        assert programme_changes() == 1
