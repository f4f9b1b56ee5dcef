"""People imports at the same moment (the API's batches, sent two at a time as the README
advises): they wait for each other or are refused with a 409 to send again, never a 500."""

from __future__ import annotations

import psycopg
import pytest
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from perks.errors import Conflict
from perks.extensions import db
from perks.people import imports
from perks.people.models import Department, User
from tests.racing import all_at_once

HEADER = "employee_number,email,name,department,roles"


def a_file(number: int, departments: list[str]) -> str:
    """A file of one new person per department, numbered from ``number``."""
    rows = [
        f"NV{number + i:04d},nguoi{number + i}@congty.vn,Người {number + i},{name},employee"
        for i, name in enumerate(departments)
    ]
    return "\n".join([HEADER, *rows]) + "\n"


def test_new_departments_are_added_in_the_order_of_their_names(app):
    imports.apply_import(a_file(1, ["Phòng Cê", "Phòng A", "phòng bê"]), actor=None, filename="x")

    added = db.session.scalars(select(Department.name).order_by(Department.id)).all()
    assert added == ["Phòng A", "phòng bê", "Phòng Cê"]


def test_an_import_stopped_by_a_deadlock_is_refused_to_be_sent_again(app, monkeypatch):
    def stopped(*args, **kwargs):
        raise OperationalError("COPY", None, psycopg.errors.DeadlockDetected("deadlock"))

    monkeypatch.setattr(imports, "write_plan", stopped)
    with force_locale("en"), pytest.raises(Conflict, match="at the same moment"):
        imports.apply_import(a_file(1, ["Phòng A"]), actor=None, filename="x")
    assert db.session.scalar(select(User.id)) is None

    def lost(*args, **kwargs):
        raise OperationalError("COPY", None, psycopg.errors.AdminShutdown("terminating"))

    monkeypatch.setattr(imports, "write_plan", lost)
    with pytest.raises(OperationalError):  # anything else is not the import's to explain
        imports.apply_import(a_file(1, ["Phòng A"]), actor=None, filename="x")


def test_imports_at_once_adding_the_same_departments_wait_or_are_refused(crowded_app):
    departments = [f"Phòng {letter}" for letter in "ABCDEF"]
    # each file names the same new departments, in its own order
    files = [a_file(100 * n, departments[n:] + departments[:n]) for n in range(6)]

    outcome = all_at_once(
        crowded_app,
        files,
        lambda text: imports.apply_import(text, actor=None, filename="at-once.csv"),
    )

    assert outcome.errors == []  # no deadlock, nothing but a domain answer
    assert outcome.answers["ok"] >= 1
    assert set(outcome.answers) <= {"ok", "Conflict"}
    with crowded_app.app_context():
        for text in files:  # a refused one goes in when sent again
            imports.apply_import(text, actor=None, filename="again.csv")
        assert db.session.scalar(select(db.func.count(User.id))) == 36
        assert db.session.scalar(select(db.func.count(Department.id))) == 6
