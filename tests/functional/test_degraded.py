"""Failures degrade, they don't break.

Redis down: sign-in and the referral redirect keep working (rate limits fall back to each
process's memory, with a warning in the log; clicks are still counted in the database),
``/readyz`` answers 503 naming Redis; when Redis is back, limits are kept there again.

The database down: every page answers a clear 503 in the user's language (JSON for JSON
clients), with ``Retry-After``, never a traceback.

Redis is a redis-server of the test's own on a spare port (``tests.processes.RedisServer``),
killed and started again on the same port; the machine's shared Redis is never touched. A
database that is down is a PostgreSQL port where nothing listens, a PostgreSQL database that
does not exist, or a SQLite file that cannot be opened.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, make_url, select

from perks.extensions import FallbackStorage, db, limiter
from perks.referrals.clicks import click_recorder
from perks.referrals.models import Click
from tests import factories
from tests.helpers import login, postgres_server_url, spare_port
from tests.processes import RedisServer, wait_for

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)
#: how often the test app asks a Redis that is down again (the default is 5 s)
RETRY_SECONDS = 0.3


def clicks_counted() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Click)) or 0


def redis_keys(server: RedisServer) -> list[str]:
    client = redis.Redis.from_url(server.url, socket_connect_timeout=1, decode_responses=True)
    return sorted(client.keys("*"))


def kill(server: RedisServer) -> None:
    """Kill the test's Redis at once (SIGKILL: no goodbye to its clients)."""
    assert server.process is not None
    server.process.popen.kill()
    server.process.popen.wait(10)
    server.stop()


# --- Redis down -----------------------------------------------------------------------------


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of this test's own, on a spare port."""
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def limited_app(app: Flask, app_factory: Any, redis_server: RedisServer) -> Iterator[Flask]:
    """An app with rate limits on, kept in the test's own Redis (also its REDIS_URL)."""
    limited = app_factory(
        REDIS_URL=redis_server.url,
        RATELIMIT_STORAGE_URI=redis_server.url,
        RATELIMIT_ENABLED=True,
        RATELIMIT_KEY_PREFIX=f"perks-test-{uuid.uuid4().hex[:8]}",
        RATELIMIT_STORAGE_RETRY_SECONDS=RETRY_SECONDS,
        LOGIN_RATE_LIMIT="100 per minute",
        LOGIN_ACCOUNT_RATE_LIMIT="3 per minute",
        REDIRECT_RATE_LIMIT="100 per minute",
    )
    yield limited
    if redis_server.process is None:  # a test left it stopped: clear the memory's counters
        redis_server.start()
    with limited.app_context():
        limiter.reset()


def sign_in(client: FlaskClient, email: str, password: str = factories.PASSWORD) -> int:
    return client.post("/login", data={"email": email, "password": password}).status_code


def follow(client: FlaskClient, code: str) -> Any:
    return client.get(f"/r/{code}", headers={"User-Agent": CHROME})


def test_with_redis_down_sign_in_and_redirects_still_work_and_recover(
    limited_app, redis_server, caplog, monkeypatch
):
    person = factories.UserFactory()
    link = factories.ReferralLinkFactory()
    db.session.commit()
    client = limited_app.test_client()
    storage = limiter.storage
    assert isinstance(storage, FallbackStorage)

    # Redis up: everything works, and the counters live in Redis.
    assert sign_in(client, person.email) == 302
    assert follow(client, link.code).status_code == 302
    assert clicks_counted() == 1
    assert any("perks.referrals.redirect" in key for key in redis_keys(redis_server))
    assert limited_app.test_client().get("/readyz").status_code == 200

    kill(redis_server)
    caplog.set_level(logging.WARNING)
    # Alembic's fileConfig (the test schema's migrations, in this process) disabled the
    # loggers that existed then; a server never runs migrations in its workers.
    monkeypatch.setattr(logging.getLogger("perks.extensions"), "disabled", False)

    # Redis down: sign-in and the redirect answer as before, quickly; clicks are counted.
    started = time.monotonic()
    assert sign_in(limited_app.test_client(), person.email) == 302
    assert follow(limited_app.test_client(), link.code).status_code == 302
    assert time.monotonic() - started < 2.0  # a refused connection costs milliseconds
    assert clicks_counted() == 2
    assert storage.using_memory
    assert "rate limit storage unreachable" in caplog.text
    # ... and the readiness check says what is down.
    answer = limited_app.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["down"] == ["redis"]

    # Limits still hold meanwhile, counted in this process's memory (3 per minute an account).
    strangers = limited_app.test_client()
    statuses = [sign_in(strangers, "nobody@example.com", "wrong") for _ in range(4)]
    assert statuses == [401, 401, 401, 429]

    # Redis back on the same port (empty: it keeps nothing on disk).
    redis_server.start()
    assert redis_keys(redis_server) == []
    wait_for(
        lambda: limited_app.test_client().get("/readyz").status_code == 200,
        timeout=10,
        what="/readyz to answer 200",
    )

    followed_since = []

    def counted_in_redis_again() -> bool:
        followed_since.append(follow(limited_app.test_client(), link.code).status_code)
        return any("perks.referrals.redirect" in key for key in redis_keys(redis_server))

    wait_for(counted_in_redis_again, timeout=10, what="the redirect's limit to be in Redis")
    assert not storage.using_memory
    assert sign_in(limited_app.test_client(), person.email) == 302
    assert any("login" in key for key in redis_keys(redis_server))
    assert "rate limit storage answers again" in caplog.text
    # every click counted: the two before, and each redirect followed since Redis came back
    # (one or more: however long the limiter took to find Redis again)
    assert followed_since == [302] * len(followed_since)
    assert clicks_counted() == 2 + len(followed_since)


