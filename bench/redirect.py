"""P1: ``/r/<code>`` throughput against a bare Flask 302, and no click lost on a clean stop.

    python -m bench.redirect

Creates its own database on the server at ``BENCH_DATABASE_URL`` (default: the local
PostgreSQL as user ``postgres``), migrates it, seeds one employee and their default link, then
serves, one after the other, with the same gunicorn settings (2 sync workers on a free
loopback port):

1. the baseline, ``bench._bare``: a bare Flask app answering the same 302 with the same
   signed cookie, and nothing else (run before and after the real app, as the machine is
   shared and noisy: the ratio is against the mean of the two);
2. the real app (``wsgi:app``) on that database, with production's click settings
   (``CLICK_WRITE_MODE=batched``, ``REDIRECT_CACHE_SECONDS=5``) over plain HTTP
   (``PERKS_ENV=development``) and without rate limits.

The same load generator drives both: ``BENCH_PROCESSES`` processes (2) of ``BENCH_THREADS``
threads (4), each thread sending GETs with a browser's User-Agent (one plain HTTP/1.1
exchange per loopback connection, as gunicorn's sync workers close each one) for a 2 s
warm-up and 10 s of measurement, counting the 302s (at most ``MAX_REQUESTS`` in all). It
also prints the CPU time the workers used per redirect, which the machine's noise and the
generator's own CPU use (all on the same cores) do not blur as much.

Then the real app's gunicorn is stopped cleanly (SIGTERM, waiting for it to exit) and the
clicks stored are counted: they must equal the 302s it answered, warm-up included.

It ends with ``redirect: ratio 1.xx, CPU per redirect 0.xx× the bare 302's, clicks stored N ==
requests N (target ≥ 1.00, ≤ 1.00, equal) PASS`` (or ``FAIL``, exiting 1): P1 holds when the
throughput is at least the bare 302's and the workers' CPU time per redirect at most its.
A run whose two baselines differ by more than 25 % is discarded (exit 2): the machine's
load changed under it. The database is dropped afterwards, whatever happened.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
from sqlalchemy import make_url

from bench.claims_contention import libpq, scratch_database
from perks import create_app
from perks.extensions import db
from perks.people.models import EmploymentType, Role, User

NAME = "redirect"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-secret-key-that-is-long-enough-0123456789"  # noqa: S105 - a scratch app
TARGET_RATIO = 1.0
#: a run whose two baselines differ by more than this (the machine's load changed) is void
BASELINE_DRIFT = 0.25
WORKERS = 2
PROCESSES = int(os.environ.get("BENCH_PROCESSES", "2"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
WARM_UP_SECONDS = float(os.environ.get("BENCH_WARM_UP_SECONDS", "2"))
MEASURE_SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
#: a ceiling on the requests of one run, so the generator stops by itself whatever happens
MAX_REQUESTS = 1_000_000
#: how long gunicorn may take to answer its first request, and to stop
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
)


# --- the load generator ---------------------------------------------------------------------


@dataclass
class Load:
    """What one run of the generator got (all its processes and threads together)."""

    warm_up: int = 0
    measured: int = 0
    other_statuses: int = 0
    errors: int = 0
    first_error: str = ""
    measured_seconds: float = 0.0
    #: CPU seconds the server's workers used during the run (warm-up included)
    server_cpu: float = 0.0

    @property
    def redirects(self) -> int:
        """Every 302 the server answered, warm-up included."""
        return self.warm_up + self.measured

    @property
    def per_second(self) -> float:
        return self.measured / self.measured_seconds if self.measured_seconds else 0.0

    def add(self, other: Load) -> None:
        self.warm_up += other.warm_up
        self.measured += other.measured
        self.other_statuses += other.other_statuses
        self.errors += other.errors
        self.first_error = self.first_error or other.first_error


def _hammer(port: int, path: str, start: float, measure_from: float, stop: float, cap: int) -> Load:
    """One thread: GET ``path`` until ``stop`` (monotonic clock), counting 302s by when they
    arrived. Gunicorn's sync workers close every connection after its response, so each
    request is one plain HTTP/1.1 exchange on a new loopback connection, written and read by
    hand: http.client would spend more time than the bare server and flatten the ratio."""
    load = Load()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {USER_AGENT}\r\n"
        "Accept: text/html\r\nAccept-Language: vi\r\nConnection: close\r\n\r\n"
    ).encode()
    while time.monotonic() < start:
        time.sleep(0.001)
    sent = 0
    while sent < cap and time.monotonic() < stop:
        sent += 1
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
                connection.sendall(request)
                answer = bytearray()
                while chunk := connection.recv(65536):
                    answer += chunk
            arrived = time.monotonic()
            status = int(answer[9:12])
        except (OSError, ValueError) as error:
            load.errors += 1
            load.first_error = load.first_error or repr(error)
            continue
        if status != 302:
            load.other_statuses += 1
            load.first_error = load.first_error or f"HTTP {status}"
        elif arrived < measure_from:
            load.warm_up += 1
        else:
            load.measured += 1
    return load


def _generator_process(args: tuple[int, str, float, float, float, int, int]) -> Load:
    port, path, start, measure_from, stop, cap, threads = args
    results: list[Load] = []
    lock = threading.Lock()

    def run() -> None:
        load = _hammer(port, path, start, measure_from, stop, cap)
        with lock:
            results.append(load)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    total = Load()
    for load in results:
        total.add(load)
    return total


def generate_load(port: int, path: str) -> Load:
    """The same load for both servers: fixed processes × threads, fixed durations."""
    start = time.monotonic() + 1.0  # every process is up before the clock starts
    measure_from = start + WARM_UP_SECONDS
    stop = measure_from + MEASURE_SECONDS
    cap = MAX_REQUESTS // (PROCESSES * THREADS)
    context = multiprocessing.get_context("fork")
    with context.Pool(PROCESSES) as pool:
        loads = pool.map(
            _generator_process,
            [(port, path, start, measure_from, stop, cap, THREADS)] * PROCESSES,
        )
    total = Load(measured_seconds=stop - measure_from)
    for load in loads:
        total.add(load)
    return total


# --- gunicorn -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def gunicorn_command() -> str:
    beside = Path(sys.executable).parent / "gunicorn"
    return str(beside if beside.exists() else ROOT / ".venv" / "bin" / "gunicorn")


def _answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/healthz")
        ok = connection.getresponse().status == 200
        connection.close()
        return ok
    except OSError:
        return False


@contextmanager
def gunicorn(app_module: str, env: dict[str, str], log: Path) -> Iterator[tuple[int, Stopper]]:
    """Serve ``app_module`` with 2 sync workers on a free port until the block ends (or
    ``stop()`` is called in it), stopping with SIGTERM and waiting, as a deployment does."""
    port = free_port()
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                gunicorn_command(),
                "--workers",
                str(WORKERS),
                "--bind",
                f"127.0.0.1:{port}",
                "--graceful-timeout",
                str(int(STOP_TIMEOUT)),
                "--chdir",
                str(ROOT),
                app_module,
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        stopper = Stopper(process)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _answers(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn {app_module} did not start; see {log}")
                time.sleep(0.2)
            yield port, stopper
        finally:
            stopper.stop()


def cpu_seconds(master: int) -> float:
    """CPU time (user + system) used so far by the gunicorn master's workers."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return 0.0
    total = 0
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


