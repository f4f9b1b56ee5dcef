"""The shipped gunicorn.conf.py: its hooks, and a worker timeout above every outbound bound."""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import prometheus_client  # noqa: F401 - imported before a test sets PROMETHEUS_MULTIPROC_DIR
import pytest

from perks.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def load_conf() -> ModuleType:
    """gunicorn.conf.py as gunicorn reads it: a Python file, run afresh (the environment is
    read when it is run)."""
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_server(timeout: int = 30) -> SimpleNamespace:
    return SimpleNamespace(cfg=SimpleNamespace(timeout=timeout), log=logging.getLogger("test"))


@pytest.fixture
def no_gunicorn_env(monkeypatch):  # type: ignore[no-untyped-def]
    for name in ("WEB_CONCURRENCY", "GUNICORN_BIND", "GUNICORN_TIMEOUT", "GUNICORN_ACCESS_LOG"):
        monkeypatch.delenv(name, raising=False)
    # set, then removed: whatever a hook sets is undone after the test
    monkeypatch.setenv(MULTIPROC_ENV, "placeholder")
    monkeypatch.delenv(MULTIPROC_ENV)


def test_the_hooks_are_there(no_gunicorn_env):
    conf = load_conf()
    for hook in ("on_starting", "post_worker_init", "worker_exit", "child_exit", "on_exit"):
        assert callable(getattr(conf, hook)), hook
    assert conf.wsgi_app == "wsgi:app"
    assert conf.preload_app is False  # workers import prometheus_client after on_starting


def test_the_defaults(no_gunicorn_env):
    conf = load_conf()
    assert (conf.workers, conf.timeout, conf.graceful_timeout) == (2, 30, 30)
    assert conf.bind == ["127.0.0.1:8000"]
    assert conf.accesslog is None


def test_the_environment_sets_workers_bind_timeouts_and_access_log(no_gunicorn_env, monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    monkeypatch.setenv("GUNICORN_BIND", "0.0.0.0:8000, unix:/run/perks.sock")
    monkeypatch.setenv("GUNICORN_TIMEOUT", "45")
    monkeypatch.setenv("GUNICORN_GRACEFUL_TIMEOUT", "20")
    monkeypatch.setenv("GUNICORN_ACCESS_LOG", "-")

    conf = load_conf()

    assert (conf.workers, conf.timeout, conf.graceful_timeout) == (5, 45, 20)
    assert conf.bind == ["0.0.0.0:8000", "unix:/run/perks.sock"]
    assert conf.accesslog == "-"


@pytest.mark.parametrize("environment", ["development", "production"])
def test_the_worker_timeout_is_above_every_outbound_call(no_gunicorn_env, environment):
    conf = load_conf()
    bounds = conf.outbound_bounds(load_settings({"PERKS_ENV": environment}))

    assert set(bounds) == {
        "Stripe (STRIPE_TIMEOUT_SECONDS, STRIPE_MAX_RETRIES)",
        "SMTP (MAIL_TIMEOUT_SECONDS)",
        "database connect (DATABASE_CONNECT_TIMEOUT_SECONDS)",
        "database statement (DATABASE_STATEMENT_TIMEOUT_MS)",
    }
    assert all(0 < seconds < conf.timeout for seconds in bounds.values()), bounds
    # well below: a Stripe call that times out still leaves the request time to answer
    assert max(bounds.values()) <= conf.timeout * 0.75


def test_gunicorn_refuses_to_start_when_stripe_could_outlast_the_worker(
    no_gunicorn_env, monkeypatch
):
    monkeypatch.setenv("STRIPE_TIMEOUT_SECONDS", "15")
    monkeypatch.setenv("STRIPE_MAX_RETRIES", "2")
    conf = load_conf()

    with pytest.raises(SystemExit, match=r"timeout \(30 s\).*Stripe"):
        conf.on_starting(fake_server(timeout=30))


def test_gunicorn_refuses_to_start_when_a_statement_could_outlast_the_worker(
    no_gunicorn_env, monkeypatch
):
    # the worker would be killed first: a 502 from the proxy instead of the error page
    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT_MS", "30000")
    conf = load_conf()

    with pytest.raises(SystemExit, match=r"timeout \(30 s\).*DATABASE_STATEMENT_TIMEOUT_MS"):
        conf.on_starting(fake_server(timeout=30))


def test_a_statement_timeout_of_0_means_never_and_is_no_bound(no_gunicorn_env, monkeypatch):
    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT_MS", "0")
    conf = load_conf()

    assert "database statement (DATABASE_STATEMENT_TIMEOUT_MS)" not in conf.outbound_bounds()


def test_on_starting_empties_the_metrics_folder_it_is_given(no_gunicorn_env, monkeypatch, tmp_path):
    (tmp_path / "counter_4242.db").write_bytes(b"stale")
    (tmp_path / "keep.txt").write_text("not ours")
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))

    load_conf().on_starting(fake_server())

    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_without_a_metrics_folder_one_is_made_and_removed_at_exit(no_gunicorn_env):
    import os

    conf = load_conf()
    server = fake_server()

    conf.on_starting(server)
    folder = Path(os.environ[MULTIPROC_ENV])
    assert folder.is_dir()
    conf.on_exit(server)
    assert not folder.exists()


