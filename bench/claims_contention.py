"""P5: many people claim the same scarce perk at the same moment, on PostgreSQL.

    python -m bench.claims_contention

Creates its own database on the server at ``BENCH_DATABASE_URL`` (default: the local
PostgreSQL as user ``postgres``), migrates it, seeds 200 people and the perks, then:

1. 200 threads, each with its own session and person, claim a perk with a stock of 50, all
   released at once by a barrier: exactly 50 claims, 150 "sold out", no other error, the
   stock at 0, never below, and no code handed out twice;
2. the same against a pool of 50 unique codes;
3. 20 threads claim a once-a-month perk (unlimited stock) as one person: exactly one claim.

It prints the figures and ends with ``claims_contention: ... PASS`` (or ``FAIL``, exiting 1).
The database is dropped afterwards, whatever happened.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

import psycopg
from flask import Flask
from sqlalchemy import func, make_url, select

from perks import create_app
from perks.catalog.claims import claim_perk
from perks.catalog.models import (
    Allocation,
    Claim,
    CodeMode,
    LimitPeriod,
    Perk,
    PerkCode,
    PerkKind,
    PerkStatus,
)
from perks.config import database_uri
from perks.errors import LimitReached, SoldOut
from perks.extensions import db
from perks.people.models import EmploymentType, User

NAME = "claims_contention"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PEOPLE = 200
STOCK = 50
SAME_PERSON_THREADS = 20
TODAY = date(2026, 11, 30)
#: connections left for everything else on the server
SPARE_CONNECTIONS = 30


@dataclass
class Run:
    """What one burst of simultaneous claims gave."""

    answers: Counter[str] = field(default_factory=Counter)
    codes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def claimed(self) -> int:
        return self.answers["claimed"]


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server; dropped on the way out."""
    name = f"perks_bench_{uuid.uuid4().hex[:10]}"
    admin = libpq(database_uri(server_url))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(database_uri(server_url))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pool_size(url: str) -> int:
    """As many connections as the server can spare, at most 60: the rest of the threads queue."""
    with psycopg.connect(libpq(url)) as conn:
        limit_row = conn.execute("SHOW max_connections").fetchone()
        in_use_row = conn.execute("SELECT count(*) FROM pg_stat_activity").fetchone()
    assert limit_row is not None
    assert in_use_row is not None
    limit, in_use = int(limit_row[0]), int(in_use_row[0])
    return max(10, min(60, limit - in_use - SPARE_CONNECTIONS))


def make_app(url: str, pool: int) -> Flask:
    return create_app(
        {
            "PERKS_ENV": "testing",
            # tasks go to the broker, as deployed ("testing" would run them in the request)
            "CELERY_ALWAYS_EAGER": False,
            "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "pool_size": pool,
                "max_overflow": 0,
                "pool_timeout": 60,
                "pool_pre_ping": True,
            },
            "RATELIMIT_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "MAIL_BACKEND": "outbox",
            "TRUSTED_HOSTS": None,
        }
    )


def new_perk(title: str, **fields: object) -> Perk:
    settings: dict[str, object] = {
        "title_vi": title,
        "title_en": title,
        "kind": PerkKind.DISCOUNT_CODE,
        "status": PerkStatus.PUBLISHED,
        "allocation": Allocation.FIRST_COME,
        "code_mode": CodeMode.VOUCHER,
        "per_person_limit": 1,
        "limit_period": LimitPeriod.EVER,
        "locations": [],
        "employment_types": [],
        **fields,
    }
    settings.setdefault("remaining_stock", settings.get("total_stock"))
    perk = Perk(**settings)
    db.session.add(perk)
    return perk


def seed() -> tuple[list[int], dict[str, int]]:
    """200 people, and the three perks; returns the people's ids and the perks' ids."""
    people = [
        User(
            email=f"bench{n}@example.com",
            name=f"Người thử {n}",
            employment_type=EmploymentType.STAFF,
            location="Hà Nội",
            hire_date=date(2020, 1, 1),
        )
        for n in range(PEOPLE)
    ]
    db.session.add_all(people)
    stocked = new_perk("Stock of 50", total_stock=STOCK)
    pooled = new_perk("Pool of 50 codes", code_mode=CodeMode.POOL)
    monthly = new_perk("Once a month", limit_period=LimitPeriod.MONTH)
    db.session.flush()
    db.session.add_all(PerkCode(perk_id=pooled.id, code=f"BENCH-{n:03d}") for n in range(STOCK))
    db.session.commit()
    perks = {"stocked": stocked.id, "pooled": pooled.id, "monthly": monthly.id}
    return [person.id for person in people], perks