def test_sign_in_works_when_redis_was_down_from_the_start(app, app_factory):
    """A worker that starts while Redis is down serves at once (nothing connects at start)."""
    url = f"redis://127.0.0.1:{spare_port()}/0"
    person = factories.UserFactory()
    link = factories.ReferralLinkFactory()
    db.session.commit()
    down = app_factory(REDIS_URL=url, RATELIMIT_STORAGE_URI=url, RATELIMIT_ENABLED=True)
    try:
        assert sign_in(down.test_client(), person.email) == 302
        assert follow(down.test_client(), link.code).status_code == 302
        assert clicks_counted() == 1
    finally:
        with down.app_context():
            limiter.reset()


def test_batched_clicks_are_written_with_redis_down(app, app_factory):
    """Clicks never touch Redis: the batched writer (production's) counts them too."""
    url = f"redis://127.0.0.1:{spare_port()}/0"
    link = factories.ReferralLinkFactory()
    db.session.commit()
    down = app_factory(
        REDIS_URL=url, RATELIMIT_STORAGE_URI=url, RATELIMIT_ENABLED=True, CLICK_WRITE_MODE="batched"
    )
    try:
        for _ in range(3):
            assert follow(down.test_client(), link.code).status_code == 302
        with down.app_context():
            click_recorder().close()
        assert clicks_counted() == 3
    finally:
        with down.app_context():
            limiter.reset()


# --- the database down ----------------------------------------------------------------------


def dead_database_urls(tmp_path: Any) -> dict[str, str]:
    urls = {
        "sqlite file that cannot be opened": f"sqlite:///{tmp_path}/no/such/dir/perks.sqlite3",
        "postgresql port where nothing listens": (
            f"postgresql+psycopg://postgres@127.0.0.1:{spare_port()}/perks"
        ),
    }
    server = postgres_server_url()
    if server is not None:
        missing = make_url(server).set(database="perks_no_such_database_here")
        urls["postgresql database that does not exist"] = missing.render_as_string(False)
    return urls


DEAD = [
    "sqlite file that cannot be opened",
    "postgresql port where nothing listens",
    "postgresql database that does not exist",
]


@pytest.fixture(params=DEAD)
def dead_app(request: pytest.FixtureRequest, app_factory: Any, tmp_path: Any) -> Flask:
    urls = dead_database_urls(tmp_path)
    if request.param not in urls:
        pytest.skip("no PostgreSQL server answers here to ask for a missing database")
    return app_factory(SQLALCHEMY_DATABASE_URI=urls[request.param])  # type: ignore[no-any-return]


def assert_unavailable_page(response: Any, *texts: str) -> None:
    page = response.get_data(as_text=True)
    assert response.status_code == 503, page[:500]
    assert response.headers["Retry-After"] == "30"
    assert response.headers["Content-Type"].startswith("text/html")
    for text in texts:
        assert text in page
    for leak in ("Traceback", "OperationalError", "sqlalchemy", "psycopg", "sqlite3"):
        assert leak not in page


PAGES = [
    ("POST", "/login", {"email": "someone@example.com", "password": "whatever"}),
    ("GET", "/shop/", None),
    ("GET", "/r/abcdefgh", None),
    ("GET", "/shop/orders/some-token", None),
]


@pytest.mark.parametrize(("method", "path", "data"), PAGES)
def test_a_dead_database_is_a_clear_503_page(dead_app, method, path, data):
    response = dead_app.test_client().open(path, method=method, data=data)
    assert_unavailable_page(
        response,
        "The service is unavailable",
        "Our database is not answering right now. Please try again in a minute.",
    )


def test_the_503_page_is_in_the_visitors_language(dead_app):
    response = dead_app.test_client().get("/shop/", headers={"Accept-Language": "vi"})
    assert_unavailable_page(response, 'lang="vi"', "Dịch vụ tạm thời không khả dụng")


def test_a_signed_in_person_gets_the_503_page_too(app, app_factory, dead_app):
    """Loading the signed-in person needs the database: the page must not need them (it is
    in the browser's language, the person's own preference being out of reach)."""
    person = factories.UserFactory()
    client = app.test_client()
    login(client, person)
    session_cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert session_cookie is not None
    dead = dead_app.test_client()
    dead.set_cookie(session_cookie.key, session_cookie.value, domain=session_cookie.domain)

    response = dead.get("/", headers={"Accept-Language": "vi"})

    assert_unavailable_page(response, "Dịch vụ tạm thời không khả dụng")


def test_a_json_client_gets_json(dead_app):
    response = dead_app.test_client().get("/shop/", headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert response.get_json()["error"] == "The service is unavailable"


def test_pages_that_need_no_database_still_answer(dead_app):
    client = dead_app.test_client()
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503
