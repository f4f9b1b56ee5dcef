"""Shared fixtures: a fresh database per test run, cleaned between tests; clients; logins.

The database is SQLite by default, or a new PostgreSQL database created from
``TEST_DATABASE_URL`` (a URL of a server's maintenance database) and dropped afterwards.
The schema comes from the migrations, so every run also proves they apply.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, get_domain
from flask_babel import gettext as _
from sqlalchemy import event, make_url, text
from werkzeug.serving import make_server

from perks import create_app
from perks.config import database_uri
from perks.extensions import db, limiter
from perks.people.models import Role, User
from tests import factories
from tests.helpers import (
    TEST_SETTINGS,
    DatabaseSnapshot,
    IsolatedClient,
    clean_database,
    ensure_catalogs_compiled,
    is_postgres,
    login,
    redis_database_url,
    restore_database,
    snapshot_database,
)
from tests.stripe_sandbox import SANDBOX_TEST_SETTINGS, LiveSandbox

#: fixtures shared by several test modules: a real SMTP server that can stop or refuse
pytest_plugins = ["tests.smtp"]

#: connections left for everything else on the server (other test runs, psql, the main app)
#: when ``crowded_app`` sizes its pool
SPARE_CONNECTIONS = 30


#: the fixtures through which a test meets a database: the PostgreSQL run keeps only the tests
#: that ask for one of them, directly or through another fixture (``--database-tests-only``)
DATABASE_FIXTURES = frozenset({"database_url", "sandbox_database_url"})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database-tests-only",
        action="store_true",
        help="run only the tests that use a database (the others would run the same on any)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``--database-tests-only`` (``make test-postgres``), leave out the tests that touch
    no database: money arithmetic, parsers, the sandbox's settings. They ran in the SQLite
    stage already and would run the same again (783 of 5,308 tests on 2026-12-06; the stage took
    321 s without them, 337 s with)."""
    if not config.getoption("database_tests_only"):
        return
    kept, left_out = [], []
    for item in items:
        uses_a_database = DATABASE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        (kept if uses_a_database else left_out).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``postgres_only`` is skipped on SQLite, saying why, whatever its
    fixtures do (one whose threads wait for each other on PostgreSQL's locks would wait for
    ever on SQLite's single writer)."""
    if item.get_closest_marker("postgres_only") and _postgres_admin_url() is None:
        pytest.skip(
            "needs PostgreSQL (row locks, concurrent writers); set TEST_DATABASE_URL to run it"
        )


def _postgres_admin_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    return database_uri(url) if url else None


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    admin_url = _postgres_admin_url()
    if admin_url is None:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'perks-test.sqlite3'}"
        return
    import psycopg

    name = f"perks_test_{uuid.uuid4().hex[:10]}"
    plain = make_url(admin_url).set(drivername="postgresql")
    conninfo = plain.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sandbox_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Stripe sandbox's own database for this run (each xdist worker's), never the
    product's: a SQLite file, or a second new PostgreSQL database when the run is on
    PostgreSQL."""
    admin_url = _postgres_admin_url()
    if admin_url is None:
        yield f"sqlite:///{tmp_path_factory.mktemp('sandbox') / 'stripe-sandbox.sqlite3'}"
        return
    import psycopg

    name = f"perks_sandbox_{uuid.uuid4().hex[:10]}"
    conninfo = make_url(admin_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        from stripe_sandbox.webhooks import stop_workers

        stop_workers()  # its webhook thread would go on polling a database that is gone
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _commit_without_waiting_for_the_disk(app: Flask) -> None:
    """Test data need not survive a power cut: commits return before the disk has the data
    (SQLite ``synchronous = OFF``, PostgreSQL ``synchronous_commit = off``). Visibility,
    locking and isolation are unchanged; the suite's thousands of commits stop waiting on
    fsync."""
    with app.app_context():
        engine = db.engine
    statement = (
        "SET synchronous_commit = off"
        if engine.dialect.name == "postgresql"
        else "PRAGMA synchronous = OFF"
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()
        dbapi_connection.commit()  # PostgreSQL: a SET rolled back with its transaction is undone


@pytest.fixture(scope="session")
def stripe_sandbox_server(sandbox_database_url: str) -> Iterator[LiveSandbox]:
    """The Stripe sandbox's own app (``stripe_sandbox.create_app``) on its own database,
    served over real HTTP on a free port by a thread of this worker, as ``make run`` serves
    it in a process of its own. It sends no webhook until a test says where
    (``live_sandbox``: the live server's ``/stripe/webhook``)."""
    from stripe_sandbox import create_app as create_sandbox
    from stripe_sandbox.webhooks import stop_workers

    sandbox_app = create_sandbox(
        {**SANDBOX_TEST_SETTINGS, "STRIPE_SANDBOX_DATABASE_URL": sandbox_database_url}
    )
    server = make_server("127.0.0.1", 0, sandbox_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="stripe-sandbox", daemon=True)
    thread.start()
    try:
        yield LiveSandbox(f"http://127.0.0.1:{server.server_port}", sandbox_app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        stop_workers()


@pytest.fixture(scope="session")
def app_factory(database_url: str, stripe_sandbox_server: LiveSandbox):  # type: ignore[no-untyped-def]
    """Make an app on the test database with some settings changed. Its Stripe is this
    worker's sandbox (``stripe_sandbox_server``), as in development."""

    def make(**overrides: Any) -> Flask:
        app = create_app(
            {
                **TEST_SETTINGS,
                "SQLALCHEMY_DATABASE_URI": database_url,
                "STRIPE_API_BASE": stripe_sandbox_server.url,
                **overrides,
            }
        )
        app.test_client_class = IsolatedClient
        _commit_without_waiting_for_the_disk(app)
        return app

    return make


@pytest.fixture(scope="session")
def _schema(app_factory) -> None:  # type: ignore[no-untyped-def]
    from flask_migrate import upgrade

    app = app_factory()
    with app.app_context():
        upgrade()


@pytest.fixture(scope="session")
def app(app_factory, _schema) -> Flask:  # type: ignore[no-untyped-def]
    return app_factory()


@pytest.fixture(scope="session")
def demo_snapshot(app: Flask) -> DatabaseSnapshot:
    """The demo company as ``flask perks demo`` seeds it, seeded once per worker."""
    from perks.demo import seed_demo

    with app.app_context():
        clean_database()
        seed_demo()
        snapshot = snapshot_database()
        db.session.remove()
        clean_database()
    return snapshot


@pytest.fixture
def demo_company(demo_snapshot: DatabaseSnapshot, app: Flask) -> None:
    """The demo company in this test's database: seeded once per worker (seconds, with its
    six months of payments through the Stripe sandbox) and written back for each test that
    asks (a fraction of a second). Its sandbox objects are not written back: the test's
    sandbox is empty."""
    restore_database(demo_snapshot)


@pytest.fixture(autouse=True)
def _app_context(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test runs in an app context on an empty database."""
    if "app" not in request.fixturenames and "client" not in request.fixturenames:
        yield
        return
    app: Flask = request.getfixturevalue("app")
    with app.app_context():
        yield
        db.session.remove()
        clean_database()
        if app.config["RATELIMIT_ENABLED"]:
            limiter.reset()


@pytest.fixture(autouse=True)
def _limiter_as_it_was() -> Iterator[None]:
    """The limiter is one object for every app, switched on or off by the last app made: a
    test that makes a rate-limited app (``app_factory(RATELIMIT_ENABLED=True)``) would leave
    it on for the tests after it on the same worker, whose sign-ins then met "Too many
    attempts". Each test ends with it as it found it."""
    from perks.extensions import limiter

    enabled = limiter.enabled
    yield
    limiter.enabled = enabled


@pytest.fixture
def crowded_app(app: Flask, app_factory) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """An app on the test database whose pool lets dozens of threads write at once (the
    racing tests, ``tests.racing``); skips the test on SQLite.

    Asking for ``app`` makes the autouse fixture empty the database after the test.
    """
    if not is_postgres(app):
        pytest.skip(
            "writes at the same moment need PostgreSQL (row locks, SKIP LOCKED, concurrent "
            "writers); set TEST_DATABASE_URL to run them"
        )
    limit = int(db.session.scalar(text("SHOW max_connections")))
    in_use = db.session.scalar(text("SELECT count(*) FROM pg_stat_activity"))
    db.session.rollback()
    pool_size = max(10, min(60, limit - in_use - SPARE_CONNECTIONS))
    crowded = app_factory(
        SQLALCHEMY_ENGINE_OPTIONS={
            "pool_size": pool_size,
            "max_overflow": 0,  # threads beyond the pool queue for a connection
            "pool_timeout": 60,
            "pool_pre_ping": True,
        }
    )
    yield crowded
    with crowded.app_context():
        db.engine.dispose()


@pytest.fixture
def vietnamese(app):  # type: ignore[no-untyped-def]
    """Translate like the app does in Vietnamese (the compiled catalog, fresh)."""
    if ensure_catalogs_compiled():
        get_domain().cache.clear()

    def translate(message: str, **variables: object) -> str:
        with force_locale("vi"):
            translated = _(message, **variables)
        assert translated != message % variables, f"not translated: {message!r}"
        return translated

    return translate


@pytest.fixture(scope="session")
def live_server_app(app_factory, _schema) -> Flask:  # type: ignore[no-untyped-def]
    """The app behind ``live_server``: CSRF protection on, as in production."""
    return app_factory(PERKS_ENV="testing", WTF_CSRF_ENABLED=True)


@pytest.fixture(scope="session")
def live_server(live_server_app: Flask) -> Iterator[str]:
    """The base URL of ``live_server_app`` served over real HTTP on a free port (threaded)."""
    server = make_server("127.0.0.1", 0, live_server_app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    live_server_app.config["BASE_URL"] = url  # its links (Stripe's return URLs) lead back here
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def live_sandbox(  # type: ignore[no-untyped-def]
    app: Flask, live_server: str, stripe_sandbox_server: LiveSandbox
):
    """This worker's Stripe sandbox, empty, sending its webhooks to ``live_server``.

    ``stripe_gateway`` calls made in the test (``app``) and by the live server go through
    the real ``stripe`` library to the sandbox's server; its webhooks go to the live server's
    ``/stripe/webhook`` (a test may forward them elsewhere). See ``tests/stripe_sandbox/``
    for what the helper offers.
    """
    stripe_sandbox_server.app_url = live_server
    # emptied at the end, before the database is: no webhook lands in a later test
    with stripe_sandbox_server.webhooks_to(live_server + "/stripe/webhook") as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(stripe_sandbox_server: LiveSandbox) -> Iterator[LiveSandbox]:
    """This worker's Stripe sandbox alone, empty, sending its webhooks nowhere (a test may
    forward them)."""
    with stripe_sandbox_server.webhooks_to("") as sandbox:
        yield sandbox


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def login_as(client: FlaskClient):  # type: ignore[no-untyped-def]
    """``login_as(Role.HR)`` makes a person with that role, signs them in, returns them."""

    def sign_in(*roles: Role, **fields: Any) -> User:
        user = factories.UserFactory(roles=set(roles) or {Role.EMPLOYEE}, **fields)
        login(client, user)
        return user

    return sign_in


@pytest.fixture
def redis_database() -> Iterator[str]:
    """This test worker's database of the machine's Redis (``redis_database_url``), empty
    before and after the test; skipped, saying why, when no Redis answers."""
    import redis

    url = redis_database_url()
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis answers on 127.0.0.1:6379 (the machine's service)")
    client.flushdb()
    yield url
    client.flushdb()
