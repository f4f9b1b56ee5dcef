"""What ``/readyz`` checks: the database, Redis and the Celery broker, each within a bound.

Every check runs in its own daemon thread and the answer waits at most ``CHECK_SECONDS`` for
all of them together: a dependency that hangs (a host that drops packets) is reported as
``timeout`` instead of holding the request. A check that raises is ``down``; the reason is
logged, never shown (the body names only the check and its state).

The checks:

``database``
    Alembic's revision, read on a connection from the app's engine (on PostgreSQL its
    connections give up after ``DATABASE_CONNECT_TIMEOUT_SECONDS``): ``behind`` while it is
    older than the code's migrations (a host started before ``flask db upgrade``: its queries
    would name columns the database lacks). A revision the code does not know is newer (the
    old hosts of a rolling deploy, once the upgrade ran): ready.
``redis``
    ``PING`` to ``REDIS_URL``, when it is set (rate limits, and the broker when it is the same
    server), with ``REDIS_TIMEOUT_SECONDS``.
``rate_limits``
    ``PING`` to ``RATELIMIT_STORAGE_URI``, when rate limits are on and kept in a Redis other
    than ``REDIS_URL``.
``broker``
    A connection to ``CELERY_BROKER_URL``, when it is not ``REDIS_URL`` and tasks are not run
    in-process (``CELERY_ALWAYS_EAGER``): ``PING`` for a Redis, kombu's connect otherwise.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

#: the longest ``/readyz`` waits for its checks, all together
CHECK_SECONDS = 2.0
#: the most a Redis check waits to connect, then for the answer
REDIS_TIMEOUT_SECONDS = 0.5
OK, DOWN, TIMEOUT, BEHIND = "ok", "down", "timeout", "behind"
REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://", "unix://")


@dataclass(frozen=True)
class Report:
    """Each check's state (``ok``, ``down`` or ``timeout``), in the order they were run."""

    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return all(state == OK for state in self.checks.values())

    @property
    def down(self) -> list[str]:
        return [name for name, state in self.checks.items() if state != OK]


def to_json(report: Report) -> str:
    """``{"status": "ready"|"unavailable", "checks": {...}, "down": [...]}``."""
    return json.dumps(
        {
            "status": "ready" if report.ready else "unavailable",
            "checks": report.checks,
            "down": report.down,
        }
    )


@cache
def _redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(
        url,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        health_check_interval=0,
    )


class SchemaBehind(Exception):
    """The database's migrations are older than the code's."""


@cache
def _known_revisions(directory: str) -> tuple[str, frozenset[str]] | None:
    """The code's migration head and every revision before it, from ``directory`` (None,
    logged once, when the host has no migrations to read: nothing to compare with)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    if not os.path.isdir(directory):
        log.warning(
            "readiness: no migrations at %s; the schema's revision is not checked", directory
        )
        return None

    config = Config()
    config.set_main_option("script_location", directory)
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head() or ""
    return head, frozenset(revision.revision for revision in script.walk_revisions())


def check_database(engine: Engine, migrations: str) -> None:
    """Raises:
    SchemaBehind: the database's revision is one the code's migrations go beyond.
    """
    with engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    code = _known_revisions(migrations)
    if code is None:
        return
    head, known = code
    if revision != head and (revision is None or revision in known):
        raise SchemaBehind(f"the database is at {revision}, the code needs {head}")


def check_redis(url: str) -> None:
    if not _redis_client(url).ping():
        raise ConnectionError("no PONG")


def check_broker(url: str, transport_options: dict[str, Any]) -> None:
    if url.startswith(REDIS_SCHEMES):
        check_redis(url)
        return
    from kombu import Connection

    with Connection(
        url, connect_timeout=REDIS_TIMEOUT_SECONDS, transport_options=transport_options
    ) as connection:
        connection.connect()


def checks_for(app: Flask) -> dict[str, Callable[[], None]]:
    """The checks that apply to ``app``'s settings, by name."""
    from perks.extensions import db

    config = app.config
    with app.app_context():
        engine = db.engine
    # Flask-Migrate's directory is relative to where ``flask db`` runs: the project's root
    migrations = os.path.join(os.path.dirname(app.root_path), app.extensions["migrate"].directory)
    checks: dict[str, Callable[[], None]] = {"database": lambda: check_database(engine, migrations)}
    redis_url = str(config.get("REDIS_URL") or "")
    if redis_url:
        checks["redis"] = lambda: check_redis(redis_url)
    limits = str(config.get("RATELIMIT_STORAGE_URI") or "")
    limits_apart = limits.startswith(REDIS_SCHEMES) and limits != redis_url
    if config.get("RATELIMIT_ENABLED", True) and limits_apart:
        checks["rate_limits"] = lambda: check_redis(limits)
    broker = str(config.get("CELERY_BROKER_URL") or "")
    if broker and broker != redis_url and not config.get("CELERY_ALWAYS_EAGER"):
        celery = app.extensions.get("celery")
        options = dict(celery.conf.broker_transport_options or {}) if celery else {}
        checks["broker"] = lambda: check_broker(broker, options)
    return checks


def check_all(app: Flask, *, within: float = CHECK_SECONDS) -> Report:
    """Run every check of ``app`` at once; whatever has not answered ``within`` seconds is
    ``timeout``."""
    checks = checks_for(app)
    states: dict[str, str] = {}

    def run(name: str, check: Callable[[], None]) -> None:
        try:
            check()
        except SchemaBehind as error:
            log.warning("readiness: %s is behind (%s): run flask db upgrade", name, error)
            states[name] = BEHIND
        except Exception as error:  # any failure is "down"; the reason goes to the log
            log.warning("readiness: %s is down (%s: %s)", name, type(error).__name__, error)
            states[name] = DOWN
        else:
            states[name] = OK

    threads = [
        threading.Thread(target=run, args=item, name=f"readyz-{item[0]}", daemon=True)
        for item in checks.items()
    ]
    deadline = time.monotonic() + within
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    report = Report({name: states.get(name, TIMEOUT) for name in checks})
    for name in report.down:
        if report.checks[name] == TIMEOUT:
            log.warning("readiness: %s did not answer within %.1f s", name, within)
    return report
