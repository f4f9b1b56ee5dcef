"""The Stripe sandbox's own tests (this folder), and the helper every test uses to reach it.

Each xdist worker serves one sandbox app (``stripe_sandbox.create_app``) over real HTTP on a
free port, on a database of its own (``stripe_sandbox_server`` in tests/conftest.py): the
product's test apps point ``STRIPE_API_BASE`` at it, as development points at the sandbox's
process. :class:`LiveSandbox` reads and drives that sandbox through its own modules, as its
control page would; the tests of this folder import nothing of the product.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import Flask

from stripe_sandbox import operations, service, store, webhooks
from stripe_sandbox.settings import SandboxSettings

T = TypeVar("T")

#: the sandbox's settings in the tests: quick retries and async payments, no endpoint yet
SANDBOX_TEST_SETTINGS: dict[str, Any] = {
    "PERKS_ENV": "testing",
    "STRIPE_SANDBOX_WEBHOOK_URL": "",
    "STRIPE_SANDBOX_RETRY_SECONDS": 0.05,
    "STRIPE_SANDBOX_ASYNC_SECONDS": 0.3,
}


class LiveSandbox:
    def __init__(self, url: str, app: Flask) -> None:
        #: the sandbox's server, e.g. ``http://127.0.0.1:40123``: what STRIPE_API_BASE names
        self.url = url
        self.api_base = url
        #: the sandbox's app (its settings, its test client)
        self.app = app
        #: the product's live server its webhooks go to (set by the ``live_sandbox`` fixture)
        self.app_url = ""

    @property
    def settings(self) -> SandboxSettings:
        return service.settings_of(self.app)

    def forward_webhooks(self, url: str) -> str:
        """Send the webhooks to ``url`` from now on (empty: nowhere); where they went before."""
        return operations.forward_webhooks(self.settings, url)

    @contextmanager
    def webhooks_to(self, url: str) -> Iterator[LiveSandbox]:
        """The sandbox emptied, sending its webhooks to ``url`` (empty: nowhere) while the
        block runs; afterwards emptied again and sending them where they went before.

        Putting the endpoint back matters: what later tests leave in the sandbox (a Checkout
        Session opened through ``app``) expires when a test moves the clock, and its event
        would otherwise reach this block's ``url`` (the live server, writing to the database
        while that test writes).
        """
        before = self.forward_webhooks(url)
        self.reset()
        try:
            yield self
        finally:
            self.reset()  # a webhook being sent right now lands before the block ends
            self.forward_webhooks(before)

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
