"""Logs carry a request id, in JSON in production; Sentry hears of errors when it is set."""

from __future__ import annotations

import gzip
import io
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask, g

from perks.observability import (
    REQUEST_ID_HEADER,
    current_request_id,
    init_logging,
    init_sentry,
    log_formatter,
)
from tests import factories

LOGGER = "perks.tests.observability"


def app_with_test_routes(app_factory, **settings: Any) -> Flask:  # type: ignore[no-untyped-def]
    """A fresh app (routes can only be added before its first request) with two routes of
    its own: one that logs, one that fails."""
    app = app_factory(**settings)

    @app.get("/_test/log")
    def log_something() -> str:
        logging.getLogger(LOGGER).warning("redeemed %s", "ABC-123", extra={"order_id": 42})
        return g.request_id

    @app.get("/_test/fail")
    def fail() -> str:
        raise ZeroDivisionError("a bug in a view")

    @app.get("/feedback/follow-up/<secret>/_test-fail")
    def fail_on_a_secret_path(secret: str) -> str:
        raise ZeroDivisionError("a bug on an anonymous sender's page")

    return app


@pytest.fixture
def captured(app_factory) -> Iterator[tuple[Flask, io.StringIO]]:  # type: ignore[no-untyped-def]
    app = app_with_test_routes(app_factory, LOG_FORMAT="json")
    # Alembic's fileConfig (migrations/env.py, run once by the session's fixtures) disables
    # every logger that existed before it, the app's among them; a web process never runs it.
    logging.getLogger(app.name).disabled = False
    stream = io.StringIO()
    handler = init_logging(app, stream=stream)
    yield app, stream
    logging.getLogger().removeHandler(handler)


def records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


# --- the request id -------------------------------------------------------------------------


def test_every_answer_carries_a_new_request_id(client):
    first = client.get("/healthz").headers[REQUEST_ID_HEADER]
    second = client.get("/healthz").headers[REQUEST_ID_HEADER]

    assert len(first) == 32
    int(first, 16)
    assert first != second


def test_a_well_formed_request_id_from_the_proxy_is_kept(client):
    given = str(uuid.uuid4())
    response = client.get("/login", headers={REQUEST_ID_HEADER: given})
    assert response.headers[REQUEST_ID_HEADER] == given


@pytest.mark.parametrize(
    "given",
    [
        "short",
        "x" * 200,
        "has spaces in it",
        'quote"injection-attempt',
        "line\u2028break-attempt-1234",
        "<script>alert(1)</script>",
        "",
    ],
)
def test_a_malformed_request_id_is_replaced(client, given):
    response = client.get("/healthz", headers={REQUEST_ID_HEADER: given})
    assert response.headers[REQUEST_ID_HEADER] != given
    assert len(response.headers[REQUEST_ID_HEADER]) == 32


def test_the_lean_referral_redirect_carries_a_request_id_too(client):
    link = factories.ReferralLinkFactory()
    response = client.get(f"/r/{link.code}")
    assert response.status_code == 302
    assert len(response.headers[REQUEST_ID_HEADER]) == 32


def test_error_pages_carry_the_request_id(client):
    response = client.get("/no-such-page", headers={REQUEST_ID_HEADER: "req-0123456789"})
    assert response.status_code == 404
    assert response.headers[REQUEST_ID_HEADER] == "req-0123456789"


# --- logs -----------------------------------------------------------------------------------


def test_a_log_record_written_during_a_request_is_json_with_its_request_id(captured):
    app, stream = captured

    response = app.test_client().get("/_test/log", headers={REQUEST_ID_HEADER: "abc-12345678"})

    assert response.get_data(as_text=True) == "abc-12345678"
    (line,) = [r for r in records(stream) if r["logger"] == LOGGER]
    assert line["message"] == "redeemed ABC-123"
    assert line["level"] == "WARNING"
    assert line["request_id"] == "abc-12345678"
    assert line["order_id"] == 42  # what the caller passed in ``extra``
    assert line["timestamp"]


def test_each_request_logs_under_its_own_id(captured):
    app, stream = captured
    client = app.test_client()

    ids = [client.get("/_test/log").get_data(as_text=True) for _ in range(3)]

    logged = [r["request_id"] for r in records(stream) if r["logger"] == LOGGER]
    assert logged == ids
    assert len(set(ids)) == 3


def test_records_outside_a_request_say_so(captured):
    app, stream = captured
    logging.getLogger(LOGGER).warning("at start-up")
    with app.app_context():
        logging.getLogger(LOGGER).warning("in a task")
        assert current_request_id() is None

    assert [r["request_id"] for r in records(stream)] == ["-", "-"]


def test_an_exception_is_logged_as_one_json_record_with_its_traceback(captured):
    app, stream = captured
    app.config["PROPAGATE_EXCEPTIONS"] = False

    response = app.test_client().get("/_test/fail", headers={REQUEST_ID_HEADER: "fail-1234567"})

    assert response.status_code == 500
    (failure,) = [r for r in records(stream) if r["level"] == "ERROR"]
    assert failure["request_id"] == "fail-1234567"
    assert "ZeroDivisionError: a bug in a view" in failure["exc_info"]


