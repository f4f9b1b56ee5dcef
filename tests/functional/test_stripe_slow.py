"""Stripe slow or failing: every call is bounded (``STRIPE_TIMEOUT_SECONDS``, retried
``STRIPE_MAX_RETRIES`` times), and checkout and refunds answer within that bound with a clear
message; the order is left consistent and nothing is charged or refunded twice.

"Stripe" here is a real HTTP server on a spare loopback port that takes longer to answer than
the app waits (or answers 500), reached through ``STRIPE_API_BASE``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from perks.audit import AuditEvent
from perks.config import ConfigurationError, load_settings
from perks.extensions import db
from perks.payments import stripe_gateway
from perks.people.models import Role
from perks.shop.checkout import CHECKOUT_FAILED
from perks.shop.models import Order, OrderStatus
from tests import factories
from tests.helpers import login, text_of

TIMEOUT = 0.5
RETRIES = 1
#: what the app may spend besides waiting for Stripe (rendering, the database) in a test
SLACK = 1.5
CUSTOMER = {"name": "Lê Thị Hoa", "email": "hoa.le@gmail.com", "phone": "0912 345 678"}


class SlowStripe:
    """An HTTP server that answers every request after ``delay`` seconds, with ``status``
    (Stripe's error JSON), or as ``answer(path)`` says: ``(delay, status, body)``."""

    def __init__(
        self,
        delay: float,
        status: int = 200,
        answer: Callable[[str], tuple[float, int, dict[str, Any]]] | None = None,
    ) -> None:
        self.delay = delay
        self.status = status
        self.answer = answer
        self.requests: list[tuple[str, str, str | None]] = []
        self._stop = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                outer.requests.append(
                    (self.command, self.path, self.headers.get("Idempotency-Key"))
                )
                delay, status = outer.delay, outer.status
                answer: dict[str, Any] = {"error": {"type": "api_error", "message": "down"}}
                if outer.answer is not None:
                    delay, status, answer = outer.answer(self.path)
                if outer._stop.wait(delay):
                    return
                body = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the app gave up waiting and closed the connection
                    pass

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SlowStripe:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def slow_stripe() -> Iterator[SlowStripe]:
    with SlowStripe(delay=TIMEOUT * 6) as server:
        yield server


@pytest.fixture
def failing_stripe() -> Iterator[SlowStripe]:
    with SlowStripe(delay=0, status=500) as server:
        yield server


def bounded_app(app_factory: Any, api_base: str) -> Any:
    return app_factory(
        STRIPE_API_BASE=api_base, STRIPE_TIMEOUT_SECONDS=TIMEOUT, STRIPE_MAX_RETRIES=RETRIES
    )


def bound() -> float:
    return stripe_gateway.call_time_bound(
        {"STRIPE_TIMEOUT_SECONDS": TIMEOUT, "STRIPE_MAX_RETRIES": RETRIES}
    )


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


# --- the bound ------------------------------------------------------------------------------


def test_the_default_bound_is_well_below_the_worker_timeout():
    settings = load_settings({})
    assert settings["STRIPE_TIMEOUT_SECONDS"] == 8.0
    assert settings["STRIPE_MAX_RETRIES"] == 1
    # 2 attempts × (2 s to connect + 8 s to answer) + 0.5 s back-off
    assert stripe_gateway.call_time_bound(settings) == 20.5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STRIPE_TIMEOUT_SECONDS", 0),
        ("STRIPE_TIMEOUT_SECONDS", -1),
        ("STRIPE_TIMEOUT_SECONDS", 60),
        ("STRIPE_MAX_RETRIES", -1),
        ("STRIPE_MAX_RETRIES", 10),
    ],
)
def test_timeouts_and_retries_out_of_range_are_refused_at_start(app_factory, name, value):
    with pytest.raises(ConfigurationError, match=name):
        app_factory(**{name: value})


# --- checkout -------------------------------------------------------------------------------