def claim_together(app: Flask, perk_id: int, user_ids: list[int]) -> Run:
    """One thread per user id, each with its own app context and session, released at once."""
    barrier = threading.Barrier(len(user_ids) + 1)
    lock = threading.Lock()
    run = Run()

    def claim_as(user_id: int) -> None:
        with app.app_context():
            try:
                person = db.session.get(User, user_id)
                assert person is not None
                db.session.close()  # keep the loaded person; give the connection back
                barrier.wait(timeout=120)
                try:
                    claim = claim_perk(perk_id, person, today=TODAY)
                except SoldOut:
                    answer = "sold_out"
                except LimitReached:
                    answer = "limit_reached"
                else:
                    answer = "claimed"
                    with lock:
                        run.codes.append(claim.code)
                with lock:
                    run.answers[answer] += 1
            except Exception as error:  # anything else is an error to report
                with lock:
                    run.errors.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=claim_as, args=(uid,)) for uid in user_ids]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=120)  # the clock starts when every thread is lined up
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    run.elapsed = time.perf_counter() - started
    return run


def report(label: str, run: Run) -> None:
    seconds = max(run.elapsed, 1e-9)
    answers = ", ".join(f"{name} {count}" for name, count in sorted(run.answers.items()))
    print(
        f"  {label}: {answers}; errors {len(run.errors)}; {run.elapsed:.3f} s; "
        f"{run.claimed / seconds:.1f} claims/s; "
        f"{sum(run.answers.values()) / seconds:.1f} answers/s"
    )
    for error in run.errors[:5]:
        print(f"    error: {error}")


def main() -> int:
    server = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    problems: list[str] = []
    with scratch_database(server) as url:
        pool = pool_size(url)
        app = make_app(url, pool)
        print(f"{NAME}: database {make_url(url).database}, {pool} connections for the threads")
        try:
            with app.app_context():
                from flask_migrate import upgrade

                upgrade()
                people, perks = seed()
                db.session.remove()
                # Open the pool's connections now, so the bursts time claims, not connecting.
                warm = [db.engine.connect() for _ in range(pool)]
                for connection in warm:
                    connection.close()

            print(f"{PEOPLE} people claim a perk with a stock of {STOCK}:")
            stocked = claim_together(app, perks["stocked"], people)
            report("stock of 50", stocked)
            print(f"{PEOPLE} people claim from a pool of {STOCK} unique codes:")
            pooled = claim_together(app, perks["pooled"], people)
            report("pool of 50", pooled)
            print(f"One person claims a once-a-month perk from {SAME_PERSON_THREADS} threads:")
            same = claim_together(app, perks["monthly"], [people[0]] * SAME_PERSON_THREADS)
            report("same person", same)

            with app.app_context():
                remaining = db.session.scalar(
                    select(Perk.remaining_stock).where(Perk.id == perks["stocked"])
                )
                stored = {
                    name: db.session.scalar(select(func.count()).where(Claim.perk_id == perk_id))
                    for name, perk_id in perks.items()
                }
                unused_codes = db.session.scalar(
                    select(func.count()).where(
                        PerkCode.perk_id == perks["pooled"], PerkCode.claim_id.is_(None)
                    )
                )
                db.session.remove()
            print(f"  remaining stock {remaining}; unused pool codes {unused_codes}")
            print(f"  claims stored: {', '.join(f'{k} {v}' for k, v in stored.items())}")
        finally:
            with app.app_context():
                db.engine.dispose()

    expected_burst = Counter(claimed=STOCK, sold_out=PEOPLE - STOCK)
    for label, run in (("stock of 50", stocked), ("pool of 50", pooled)):
        if run.answers != expected_burst or run.errors:
            problems.append(f"{label}: {dict(run.answers)}, {len(run.errors)} errors")
        if len(set(run.codes)) != len(run.codes):
            problems.append(f"{label}: a code was handed out twice")
    if remaining != 0:
        problems.append(f"stock of 50: {remaining} left, not 0")
    if unused_codes != 0 or sorted(pooled.codes) != [f"BENCH-{n:03d}" for n in range(STOCK)]:
        problems.append("pool of 50: the codes handed out are not exactly the pool")
    if same.answers != Counter(claimed=1, limit_reached=SAME_PERSON_THREADS - 1) or same.errors:
        problems.append(f"same person: {dict(same.answers)}, {len(same.errors)} errors")
    if stored != {"stocked": STOCK, "pooled": STOCK, "monthly": 1}:
        problems.append(f"claims stored: {stored}")
    for problem in problems:
        print(f"  FAIL: {problem}")

    verdict = "FAIL" if problems else "PASS"
    print(
        f"{NAME}: {stocked.claimed} claims, {stocked.answers['sold_out']} sold out, "
        f"{len(stocked.errors)} errors (target {STOCK}/{PEOPLE - STOCK}/0) {verdict}"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