class Stopper:
    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.exit_code: int | None = None

    def stop(self) -> int:
        """SIGTERM, then wait for the master (which waits for its workers); kill if stuck."""
        if self.exit_code is not None:
            return self.exit_code
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT + 5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.exit_code = self.process.returncode
        return self.exit_code


# --- the database ---------------------------------------------------------------------------


def seed(url: str) -> tuple[int, str]:
    """Migrate the bench database; add one employee and their default link (the app's own
    service). Returns the link's id and code."""
    from flask_migrate import upgrade

    from perks.referrals.services import ensure_default_link

    app = create_app(
        {
            "PERKS_ENV": "testing",
            # tasks go to the broker, as deployed ("testing" would run them in the request)
            "CELERY_ALWAYS_EAGER": False,
            "SECRET_KEY": SECRET_KEY,
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "MAIL_BACKEND": "outbox",
            "TRUSTED_HOSTS": None,
        }
    )
    with app.app_context():
        upgrade()
        person = User(
            email="ban.hang@example.com",
            name="Nguyễn Thị Bán Hàng",
            employment_type=EmploymentType.STAFF,
            location="Hà Nội",
            hire_date=date(2022, 3, 1),
        )
        person.set_roles({Role.EMPLOYEE})
        db.session.add(person)
        db.session.commit()
        link = ensure_default_link(person)
        found = link.id, link.code
        db.session.remove()
        db.engine.dispose()
    return found


def count_clicks(url: str) -> tuple[int, int]:
    """All clicks stored, and those stored as human clicks."""
    with psycopg.connect(libpq(url)) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE NOT is_bot) FROM click"
        ).fetchone()
    assert row is not None
    total, human = row
    return int(total), int(human)


def report(label: str, load: Load) -> None:
    print(
        f"  {label}: {load.per_second:,.0f} req/s "
        f"({load.measured:,} 302s in {load.measured_seconds:.1f} s after {load.warm_up:,} "
        f"in the warm-up; other statuses {load.other_statuses}, errors {load.errors})"
    )
    if load.redirects:
        print(
            f"    server workers' CPU: {load.server_cpu:.1f} s, "
            f"{load.server_cpu / load.redirects * 1e6:,.0f} µs per redirect"
        )
    if load.first_error:
        print(f"    first problem: {load.first_error}")


