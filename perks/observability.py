"""What an operator sees of the running app: logs with a request id, and errors in Sentry.

* **Request id.** Every request gets one: the ``X-Request-ID`` header a proxy sent, when it
  is well formed (``REQUEST_ID_PATTERN``), or a new random one. It is kept on ``g.request_id``,
  returned in the response's ``X-Request-ID`` header, and added to every log record written
  while the request runs (``request_id``; ``-`` outside a request). It is set from Flask's
  ``request_started`` and ``request_finished`` signals, whose two receivers also count the
  request in the metrics (``perks.metrics``); the referral redirect, a WSGI app of its own
  in front of Flask (``perks.referrals.redirect_app``), does both itself.
* **Logs.** One handler on the root logger, writing to standard error: JSON lines with
  ``LOG_FORMAT=json`` (the default in production: ``timestamp``, ``level``, ``logger``,
  ``message``, ``request_id``, and anything passed in ``extra=``), or readable text
  (``LOG_FORMAT=text``, the default elsewhere). ``LOG_LEVEL`` sets the level (``INFO``).
* **Sentry**, only when ``SENTRY_DSN`` is set: the Flask and Celery integrations,
  ``send_default_pii=False`` (no cookies, IP addresses or user e-mails), ``environment`` is
  ``PERKS_ENV``, and each event is tagged with the request id.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any, TextIO
from urllib.parse import unquote

from flask import Flask, Response, g, has_app_context, request_finished, request_started
from flask.globals import request_ctx
from pythonjsonlogger.json import JsonFormatter

from perks.metrics import count_request, init_metrics

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_ENVIRON = "HTTP_X_REQUEST_ID"
#: where the request's id and start time are kept for the request_finished receiver
_REQUEST_ID = "perks.request_id"
_STARTED = "perks.request_started"
#: what a request id from outside may look like: a UUID, a hex or base64url token, a
#: load balancer's "Root=1-..." id; anything else (too long, spaces, quotes) is replaced
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/-]{7,127}")
LOG_FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
#: request headers never sent to Sentry (besides its own denylist: cookies, authorization)
PII_HEADER_TERMS = ["forwarded", "-ip", "remote-", "via", "-user", "cookie", "authorization"]
#: marks the handler ``init_logging`` installed, so a second app replaces it
_HANDLER_MARK = "perks_log_handler"


def new_request_id() -> str:
    """32 random hex digits (as ``uuid4().hex``, for less work on the redirect's hot path)."""
    return os.urandom(16).hex()


def current_request_id() -> str | None:
    """The id of the request being handled, or None outside one."""
    if not has_app_context():
        return None
    return g.get("request_id")


class _StandardError(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a record comes (as ``logging.lastResort``
    does), not to the stream of the moment the app was made."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


def log_formatter(log_format: str) -> logging.Formatter:
    """The formatter of ``LOG_FORMAT``: one JSON object per line, or readable text."""
    if log_format == "json":
        return JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "timestamp", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    return logging.Formatter(TEXT_FORMAT)


def init_logging(app: Flask, stream: IO[str] | None = None) -> logging.Handler:
    """Log to ``stream`` (standard error) in ``LOG_FORMAT``, every record with its request
    id, and give every request an id (module docstring). Returns the handler.

    Raises:
        ValueError: ``LOG_FORMAT`` is neither ``json`` nor ``text``.
    """
    log_format = str(app.config.get("LOG_FORMAT") or "text").lower()
    if log_format not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    handler = logging.StreamHandler(stream) if stream is not None else _StandardError()
    handler.setFormatter(log_formatter(log_format))
    handler.addFilter(RequestIdFilter())
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(str(app.config.get("LOG_LEVEL") or "INFO").upper())
    # Flask gives ``app.logger`` a handler of its own only when no handler above it would
    # take its records: the root's does, so every record has one format.
    return handler


def init_request_tracking(app: Flask) -> None:
    """Give every request its id, and count it in the metrics (``perks.metrics``), from one
    receiver per signal: a signal's receivers cost the redirect's hot path time each."""
    request_started.connect(_start_request, app)
    request_finished.connect(_finish_request, app)


def request_id_from(environ: Mapping[str, Any]) -> str:
    """The request's id: the one a proxy sent, if well formed, else a new one."""
    given = environ.get(REQUEST_ID_ENVIRON)
    return given if given and REQUEST_ID_PATTERN.fullmatch(given) else new_request_id()


def _start_request(sender: Flask, **extra: Any) -> None:
    environ = request_ctx.request.environ
    request_id = request_id_from(environ)
    environ[_STARTED] = time.perf_counter()
    environ[_REQUEST_ID] = g.request_id = request_id


def _finish_request(sender: Flask, response: Response, **extra: Any) -> None:
    request = request_ctx.request
    environ = request.environ
    request_id = environ.get(_REQUEST_ID)
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    started = environ.get(_STARTED)
    count_request(request, response, None if started is None else time.perf_counter() - started)


# --- Sentry ---------------------------------------------------------------------------------


def init_sentry(app: Flask) -> bool:
    """Report errors to Sentry when ``SENTRY_DSN`` is set; nothing otherwise. Returns whether
    Sentry is on."""
    dsn = app.config.get("SENTRY_DSN")
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.flask import FlaskIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=app.config["PERKS_ENV"],
        integrations=[FlaskIntegration(), CeleryIntegration()],
        # What send_default_pii=False means (that option is deprecated), and stricter: no
        # user, no cookies, no request bodies (forms hold passwords and personal data), no
        # local variables (a WSGI environ holds the client's address), no task arguments.
        data_collection={
            "user_info": False,
            "cookies": {"mode": "off"},
            "http_headers": {"request": {"mode": "denylist", "terms": PII_HEADER_TERMS}},
            "http_bodies": [],
            "url_query_params": {"mode": "denylist", "terms": PII_HEADER_TERMS},
            "database_query_data": False,
            "queues": False,
            "stack_frame_variables": False,
        },
        traces_sample_rate=float(app.config.get("SENTRY_TRACES_SAMPLE_RATE") or 0.0),
        before_send=_tag_request_id,
    )
    return True


#: paths whose next part is a secret (an anonymous sender's follow-up link: the key to their
#: conversation); gunicorn's access log leaves it out too (``gunicorn.conf.py``)
SECRET_PATHS = ("/feedback/follow-up/",)
_SECRET_IN_PATH = re.compile(
    "(" + "|".join(re.escape(path) for path in SECRET_PATHS) + r")[^/?&#\s\"]+"
)


def without_secrets(text: str) -> str:
    """``text`` (a URL, a path, a query string, percent-encoded or not) with the secret of
    every secret path in it replaced by "…". Raises nothing."""
    return _SECRET_IN_PATH.sub(r"\1…", unquote(text))


def _tag_request_id(event: Event, hint: Hint) -> Event:
    """Sentry's ``before_send``: the request id as a tag, and no secret of a secret path in
    the request's URL or query string (a signed-out sender's sign-in page carries it in
    ``next``), nor in the transaction's name."""
    request_id = current_request_id()
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    sent_request: dict[str, Any] = dict(event.get("request") or {})
    for part in ("url", "query_string"):
        value = sent_request.get(part)
        if isinstance(value, str):
            sent_request[part] = without_secrets(value)
    if sent_request:
        event["request"] = sent_request
    transaction = event.get("transaction")
    if isinstance(transaction, str):
        event["transaction"] = without_secrets(transaction)
    return event


def init_observability(app: Flask) -> None:
    """Logs with request ids, Prometheus metrics (``perks.metrics``), and Sentry if set."""
    init_logging(app)
    init_request_tracking(app)
    init_metrics(app)
    init_sentry(app)
