"""P9: 100,000 people upserted through the API in batches of 1,000, against the CSV import of
the same rows, on PostgreSQL, in the same run.

    python -m bench.api_people            # ROWS=20000 python -m bench.api_people: smaller

Creates scratch databases on the server at ``BENCH_DATABASE_URL`` (default: the local
PostgreSQL as user ``postgres``), migrates them, and writes the rows of
``bench.people_import.people_csv`` (every column, 40 departments, a hundred managers):

1. the CSV import: ``perks.people.imports.apply_import`` of the whole file in one
   transaction, in this process (what the import job runs, without the queue);
2. the API as it is deployed: gunicorn with the shipped ``gunicorn.conf.py`` and its two
   workers, production settings (rate limits in Redis: ``BENCH_REDIS_URL``, default database
   12 of the local Redis, emptied before each run; placeholder Stripe keys, never used),
   ``POST /api/v1/people`` over loopback HTTP in batches of 1,000 with a service token
   holding ``people:write`` and an ``Idempotency-Key`` each. The request bodies are encoded
   before the clock starts, as the HR system would encode them on its own machine. Twice,
   each in a fresh database:

   - one batch at a time (printed, not judged);
   - as the README tells an HR system to send them: the first batch alone (it adds the
     departments and the managers the others name), then ``AT_ONCE`` at a time, one per
     worker. This is the figure judged.

Every outcome is checked (the same people in all the databases). Target (PERFORMANCE.md): the
API ≤ 1.5× the CSV import. Ends with ``api_people: ... PASS`` (or ``FAIL``, exiting 1); the
databases and gunicorn's log folder are removed whatever happened.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
import requests

from bench.claims_contention import scratch_database
from bench.export import migrated_app
from bench.people_import import people_csv
from bench.redirect import WORKERS, gunicorn

NAME = "api_people"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ROWS = int(os.environ.get("ROWS", "100000"))
BATCH = 1000
RATIO_TARGET = 1.5
#: batches sent at once: one per gunicorn worker
AT_ONCE = WORKERS
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
SECRET_KEY = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - a scratch app


def records_of(text: str) -> list[dict[str, Any]]:
    """The CSV's rows as the API's JSON records (roles a list, active a boolean)."""
    records = []
    for row in csv.DictReader(io.StringIO(text)):
        record: dict[str, Any] = {key: (value or None) for key, value in row.items()}
        record["roles"] = row["roles"].split(";")
        record["active"] = row["active"] == "yes"
        records.append(record)
    return records


def batch_bodies(records: list[dict[str, Any]]) -> list[bytes]:
    """The records as the JSON bodies of the API's requests, ``BATCH`` records each."""
    return [
        json.dumps({"people": records[start : start + BATCH]}).encode("utf-8")
        for start in range(0, len(records), BATCH)
    ]


def admin_of(app: Any) -> Any:
    from perks.db import transaction
    from perks.people.models import Role, User, new_session_token

    with app.app_context(), transaction() as session:
        admin = User(
            email="quan.tri@congty.example",
            name="Quản trị",
            locale="vi",
            active=True,
            session_token=new_session_token(),
        )
        admin.set_roles({Role.ADMIN})
        session.add(admin)
        session.flush()
        return admin.id


def time_csv(url: str, text: str) -> tuple[float, int]:
    from perks.extensions import db
    from perks.people import imports
    from perks.people.models import User

    app = migrated_app(url)
    admin_id = admin_of(app)
    with app.app_context():
        admin = db.session.get(User, admin_id)
        started = time.perf_counter()
        result = imports.apply_import(text, actor=admin, filename="bench.csv")
        elapsed = time.perf_counter() - started
        db.session.remove()
    return elapsed, result.created


def service_token(url: str) -> str:
    """A migrated database with an administrator and their ``people:write`` token's secret."""
    from perks.api import tokens
    from perks.api.models import Scope
    from perks.extensions import db
    from perks.people.models import User

    app = migrated_app(url)
    admin_id = admin_of(app)
    with app.app_context():
        admin = db.session.get(User, admin_id)
        assert admin is not None
        expires = datetime.now(UTC).date() + timedelta(days=30)
        secret = tokens.create_service_token(
            "bench", [Scope.PEOPLE_WRITE], expires, actor=admin
        ).secret
        db.session.remove()
        db.engine.dispose()
    return secret


