"""Two HR people adding a person under one e-mail address or employee number at the same
moment (or one HR person's double tap on Save), or giving two people one address at once
(PostgreSQL): one is saved, the other is told the address is taken, never a 500."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from perks.errors import ValidationFailed
from perks.extensions import db
from perks.i18n import company_today
from perks.people import services
from perks.people.models import Role, User
from tests import factories
from tests.helpers import is_postgres
from tests.processes import wait_for
from tests.racing import all_at_once, waiting_on_a_lock


@pytest.fixture
def hr_people(app):  # type: ignore[no-untyped-def]
    if not is_postgres(app):
        pytest.skip("saves at the same moment need PostgreSQL; SQLite serialises writers")
    people = [factories.UserFactory(roles={Role.HR}).id for _ in range(2)]
    db.session.commit()
    db.session.remove()
    return people


def people_at(email: str) -> int:
    return db.session.scalar(select(func.count()).where(User.email == email)) or 0


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    ("emails", "numbers", "refusal"),
    [
        (["lan@congty.vn", "Lan@CongTy.vn"], [None, None], "Someone already has this e-mail"),
        (["lan@congty.vn", "lan.pham@congty.vn"], ["NV01", "NV01"], "this employee number"),
    ],
    ids=["email", "employee-number"],
)
def test_two_people_added_at_once_under_one_address_make_one(
    app, hr_people, emails, numbers, refusal
):
    outcome = all_at_once(
        app,
        list(zip(hr_people, emails, numbers, strict=True)),
        lambda prepared: services.create_person(
            services.PersonData(
                email=prepared[1], name="Phạm Thị Lan", employee_number=prepared[2]
            ),
            actor=prepared[0],
        ),
        prepare=lambda row: (db.session.get(User, row[0]), row[1], row[2]),
        locale="en",
    )

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=1, Conflict=1)
    assert refusal in outcome.refusals[0]
    assert db.session.scalar(select(func.count()).where(User.name == "Phạm Thị Lan")) == 1


@pytest.mark.postgres_only
def test_two_people_given_one_address_at_once_keep_it_apart(app, hr_people):
    first = factories.UserFactory(email="an@congty.vn").id
    second = factories.UserFactory(email="binh@congty.vn").id
    db.session.commit()
    db.session.remove()

    def act(prepared: tuple[User, int]) -> User:
        actor, person_id = prepared
        person = services.get_person(person_id)  # as the page loads them
        data = services.person_data_of(person)
        return services.update_person(
            person,
            services.PersonData(**{**data.__dict__, "email": "chung@congty.vn"}),
            actor=actor,
        )

    outcome = all_at_once(
        app,
        list(zip(hr_people, (first, second), strict=True)),
        act,
        prepare=lambda pair: (db.session.get(User, pair[0]), pair[1]),
        locale="en",
    )

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=1, Conflict=1)
    assert people_at("chung@congty.vn") == 1


@pytest.mark.postgres_only
def test_a_reactivation_while_another_hr_person_sets_a_leaving_date_that_has_come_is_refused(
    app, hr_people
):  # type: ignore[no-untyped-def]
    """The leaving date was checked before the reactivation's transaction, without a lock:
    saved meanwhile by another HR person, the person ended active with a leaving date that
    had come (claiming nothing, earning nothing, never deactivated again)."""
    person_id = factories.UserFactory(active=False).id
    db.session.commit()
    db.session.remove()
    yesterday = company_today() - timedelta(days=1)
    outcome: list[object] = []

    def reactivate() -> None:
        with app.app_context():
            try:
                services.reactivate_person(
                    db.session.get(User, person_id), actor=db.session.get(User, hr_people[0])
                )
            except ValidationFailed as error:
                outcome.append(error)
            else:
                outcome.append("reactivated")

    with db.engine.connect() as other_hr:  # the other HR person's save, not yet committed
        other_hr.execute(
            text('UPDATE "user" SET leaving_date = :day WHERE id = :id'),
            {"day": yesterday, "id": person_id},
        )
        thread = threading.Thread(target=reactivate)
        thread.start()
        # on as soon as the reactivation waits for the row (the old code did not: it wrote)
        wait_for(
            lambda: waiting_on_a_lock(app) or not thread.is_alive(),
            what="the reactivation to wait for the other save",
        )
        other_hr.commit()
        thread.join()

    person = db.session.get(User, person_id)
    assert isinstance(outcome[0], ValidationFailed), outcome
    assert (person.active, person.leaving_date) == (False, yesterday)
