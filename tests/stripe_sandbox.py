"""Helpers for tests that go through the Stripe sandbox of the live server.

The ``live_sandbox`` fixture (tests/conftest.py) gives a :class:`LiveSandbox`: the sandbox
served by ``live_server`` over real HTTP, empty at the start of the test, with the test's
app (``app``) pointed at it, so ``perks.payments.stripe_gateway`` works as in production.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask

from perks.payments.sandbox import service, store, webhooks
from perks.payments.sandbox.settings import SandboxSettings

T = TypeVar("T")


class LiveSandbox:
    def __init__(self, base_url: str, server_app: Flask) -> None:
        #: the live server, e.g. ``http://127.0.0.1:40123``
        self.url = base_url
        #: what STRIPE_API_BASE points at
        self.api_base = base_url + "/stripe-sandbox"
        #: the app serving the sandbox (set STRIPE_SANDBOX_WEBHOOK_URL on its config)
        self.server_app = server_app

    @property
    def settings(self) -> SandboxSettings:
        return SandboxSettings.from_config(self.server_app.config)

    def reset(self) -> None:
        """Forget everything, and wait for a webhook being sent right now to finish."""
        service.reset(self.settings)
        webhooks.wait_idle(self.settings)

    def pay(self, session_id: str, method: str = "card", **kwargs: Any) -> dict[str, Any]:
        """What the hosted page's buttons do (``card``, ``declined``, ``async_success``, ...)."""
        return service.pay_checkout_session(self.settings, session_id, method, **kwargs)

    def deliver_pending(self) -> list[webhooks.AttemptResult]:
        """Send every pending webhook now, in this thread."""
        return webhooks.deliver_pending(self.settings)

    def pause_deliveries(self, paused: bool = True) -> None:
        service.set_options(self.settings, deliver_twice=False, paused=paused)

    def deliveries(self) -> list[dict[str, Any]]:
        """Every delivery, newest first, each with its ``attempts``."""
        with store.get_store(self.settings.database_url).read() as conn:
            return store.delivery_log(conn, 1000)

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Every event, oldest first."""
        with store.get_store(self.settings.database_url).read() as conn:
            found = list(reversed(store.latest(conn, "event", 10_000)))
        return [e.data for e in found if event_type is None or e.data["type"] == event_type]

    def wait_for_deliveries(self, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Wait until no delivery is pending (each delivered or given up); the deliveries."""

        def settled() -> list[dict[str, Any]] | None:
            log = self.deliveries()
            return log if all(d["status"] != "pending" for d in log) else None

        return wait_for(settled, timeout)


def wait_for(probe: Callable[[], T | None], timeout: float = 15.0) -> T:
    """Poll ``probe`` until it returns something (not None or False); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing after {timeout} s")
        time.sleep(0.02)
