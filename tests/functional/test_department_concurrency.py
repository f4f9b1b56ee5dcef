"""Two HR people adding the same department at the same moment, or an HR person and a people
import (PostgreSQL): the company gets one department of that name, in any case, and the other
is told it exists (or to send the file again), never a 500."""

from __future__ import annotations

from collections import Counter

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from perks.errors import Conflict
from perks.extensions import db
from perks.people import imports, services
from perks.people.models import Department, Role, User
from tests import factories
from tests.helpers import is_postgres
from tests.racing import all_at_once

#: a file adding one person in a new department, "phòng đào tạo"
FILE = "employee_number,email,name,department,roles\nNV0001,an@congty.vn,An,phòng đào tạo,\n"


@pytest.fixture
def hr_people(app):  # type: ignore[no-untyped-def]
    if not is_postgres(app):
        pytest.skip("additions at the same moment need PostgreSQL; SQLite serialises writers")
    people = [factories.UserFactory(roles={Role.HR}).id for _ in range(3)]
    db.session.commit()
    db.session.remove()
    return people


def departments() -> list[str]:
    return list(db.session.scalars(select(Department.name).order_by(Department.id)))


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    "names",
    [
        ["Phòng Đào tạo"] * 3,
        ["Phòng Đào tạo", "phòng đào tạo", "PHÒNG ĐÀO TẠO"],
    ],
    ids=["same", "in-other-cases"],
)
def test_departments_added_at_once_under_one_name_make_one(app, hr_people, names):
    outcome = all_at_once(
        app,
        list(zip(hr_people, names, strict=True)),
        lambda prepared: services.create_department(prepared[1], actor=prepared[0]),
        prepare=lambda pair: (db.session.get(User, pair[0]), pair[1]),
        locale="en",
    )

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=1, Conflict=2)
    assert set(outcome.refusals) == {"A department with this name already exists."}
    assert len(departments()) == 1


@pytest.mark.postgres_only
def test_a_department_added_while_an_import_adds_it_in_another_case_makes_one(app, hr_people):

    def act(n: int) -> object:
        if n == 0:
            return services.create_department(
                "Phòng Đào tạo", actor=db.session.get(User, hr_people[0])
            )
        return imports.apply_import(FILE, actor=None, filename="people.csv")

    outcome = all_at_once(app, range(2), act, locale="en")

    assert outcome.errors == []
    assert outcome.answers["ok"] >= 1
    assert set(outcome.answers) <= {"ok", "Conflict"}
    assert len(departments()) == 1
    if outcome.answers["Conflict"]:
        with force_locale("en"):  # sent again, the file finds the department
            imports.apply_import(FILE, actor=None, filename="people.csv")
        assert len(departments()) == 1


def test_an_import_refuses_a_department_added_in_another_case_since_it_read_them(app, monkeypatch):  # type: ignore[no-untyped-def]
    """The file read the departments, then HR added one of its new ones under the name in
    other capitals: the file is refused, to be sent again (on both databases)."""
    hr_id = factories.UserFactory(roles={Role.HR}).id
    db.session.commit()
    write_plan = imports.write_plan

    def hr_adds_it_meanwhile(*args, **kwargs):  # type: ignore[no-untyped-def]
        with app.app_context():
            services.create_department("Phòng Đào tạo", actor=db.session.get(User, hr_id))
            db.session.remove()
        return write_plan(*args, **kwargs)

    monkeypatch.setattr(imports, "write_plan", hr_adds_it_meanwhile)
    with force_locale("en"), pytest.raises(Conflict, match="Check it again"):
        imports.apply_import(FILE, actor=None, filename="people.csv")
    monkeypatch.undo()

    assert departments() == ["Phòng Đào tạo"]
    imports.apply_import(FILE, actor=None, filename="people.csv")  # sent again, it finds it
    assert departments() == ["Phòng Đào tạo"]