def probe(port: int, path: str) -> tuple[int, int]:
    """One request: its status and the size of the Set-Cookie header it got."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", path, headers={"User-Agent": USER_AGENT})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, len(response.getheader("Set-Cookie") or "")


def main() -> int:
    server = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    logs = Path(tempfile.mkdtemp(prefix="perks-bench-redirect-"))
    with scratch_database(server) as url:
        link_id, code = seed(url)
        path = f"/r/{code}"
        print(
            f"{NAME}: database {make_url(url).database}; gunicorn {WORKERS} sync workers; "
            f"load {PROCESSES} processes × {THREADS} threads, {WARM_UP_SECONDS:g} s warm-up + "
            f"{MEASURE_SECONDS:g} s; logs in {logs}"
        )
        base_env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PERKS_", "DATABASE_", "CLICK_", "REDIRECT_", "TEST_"))
        }

        bare_env = {
            **base_env,
            "BENCH_SECRET_KEY": SECRET_KEY,
            "BENCH_LINK_ID": str(link_id),
        }

        def run_baseline(label: str) -> tuple[Load, int, int]:
            with gunicorn("bench._bare:app", bare_env, logs / "bare.log") as (port, stopper):
                status, cookie = probe(port, path)
                before = cpu_seconds(stopper.process.pid)
                load = generate_load(port, path)
                load.server_cpu = cpu_seconds(stopper.process.pid) - before
            report(label, load)
            return load, status, cookie

        bare, bare_status, bare_cookie = run_baseline("bare Flask 302 + cookie, before")

        app_env = {
            **base_env,
            "PERKS_ENV": "development",  # plain HTTP on loopback; the click settings below
            "DATABASE_URL": make_url(url).render_as_string(hide_password=False),
            "SECRET_KEY": SECRET_KEY,
            "RATELIMIT_ENABLED": "false",
            "CLICK_WRITE_MODE": "batched",
            "REDIRECT_CACHE_SECONDS": "5",
            "MAIL_BACKEND": "outbox",
        }
        with gunicorn("wsgi:app", app_env, logs / "app.log") as (port, stopper):
            app_status, app_cookie = probe(port, path)
            before = cpu_seconds(stopper.process.pid)
            real = generate_load(port, path)
            real.server_cpu = cpu_seconds(stopper.process.pid) - before
            exit_code = stopper.stop()  # SIGTERM and wait: the workers write their queues
        report("Perks /r/<code>", real)
        # The machine is shared: the baseline again, after, and the ratio against both.
        bare_after, *_ = run_baseline("bare Flask 302 + cookie, after")
        baseline = (bare.per_second + bare_after.per_second) / 2
        print(
            f"  first answers: bare {bare_status} with a {bare_cookie}-byte Set-Cookie, "
            f"Perks {app_status} with a {app_cookie}-byte one; gunicorn exited with {exit_code}"
        )
        stored, human = count_clicks(url)
        # The probe before the load is a redirect too, and made a click.
        requests = real.redirects + (app_status == 302)
        print(
            f"  clicks stored {stored:,} ({human:,} human) for {requests:,} redirects "
            "(warm-up and the cookie probe included)"
        )

    ratio = real.per_second / baseline if baseline else 0.0
    drift = abs(bare.per_second - bare_after.per_second) / baseline if baseline else 1.0
    bare_cpu = (bare.server_cpu + bare_after.server_cpu) / max(
        1, bare.redirects + bare_after.redirects
    )
    real_cpu = real.server_cpu / max(1, real.redirects)
    print(
        f"  baseline {baseline:,.0f} req/s (mean of before and after, which differ by "
        f"{drift:.0%}); Perks {real.per_second:,.0f} req/s"
    )
    print(
        f"  CPU per redirect: bare {bare_cpu * 1e6:,.0f} µs, Perks {real_cpu * 1e6:,.0f} µs "
        f"(ratio {real_cpu / bare_cpu if bare_cpu else 0:.2f})"
    )
    problems = []
    if drift > BASELINE_DRIFT:
        print(
            f"{NAME}: run discarded: the baselines differ by {drift:.0%} "
            f"(more than {BASELINE_DRIFT:.0%}): the machine's load changed; run it again"
        )
        return 2
    if ratio < TARGET_RATIO:
        problems.append(f"ratio {ratio:.2f} under {TARGET_RATIO:.2f}")
    if real_cpu > bare_cpu:
        problems.append("more CPU per redirect than the bare Flask 302")
    if stored != requests or human != requests:
        problems.append(f"{requests - stored:+,} clicks missing")
    if any(load.errors or load.other_statuses for load in (bare, real, bare_after)):
        problems.append("some requests failed (see above)")
    if (bare_status, app_status) != (302, 302) or bare_cookie != app_cookie:
        problems.append("the two servers do not answer the same 302 with the same cookie")
    for problem in problems:
        print(f"  FAIL: {problem}")
    verdict = "FAIL" if problems else "PASS"
    same = "==" if stored == requests else "!="
    print(
        f"{NAME}: ratio {ratio:.2f}, CPU per redirect {real_cpu / bare_cpu if bare_cpu else 0:.2f}"
        f"× the bare 302's, clicks stored {stored} {same} requests {requests} "
        f"(target ≥ {TARGET_RATIO:.2f}, ≤ 1.00, equal) {verdict}"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
