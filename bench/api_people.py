"""P9: 100,000 people upserted through the API in batches of 1,000, against the CSV import of
the same rows, on PostgreSQL, in the same run.

    python -m bench.api_people            # ROWS=20000 python -m bench.api_people: smaller

Creates two scratch databases on the server at ``BENCH_DATABASE_URL`` (default: the local
PostgreSQL as user ``postgres``), migrates both, and writes the rows of
``bench.people_import.people_csv`` (every column, 40 departments, a hundred managers):

1. the CSV import: ``perks.people.imports.apply_import`` of the whole file in one
   transaction, in this process (what the import job runs, without the queue);
2. the API: the same rows as JSON, ``POST /api/v1/people`` in batches of 1,000 with a
   service token holding ``people:write`` and an ``Idempotency-Key`` each, through the app's
   WSGI interface in this process (token check, rate limit, request parsing and validation,
   the import's plan and writer per batch, the audit event and the kept answer), no network.
   The request bodies are encoded before the clock starts, as the HR system would encode
   them on its own machine: what is timed is the server's work.

Both outcomes are checked (the same people in both databases). Target (PERFORMANCE.md): the
API ≤ 1.5× the CSV import. For scale, it also prints (without judging it) the CSV import of the
same rows as files of 1,000, one transaction each, in a third database: what batching alone
costs the same import code, with no HTTP, JSON, token or ``Idempotency-Key``. Ends with
``api_people: ... PASS`` (or ``FAIL``, exiting 1); the databases are dropped whatever
happened.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.claims_contention import scratch_database
from bench.export import migrated_app
from bench.people_import import people_csv

NAME = "api_people"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ROWS = int(os.environ.get("ROWS", "100000"))
BATCH = 1000
RATIO_TARGET = 1.5


def records_of(text: str) -> list[dict[str, Any]]:
    """The CSV's rows as the API's JSON records (roles a list, active a boolean)."""
    records = []
    for row in csv.DictReader(io.StringIO(text)):
        record: dict[str, Any] = {key: (value or None) for key, value in row.items()}
        record["roles"] = row["roles"].split(";")
        record["active"] = row["active"] == "yes"
        records.append(record)
    return records


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


def time_csv_in_batches(url: str, text: str) -> float:
    """The CSV import of ``text`` as files of ``BATCH`` rows, one after the other."""
    from perks.extensions import db
    from perks.people import imports
    from perks.people.models import User

    header, *body = text.splitlines(keepends=True)
    app = migrated_app(url)
    admin_id = admin_of(app)
    with app.app_context():
        started = time.perf_counter()
        for start in range(0, len(body), BATCH):
            part = header + "".join(body[start : start + BATCH])
            imports.apply_import(part, actor=db.session.get(User, admin_id), filename="part.csv")
        elapsed = time.perf_counter() - started
        db.session.remove()
    return elapsed


def batch_bodies(records: list[dict[str, Any]]) -> list[bytes]:
    """The records as the JSON bodies of the API's requests, ``BATCH`` records each."""
    return [
        json.dumps({"people": records[start : start + BATCH]}).encode("utf-8")
        for start in range(0, len(records), BATCH)
    ]


def time_api(url: str, bodies: list[bytes]) -> tuple[float, int]:
    from perks.api import tokens
    from perks.api.models import Scope
    from perks.extensions import db
    from perks.people.models import User

    app = migrated_app(url, RATELIMIT_ENABLED=True, API_RATE_LIMIT="100000 per minute")
    admin_id = admin_of(app)
    with app.app_context():
        expires = datetime.now(UTC).date() + timedelta(days=30)
        secret = tokens.create_service_token(
            "bench", [Scope.PEOPLE_WRITE], expires, actor=db.session.get(User, admin_id)
        ).secret
        db.session.remove()
    client = app.test_client()
    created = 0
    started = time.perf_counter()
    for number, body in enumerate(bodies):
        answer = client.post(
            "/api/v1/people",
            data=body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": f"batch-{number}"},
        )
        if answer.status_code != 200:
            raise RuntimeError(f"batch {number}: {answer.status_code} {answer.get_data()[:500]!r}")
        created += answer.get_json()["created"]
        if number % 20 == 19:
            print(f"  {(number + 1) * BATCH:,} people in {time.perf_counter() - started:.1f} s")
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
    print(f"{ROWS:,} people: {len(text) / 1e6:.1f} MB of CSV")
    with scratch_database(server) as csv_url, scratch_database(server) as api_url:
        csv_time, csv_created = time_csv(csv_url, text)
        print(f"CSV import (one transaction): {csv_time:.2f} s, {csv_created:,} created")
        api_time, api_created = time_api(api_url, bodies)
        print(
            f"API, {ROWS // BATCH} batches of {BATCH:,}: {api_time:.2f} s, {api_created:,} created"
        )
        same = people_of(csv_url) == people_of(api_url)
    print(f"the same people in both databases: {same}; load average {os.getloadavg()[0]:.2f}")
    with scratch_database(server) as parts_url:
        parts_time = time_csv_in_batches(parts_url, text)
    print(
        f"for scale: the CSV import as {ROWS // BATCH} files of {BATCH:,}: {parts_time:.2f} s = "
        f"{parts_time / csv_time:.2f}x the whole file; the API is "
        f"{api_time / parts_time:.2f}x that"
    )
    ratio = api_time / csv_time
    ok = ratio <= RATIO_TARGET and same and csv_created == api_created == ROWS
    verdict = "PASS" if ok else "FAIL"
    print(f"{NAME}: {ratio:.2f}x the CSV import (target <= {RATIO_TARGET}x) {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