def test_text_logs_for_development_name_the_request_id():
    record = logging.LogRecord(LOGGER, logging.INFO, __file__, 1, "hello %s", ("you",), None)
    record.request_id = "abc-12345678"

    line = log_formatter("text").format(record)

    assert "INFO [abc-12345678] perks.tests.observability: hello you" in line


def test_an_unknown_log_format_is_refused(app_factory):
    from perks.config import ConfigurationError

    with pytest.raises(ConfigurationError, match="LOG_FORMAT"):
        app_factory(LOG_FORMAT="xml")


def test_one_handler_however_many_apps_are_made(app_factory):
    for _ in range(3):
        app_factory()
    ours = [h for h in logging.getLogger().handlers if getattr(h, "perks_log_handler", False)]
    assert len(ours) == 1


# --- Sentry ---------------------------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    """A stand-in for Sentry's ingestion endpoint: keeps every envelope it is sent."""

    received: list[bytes]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        elif self.headers.get("Content-Encoding") == "br":
            import brotli  # type: ignore[import-not-found]

            body = brotli.decompress(body)
        self.server.received.append(body)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def sentry_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def sentry_off_afterwards() -> Iterator[None]:
    """Sentry as an app without ``SENTRY_DSN`` has it: no client at all. ``sentry_sdk.init``
    patches Flask and SQLAlchemy for the life of the process; with a client left behind (even
    one without a DSN: ``init(dsn=None)`` still turns the integrations on), every later test's
    requests and statements went through Sentry's spans, about a twentieth of the suite's
    time on this test's worker."""
    yield
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.sqlalchemy import SqlalchemyIntegration

    sentry_sdk.get_client().close(timeout=2)
    sentry_sdk.get_global_scope().set_client(None)
    client = sentry_sdk.get_client()
    assert not client.is_active()
    assert client.get_integration(FlaskIntegration) is None
    assert client.get_integration(SqlalchemyIntegration) is None


def envelope_items(raw: bytes) -> list[dict[str, Any]]:
    """The JSON items of a Sentry envelope (header line, then item header and payload)."""
    items = []
    for line in raw.split(b"\n"):
        try:
            items.append(json.loads(line))
        except ValueError:
            continue
    return items


def test_without_a_dsn_sentry_stays_off(app):
    import sentry_sdk

    assert app.config["SENTRY_DSN"] == ""
    assert init_sentry(app) is False
    assert not sentry_sdk.get_client().is_active()


def test_an_error_in_a_view_reaches_sentry_without_personal_data(
    app_factory, sentry_server, sentry_off_afterwards
):
    import sentry_sdk

    port = sentry_server.server_address[1]
    app = app_with_test_routes(
        app_factory, SENTRY_DSN=f"http://publickey@127.0.0.1:{port}/42", PROPAGATE_EXCEPTIONS=False
    )
    assert sentry_sdk.get_client().is_active()

    response = app.test_client().get(
        "/_test/fail",
        headers={REQUEST_ID_HEADER: "sentry-1234567", "Cookie": "session=secret-cookie"},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert response.status_code == 500
    sentry_sdk.flush(timeout=10)

    events = [
        item
        for raw in sentry_server.received  # type: ignore[attr-defined]
        for item in envelope_items(raw)
        if "exception" in item
    ]
    assert len(events) == 1
    (event,) = events
    assert event["exception"]["values"][-1]["type"] == "ZeroDivisionError"
    assert event["environment"] == "testing"
    assert event["tags"]["request_id"] == "sentry-1234567"
    sent = json.dumps(event)
    assert "secret-cookie" not in sent  # no personal data (send_default_pii=False, and more)
    assert "198.51.100.7" not in sent


def test_an_error_on_a_secret_path_reaches_sentry_without_the_secret(
    app_factory, sentry_server, sentry_off_afterwards
):
    """An anonymous sender's follow-up link is the key to their conversation: an error on
    its page, or on the sign-in page it sends a signed-out sender to (``next``), must not
    hand it to whoever reads Sentry."""
    import sentry_sdk

    port = sentry_server.server_address[1]
    app = app_with_test_routes(
        app_factory, SENTRY_DSN=f"http://publickey@127.0.0.1:{port}/42", PROPAGATE_EXCEPTIONS=False
    )
    client = app.test_client()
    on_the_page = client.get("/feedback/follow-up/s3cr3t-in-the-path/_test-fail")
    after_sign_in = client.get("/_test/fail?next=/feedback/follow-up/s3cr3t-in-next")
    assert (on_the_page.status_code, after_sign_in.status_code) == (500, 500)
    sentry_sdk.flush(timeout=10)

    events = [
        item
        for raw in sentry_server.received  # type: ignore[attr-defined]
        for item in envelope_items(raw)
        if "exception" in item
    ]
    assert len(events) == 2
    sent = json.dumps(events)
    assert "s3cr3t" not in sent
    assert "/feedback/follow-up/" in sent  # the page is still named
