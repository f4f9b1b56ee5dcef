"""gunicorn's settings for Perks: ``.venv/bin/gunicorn --config gunicorn.conf.py wsgi:app``.

Each can be changed from the environment (README, "Running in production"):

``WEB_CONCURRENCY`` (2)
    worker processes; about two per core.
``GUNICORN_BIND`` (``127.0.0.1:8000``)
    where to listen; several addresses separated by commas.
``GUNICORN_TIMEOUT`` (30 s)
    a worker silent for this long is killed and replaced. Every outbound call is bounded
    well below it (Stripe: ``STRIPE_TIMEOUT_SECONDS`` and ``STRIPE_MAX_RETRIES``, 20.5 s with
    the defaults; SMTP: ``MAIL_TIMEOUT_SECONDS``; the database's connect and statement
    timeouts), and
    ``on_starting`` refuses to start when one of them is not.
``GUNICORN_GRACEFUL_TIMEOUT`` (30 s)
    on a stop or a reload, how long a worker may finish its requests and write its queued
    clicks before it is killed.
``GUNICORN_ACCESS_LOG`` (empty: off)
    ``-`` for standard output, or a file: one JSON object per request, with its
    ``X-Request-ID``. The app's own logs (``LOG_FORMAT``) carry the request id too, and
    gunicorn's own (a worker booting, timing out or crashing) follow ``LOG_FORMAT`` as well.
``PROMETHEUS_MULTIPROC_DIR`` (a new temporary folder)
    where the workers keep their metrics for ``/metrics`` to add up; emptied at start.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

wsgi_app = "wsgi:app"
bind = [
    address.strip()
    for address in os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split(",")
    if address.strip()
]
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or 30)
keepalive = 5  # behind a proxy that reuses its connections
# Not preloaded: each worker imports the app after ``on_starting`` has set up the metrics
# folder, which prometheus_client reads when it is first imported.
preload_app = False
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
# gunicorn's control socket is one path per user: two instances on one host would share it.
control_socket_disable = True


#: paths whose last part is a secret (an anonymous feedback's follow-up link): the access log
#: keeps the prefix only, so no log line joins the secret to an address and a moment
SECRET_PATHS = ("/feedback/follow-up/",)


def logged_path(path: str | None) -> str | None:
    """``path`` as the access log writes it: a secret path's secret left out."""
    for prefix in SECRET_PATHS:
        if path and path.startswith(prefix):
            rest = path[len(prefix) :]
            action = rest.split("/", 1)[1] if "/" in rest else ""
            return f"{prefix}…" + (f"/{action}" if action else "")
    return path


class _NoRequest(logging.Filter):
    """gunicorn's own records belong to no request: ``request_id`` is ``-``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = "-"
        return True


class JsonAccessLogger(Logger):
    """gunicorn's logger, writing its access log as one JSON object per request, and its
    own log (master and workers) in the app's ``LOG_FORMAT``: with ``json`` (production's
    default), one JSON object per line with the app's fields (``timestamp``, ``level``,
    ``logger``, ``message``, ``request_id``) and the process's ``pid``."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # perks.config only: perks.observability would import prometheus_client in the master
        # before on_starting has set up the metrics folder
        from perks.config import load_settings

        if str(load_settings().get("LOG_FORMAT") or "").lower() != "json":
            return
        from pythonjsonlogger.json import JsonFormatter

        formatter = JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(process)d",
            rename_fields={
                "asctime": "timestamp",
                "levelname": "level",
                "name": "logger",
                "process": "pid",
            },
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
        for handler in self.error_log.handlers:
            if getattr(handler, "_gunicorn", False):
                handler.setFormatter(formatter)
                handler.addFilter(_NoRequest())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        request_id = next(
            (value for name, value in resp.headers if name.lower() == "x-request-id"), None
        )
        entry = {
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "logger": "gunicorn.access",
            "remote_addr": environ.get("REMOTE_ADDR", "-"),
            "method": environ.get("REQUEST_METHOD"),
            "path": logged_path(environ.get("PATH_INFO")),
            "status": str(resp.status).split(None, 1)[0],
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "request_id": request_id,
            "user_agent": environ.get("HTTP_USER_AGENT"),
        }
        try:
            self.access_log.info(json.dumps(entry, ensure_ascii=False))
        except Exception:
            self.error("could not write the access log line")


logger_class = JsonAccessLogger
access_log_format = "%(message)s"


# --- bounds ---------------------------------------------------------------------------------


def outbound_bounds(settings: dict[str, Any] | None = None) -> dict[str, float]:
    """The longest each outbound call can hold a worker, in seconds, for these settings
    (default: the environment's)."""
    from perks.config import load_settings
    from perks.payments.stripe_gateway import call_time_bound

    settings = load_settings() if settings is None else settings
    bounds = {
        "Stripe (STRIPE_TIMEOUT_SECONDS, STRIPE_MAX_RETRIES)": call_time_bound(settings),
        "SMTP (MAIL_TIMEOUT_SECONDS)": float(settings["MAIL_TIMEOUT_SECONDS"]),
        "database connect (DATABASE_CONNECT_TIMEOUT_SECONDS)": float(
            settings.get("DATABASE_CONNECT_TIMEOUT_SECONDS", 0)
        ),
    }
    # a statement past its timeout is cancelled and the page says so; one the worker's
    # timeout ends first gets the worker killed (a 502 from the proxy). 0: never cancelled
    statement_ms = int(settings.get("DATABASE_STATEMENT_TIMEOUT_MS") or 0)
    if statement_ms > 0:
        bounds["database statement (DATABASE_STATEMENT_TIMEOUT_MS)"] = statement_ms / 1000
    return bounds


# --- hooks ----------------------------------------------------------------------------------


def on_starting(server: Any) -> None:
    """In the master, before any worker: check the bounds, set up the metrics folder."""
    too_long = {name: s for name, s in outbound_bounds().items() if s >= server.cfg.timeout}
    if too_long:
        listed = ", ".join(f"{name}: {seconds:g} s" for name, seconds in too_long.items())
        raise SystemExit(
            f"gunicorn's timeout ({server.cfg.timeout} s) must be above every outbound call's "
            f"bound: {listed}. Raise GUNICORN_TIMEOUT or lower those settings."
        )
    folder = os.environ.get(MULTIPROC_ENV)
    if folder:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):  # a previous run's workers: not ours to add up
            stale.unlink()
    else:
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="perks-metrics-")
        server._perks_metrics_tmp = os.environ[MULTIPROC_ENV]
    server.log.info("metrics of every worker are kept in %s", os.environ[MULTIPROC_ENV])


def post_worker_init(worker: Any) -> None:
    """In the worker, once it has loaded the app: what is loaded so far (modules, the app)
    lives as long as the worker, so it leaves the garbage collector's generations
    (``gc.freeze``) and no collection walks it again."""
    gc.collect()
    gc.freeze()


def worker_exit(server: Any, worker: Any) -> None:
    """In the worker, as it stops: write the clicks still queued (perks.referrals.clicks)."""
    from perks.referrals.clicks import close_all_recorders

    written = close_all_recorders()
    if written:
        server.log.info("worker %s wrote %d queued clicks on exit", worker.pid, written)


def child_exit(server: Any, worker: Any) -> None:
    """In the master, when a worker has gone: its live gauges leave the metrics."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    """Remove the metrics folder this run made for itself (not one given in the env)."""
    folder = getattr(server, "_perks_metrics_tmp", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
