"""A database that can be shared (perks.database): the pool and timeouts come from the
settings, a web request's statements time out (per transaction: ``SET LOCAL``) while a job's
do not, and the app works behind PgBouncer in transaction pooling (no server-side prepared
statements, no session state): real pages, a perk claimed and an order redeemed through a
real PgBouncer on a spare port."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from sqlalchemy import make_url, select, text
from sqlalchemy.exc import OperationalError

from perks.catalog.models import Claim, CodeMode
from perks.database import SQLITE_BUSY_SECONDS, engine_options
from perks.extensions import db
from perks.people.models import Role
from perks.shop.models import Order, OrderStatus
from tests import factories
from tests.helpers import is_postgres, login, spare_port

PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None
)


def _settings(**changes: object) -> dict[str, object]:
    return {
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "DATABASE_POOL_SIZE": 5,
        "DATABASE_MAX_OVERFLOW": 10,
        "DATABASE_POOL_TIMEOUT_SECONDS": 10.0,
        "DATABASE_POOL_RECYCLE_SECONDS": 1800,
        "DATABASE_CONNECT_TIMEOUT_SECONDS": 5,
        "DATABASE_PREPARED_STATEMENTS": False,
        **changes,
    }


def test_the_engine_options_come_from_the_settings():
    options = engine_options(
        _settings(DATABASE_POOL_SIZE=3, DATABASE_MAX_OVERFLOW=4, DATABASE_CONNECT_TIMEOUT_SECONDS=1)
    )
    assert options == {
        "pool_pre_ping": True,
        "pool_size": 3,
        "max_overflow": 4,
        "pool_timeout": 10.0,
        "pool_recycle": 1800,
        "connect_args": {"connect_timeout": 2, "prepare_threshold": None},
    }
    prepared = engine_options(_settings(DATABASE_PREPARED_STATEMENTS=True))
    assert "prepare_threshold" not in prepared["connect_args"]
    # What a deployment (or a test) passes itself wins.
    own = engine_options(_settings(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 25}))
    assert own["pool_size"] == 25


def test_on_sqlite_a_writer_waits_for_another_before_the_database_is_locked(app: Flask):
    """``make run``'s three processes share one SQLite file: a write waits
    ``SQLITE_BUSY_SECONDS`` (the driver's 5 s is short on a loaded machine)."""
    if is_postgres(app):
        pytest.skip("SQLite only: PostgreSQL writers wait on row locks, not a file lock")
    with db.engine.connect() as connection:
        waits_ms = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    assert waits_ms == SQLITE_BUSY_SECONDS * 1000


@pytest.fixture
def postgres_only(app: Flask) -> None:
    if not is_postgres(app):
        pytest.skip("PostgreSQL only: SQLite has no pool, statement timeout or PgBouncer")


def test_the_pool_is_sized_by_the_settings(postgres_only, app_factory):
    sized = app_factory(
        DATABASE_POOL_SIZE=3,
        DATABASE_MAX_OVERFLOW=4,
        DATABASE_POOL_TIMEOUT_SECONDS=7,
        DATABASE_POOL_RECYCLE_SECONDS=600,
    )
    with sized.app_context():
        engine = db.engine
        pool = engine.pool
        assert (pool.size(), pool._max_overflow, pool._timeout, pool._recycle) == (3, 4, 7, 600)  # type: ignore[attr-defined]
        raw = engine.raw_connection()
        try:
            assert raw.driver_connection.prepare_threshold is None  # type: ignore[union-attr]
        finally:
            raw.close()
        engine.dispose()


def test_a_web_requests_statements_time_out_and_a_jobs_do_not(postgres_only, app_factory):
    timed = app_factory(
        DATABASE_STATEMENT_TIMEOUT_MS=200, DATABASE_POOL_SIZE=1, DATABASE_MAX_OVERFLOW=0
    )
    with timed.test_request_context("/"):
        assert db.session.scalar(text("SHOW statement_timeout")) == "200ms"
        with pytest.raises(OperationalError, match="statement timeout"):
            db.session.execute(text("SELECT pg_sleep(2)"))
        db.session.rollback()
        db.session.remove()
    with timed.app_context():  # a job or a command: the same (only) pooled connection
        assert db.session.scalar(text("SHOW statement_timeout")) == "0"  # LOCAL ended with it
        db.session.execute(text("SELECT pg_sleep(0.3)"))
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()


# --- behind PgBouncer ------------------------------------------------------------------------


@pytest.fixture
def pgbouncer(postgres_only, database_url: str) -> Iterator[str]:
    """A PgBouncer in transaction pooling on a spare port, in front of the test database,
    with two server connections for every client; the app's database URL through it."""
    if PGBOUNCER is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pgbouncer is missing (make pgbouncer installs Debian's)")
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer; make pgbouncer)")
    url = make_url(database_url)
    port = spare_port()
    # Run as root, pgbouncer drops to nobody: its files in a folder nobody can reach (pytest's
    # temporary folders are the owner's alone).
    scratch = tempfile.TemporaryDirectory(prefix="perks-pgbouncer-")
    folder = Path(scratch.name)
    folder.chmod(0o777)
    users = folder / "users.txt"
    users.write_text(f'"{url.username}" "{url.password or ""}"\n')
    config = folder / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={url.host or '127.0.0.1'} port={url.port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {users}\n"
        "pool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 200\n"
        f"logfile = {folder / 'pgbouncer.log'}\n"
    )
    for path in (users, config):
        path.chmod(0o644)
    command = [PGBOUNCER, str(config)]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "nobody"]  # it refuses to run as root
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    bounced = url.set(port=port, host="127.0.0.1")
    plain = bounced.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                psycopg.connect(plain, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline or process.poll() is not None:
                    process.kill()
                    output = process.communicate()[0].decode(errors="replace")
                    log = folder / "pgbouncer.log"
                    logged = log.read_text()[-2000:] if log.exists() else ""
                    pytest.fail(f"pgbouncer did not start: {output}{logged}")
                time.sleep(0.1)
        yield bounced.render_as_string(hide_password=False)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        scratch.cleanup()


def test_pages_a_claim_and_a_redemption_work_behind_pgbouncer(pgbouncer, app_factory):
    bounced = app_factory(SQLALCHEMY_DATABASE_URI=pgbouncer, DATABASE_STATEMENT_TIMEOUT_MS=5000)
    with bounced.app_context():
        engine = db.engine
        assert engine.url.port == make_url(pgbouncer).port
        employee = factories.UserFactory(roles={Role.EMPLOYEE})
        redeemer = factories.UserFactory(roles={Role.REDEEMER})
        perk = factories.PerkFactory(title_en="Cinema", code_mode=CodeMode.POOL, codes=["CGV-1"])
        order = factories.OrderFactory(customer_name="Nguyễn Thị Lan", locale="vi")
        order.paid_at = datetime.now(UTC)
        order.paid_amount = order.total_amount
        order.payment_intent_id = f"pi_test_{order.id:06d}"
        order.refresh_status()
        db.session.commit()

        person = bounced.test_client()
        login(person, employee)
        for path in ["/", "/perks", f"/perks/{perk.id}", "/links", "/stats/links"]:
            assert person.get(path).status_code == 200, path
        claimed = person.post(f"/perks/{perk.id}/claim")
        assert claimed.status_code == 302
        assert person.get(claimed.headers["Location"]).status_code == 200

        counter = bounced.test_client()
        login(counter, redeemer)
        assert counter.get(f"/redeem-order?code={order.redemption_code}").status_code == 200
        done = counter.post("/redeem-order/redeem", data={"code": order.redemption_code})
        assert done.status_code == 303

        db.session.expire_all()
        assert db.session.scalars(select(Claim.user_id)).one() == employee.id
        assert db.session.get(Order, order.id).status is OrderStatus.REDEEMED  # type: ignore[union-attr]
        db.session.remove()

        # Two connections taking turns on two server connections, the same statement many
        # times (psycopg prepares a statement from its fifth run unless told not to): a
        # prepared statement would be missing, or already there, on the other server.
        first, second = engine.connect(), engine.connect()
        try:
            for _ in range(12):
                for connection in (first, second):
                    value = connection.execute(text("SELECT count(*) FROM click")).scalar()
                    assert value == 0
                    connection.commit()
        finally:
            first.close()
            second.close()
        engine.dispose()