def test_a_slow_stripe_at_checkout_answers_within_the_bound_and_nothing_is_charged(
    app, app_factory, slow_stripe
):
    product = factories.ProductFactory(slug="tour", price_amount=2_400_000)
    client = bounded_app(app_factory, slow_stripe.url).test_client()
    client.post("/shop/cart/add", data={"product": product.slug, "quantity": 1})

    response, elapsed = timed(lambda: client.post("/shop/checkout", data=CUSTOMER))

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert "Payments are not answering right now, so nothing was charged." in text_of(response)
    assert "please try again in a minute" in text_of(response)
    # It waited for each attempt (the first and one retry), and no longer than the bound.
    assert elapsed >= (RETRIES + 1) * TIMEOUT
    assert elapsed < bound() + SLACK, (elapsed, bound())
    assert len(slow_stripe.requests) == RETRIES + 1
    keys = {key for _method, _path, key in slow_stripe.requests}
    assert len(keys) == 1, "a retry reuses the idempotency key"
    assert None not in keys
    # The order is closed, never sent to pay; the cart is kept for another try.
    order = db.session.scalars(select(Order)).one()
    assert order.status is OrderStatus.CANCELLED
    assert order.closed_reason == CHECKOUT_FAILED
    assert order.checkout_session_id is None
    assert order.checkout_url is None
    assert "Total ₫2,400,000" in text_of(client.get("/shop/cart"))


def test_the_message_is_in_the_customers_language(app, app_factory, slow_stripe):
    product = factories.ProductFactory(slug="tour", price_amount=2_400_000)
    client = bounded_app(app_factory, slow_stripe.url).test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "vi"
    client.post("/shop/cart/add", data={"product": product.slug, "quantity": 1})

    response = client.post("/shop/checkout", data=CUSTOMER)

    assert response.status_code == 503
    assert "Hệ thống thanh toán đang không phản hồi" in text_of(response)


def test_a_failing_stripe_is_retried_then_answered_503(app, app_factory, failing_stripe):
    product = factories.ProductFactory(slug="tour", price_amount=2_400_000)
    client = bounded_app(app_factory, failing_stripe.url).test_client()
    client.post("/shop/cart/add", data={"product": product.slug, "quantity": 1})

    response, elapsed = timed(lambda: client.post("/shop/checkout", data=CUSTOMER))

    assert response.status_code == 503
    assert len(failing_stripe.requests) == RETRIES + 1
    assert elapsed < bound() + SLACK
    assert db.session.scalars(select(Order)).one().closed_reason == CHECKOUT_FAILED


# --- refunds --------------------------------------------------------------------------------


def test_a_slow_stripe_at_refund_answers_within_the_bound_and_keeps_the_form(
    app, app_factory, slow_stripe
):
    order = factories.OrderFactory()
    order.paid_at = datetime.now(UTC)
    order.paid_amount = order.total_amount
    order.payment_intent_id = f"pi_local_{order.id}"
    order.refresh_status()
    db.session.commit()
    client = bounded_app(app_factory, slow_stripe.url).test_client()
    login(client, factories.UserFactory(roles={Role.FINANCE}))
    page = client.get(f"/manage/orders/{order.id}").get_data(as_text=True)
    token = re.search(r'name="request_token" type="hidden" value="([^"]+)"', page)
    assert token is not None

    response, elapsed = timed(
        lambda: client.post(
            f"/manage/orders/{order.id}/refund",
            data={"amount": "100.000", "reason": "Cancelled", "request_token": token.group(1)},
        )
    )

    assert response.status_code == 503
    assert "Payments are not answering right now" in text_of(response)
    assert elapsed < bound() + SLACK, (elapsed, bound())
    assert len(slow_stripe.requests) == RETRIES + 1
    # Nothing recorded; the same token comes back, so sending again cannot refund twice.
    db.session.expire_all()
    assert db.session.scalars(select(AuditEvent)).all() == []
    assert token.group(1) in response.get_data(as_text=True)
    assert db.session.get(Order, order.id).refunded_amount == 0  # type: ignore[union-attr]


# --- listing, page after page ---------------------------------------------------------------


def session_page(ids: list[str], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "url": "/v1/checkout/sessions",
        "has_more": has_more,
        "data": [{"id": id_, "object": "checkout.session"} for id_ in ids],
    }


