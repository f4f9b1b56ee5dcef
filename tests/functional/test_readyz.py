"""``/healthz`` says the process lives; ``/readyz`` says whether the database, Redis and the
Celery broker answer, naming what is down, within a bound. Neither needs a login or counts
against a rate limit.

Nothing is mocked: "down" is a port where nothing listens, a SQLite file that cannot be
opened, a PostgreSQL database that does not exist, or a server that accepts connections and
never answers.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import make_url, text

from perks.extensions import db
from perks.main import readiness
from tests.helpers import postgres_server_url, spare_port


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers anything (a hung Redis)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in accepted:
            conn.close()
        server.close()


def ready(app) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    response = app.test_client().get("/readyz")
    assert response.headers["Cache-Control"] == "no-store"
    return response.status_code, response.get_json()


# --- liveness -------------------------------------------------------------------------------


def test_healthz_is_liveness_only_even_when_the_database_is_down(app_factory, tmp_path):
    dead = app_factory(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/perks.sqlite3")
    response = dead.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


# --- readiness ------------------------------------------------------------------------------


def test_readyz_answers_200_naming_each_check(app):
    status, body = ready(app)
    assert status == 200
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    assert body["down"] == []


def test_readyz_names_the_database_when_sqlite_cannot_be_opened(app_factory, tmp_path):
    dead = app_factory(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/perks.sqlite3")
    status, body = ready(dead)
    assert status == 503
    assert body == {"status": "unavailable", "checks": {"database": "down"}, "down": ["database"]}


def test_readyz_names_the_database_when_postgresql_does_not_listen(app_factory):
    dead = app_factory(
        SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{spare_port()}/perks"
    )
    status, body = ready(dead)
    assert status == 503
    assert body["down"] == ["database"]


def test_readyz_names_the_database_when_it_does_not_exist(app_factory):
    server = postgres_server_url()
    if server is None:
        pytest.skip("no PostgreSQL server answers here to ask for a missing database")
    missing = make_url(server).set(database="perks_no_such_database_here")
    dead = app_factory(SQLALCHEMY_DATABASE_URI=missing.render_as_string(hide_password=False))
    status, body = ready(dead)
    assert status == 503
    assert body["down"] == ["database"]


def test_readyz_says_the_database_is_behind_until_its_migrations_are_run(app):
    """A rolling deploy: the new code started before ``flask db upgrade`` (the checklist's
    step 2). Its queries would name columns the database lacks, yet ``/readyz`` said "ready"
    and the load balancer sent it people. A database ahead of the code (the old hosts, once
    the upgrade ran) stays ready."""
    with app.app_context():
        head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
        try:
            db.session.execute(text("UPDATE alembic_version SET version_num = '0044'"))
            db.session.commit()
            status, body = ready(app)
            assert status == 503
            assert body["checks"] == {"database": "behind"}
            assert body["down"] == ["database"]

            db.session.execute(text("UPDATE alembic_version SET version_num = '9999'"))
            db.session.commit()
            assert ready(app)[0] == 200
        finally:
            db.session.execute(
                text("UPDATE alembic_version SET version_num = :head"), {"head": head}
            )
            db.session.commit()


def test_readyz_names_redis_when_it_does_not_listen(app, app_factory):
    url = f"redis://127.0.0.1:{spare_port()}/0"
    status, body = ready(app_factory(REDIS_URL=url))
    assert status == 503
    assert body["checks"] == {"database": "ok", "redis": "down"}
    assert body["down"] == ["redis"]


def test_readyz_checks_redis_when_it_is_configured(app, app_factory):
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis server answers on 127.0.0.1:6379")
    status, body = ready(app_factory(REDIS_URL=url))
    assert status == 200
    assert body["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_names_the_broker_when_it_is_another_server_and_down(app, app_factory):
    broker = f"redis://127.0.0.1:{spare_port()}/0"
    status, body = ready(app_factory(CELERY_BROKER_URL=broker, CELERY_ALWAYS_EAGER=False))
    assert status == 503
    assert body["checks"] == {"database": "ok", "broker": "down"}


def test_readyz_skips_the_broker_when_tasks_run_in_process(app, app_factory):
    broker = f"redis://127.0.0.1:{spare_port()}/0"
    status, body = ready(app_factory(CELERY_BROKER_URL=broker, CELERY_ALWAYS_EAGER=True))
    assert status == 200
    assert "broker" not in body["checks"]


def test_a_hung_redis_costs_readyz_a_bounded_time(app, app_factory, silent_server):
    hung = app_factory(REDIS_URL=f"redis://127.0.0.1:{silent_server}/0")

    started = time.monotonic()
    status, body = ready(hung)
    elapsed = time.monotonic() - started

    assert status == 503
    assert body["down"] == ["redis"]
    assert elapsed < readiness.CHECK_SECONDS + 1.0


def test_a_check_that_outlives_the_bound_is_a_timeout(app, app_factory, silent_server):
    hung = app_factory(REDIS_URL=f"redis://127.0.0.1:{silent_server}/0")
    report = readiness.check_all(hung, within=0.1)
    assert report.checks["redis"] == "timeout"
    assert not report.ready
    assert report.down == ["redis"]


# --- neither needs a login nor counts against a limit ---------------------------------------


def test_health_checks_need_no_login_and_are_never_rate_limited(app, app_factory):
    from perks.extensions import limiter

    limited = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2 per minute")
    try:
        with limited.app_context():
            limiter.reset()
        client = limited.test_client()
        for path in ("/healthz", "/readyz"):
            assert [client.get(path).status_code for _ in range(5)] == [200] * 5, path
        # the default limit does apply elsewhere: the checks are exempt, not the app
        assert [client.get("/login").status_code for _ in range(3)] == [200, 200, 429]
    finally:
        with limited.app_context():
            limiter.reset()


def test_readyz_names_the_rate_limits_redis_when_it_is_another_server_and_down(app, app_factory):
    """Rate limits may live in a Redis of their own (``RATELIMIT_STORAGE_URI``, which
    production accepts in place of ``REDIS_URL``): with it down every worker counted limits
    in its own memory, and ``/readyz`` still answered 200 "ready"."""
    url = f"redis://127.0.0.1:{spare_port()}/0"
    status, body = ready(app_factory(RATELIMIT_STORAGE_URI=url, RATELIMIT_ENABLED=True))
    assert status == 503
    assert body["checks"] == {"database": "ok", "rate_limits": "down"}
    assert body["down"] == ["rate_limits"]


def test_the_probes_answer_a_supervisor_or_load_balancer_that_names_no_site_host(app_factory):
    """``TRUSTED_HOSTS`` lists the site's names, but a supervisor polls
    ``http://127.0.0.1:8000/healthz``, a load balancer the backend's address, Prometheus
    ``127.0.0.1:8000/metrics``: each would get 400 and take every backend out. The probes
    answer any Host; every other page still refuses one that is not trusted."""
    guarded = app_factory(TRUSTED_HOSTS=["perks.example"])
    client = guarded.test_client()
    for host in ("127.0.0.1:8000", "10.0.0.5", "localhost"):
        for path in ("/healthz", "/readyz", "/metrics"):
            assert client.get(path, base_url=f"http://{host}").status_code == 200, (host, path)
        assert client.get("/login", base_url=f"http://{host}").status_code == 400
    assert client.get("/healthz", base_url="http://perks.example").status_code == 200