def test_child_exit_drops_a_dead_workers_live_gauges(no_gunicorn_env, monkeypatch, tmp_path):
    monkeypatch.setenv(MULTIPROC_ENV, str(tmp_path))
    (tmp_path / "gauge_livesum_4242.db").write_bytes(b"")
    (tmp_path / "counter_4242.db").write_bytes(b"")  # counters stay: they were counted

    load_conf().child_exit(fake_server(), SimpleNamespace(pid=4242))

    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_4242.db"]


def test_worker_exit_writes_the_clicks_still_queued(no_gunicorn_env, app, app_factory):
    from sqlalchemy import func, select

    from perks.extensions import db
    from perks.referrals import clicks
    from perks.referrals.models import Click
    from tests import factories

    link = factories.ReferralLinkFactory()
    db.session.commit()
    batched = app_factory(CLICK_WRITE_MODE="batched", CLICK_FLUSH_SECONDS=3600)
    visitor = batched.test_client()
    for _ in range(4):
        assert visitor.get(f"/r/{link.code}").status_code == 302
    with batched.app_context():
        assert clicks.click_recorder().pending == 4

    load_conf().worker_exit(fake_server(), SimpleNamespace(pid=1))

    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Click)) == 4


def test_the_access_log_leaves_out_a_follow_up_links_secret(no_gunicorn_env):
    conf = load_conf()
    assert conf.logged_path("/feedback/follow-up/s3cr3t") == "/feedback/follow-up/…"
    assert conf.logged_path("/feedback/follow-up/s3cr3t/reply") == "/feedback/follow-up/…/reply"
    assert conf.logged_path("/feedback/12") == "/feedback/12"
    assert conf.logged_path(None) is None


def test_a_worker_that_has_loaded_the_app_freezes_what_it_loaded():
    # In a process of its own: a frozen generation stays frozen for the rest of the process.
    hook = (
        "import gc, runpy\n"
        "conf = runpy.run_path('gunicorn.conf.py')\n"
        "before = gc.get_freeze_count()\n"
        "conf['post_worker_init'](None)\n"
        "print(before, gc.get_freeze_count())\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", hook], cwd=ROOT, capture_output=True, text=True, check=True
    )

    before, frozen = map(int, ran.stdout.split())
    assert before == 0
    assert frozen > 10_000  # the modules gunicorn.conf.py and the hook's process loaded


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_gunicorns_own_log_is_in_the_apps_log_format(no_gunicorn_env, monkeypatch, log_format):
    """Its master and workers write "Booting worker", "WORKER TIMEOUT", a worker's crash: in
    production (``LOG_FORMAT=json``) as JSON lines like the app's and the access log's, or a
    log pipeline that reads JSON cannot parse the lines that matter most."""
    import json

    from gunicorn.config import Config

    monkeypatch.setenv("LOG_FORMAT", log_format)
    conf = load_conf()
    cfg = Config()
    cfg.set("errorlog", "-")
    written = []
    logger = conf.JsonAccessLogger(cfg)
    handler = next(h for h in logger.error_log.handlers if getattr(h, "_gunicorn", False))
    monkeypatch.setattr(handler, "stream", SimpleNamespace(write=written.append, flush=lambda: 0))
    logger.critical("WORKER TIMEOUT (pid:%s)", 4242)

    line = "".join(written).strip()
    if log_format == "json":
        entry = json.loads(line)
        assert entry["message"] == "WORKER TIMEOUT (pid:4242)"
        assert entry["level"] == "CRITICAL"
        assert entry["logger"] == "gunicorn.error"
        assert {"timestamp", "request_id", "pid"} <= set(entry)
    else:
        assert line.endswith("[CRITICAL] WORKER TIMEOUT (pid:4242)")