def listing(app_factory: Any, server: SlowStripe, within: float | None) -> list[str]:
    listed = bounded_app(app_factory, server.url)
    now = datetime.now(UTC)
    with listed.app_context():
        return [
            s.id
            for s in stripe_gateway.list_checkout_sessions(
                now - timedelta(days=1), now, within=within
            )
        ]


def test_a_listing_reads_every_page(app_factory):
    def answer(path: str) -> tuple[float, int, dict[str, Any]]:
        if "starting_after=cs_2" in path:
            return 0, 200, session_page(["cs_3"], has_more=False)
        return 0, 200, session_page(["cs_1", "cs_2"], has_more=True)

    with SlowStripe(0, answer=answer) as server:
        assert listing(app_factory, server, within=None) == ["cs_1", "cs_2", "cs_3"]
        assert len(server.requests) == 2


def test_a_listing_in_a_request_stops_at_its_bound(app_factory):
    """The second page is slow: the listing gives up within the time it was given."""

    def answer(path: str) -> tuple[float, int, dict[str, Any]]:
        if "starting_after" in path:
            return TIMEOUT * 20, 200, session_page(["cs_3"], has_more=False)
        return 0, 200, session_page(["cs_1", "cs_2"], has_more=True)

    with SlowStripe(0, answer=answer) as server:
        started = time.monotonic()
        with pytest.raises(stripe_gateway.PaymentProviderUnavailable):
            listing(app_factory, server, within=bound())
        elapsed = time.monotonic() - started
    assert elapsed < bound() + SLACK, (elapsed, bound())


# --- reconciliation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Payments are not answering right now. Please try again in a minute."),
        ("vi", "Vui lòng thử lại sau một phút."),
    ],
)
def test_reconciliation_with_stripe_failing_says_so_and_shows_the_stored_findings(
    app, app_factory, failing_stripe, language, expected
):
    """Stripe answers 500: the page answers 200 within the bound, says Stripe could not be
    asked and why, in the reader's language and in whole sentences (it said "...in a
    minute.. Showing what the stored events tell."), and shows what the stored events
    tell."""
    mismatch = factories.OrderFactory(mismatch="Stripe reported 1 ₫")
    client = app_factory(
        STRIPE_API_BASE=failing_stripe.url, STRIPE_TIMEOUT_SECONDS=1.0, STRIPE_MAX_RETRIES=0
    ).test_client()
    login(client, factories.UserFactory(roles={Role.FINANCE}, locale=language))

    response, elapsed = timed(lambda: client.get("/finance/reconciliation?stripe=1"))

    assert response.status_code == 200
    assert elapsed < 2 * 1.0 + SLACK
    assert failing_stripe.requests  # asked, once
    html = response.get_data(as_text=True)
    [warning] = re.findall(r'<div class="alert alert-warning" role="alert">(.*?)</div>', html)
    assert expected in warning
    assert ".." not in warning
    assert f">{mismatch.number}<" in html


def test_reconciliation_asks_stripe_with_the_whole_wait_the_settings_give(app, app_factory):
    """The page gives both listings the bound of one call, so the first page should wait for
    Stripe as long as any call does. The microseconds spent before it was asked cost it a
    quarter of a second, and with a wait of half a second (STRIPE_TIMEOUT_SECONDS=0.5, as
    here) Stripe was never asked: "Stripe has more to list than can be read now: choose a
    shorter period", for a day when Stripe had nothing."""
    empty = {"object": "list", "url": "/v1/x", "has_more": False, "data": []}
    with SlowStripe(0, answer=lambda path: (0, 200, empty)) as server:
        client = bounded_app(app_factory, server.url).test_client()
        login(client, factories.UserFactory(roles={Role.FINANCE}, locale="en"))

        response, elapsed = timed(lambda: client.get("/finance/reconciliation?stripe=1"))

    assert response.status_code == 200
    assert "alert-warning" not in response.get_data(as_text=True)
    assert [path.split("?")[0] for _method, path, _key in server.requests] == [
        "/v1/checkout/sessions",
        "/v1/refunds",
    ]
    assert "0 Stripe sessions · 0 Stripe refunds" in text_of(response)
    assert elapsed < bound() + SLACK
