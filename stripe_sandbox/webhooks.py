"""Webhooks the way Stripe sends them: signed, over real HTTP, retried with backoff.

Each event the endpoint is subscribed to gets a row in the delivery table in the same
transaction as the change that caused it, so nothing is lost when a process stops. A small
daemon thread per process (:class:`DeliveryWorker`, started on the sandbox's first request)
sends what is due in the order it was created, and also runs the sweep that expires old
sessions and settles async payments. A failed attempt (no answer, or not 2xx) is retried
after ``STRIPE_SANDBOX_RETRY_SECONDS``, then twice as long each time, ``MAX_ATTEMPTS`` times
in all; like Stripe, a failing delivery does not hold back the others. Several processes may
run workers on one database: a delivery is leased to one of them while it is being sent.

The body is the event's JSON byte for byte as stored, signed with the endpoint's secret:
``Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from typing import Any

from stripe_sandbox import operations, store
from stripe_sandbox.settings import SandboxSettings

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6  # the first try and five retries: base × 1, 2, 4, 8, 16
TIMEOUT_SECONDS = 10.0
#: how long a worker holds a delivery it is sending before another may take it over
LEASE_SECONDS = TIMEOUT_SECONDS + 20
#: how often an idle worker looks for work written by other processes
POLL_SECONDS = 1.0
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """Stripe's ``Stripe-Signature`` header for ``payload`` sent at ``timestamp``."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True, slots=True)
class AttemptResult:
    delivery_id: int
    event_id: str
    status_code: int | None
    error: str
    outcome: str  # "delivered", "pending" (retried later) or "failed"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Stripe treats a redirect as a failed delivery; so does the sandbox."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# The webhook goes to a local app: never through a proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


def _post(url: str, payload: bytes, signature: str) -> tuple[int | None, str, str]:
    """POST ``payload``; the status code (None if there was no answer), error, answer."""
    request = urllib.request.Request(  # noqa: S310 - http(s) URLs from the sandbox's settings
        url,
        data=payload,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature,
            "User-Agent": USER_AGENT,
            "Accept": "*/*; q=0.5, application/xml",
        },
    )
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            body = response.read(2000).decode("utf-8", "replace")
            return response.status, "", body
    except urllib.error.HTTPError as exc:
        body = exc.read(2000).decode("utf-8", "replace") if exc.fp else ""
        return exc.code, f"HTTP {exc.code}", body
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}", ""


def retry_delay(settings: SandboxSettings, attempt_count: int) -> float:
    """How long to wait after the ``attempt_count``-th failed attempt."""
    return settings.retry_seconds * 2 ** (attempt_count - 1)


def attempt_delivery(
    settings: SandboxSettings, delivery_id: int, *, every_pending: bool = False
) -> AttemptResult | None:
    """Send one delivery once, if nobody else is sending it; None if it was taken."""
    st = store.get_store(settings.database_url)
    now = time.time()
    with st.write() as conn:
        row = store.claim_delivery(conn, delivery_id, now, LEASE_SECONDS)
    if row is None:
        return None
    payload = row.payload.encode()
    started = time.time()
    status_code, error, answer = _post(
        row.url, payload, signature_header(payload, settings.webhook_secret, int(started))
    )
    finished = time.time()
    count = row.attempt_count + 1
    if status_code is not None and 200 <= status_code < 300:
        outcome, next_at = "delivered", None
    elif count >= MAX_ATTEMPTS:
        outcome, next_at = "failed", None
    else:
        outcome, next_at = "pending", finished + retry_delay(settings, count)
    with st.write() as conn:
        store.record_attempt(
            conn,
            delivery_id,
            attempted_at=started,
            status_code=status_code,
            error=error,
            response_excerpt=answer[:500],
            duration_ms=int((finished - started) * 1000),
            outcome=outcome,
            next_attempt_at=next_at,
        )
    return AttemptResult(delivery_id, row.event_id, status_code, error, outcome)


def run_sweep(settings: SandboxSettings, now: float | None = None) -> int:
    """Expire sessions past their time and settle due async payments; how many changed."""
    st = store.get_store(settings.database_url)
    with st.read() as conn:
        if not store.due_objects(conn, now if now is not None else time.time()):
            return 0
    ctx = operations.Context(settings=settings)
    if now is not None:
        ctx.now = now
    with st.write() as conn:
        changed = operations.sweep(conn, ctx)
    if ctx.deliveries:
        wake(settings)
    return changed


