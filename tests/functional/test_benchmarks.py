"""Every benchmark in ``bench/`` still runs to its end, at a tiny scale, on PostgreSQL.

Nothing else runs the benchmarks, so a change of schema or of an API they use would break them
unseen (the raw SQL seeds missed ``product.row_version`` for a while). Each one runs here as
``python -m bench.<name>`` in a child process, as a person would run it, with its knobs at
their smallest, on the test run's PostgreSQL server (``BENCH_DATABASE_URL``: each creates and
drops its own scratch databases there) and this test worker's Redis database
(``BENCH_REDIS_URL``).

Speed is never asserted: at this size the ratios mean nothing and most benchmarks say FAIL
(``bench.export`` always does below its full size). What is asserted: the run reached its
verdict (its last line, PASS or FAIL, with the exit status that goes with it), printed its
ratio lines, and whatever the benchmark checks besides speed came out right (the claims, the
webhook effects, the clicks stored, the people imported).

About 2 minutes in all on 2 cores shared with another test run (2026-12-07, load 3.7):
dashboard 31 s, api_people 23 s, redirect 18 s, export 18 s, people_import 14 s, webhooks 10 s,
claims_contention 9 s; about 75 s of CPU in this process's children. Since: draw about 20 s.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field

import pytest

from perks.config import database_uri
from tests.helpers import ROOT

#: the server the test run creates its databases on (a maintenance database's URL), if any
SERVER = database_uri(os.environ.get("TEST_DATABASE_URL", ""))

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        not SERVER.startswith("postgresql"),
        reason="the benchmarks run on PostgreSQL only (each creates its own databases on the "
        "server); set TEST_DATABASE_URL to a PostgreSQL server's URL to run them",
    ),
]

#: a tiny run takes well under a minute; this only stops a hung one from stalling the suite
TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Bench:
    name: str
    #: the knobs that make it tiny
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    #: patterns each of which some line of its output must match (``re.MULTILINE``)
    lines: tuple[str, ...] = ()
    #: the verdict line (its last) must say PASS: what it judges is not speed
    must_pass: bool = False
    #: exit statuses that come with a verdict line other than PASS or FAIL
    other_endings: dict[int, str] = field(default_factory=dict)


BENCHES = [
    Bench(
        "dashboard",
        env={"BENCH_SCALE": "0.01", "BENCH_WARM_UP_ROUNDS": "1", "BENCH_ROUNDS": "3"},
        lines=(
            r"^1x: seeded 200 people, 2,000 orders",
            r"^4x: seeded 200 people, 8,000 orders",
            r"^daily pages \(1x and 4x against the bare page; 4x/1x\):$",
            r"^  employee  /earnings +[\d.]+ ms \(bare +[\d.]+\) +[\d.]+x \|",
            r"^finance overviews \(1x and 4x against the bare page; 4x/1x\):$",
            r"^  finance   /finance/reports +[\d.]+ ms \(bare +[\d.]+\) +[\d.]+x \|",
        ),
    ),
    Bench(
        "export",
        args=("--rows", "1000"),
        lines=(
            r"^run 2: CSV .* 1,000 rows",
            r"^run 2: XLSX .* 1,000 rows",
            r"^CSV  [\d.]+ s vs COPY [\d.]+ s: [\d.]+x",
            r"^XLSX [\d.]+ s vs CSV [\d.]+ s: [\d.]+x",
        ),
    ),
    Bench(
        "people_import",
        env={"BENCH_ROWS": "500"},
        lines=(
            r"^import job succeeded: 500 people, 500 default links$",
            r"^dry run job [\d.]+ s \([\d.]+x COPY\); import job [\d.]+ s \([\d.]+x COPY\)",
        ),
    ),
    Bench(
        "api_people",
        # three batches: the first alone, then two at once (one per gunicorn worker)
        env={"ROWS": "2500"},
        lines=(
            r"^CSV import \(one transaction\): [\d.]+ s, 2,500 created$",
            r"^API, one batch at a time: [\d.]+ s = [\d.]+x \(not judged\), 2,500 created$",
            r"^API, 2 batches at a time .*: [\d.]+ s, 2,500 created$",
            r"^the same people in every database: True;",
        ),
    ),
    Bench(
        "redirect",
        env={"BENCH_SECONDS": "1", "BENCH_WARM_UP_SECONDS": "0.5"},
        lines=(
            r"^  baseline [\d,]+ req/s .*; Perks [\d,]+ req/s$",
            r"^  CPU per redirect: bare [\d,]+ µs, Perks [\d,]+ µs \(ratio [\d.]+\)$",
            # P1's other half, whatever the throughput: a clean stop loses no click
            r"^  clicks stored ([\d,]+) \(\1 human\) for \1 redirects",
        ),
        # the machine's load moved between its two baselines: the bench discards the run
        other_endings={2: r"^redirect: run discarded: "},
    ),
    Bench(
        "webhooks",
        env={"BENCH_EVENTS": "50"},
        lines=(r"^  150 deliveries in [\d.]+ s: [\d,]+ deliveries/s, [\d,]+ events/s",),
        must_pass=True,
    ),
    Bench(
        "draw",
        env={"BENCH_ENTRIES": "300"},
        lines=(
            r"^300 entries:$",
            r"^  freeze the entries: request [\d.]+ s, job [\d.]+ s; [\d,]+ µs per entry$",
            r"^  draw now: +request [\d.]+ s, job [\d.]+ s; [\d,]+ µs per entry$",
            r"^  public draw page [\d,]+ ms, [\d,]+ bytes; HR's draw page [\d,]+ ms, [\d,]+ bytes$",
            r"^  freeze button \(request\) +[\d.]+x$",
            # what it checks besides speed: one notice each, the winners told, it verifies
            r"\A(?![\s\S]*^  PROBLEM: )",
        ),
    ),
    # No knob: 200 threads and a stock of 50 are what it checks, and it takes seconds.
    Bench(
        "claims_contention",
        lines=(
            r"^  stock of 50: claimed 50, sold_out 150; errors 0; .* claims/s",
            r"^  pool of 50: claimed 50, sold_out 150; errors 0; .* claims/s",
        ),
        must_pass=True,
    ),
]


@pytest.fixture(scope="module")
def bench_server(database_url: str) -> str:
    """The test run's PostgreSQL server (``TEST_DATABASE_URL``). Asking for ``database_url``,
    the run's own database on it, keeps these tests in the PostgreSQL stage
    (``--database-tests-only``)."""
    return SERVER


@pytest.mark.parametrize("bench", BENCHES, ids=[bench.name for bench in BENCHES])
def test_the_benchmark_runs_to_its_verdict(bench: Bench, bench_server: str, redis_database: str):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("BENCH_", "TEST_", "PERKS_", "DATABASE_", "REDIS_"))
    }
    env.update(
        BENCH_DATABASE_URL=bench_server,
        BENCH_REDIS_URL=redis_database,
        PYTHONUNBUFFERED="1",
        **bench.env,
    )
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", f"bench.{bench.name}", *bench.args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    elapsed = time.monotonic() - started
    output = (
        f"exit {run.returncode} after {elapsed:.0f} s\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    )

    assert "Traceback" not in run.stderr, output
    last = run.stdout.rstrip().splitlines()[-1] if run.stdout.strip() else ""
    endings = {0: rf"^{bench.name}: .* PASS$", 1: rf"^{bench.name}: .* FAIL$"}
    if bench.must_pass:
        del endings[1]
    endings.update(bench.other_endings)
    assert run.returncode in endings, output
    assert re.search(endings[run.returncode], last), output
    for pattern in bench.lines:
        assert re.search(pattern, run.stdout, re.MULTILINE), (
            f"no line matches {pattern!r}\n{output}"
        )
