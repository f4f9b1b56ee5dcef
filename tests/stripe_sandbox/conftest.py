"""Fixtures of the sandbox's own tests: the sandbox alone, a webhook receiver, a client.

These tests reach the sandbox as the product does (the real ``stripe`` library over HTTP, to
this worker's sandbox server) or as a browser does (its test client, with CSRF tokens);
none of them imports the product.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.stripe_sandbox import LiveSandbox
from tests.stripe_sandbox.helpers import Receiver, sign_in


@pytest.fixture
def receiver(sandbox: LiveSandbox, endpoint: Receiver) -> Iterator[Receiver]:
    """A local endpoint the sandbox's webhooks go to while the test runs."""
    with sandbox.webhooks_to(endpoint.url):
        yield endpoint


@pytest.fixture
def endpoint() -> Iterator[Receiver]:
    """A local endpoint, listening; the sandbox sends it nothing unless told to."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = receiver.answer(dict(self.headers), body)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_port}/hooks"
    try:
        yield receiver
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def control(sandbox: LiveSandbox) -> tuple[FlaskClient, str]:
    """The sandbox's own test client, signed in to the control page, and its CSRF token."""
    client = sandbox.app.test_client()
    return client, sign_in(client)
