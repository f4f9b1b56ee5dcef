"""The app under gunicorn with the shipped gunicorn.conf.py: two workers, one set of metrics,
and a clean stop that writes every queued click."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from perks.extensions import db
from perks.referrals.models import Click
from tests import factories
from tests.helpers import spare_port

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
HEALTH_REQUESTS = 60
REDIRECTS = 10


@dataclass
class Gunicorn:
    url: str
    metrics_dir: Path
    process: subprocess.Popen[bytes]


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn stopped: {process.returncode}")
        try:
            if requests.get(url + "/healthz", timeout=10).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    raise AssertionError("gunicorn did not answer in time")


@pytest.fixture
def gunicorn(app, database_url, tmp_path) -> Iterator[Gunicorn]:  # type: ignore[no-untyped-def]
    """gunicorn.conf.py with two workers on a spare port, on the test database."""
    if not GUNICORN.exists():
        pytest.skip(f"{GUNICORN} is missing (make venv installs it)")
    port = spare_port()
    metrics_dir = tmp_path / "metrics"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "CELERY_BROKER_URL", "RATELIMIT_STORAGE_URI"}
    }
    env.update(
        PERKS_ENV="development",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL="memory://",
        CLICK_WRITE_MODE="batched",
        CLICK_FLUSH_SECONDS="3600",  # only a stop writes the queue
        WEB_CONCURRENCY="2",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [str(GUNICORN), "--config", "gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process)
        yield Gunicorn(url, metrics_dir, process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        log.close()


def test_two_workers_share_one_set_of_metrics_and_a_stop_writes_every_click(gunicorn, app):
    url, metrics_dir = gunicorn.url, gunicorn.metrics_dir
    code = factories.ReferralLinkFactory().code
    db.session.commit()
    before = requests.get(url + "/metrics", timeout=5).text

    # One request arrives slowly: the worker that took it waits for the rest of it, so the
    # other worker answers everything else. Both workers serve; one scrape must count all.
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        time.sleep(0.5)  # taken by a worker by now
        statuses = [
            requests.get(url + "/healthz", timeout=10).status_code for _ in range(HEALTH_REQUESTS)
        ]
        slow.sendall(b"Connection: close\r\n\r\n")
        assert slow.makefile("rb").readline().split()[1] == b"200"
    assert statuses == [200] * HEALTH_REQUESTS
    with ThreadPoolExecutor(max_workers=4) as pool:
        redirects = list(
            pool.map(
                lambda _: (
                    requests.get(f"{url}/r/{code}", allow_redirects=False, timeout=10).status_code
                ),
                range(REDIRECTS),
            )
        )
    assert redirects == [302] * REDIRECTS

    scraped = requests.get(url + "/metrics", timeout=5)
    assert scraped.status_code == 200

    def count(text: str, endpoint: str, status: str) -> float:
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "perks_http_requests_total"
            and sample.labels == {"endpoint": endpoint, "method": "GET", "status": status}
        )

    health = count(scraped.text, "main.health", "200") - count(before, "main.health", "200")
    assert health == HEALTH_REQUESTS + 1
    assert count(scraped.text, "referrals.redirect", "302") == REDIRECTS
    workers = {
        re.fullmatch(r"counter_(\d+)\.db", path.name).group(1)  # type: ignore[union-attr]
        for path in metrics_dir.glob("counter_*.db")
    }
    assert len(workers) == 2, "both workers answered, and the scrape added them up"

    # The clicks wait in the workers' queues (flushed hourly here) until gunicorn stops.
    assert db.session.scalar(select(func.count()).select_from(Click)) == 0
    gunicorn.process.send_signal(signal.SIGTERM)
    assert gunicorn.process.wait(timeout=40) == 0
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Click)) == REDIRECTS