def production_env(url: str) -> dict[str, str]:
    """gunicorn's environment: production settings on ``url`` and the bench's Redis."""
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PERKS_", "DATABASE_", "REDIS_", "TEST_", "API_", "RATELIMIT_"))
    }
    return {
        **base,
        "PERKS_ENV": "production",
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "SECRET_KEY": SECRET_KEY,
        "TRUSTED_HOSTS": "127.0.0.1",
        "BASE_URL": "http://127.0.0.1",
        # plain http on loopback: its cookies too (production refuses an http BASE_URL with
        # https-only cookies)
        "SESSION_COOKIE_SECURE": "false",
        "MAIL_BACKEND": "smtp",
        "MAIL_SENDER": "Perks <perks@bench.example>",  # never sent: no mail here
        "STRIPE_SECRET_KEY": "sk_test_bench_placeholder",  # never called: no payment here
        "STRIPE_WEBHOOK_SECRET": "whsec_bench_placeholder",
        "API_RATE_LIMIT": "100000 per minute",  # the bench's own pace, not a client's
    }


def time_api(url: str, bodies: list[bytes], at_once: int, logs: Path) -> tuple[float, int]:
    """Send ``bodies`` to gunicorn serving ``url``: the first alone, then ``at_once`` at a
    time. Returns the seconds from the first request to the last answer, and the people
    created."""
    secret = service_token(url)
    redis.Redis.from_url(os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)).flushdb()
    with gunicorn("wsgi:app", production_env(url), logs / f"gunicorn-{at_once}.log") as served:
        base = f"http://127.0.0.1:{served[0]}"
        sessions = threading.local()

        def send(number: int) -> int:
            session = getattr(sessions, "session", None) or requests.Session()
            sessions.session = session
            answer = session.post(
                f"{base}/api/v1/people",
                data=bodies[number],
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {secret}",
                    "Idempotency-Key": f"batch-{number}",
                },
                timeout=60,
            )
            if answer.status_code != 200:
                raise RuntimeError(f"batch {number}: {answer.status_code} {answer.text[:500]}")
            created: int = answer.json()["created"]
            return created

        started = time.perf_counter()
        created = send(0)
        with ThreadPoolExecutor(at_once) as pool:
            created += sum(pool.map(send, range(1, len(bodies))))
        return time.perf_counter() - started, created


def people_of(url: str) -> list[tuple[Any, ...]]:
    import psycopg

    from bench.claims_contention import libpq

    with psycopg.connect(libpq(url)) as conn:
        rows = conn.execute(
            """SELECT u.employee_number, u.email, u.name, d.name, u.location, u.employment_type,
                      u.hire_date, u.birth_month, u.birth_day, m.email, u.locale, u.active
               FROM "user" u LEFT JOIN department d ON d.id = u.department_id
               LEFT JOIN "user" m ON m.id = u.manager_id
               WHERE u.employee_number IS NOT NULL ORDER BY u.employee_number"""
        ).fetchall()
    return [tuple(row) for row in rows]


def main() -> int:
    server = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    print(f"{NAME}: load average {os.getloadavg()[0]:.2f} at the start; {os.cpu_count()} cores")
    text = people_csv(ROWS).decode("utf-8")
    # Only the bodies are kept: a client's records are not the server's to hold.
    bodies = batch_bodies(records_of(text))
    print(f"{ROWS:,} people: {len(text) / 1e6:.1f} MB of CSV, {len(bodies)} batches of {BATCH:,}")
    logs = Path(tempfile.mkdtemp(prefix="perks-bench-api-people-"))
    try:
        with (
            scratch_database(server) as csv_url,
            scratch_database(server) as one_url,
            scratch_database(server) as api_url,
        ):
            csv_time, csv_created = time_csv(csv_url, text)
            print(f"CSV import (one transaction): {csv_time:.2f} s, {csv_created:,} created")
            one_time, one_created = time_api(one_url, bodies, 1, logs)
            print(
                f"API, one batch at a time: {one_time:.2f} s = {one_time / csv_time:.2f}x "
                f"(not judged), {one_created:,} created"
            )
            api_time, api_created = time_api(api_url, bodies, AT_ONCE, logs)
            print(
                f"API, {AT_ONCE} batches at a time ({WORKERS} gunicorn workers): "
                f"{api_time:.2f} s, {api_created:,} created"
            )
            expected = people_of(csv_url)
            same = people_of(one_url) == expected == people_of(api_url)
    finally:
        shutil.rmtree(logs, ignore_errors=True)
    print(f"the same people in every database: {same}; load average {os.getloadavg()[0]:.2f}")
    ratio = api_time / csv_time
    created = {csv_created, one_created, api_created}
    ok = ratio <= RATIO_TARGET and same and created == {ROWS}
    verdict = "PASS" if ok else "FAIL"
    print(f"{NAME}: {ratio:.2f}x the CSV import (target <= {RATIO_TARGET}x) {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
