"""The last active administrator's leaving date: the leaver job keeps them active (the
company must always have one, as the people page, the import and the API insist), says so
once to them and to HR, and applies the leaving date once another administrator exists."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from perks.audit import AuditEvent
from perks.commissions import leavers
from perks.extensions import db
from perks.i18n import company_today
from perks.mail import OutboxMessage
from perks.notifications.models import Notification
from perks.people import services as people_services
from perks.people.models import Role, User, UserRole
from tests import factories
from tests.helpers import is_postgres, login
from tests.racing import all_at_once

KEPT = "people.last_administrator_kept"


def active_admins() -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(UserRole)
        .join(User, User.id == UserRole.user_id)
        .where(UserRole.role == Role.ADMIN, User.active.is_(True))
    )


def fresh(user: User) -> User:
    db.session.expire_all()
    person = db.session.get(User, user.id)
    assert person is not None
    return person


def notices(person: User) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification).where(
                Notification.user_id == person.id,
                Notification.kind == "last_administrator_kept",
            )
        )
    )


def kept_events() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == KEPT)))


@pytest.fixture
def no_other_admin() -> None:
    """Whatever the fixtures made: nobody else is an active administrator."""
    for user in db.session.scalars(select(User)):
        if Role.ADMIN in user.roles:
            user.active = False
    db.session.commit()


def test_the_last_administrator_stays_active_past_their_leaving_date(app, no_other_admin):
    admin = factories.UserFactory(
        email="quan-tri@example.com", roles={Role.ADMIN}, leaving_date=company_today()
    )
    hr = factories.UserFactory(email="nhan-su@example.com", roles={Role.HR})
    bystander = factories.UserFactory(email="nhan-vien@example.com")
    db.session.commit()

    run = leavers.settle_leavers()

    assert run.settled == 0
    assert fresh(admin).active is True
    assert active_admins() == 1
    assert len(kept_events()) == 1
    assert kept_events()[0].target_id == str(admin.id)
    assert len(notices(admin)) == 1
    assert len(notices(hr)) == 1
    assert notices(bystander) == []
    recipients = set(db.session.scalars(select(OutboxMessage.recipient)))
    assert {"quan-tri@example.com", "nhan-su@example.com"} <= recipients
    assert "nhan-vien@example.com" not in recipients


def test_keeping_the_last_administrator_is_said_once(app, no_other_admin):
    admin = factories.UserFactory(roles={Role.ADMIN}, leaving_date=company_today())
    db.session.commit()
    admin_id = admin.id
    leavers.settle_leavers()
    db.session.remove()  # a later run, as another host would
    admin = db.session.get(User, admin_id)
    outbox = db.session.scalar(select(func.count()).select_from(OutboxMessage))

    again = leavers.settle_leavers(today=company_today() + timedelta(days=1))

    assert again.settled == 0
    assert fresh(admin).active is True
    assert len(kept_events()) == 1
    assert len(notices(admin)) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == outbox


def test_the_kept_administrator_leaves_once_another_exists(app, no_other_admin):
    admin = factories.UserFactory(roles={Role.ADMIN}, leaving_date=company_today())
    db.session.commit()
    leavers.settle_leavers()
    successor = factories.UserFactory(roles={Role.ADMIN})
    db.session.commit()

    run = leavers.settle_leavers()

    assert run.settled == 1
    assert fresh(admin).active is False
    assert fresh(successor).active is True
    assert active_admins() == 1


def test_two_administrators_leaving_the_same_day_keep_one(app, no_other_admin):
    first = factories.UserFactory(roles={Role.ADMIN}, leaving_date=company_today())
    second = factories.UserFactory(roles={Role.ADMIN}, leaving_date=company_today())
    db.session.commit()

    run = leavers.settle_leavers()

    assert run.settled == 1
    assert active_admins() == 1
    assert [fresh(first).active, fresh(second).active].count(True) == 1
    assert len(kept_events()) == 1


def test_an_administrator_leaving_while_another_stays_is_deactivated(app, no_other_admin):
    leaving = factories.UserFactory(roles={Role.ADMIN}, leaving_date=company_today())
    staying = factories.UserFactory(roles={Role.ADMIN})
    db.session.commit()

    run = leavers.settle_leavers()

    assert run.settled == 1
    assert fresh(leaving).active is False
    assert fresh(staying).active is True
    assert kept_events() == []
    assert notices(leaving) == []


def test_the_kept_administrator_can_still_sign_in_and_read_why(client, no_other_admin):
    admin = factories.UserFactory(roles={Role.ADMIN}, leaving_date=company_today())
    db.session.commit()
    leavers.settle_leavers()

    login(client, fresh(admin))
    page = client.get("/notifications")

    assert page.status_code == 200
    assert "administrator" in page.get_data(as_text=True)


def test_two_administrators_leaving_on_hosts_racing_keep_one(app, no_other_admin):
    """PostgreSQL: runs racing on their own connections each lock the administrators before
    counting them, so they cannot each see the other one still active."""
    if not is_postgres(app):
        pytest.skip("racing runs need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    for n in range(3):
        factories.UserFactory(email=f"admin{n}@example.com", roles={Role.ADMIN})
    for user in db.session.scalars(select(User).where(User.email.like("admin%@example.com"))):
        user.leaving_date = company_today()
    db.session.commit()
    db.session.remove()

    outcome = all_at_once(app, range(4), lambda _host: leavers.settle_leavers())

    assert outcome.errors == []
    assert sum(run.settled for run in outcome.results) == 2
    assert active_admins() == 1
    assert len(kept_events()) == 1


def _save_own_leaving_date(client, admin: User, day) -> str:  # type: ignore[no-untyped-def]
    login(client, admin)
    response = client.post(
        f"/people/{admin.id}/edit",
        data={
            "shown": people_services.shown_fingerprint(admin),
            "name": admin.name,
            "email": admin.email,
            "employment_type": "staff",
            "locale": "en",
            "roles": ["employee", "admin"],
            "leaving_date": day.isoformat(),
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_last_administrator_saving_a_leaving_date_is_warned(client, no_other_admin):
    admin = factories.UserFactory(roles={Role.EMPLOYEE, Role.ADMIN}, locale="en")
    db.session.commit()

    page = _save_own_leaving_date(client, admin, company_today() + timedelta(days=30))

    assert "Changes saved." in page
    assert "is the only active administrator" in page
    assert fresh(admin).leaving_date == company_today() + timedelta(days=30)


def test_an_administrator_with_a_colleague_saving_a_leaving_date_is_not_warned(
    client, no_other_admin
):
    admin = factories.UserFactory(roles={Role.EMPLOYEE, Role.ADMIN}, locale="en")
    factories.UserFactory(roles={Role.ADMIN})
    db.session.commit()

    page = _save_own_leaving_date(client, admin, company_today() + timedelta(days=30))

    assert "Changes saved." in page
    assert "is the only active administrator" not in page


def _two_administrators() -> tuple[int, int]:
    first = factories.UserFactory(email="admin0@example.com", roles={Role.ADMIN, Role.EMPLOYEE})
    second = factories.UserFactory(email="admin1@example.com", roles={Role.ADMIN, Role.EMPLOYEE})
    db.session.commit()
    ids = (first.id, second.id)
    db.session.remove()
    return ids


def test_two_administrators_taking_the_role_from_each_other_at_once_keep_one(app, no_other_admin):
    """PostgreSQL: each save locks the administrators before counting them, so two saves at
    once cannot each count the other one still there and leave the company without one."""
    if not is_postgres(app):
        pytest.skip("racing saves need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    first, second = _two_administrators()

    def take_the_role(pair: tuple[int, int]) -> None:
        actor, person = (db.session.get(User, user_id) for user_id in pair)
        assert actor is not None
        assert person is not None
        data = people_services.person_data_of(person)
        people_services.update_person(
            person, dataclasses.replace(data, roles=frozenset({Role.EMPLOYEE})), actor=actor
        )

    outcome = all_at_once(app, [(first, second), (second, first)], take_the_role)

    assert outcome.errors == []
    assert outcome.answers == {"ok": 1, "ValidationFailed": 1}
    assert active_admins() == 1


def test_two_administrators_deactivating_each_other_at_once_keep_one(app, no_other_admin):
    if not is_postgres(app):
        pytest.skip("racing saves need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    first, second = _two_administrators()

    def deactivate(pair: tuple[int, int]) -> None:
        actor, person = (db.session.get(User, user_id) for user_id in pair)
        assert actor is not None
        assert person is not None
        people_services.deactivate_person(person, actor=actor)

    outcome = all_at_once(app, [(first, second), (second, first)], deactivate)

    assert outcome.errors == []
    assert sum(outcome.answers.values()) == 2
    assert outcome.answers["ok"] == 1
    assert active_admins() == 1
