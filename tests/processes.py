"""Real processes for the tests that need them: a Redis server of the test's own, a Celery
worker, Celery beat and gunicorn, each started on loopback and stopped by the test."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import spare_port

ROOT = Path(__file__).resolve().parent.parent


def wait_for(condition: Callable[[], object], *, timeout: float = 30.0, what: str = "") -> Any:
    """Poll ``condition`` until it returns something true; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"gave up after {timeout:.0f} s waiting for {what or condition}")


class Process:
    """A child process whose output goes to a log file the test can read."""

    def __init__(self, name: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.log_path = Path(tempfile.mkstemp(prefix=f"perks-{name}-", suffix=".log")[1])
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = 60.0) -> None:
        def seen() -> bool:
            if self.popen.poll() is not None:
                pytest.fail(f"{self.name} exited early:\n{self.output()[-3000:]}")
            return text in self.output()

        wait_for(seen, timeout=timeout, what=f"{self.name} to say {text!r}")

    def stop(self, timeout: float = 20.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout)
        self._log.close()


class RedisServer:
    """A redis-server of the test's own on a spare port: it can be stopped and started again
    on the same port, which the machine's shared Redis must never be."""

    def __init__(self) -> None:
        self.port = spare_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: Process | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed on this machine")
        self.process = Process(
            "redis",
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            dict(os.environ),
        )
        self.process.wait_for_output("Ready to accept connections", timeout=20)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def process_env(database_url: str, **settings: object) -> dict[str, str]:
    """The environment of a worker, beat or web process on the test database."""
    env = {
        **os.environ,
        "PERKS_ENV": "testing",
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "DATABASE_URL": database_url,
        "CELERY_ALWAYS_EAGER": "false",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("TEST_DATABASE_URL", None)
    env.update({key: str(value) for key, value in settings.items()})
    return env


@contextmanager
def celery_worker(env: dict[str, str]) -> Iterator[Process]:
    """A real Celery worker (``celery -A perks.worker worker``), ready to take tasks."""
    worker = Process(
        "worker",
        [
            sys.executable, "-m", "celery", "-A", "perks.worker", "worker",
            "--pool", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--loglevel", "info", "--hostname", f"test-{uuid.uuid4().hex[:8]}@%h",
        ],
        env,
    )  # fmt: skip
    try:
        worker.wait_for_output("ready.")
        yield worker
    finally:
        worker.stop()


@contextmanager
def celery_beat(env: dict[str, str], schedule_dir: Path) -> Iterator[Process]:
    """Celery beat (``celery -A perks.worker beat``) with its schedule file in a test folder."""
    beat = Process(
        "beat",
        [
            sys.executable, "-m", "celery", "-A", "perks.worker", "beat", "--loglevel", "info",
            "--schedule", str(schedule_dir / f"beat-{uuid.uuid4().hex[:8]}"),
        ],
        env,
    )  # fmt: skip
    try:
        beat.wait_for_output("beat: Starting")
        yield beat
    finally:
        beat.stop()
