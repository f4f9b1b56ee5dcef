"""Server-side sessions (SECURITY.md: "Sign-out ends that session on the server: a copy of
its cookie is refused afterwards, on every host")."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from perks.auth import services, tasks
from perks.auth.models import UserSession
from perks.auth.session import TOUCH_EVERY
from perks.db import utcnow
from perks.extensions import db
from perks.people.models import Role, User
from tests import factories
from tests.helpers import login


def cookie(client: FlaskClient, name: str = "session") -> str:
    found = client.get_cookie(name)
    assert found is not None, f"no {name} cookie"
    return found.value


def browser_with(app: Flask, name: str, value: str) -> FlaskClient:
    """A fresh browser presenting a copied cookie and nothing else."""
    other = app.test_client()
    other.set_cookie(name, value)
    return other


def refused(client: FlaskClient) -> bool:
    response = client.get("/")
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def sessions_of(user: User) -> list[UserSession]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)
        )
    )


# --- signing out ----------------------------------------------------------------------------


def test_a_session_cookie_copied_before_sign_out_is_refused_after_it(app, client):
    login(client, factories.UserFactory())
    copied = cookie(client)
    assert browser_with(app, "session", copied).get("/").status_code == 200  # the copy works

    assert client.post("/logout").status_code == 302

    assert refused(browser_with(app, "session", copied))
    assert refused(client)


def test_a_remember_me_cookie_copied_before_sign_out_is_refused_after_it(app, client):
    user = factories.UserFactory()
    response = client.post(
        "/login", data={"email": user.email, "password": factories.PASSWORD, "remember": "y"}
    )
    assert response.status_code == 302
    remembered = cookie(client, "remember_token")
    assert browser_with(app, "remember_token", remembered).get("/").status_code == 200

    client.post("/logout")

    assert refused(browser_with(app, "remember_token", remembered))


def test_sign_out_on_one_host_is_honoured_by_another(app, app_factory, client):
    """Two app instances stand for two hosts: they share the database and nothing else."""
    other_host = app_factory()
    login(client, factories.UserFactory())
    copied = cookie(client)
    assert browser_with(other_host, "session", copied).get("/").status_code == 200

    client.post("/logout")

    assert refused(browser_with(other_host, "session", copied))


def test_sign_out_ends_only_that_session(app, client):
    user = factories.UserFactory()
    login(client, user)
    phone = app.test_client()
    login(phone, user)

    client.post("/logout")

    assert phone.get("/").status_code == 200
    ended, live = sessions_of(user)
    assert ended.revoked_at is not None
    assert live.revoked_at is None


def test_each_sign_in_is_a_session_of_its_own(app, client):
    user = factories.UserFactory()
    login(client, user)
    login(app.test_client(), user)
    first, second = sessions_of(user)
    assert first.key_hash != second.key_hash
    assert first.user_stamp == second.user_stamp == user.session_token
    assert first.revoked_at is None
    assert second.revoked_at is None


# --- every session at once ------------------------------------------------------------------


def test_log_out_everywhere_ends_the_sessions_of_other_browsers(app, client):
    user = factories.UserFactory()
    login(client, user)
    laptop = app.test_client()
    login(laptop, user)
    someone_else = app.test_client()
    login(someone_else, factories.UserFactory())

    assert laptop.post("/logout-everywhere").status_code == 302

    assert refused(client)
    assert refused(laptop)
    assert someone_else.get("/").status_code == 200
    assert all(s.revoked_at is not None for s in sessions_of(user))


def test_log_out_everywhere_rotates_the_persons_stamp_so_a_session_it_missed_is_refused(
    app, client
):
    """SECURITY.md: an alternative id rotated on "log out everywhere". The revoked rows alone
    passed every test with the rotation removed; a session the revoking update did not see (a
    sign-in committing on another host at that moment) is refused by the stamp alone."""
    user = factories.UserFactory()
    login(client, user)
    laptop = app.test_client()
    login(laptop, user)
    stamp = db.session.get(User, user.id).session_token

    assert laptop.post("/logout-everywhere").status_code == 302
    # as if the client's session had been opened after the revoking update ran
    db.session.execute(update(UserSession).values(revoked_at=None))
    db.session.commit()

    assert db.session.get(User, user.id).session_token != stamp
    assert refused(client)


def test_a_password_reset_ends_every_session(app, client):
    user = factories.UserFactory()
    login(client, user)
    with app.test_request_context():
        from perks.auth import tokens

        token = tokens.make_token(db.session.get(User, user.id), tokens.PASSWORD_RESET)
    new = "a brand new long password"
    visitor = app.test_client()
    response = visitor.post(f"/password/reset/{token}", data={"password": new, "confirm": new})
    assert response.status_code == 302

    assert refused(client)


def test_a_password_change_keeps_this_browser_in_a_new_session(app, client):
    user = factories.UserFactory()
    login(client, user)
    old = cookie(client)
    new = "another long password 42"
    response = client.post(
        "/account", data={"current_password": factories.PASSWORD, "password": new, "confirm": new}
    )
    assert response.status_code == 302

    assert client.get("/").status_code == 200
    assert refused(browser_with(app, "session", old))
    *ended, current = sessions_of(user)
    assert all(s.revoked_at is not None for s in ended)
    assert current.revoked_at is None


def test_a_deactivated_persons_session_stops_working(app, client):
    user = factories.UserFactory()
    login(client, user)
    copied = cookie(client)
    hr = app.test_client()
    login(hr, factories.UserFactory(roles={Role.HR}))

    assert hr.post(f"/people/{user.id}/deactivate").status_code == 302

    assert refused(browser_with(app, "session", copied))
    # Re-activated, the person signs in again: the old session stays ended.
    assert hr.post(f"/people/{user.id}/reactivate").status_code == 302
    assert refused(browser_with(app, "session", copied))
    login(app.test_client(), user)


# --- expiry and last use --------------------------------------------------------------------


def test_an_expired_session_is_refused_even_with_a_valid_cookie(app, client):
    user = factories.UserFactory()
    login(client, user)
    db.session.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()

    assert refused(client)


def test_last_use_is_written_at_most_every_few_minutes(app, client):
    user = factories.UserFactory()
    login(client, user)
    (created,) = sessions_of(user)
    first_seen, first_expiry = created.last_seen_at, created.expires_at

    assert client.get("/").status_code == 200
    (fresh,) = sessions_of(user)
    assert (fresh.last_seen_at, fresh.expires_at) == (first_seen, first_expiry)  # not yet

    long_ago = utcnow() - TOUCH_EVERY - timedelta(seconds=5)
    db.session.execute(update(UserSession).values(last_seen_at=long_ago))
    db.session.commit()
    before = utcnow()
    assert client.get("/").status_code == 200

    (touched,) = sessions_of(user)
    assert touched.last_seen_at.replace(tzinfo=None) >= before.replace(tzinfo=None)
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    assert touched.expires_at.replace(tzinfo=None) >= (before + lifetime).replace(tzinfo=None)


def test_ended_sessions_are_purged_after_a_month(app, client):
    user = factories.UserFactory()
    login(client, user)
    login(app.test_client(), user)
    client.post("/logout")
    live = app.test_client()
    login(live, user)

    assert tasks.purge_ended_sessions.run() == 0  # nothing ended long enough ago
    later = utcnow() + services.KEEP_ENDED_SESSIONS + timedelta(days=1)
    # A month on: the signed-out session and the ones nobody used since are gone.
    assert services.purge_ended_sessions(later) == 3
    assert sessions_of(user) == []
