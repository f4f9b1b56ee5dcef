"""The import writes the same directory whichever way its rows go in: ``COPY`` (PostgreSQL's
fast path) or the generic executemany (SQLite, and any other database). On SQLite both runs
take the generic path; on PostgreSQL (``TEST_DATABASE_URL``) the first one copies."""

from __future__ import annotations

import string
from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from perks import db as perks_db
from perks.extensions import db
from perks.people import imports
from perks.people.models import (
    Department,
    User,
    UserRole,
    new_session_token,
    new_session_tokens,
)
from perks.referrals.models import ReferralLink
from tests.factories import DepartmentFactory, UserFactory

FILE = (
    "employee_number,email,name,department,location,employment_type,hire_date,birthday,"
    "manager_email,language,roles,active\n"
    # a manager from the file, after the people who report to them
    "NV2,an@congty.vn,Nguyễn Văn An,Kinh doanh,Hà Nội,staff,15/03/2022,1990-08-23,"
    "hai@congty.vn,vi,employee,yes\n"
    "NV1,hai@congty.vn,Nguyễn Đức Hải,kinh doanh,,contractor,2019-04-01,12/05,"
    "sep@congty.vn,en,employee;manager,\n"
    # COPY's special characters in a cell: a tab, a backslash, a line break
    'NV3,nhung@congty.vn,Lê Thị Hồng Nhung,Nhân sự,"Tầng 3\tphòng \\\\ 2\r\nToà nhà A",'
    "partner,,29/02,,,employee;hr,no\n"
    # someone stored: changed, with a new manager from the file
    "NV4,lan@congty.vn,Phạm Ngọc Lan,Vận hành,Đà Nẵng,,,,an@congty.vn,,,\n"
    # someone stored, the cells left empty cleared
    ",sep@congty.vn,Trần Văn Sếp,,,,,,,,,\n"
    # someone stored comes back, with another role; someone leaves
    "NV5,cu@congty.vn,Đỗ Văn Cũ,,,,,,,,employee;manager,yes\n"
    "NV6,nghi@congty.vn,Vũ Thị Nghỉ,,,,,,,,,no\n"
)


@pytest.fixture(autouse=True)
def _in_english(_app_context):  # type: ignore[no-untyped-def]
    with force_locale("en"):
        yield


def directory() -> dict[str, dict[str, Any]]:
    """Everyone as stored, by e-mail, without what differs from run to run (ids, stamps,
    times, link codes): managers by e-mail, departments by name."""
    emails = dict(db.session.execute(select(User.id, User.email)).all())
    departments = dict(db.session.execute(select(Department.id, Department.name)).all())
    roles: dict[int, set[str]] = {}
    for user_id, role in db.session.execute(select(UserRole.user_id, UserRole.role)):
        roles.setdefault(user_id, set()).add(role.value)
    links = dict(
        db.session.execute(
            select(ReferralLink.user_id, ReferralLink.code).where(ReferralLink.is_default)
        ).all()
    )
    people: dict[str, dict[str, Any]] = {}
    for user in db.session.scalars(select(User)):
        people[user.email] = {
            "employee_number": user.employee_number,
            "name": user.name,
            "department": departments.get(user.department_id) if user.department_id else None,
            "location": user.location,
            "employment_type": user.employment_type,
            "hire_date": user.hire_date,
            "birthday": (user.birth_month, user.birth_day),
            "manager": emails.get(user.manager_id) if user.manager_id else None,
            "locale": user.locale,
            "active": user.active,
            "roles": roles.get(user.id, set()),
            "default_link": len(links[user.id]) if user.id in links else None,
            "stamped": len(user.session_token) >= 43,
        }
    return people


def imported(monkeypatch: pytest.MonkeyPatch, *, copies: bool) -> tuple[Any, ...]:
    """Import the file, read what it did, and undo it."""
    if not copies:
        monkeypatch.setattr(perks_db, "copies_rows", lambda: False)
    result = imports._import(FILE, actor=None, filename="people.csv", progress=lambda done: None)
    db.session.flush()
    state = directory()
    db.session.rollback()
    monkeypatch.undo()
    return result, state


def test_copy_and_executemany_write_the_same_directory(app, monkeypatch):
    DepartmentFactory(name="Vận hành")
    UserFactory(email="sep@congty.vn", name="Trần Văn Sếp")
    UserFactory(email="lan@congty.vn", name="Lan", employee_number="NV4", location="Huế")
    UserFactory(email="cu@congty.vn", name="Đỗ Văn Cũ", employee_number="NV5", active=False)
    leaving = UserFactory(email="nghi@congty.vn", name="Vũ Thị Nghỉ", employee_number="NV6")
    stamp = leaving.session_token
    db.session.commit()
    before = directory()

    fast = imported(monkeypatch, copies=perks_db.copies_rows())
    assert directory() == before  # undone
    generic = imported(monkeypatch, copies=False)

    assert fast == generic
    result, people = fast
    assert (result.created, result.updated, result.unchanged) == (3, 4, 0)
    assert people["nhung@congty.vn"]["location"] == "Tầng 3\tphòng \\\\ 2\r\nToà nhà A"
    assert people["nhung@congty.vn"]["active"] is False
    assert people["nhung@congty.vn"]["default_link"] is None  # not active: no link
    assert people["an@congty.vn"]["manager"] == "hai@congty.vn"
    assert people["hai@congty.vn"]["manager"] == "sep@congty.vn"
    assert people["hai@congty.vn"]["department"] == people["an@congty.vn"]["department"]
    assert people["lan@congty.vn"]["manager"] == "an@congty.vn"
    assert people["an@congty.vn"]["default_link"] == 7
    assert all(person["stamped"] for person in people.values())
    assert people["cu@congty.vn"]["active"] is True
    assert people["cu@congty.vn"]["roles"] == {"employee", "manager"}
    assert people["cu@congty.vn"]["default_link"] == 7  # back: a link
    assert people["nghi@congty.vn"]["active"] is False
    assert result.deactivated == 1
    assert generic[0].deactivated == 1
    assert db.session.get(User, leaving.id).session_token == stamp  # both runs undone


def test_stamps_drawn_at_once_look_like_single_ones():
    single = new_session_token()
    stamps = new_session_tokens(1000)
    assert len(stamps) == 1000
    assert len(set(stamps)) == 1000
    alphabet = set(string.ascii_letters + string.digits + "-_")
    assert {len(stamp) for stamp in stamps} == {len(single)} == {43}  # 256 bits each
    assert set("".join(stamps)) <= alphabet
    assert new_session_tokens(0) == []
