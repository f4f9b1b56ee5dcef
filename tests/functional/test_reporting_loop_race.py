"""Two HR people at once: one makes A report to B while the other makes B report to A. Each
check alone sees no loop; together they made one, which then refused every later save of
either person ("A person cannot report to themselves") and every import naming them.

PostgreSQL only (SQLite serialises writers). A third connection holds the audit table, which
both saves write to after their checks, until both are waiting: so both checks have run
before either save commits, whatever the threads' timing.
"""

from __future__ import annotations

import dataclasses
import threading

import pytest
from flask import Flask
from sqlalchemy import select, text

from perks.extensions import db
from perks.people import imports, services
from perks.people.models import Role, User
from tests.factories import UserFactory
from tests.racing import all_at_once

pytestmark = pytest.mark.postgres_only


def hold_the_audit_until_two_wait(app: Flask, ready: threading.Event) -> threading.Thread:
    def hold() -> None:
        with app.app_context(), db.engine.connect() as connection:
            connection.execute(text("LOCK TABLE audit_event IN SHARE MODE"))
            ready.set()
            waiting = 0
            for _ in range(600):  # a bound, not a timing: released as soon as both wait
                waiting = connection.scalar(
                    # pg_locks, read afresh by every statement (pg_stat_activity is
                    # read once per transaction)
                    text("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")
                )
                if waiting >= 2:
                    break
                connection.execute(text("SELECT pg_sleep(0.1)"))
            connection.rollback()

    thread = threading.Thread(target=hold)
    thread.start()
    return thread


def test_two_saves_at_once_never_make_a_reporting_loop(app):
    hr = UserFactory(roles={Role.HR})
    a, b = UserFactory(name="Người A"), UserFactory(name="Người B")
    a_id, b_id, hr_id = a.id, b.id, hr.id
    moves = [(a_id, b_id), (b_id, a_id)]
    db.session.commit()
    db.session.remove()

    ready = threading.Event()
    holder = hold_the_audit_until_two_wait(app, ready)
    ready.wait()

    def save(move: tuple[int, int]) -> None:
        person_id, manager_id = move
        person = db.session.get(User, person_id)
        actor = db.session.get(User, hr_id)
        data = dataclasses.replace(services.person_data_of(person), manager_id=manager_id)
        services.update_person(person, data, actor=actor)

    outcome = all_at_once(app, moves, save)
    holder.join()

    assert outcome.errors == [], outcome
    managers = dict(db.session.execute(select(User.id, User.manager_id)).all())
    assert not (managers[a_id] == b_id and managers[b_id] == a_id)
    assert outcome.answers == {"ok": 1, "ValidationFailed": 1}


def test_a_save_and_an_import_at_once_never_make_a_reporting_loop(app):
    hr = UserFactory(roles={Role.HR})
    a = UserFactory(name="Người A", email="a@congty.vn")
    b = UserFactory(name="Người B", email="b@congty.vn")
    a_id, b_id, hr_id = a.id, b.id, hr.id
    db.session.commit()
    db.session.remove()

    ready = threading.Event()
    holder = hold_the_audit_until_two_wait(app, ready)
    ready.wait()

    def change(kind: str) -> None:
        actor = db.session.get(User, hr_id)
        if kind == "save":  # A reports to B
            person = db.session.get(User, a_id)
            data = dataclasses.replace(services.person_data_of(person), manager_id=b_id)
            services.update_person(person, data, actor=actor)
        else:  # the HR system's batch: B reports to A
            imports.import_rows(
                ["email", "name", "manager_email"],
                [["b@congty.vn", "Người B", "a@congty.vn"]],
                actor=actor,
                filename="API: hr",
            )
            db.session.commit()

    outcome = all_at_once(app, ["save", "import"], change)
    holder.join()

    assert outcome.errors == [], outcome
    managers = dict(db.session.execute(select(User.id, User.manager_id)).all())
    assert not (managers[a_id] == b_id and managers[b_id] == a_id)
    assert outcome.answers == {"ok": 1, "ValidationFailed": 1}