def deliver_pending(settings: SandboxSettings, *, now: float | None = None) -> list[AttemptResult]:
    """Sweep, then try every pending delivery once, now, in order (waiting retries too).

    For tests and the demo (through a test helper): it runs in the caller's thread and
    returns what happened. The background worker may be sending some of them at the same
    moment: those are skipped.
    """
    run_sweep(settings, now)
    st = store.get_store(settings.database_url)
    with st.read() as conn:
        due = store.due_deliveries(conn, time.time(), every_pending=True)
    results = []
    for delivery_id in due:
        result = attempt_delivery(settings, delivery_id)
        if result is not None:
            results.append(result)
    return results


class DeliveryWorker(threading.Thread):
    """Sends due deliveries and runs the sweep, in the background, until the process ends."""

    def __init__(self, settings: SandboxSettings) -> None:
        super().__init__(name="stripe-sandbox-webhooks", daemon=True)
        self.settings = settings
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._last_cleanup = 0.0
        #: held while a round runs (``wait_idle`` waits for it)
        self.busy = threading.Lock()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the round under way, then end (its database is about to go away)."""
        self._stopping.set()
        self._wake.set()
        self.join(timeout)

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                with self.busy:
                    wait = self._work()
            except Exception:  # the worker must outlive a bad moment (database busy, ...)
                log.exception("stripe sandbox: webhook worker failed; retrying")
                wait = POLL_SECONDS
            self._wake.wait(max(0.01, min(wait, POLL_SECONDS)))
            self._wake.clear()

    def _work(self) -> float:
        """One round; returns how long to sleep before the next."""
        run_sweep(self.settings)
        st = store.get_store(self.settings.database_url)
        now = time.time()
        with st.read() as conn:
            paused = bool(store.get_options(conn).get("paused"))
            due = [] if paused else store.due_deliveries(conn, now)
        for delivery_id in due:
            attempt_delivery(self.settings, delivery_id)
        if now - self._last_cleanup > 3600:
            with st.write() as conn:
                store.forget_old_idempotency_keys(conn, now)
            self._last_cleanup = now
        with st.read() as conn:
            upcoming = [
                t
                for t in (
                    None if paused else store.next_due_delivery(conn),
                    store.next_due_object(conn),
                )
                if t is not None
            ]
        return min(upcoming) - time.time() if upcoming else POLL_SECONDS


_workers: dict[tuple[int, SandboxSettings], DeliveryWorker] = {}
_workers_lock = threading.Lock()


def _worker_key(settings: SandboxSettings) -> tuple[int, SandboxSettings]:
    # A thread never survives a fork: one worker per process, per database and secret (the
    # endpoint's URL is stored with each delivery, so it does not matter here).
    return os.getpid(), replace(settings, secret_key="", webhook_url="")


def ensure_worker(settings: SandboxSettings) -> DeliveryWorker:
    """This process's worker for ``settings``, started if it is not running.

    The worker keeps ``settings`` whole: its sweep emits events (an async payment settled, a
    session expired), and those go to the configured endpoint unless one is forwarded.
    """
    key = _worker_key(settings)
    with _workers_lock:
        worker = _workers.get(key)
        if worker is None or not worker.is_alive():
            worker = _workers[key] = DeliveryWorker(settings)
            worker.start()
        return worker


def stop_workers(database_url: str | None = None) -> None:
    """Stop this process's workers on ``database_url`` (all of them with None), before that
    database is dropped: the end of a test run."""
    with _workers_lock:
        stopping = [
            _workers.pop(key)
            for key in list(_workers)
            if key[0] == os.getpid() and database_url in (None, key[1].database_url)
        ]
    for worker in stopping:
        worker.stop()


def wake(settings: SandboxSettings) -> None:
    """New deliveries are waiting: let the worker send them now rather than at its next poll."""
    worker = _workers.get(_worker_key(settings))
    if worker is not None:
        worker.wake()


def wait_idle(settings: SandboxSettings, timeout: float = 30.0) -> bool:
    """Wait until this process's worker is between rounds (nothing being sent right now)."""
    worker = _workers.get(_worker_key(settings))
    if worker is None or not worker.is_alive():
        return True
    if worker.busy.acquire(timeout=timeout):
        worker.busy.release()
        return True
    return False
