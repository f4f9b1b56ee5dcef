"""A real SMTP server on a spare loopback port (aiosmtpd) that tests can stop, restart, or
make refuse every message with a temporary error, as a mail server under trouble does."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.helpers import spare_port


class _Handler:
    def __init__(self, server: SMTPServer) -> None:
        self.server = server

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.server.refusing:
            return "451 4.3.0 Mail server busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.server.delay:  # a slow server: each message takes this long to be accepted
            await asyncio.sleep(self.server.delay)
        self.server.received.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"


class SMTPServer:
    """``received`` holds every accepted message; ``stop()``/``start()`` keep the port."""

    def __init__(self) -> None:
        self.port = spare_port()
        self.received: list[EmailMessage] = []
        self.refusing = False
        #: seconds the server takes to accept each message (0: at once)
        self.delay = 0.0
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def settings(self) -> dict[str, Any]:
        """The app settings that send through this server."""
        return {
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": self.port,
            "MAIL_USE_TLS": False,
            "MAIL_TIMEOUT_SECONDS": 2.0,
            "MAIL_SENDER": "Perks <perks@senvang.example>",
        }

    def to(self, recipient: str) -> list[EmailMessage]:
        return [m for m in self.received if m["To"] == recipient]


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_app(app: Any, smtp_server: SMTPServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The test app, sending its mail through ``smtp_server`` (tasks still run eagerly)."""
    for key, value in smtp_server.settings().items():
        monkeypatch.setitem(app.config, key, value)
    return app
