"""A fair draw with 10,000 entries, HR's buttons and the draw pages, on PostgreSQL.

    python -m bench.draw
    BENCH_ENTRIES=500 python -m bench.draw   # a quick run while developing

Creates its own database on the server at ``BENCH_DATABASE_URL`` (default: the local
PostgreSQL as user ``postgres``), migrates it and seeds ``BENCH_ENTRIES`` people (one in ten
reading English, one in fifty having turned the e-mail of frozen entries off). Then, for a
draw of a tenth of them (1x) and a draw of all of them (10x), each on its own perk with 50
seats, entries put in with SQL as ``enter_draw`` numbers them:

1. HR presses "Freeze the entries" (``POST /admin/perks/<id>/draw/run``, through the app's
   test client, signed in): the time the request holds a web worker. When the request
   started a background job instead of doing the work (``perks.background``), the job is then
   run here, in-process, as a worker would (``background.execute``), and timed apart;
2. the public value is entered, and HR presses "Draw now": the same two figures;
3. once both draws are made, an entrant opens the public draw page (``/draws/<id>``) and HR
   the draw's page, of each draw in turn (so the machine's load moves them alike): their
   time (median of 5 rounds, after one to warm up) and size.

Mail goes to the development outbox (``MAIL_BACKEND=outbox``); the broker is kombu's
in-memory transport, so nothing leaves the process. Wall times swing with the machine's
load: what counts is each figure at 10x over the same at 1x (measured in the same run) and
the cost per entry. A request or page that does work for every entry grows about tenfold;
one that does not, hardly.

Checks besides speed: every entrant is told once that the entries are frozen (a notification
each, an e-mail each for those who want it), each winner once that they won, and the draw
verifies (``draws.verify_draw``).

Target: HR's two buttons and the two pages each ≤ 2x at 10x the entries (they do not grow with
the entries). Ends with ``draw: ... PASS`` (or ``FAIL``, exiting 1). The database is dropped
afterwards, whatever happened.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from werkzeug.security import generate_password_hash

from bench import export as export_bench
from bench.claims_contention import libpq, scratch_database

NAME = "draw"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
#: BENCH_ENTRIES shrinks the run for development; the target is judged at any size
ENTRIES = int(os.environ.get("BENCH_ENTRIES", "10000"))
SMALL = max(10, ENTRIES // 10)
SEATS = 50
PASSWORD = "bench-password-0123"  # noqa: S105 (a scratch database)
#: person 1 is HR, person 2 an entrant who opens the public page
HR_ID, ENTRANT_ID = 1, 2
GROWTH_TARGET = 2.0
PAGE_ROUNDS = 5


def seed_people(url: str) -> None:
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute(
            f"""INSERT INTO "user" (email, name, employee_number, location, employment_type,
                    locale, active, session_token, created_at, updated_at, hide_personal_dates,
                    public_celebration)
                SELECT 'person' || n || '@example.com', 'Nguyễn Văn Người ' || n,
                    'E' || lpad(n::text, 6, '0'), 'Hà Nội', 'staff',
                    CASE WHEN n % 10 = 0 THEN 'en' ELSE 'vi' END, true, md5(n::text),
                    now() - interval '2 years', now(), false, false
                FROM generate_series(1, {ENTRIES}) AS n"""
        )
        conn.execute(
            f"""INSERT INTO user_role (user_id, role)
                SELECT n, 'employee' FROM generate_series(1, {ENTRIES}) AS n
                UNION ALL SELECT {HR_ID}, 'hr'"""
        )
        conn.execute(
            f"""INSERT INTO notification_preference (user_id, kind, email)
                SELECT n, 'draw_entries_frozen', false
                FROM generate_series(1, {ENTRIES}) AS n WHERE n % 50 = 7"""
        )
        conn.execute(
            'UPDATE "user" SET password_hash = %s WHERE id IN (%s, %s)',
            (generate_password_hash(PASSWORD), HR_ID, ENTRANT_ID),
        )


def open_draw_with_entries(app: Flask, people: int, label: str) -> tuple[int, int]:
    """A published draw perk with ``SEATS`` seats, its draw opened, ``people`` entries (persons
    1..people) put in as ``enter_draw`` numbers them, entries closed an hour ago: (perk id,
    draw id)."""
    from perks.catalog import draws
    from perks.catalog.models import (
        Allocation,
        CodeMode,
        Draw,
        LimitPeriod,
        Perk,
        PerkCategory,
        PerkKind,
        PerkStatus,
    )
    from perks.extensions import db
    from perks.people.models import User

    with app.app_context():
        perk = Perk(
            title_vi=f"Cuối tuần nghỉ dưỡng {label}",
            title_en=f"Resort weekend {label}",
            partner_name="Đối tác",
            category=PerkCategory.OTHER,
            kind=PerkKind.EXPERIENCE,
            value_vi="Hai đêm",
            value_en="Two nights",
            status=PerkStatus.PUBLISHED,
            allocation=Allocation.DRAW,
            code_mode=CodeMode.VOUCHER,
            shared_code="",
            total_stock=SEATS,
            remaining_stock=SEATS,
            per_person_limit=1,
            limit_period=LimitPeriod.EVER,
            locations=[],
            employment_types=[],
            min_tenure_days=0,
        )
        db.session.add(perk)
        db.session.commit()
        hr = db.session.get(User, HR_ID)
        assert hr is not None
        draw = draws.open_draw(
            perk.id, entries_close_at=datetime.now(UTC) + timedelta(days=1), actor=hr
        )
        perk_id, draw_id, commitment = perk.id, draw.id, draw.commitment
        db.session.execute(
            update(Draw)
            .where(Draw.id == draw_id)
            .values(
                entries_close_at=datetime.now(UTC) - timedelta(hours=1),
                public_value_date=draws.company_today() + timedelta(days=1),
            )
        )
        db.session.commit()
    entered = datetime.now(UTC) - timedelta(days=1)
    with psycopg.connect(libpq(app.config["SQLALCHEMY_DATABASE_URI"])) as conn:
        with (
            conn.cursor() as cursor,
            cursor.copy(
                "COPY draw_entry (draw_id, user_id, key, number, entered_at, deprioritised, "
                "outcome) FROM STDIN"
            ) as copy,
        ):
            for n in range(1, people + 1):
                copy.write_row(
                    (draw_id, n, draws.entry_key(commitment, n), n, entered, False, "pending")
                )
        conn.commit()
        conn.execute("ANALYZE")
    return perk_id, draw_id


def signed_in(app: Flask, user_id: int) -> FlaskClient:
    client = app.test_client()
    answer = client.post(
        "/login", data={"email": f"person{user_id}@example.com", "password": PASSWORD}
    )
    if answer.status_code != 302:
        raise RuntimeError(f"person{user_id} could not sign in ({answer.status_code})")
    return client


@dataclass
class Step:
    """One of HR's buttons: the request's seconds, and the background job's if it started
    one (None: the request did the work itself)."""

    request: float
    job: float | None = None

    @property
    def total(self) -> float:
        return self.request + (self.job or 0.0)


def press(app: Flask, client: FlaskClient, perk_id: int, draw_id: int) -> Step:
    """HR's button on the draw's page, then its background job (if any) run here."""
    from perks import background
    from perks.background import BackgroundJob, JobState
    from perks.extensions import db

    with app.app_context():
        before = db.session.scalar(select(func.max(BackgroundJob.id))) or 0
    started = time.perf_counter()
    answer = client.post(f"/admin/perks/{perk_id}/draw/run")
    request = time.perf_counter() - started
    if answer.status_code != 302:
        raise RuntimeError(f"the button answered {answer.status_code}")
    with app.app_context():
        job_id = db.session.scalar(
            select(BackgroundJob.id)
            .where(BackgroundJob.id > before, BackgroundJob.state == JobState.QUEUED)
            .order_by(BackgroundJob.id)
            .limit(1)
        )
    if job_id is None:
        return Step(request)
    with app.app_context():
        started = time.perf_counter()
        state = background.execute(job_id)
        elapsed = time.perf_counter() - started
        if state is not JobState.SUCCEEDED:
            job = db.session.get(BackgroundJob, job_id)
            raise RuntimeError(f"the job ended {state}: {job.error if job else ''}")
    return Step(request, elapsed)


def enter_public_value(app: Flask, draw_id: int) -> None:
    from perks.catalog.models import Draw
    from perks.extensions import db

    with app.app_context():
        db.session.execute(
            update(Draw)
            .where(Draw.id == draw_id)
            .values(public_value="58214", public_value_entered_at=datetime.now(UTC))
        )
        db.session.commit()


def timed(client: FlaskClient, path: str) -> tuple[float, int]:
    """One request's seconds and the page's size in bytes."""
    started = time.perf_counter()
    answer = client.get(path)
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise RuntimeError(f"{path} answered {answer.status_code}")
    return elapsed, len(answer.get_data())


@dataclass
class Run:
    entries: int
    perk_id: int
    draw_id: int
    freeze: Step
    draw: Step
    problems: list[str] = field(default_factory=list)
    #: median seconds and size of the public draw page, and of HR's
    public: tuple[float, int] = (0.0, 0)
    hr_page: tuple[float, int] = (0.0, 0)


def measure_pages(app: Flask, runs: list[Run]) -> None:
    """Both pages of every run, in rounds (each round opens each page of each run once, so
    the machine's load moves them alike): one warm-up round, then ``PAGE_ROUNDS``; medians."""
    hr, entrant = signed_in(app, HR_ID), signed_in(app, ENTRANT_ID)
    pages = [
        (run, which, client, path)
        for run in runs
        for which, client, path in (
            ("public", entrant, f"/draws/{run.draw_id}"),
            ("hr_page", hr, f"/admin/perks/{run.perk_id}/draw"),
        )
    ]
    seen: dict[tuple[int, str], list[tuple[float, int]]] = {}
    for round_ in range(1 + PAGE_ROUNDS):
        for run, which, client, path in pages:
            figures = timed(client, path)
            if round_:
                seen.setdefault((run.draw_id, which), []).append(figures)
    for run in runs:
        for which in ("public", "hr_page"):
            rounds = seen[(run.draw_id, which)]
            median = statistics.median(seconds for seconds, _size in rounds)
            setattr(run, which, (median, rounds[-1][1]))


def check(app: Flask, draw_id: int, entries: int) -> list[str]:
    """What must hold besides speed: one notice each, the e-mails, the draw verifies."""
    from perks.catalog import draws
    from perks.catalog.models import DrawEntry, EntryOutcome
    from perks.extensions import db
    from perks.mail import OutboxMessage
    from perks.notifications.models import Notification

    problems = []
    with app.app_context():
        of_draw = Notification.url_values["draw_id"].as_integer() == draw_id
        frozen = (Notification.kind == "draw_entries_frozen", of_draw)
        told = db.session.scalar(select(func.count()).where(*frozen))
        people = db.session.scalar(
            select(func.count(Notification.user_id.distinct())).where(*frozen)
        )
        if told != entries or people != entries:
            problems.append(f"{told} frozen notices to {people} people for {entries} entrants")
        winners = db.session.scalar(
            select(func.count())
            .select_from(DrawEntry)
            .where(DrawEntry.draw_id == draw_id, DrawEntry.outcome == EntryOutcome.WON)
        )
        claims = select(DrawEntry.claim_id).where(
            DrawEntry.draw_id == draw_id, DrawEntry.outcome == EntryOutcome.WON
        )
        won = db.session.scalar(
            select(func.count()).where(
                Notification.kind == "draw_won",
                Notification.url_values["claim_id"].as_integer().in_(claims),
            )
        )
        if winners != min(SEATS, entries) or won != winners:
            problems.append(f"{winners} winners, {won} told")
        mails = db.session.scalar(select(func.count()).select_from(OutboxMessage))
        if not mails:
            problems.append("no e-mail queued")
        if not draws.verify_draw(draw_id).ok:
            problems.append("the draw does not verify")
    return problems


def run(app: Flask, people: int, label: str) -> Run:
    perk_id, draw_id = open_draw_with_entries(app, people, label)
    hr = signed_in(app, HR_ID)
    freeze = press(app, hr, perk_id, draw_id)
    enter_public_value(app, draw_id)
    made = press(app, hr, perk_id, draw_id)
    result = Run(people, perk_id, draw_id, freeze, made)
    result.problems = check(app, draw_id, people)
    return result


def describe(step: Step, entries: int) -> str:
    job = f", job {step.job:.2f} s" if step.job is not None else " (no job: all in the request)"
    per_entry = step.total / entries * 1e6
    return f"request {step.request:.2f} s{job}; {per_entry:,.0f} µs per entry"


def main() -> int:
    server = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    with scratch_database(server) as url:
        app = export_bench.migrated_app(
            url,
            WTF_CSRF_ENABLED=False,
            CELERY_BROKER_URL="memory://",
            SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 5},
        )
        started = time.perf_counter()
        seed_people(url)
        print(f"seeded {ENTRIES:,} people in {time.perf_counter() - started:.1f} s")
        runs = [run(app, SMALL, "1x"), run(app, ENTRIES, "10x")]
        measure_pages(app, runs)
    small, large = runs
    failed = False
    for each in runs:
        print(f"{each.entries:,} entries:")
        print(f"  freeze the entries: {describe(each.freeze, each.entries)}")
        print(f"  draw now:           {describe(each.draw, each.entries)}")
        print(
            f"  public draw page {each.public[0] * 1000:,.0f} ms, {each.public[1]:,} bytes; "
            f"HR's draw page {each.hr_page[0] * 1000:,.0f} ms, {each.hr_page[1]:,} bytes"
        )
        for problem in each.problems:
            print(f"  PROBLEM: {problem}")
            failed = True
    print(f"10x the entries over 1x ({large.entries:,} / {small.entries:,}):")
    growths = {
        "freeze button (request)": large.freeze.request / small.freeze.request,
        "draw button (request)": large.draw.request / small.draw.request,
        "public draw page": large.public[0] / small.public[0],
        "HR's draw page": large.hr_page[0] / small.hr_page[0],
    }
    for what, growth in growths.items():
        print(f"  {what:<24} {growth:5.1f}x")
    print(
        f"  public page size {large.public[1] / small.public[1]:5.1f}x, "
        f"HR page size {large.hr_page[1] / small.hr_page[1]:5.1f}x"
    )
    worst_name, worst = max(growths.items(), key=lambda item: item[1])
    failed = failed or worst > GROWTH_TARGET
    verdict = "FAIL" if failed else "PASS"
    print(
        f"{NAME}: worst growth at 10x the entries {worst:.1f}x ({worst_name}; "
        f"target ≤ {GROWTH_TARGET:.0f}x) {verdict}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
