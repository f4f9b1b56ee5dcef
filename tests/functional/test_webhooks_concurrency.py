"""Stripe delivers the same event twice at the same moment, or two events about one order at
once, to two workers: exactly one effect each, on PostgreSQL.

Each delivery is its own request (its own session and connection); a barrier releases them
together. SQLite serialises writers, so these prove nothing there and are skipped.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from psycopg import errors as pg_errors
from sqlalchemy import event, func, select

from perks.extensions import db
from perks.payments.models import EventOutcome, StripeEvent
from perks.shop.events import order_paid
from perks.shop.models import DisputeStatus, Order, OrderStatus
from tests import factories
from tests import stripe_fixtures as sf
from tests.helpers import is_postgres
from tests.racing import all_at_once

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def workers(app: Flask, app_factory) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    """An app whose pool has a connection for every delivery of a burst."""
    if not is_postgres(app):
        pytest.skip(
            "concurrent deliveries need PostgreSQL (concurrent writers racing on the unique "
            "event id, row and advisory locks); set TEST_DATABASE_URL to run them"
        )
    crowded = app_factory(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 25, "max_overflow": 0, "pool_timeout": 60}
    )
    yield crowded
    with crowded.app_context():
        db.engine.dispose()


def deliver_together(app: Flask, events: list[dict[str, Any]]) -> list[int]:
    """Each event posted by its own thread, all released at once; the statuses, in the order
    the deliveries finished."""
    secret = app.config["STRIPE_WEBHOOK_SECRET"]

    def signed(evt: dict[str, Any]) -> tuple[bytes, str]:
        payload = sf.body(evt)
        return payload, sf.signature_header(payload, secret)

    def post(delivery: tuple[bytes, str]) -> int:
        payload, signature = delivery
        return sf.deliver(app.test_client(), payload, signature=signature).status_code

    outcome = all_at_once(app, events, post, prepare=signed, requests=True)
    assert outcome.errors == []
    return outcome.results


@pytest.fixture
def unique_violations(workers: Flask) -> Iterator[list[str]]:
    """The unique-constraint violations the database reported during the test."""
    seen: list[str] = []

    def count(context: Any) -> None:
        if isinstance(context.original_exception, pg_errors.UniqueViolation):
            seen.append(str(context.original_exception))

    with workers.app_context():
        engine = db.engine
    event.listen(engine, "handle_error", count)
    yield seen
    event.remove(engine, "handle_error", count)


def test_the_same_event_delivered_at_once_takes_effect_once(workers, unique_violations):
    order = factories.OrderFactory()
    evt = sf.event("checkout.session.completed", sf.checkout_session(order))

    def slow(order: Order, **kwargs: Any) -> None:
        # Hold the first delivery's transaction open: the others have found nothing stored
        # yet, and now race on the unique event id.
        time.sleep(1.0)

    with sf.recording_order_signals() as heard, order_paid.connected_to(slow):
        statuses = deliver_together(workers, [evt] * 8)
    assert statuses == [200] * 8
    assert [name for name, *_ in heard] == ["paid"]
    assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 1
    db.session.expire_all()
    assert db.session.get(Order, order.id).status is OrderStatus.PAID
    # The race was real: some deliveries lost it on the unique constraint, and answered 200.
    assert unique_violations, "no delivery raced on the unique event id"
    assert all("stripe_event" in message for message in unique_violations)


def test_a_payment_and_a_dispute_at_once_end_disputed_after_paid(workers):
    """The dispute names no order; the payment teaches the order its payment intent. Whoever
    is first, the dispute is applied, after the payment."""
    orders = [factories.OrderFactory() for _ in range(10)]
    events = []
    for order in orders:
        events.append(sf.event("checkout.session.completed", sf.checkout_session(order)))
        events.append(sf.event("charge.dispute.created", sf.dispute(order)))
    with sf.recording_order_signals() as heard:
        assert deliver_together(workers, events) == [200] * len(events)
    for order in orders:
        db.session.expire_all()
        assert db.session.get(Order, order.id).dispute_status is DisputeStatus.OPEN
        assert [name for name, order_id, _ in heard if order_id == order.id] == [
            "paid",
            "dispute_opened",
        ]
    ignored = db.session.scalar(
        select(func.count())
        .select_from(StripeEvent)
        .where(StripeEvent.outcome == EventOutcome.IGNORED)
    )
    assert ignored == 0


def test_a_payment_and_a_refund_at_once_end_refunded_after_paid(workers):
    orders = [factories.OrderFactory() for _ in range(10)]
    events = []
    for order in orders:
        events.append(sf.event("checkout.session.completed", sf.checkout_session(order)))
        events.append(
            sf.event("charge.refunded", sf.charge(order, amount_refunded=order.total_amount))
        )
    with sf.recording_order_signals() as heard:
        assert deliver_together(workers, events * 2) == [200] * len(events) * 2
    for order in orders:
        db.session.expire_all()
        assert db.session.get(Order, order.id).status is OrderStatus.REFUNDED
        assert [name for name, order_id, _ in heard if order_id == order.id] == [
            "paid",
            "refunded",
        ]
    assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == len(events)


def test_a_payment_and_an_expiry_at_once_end_paid(workers):
    """The customer paid in the session's last second: the expiry (it has no payment intent)
    and the payment race on the order's row; the payment wins, and the status says so."""
    orders = [factories.OrderFactory() for _ in range(10)]
    events = []
    for order in orders:
        events.append(sf.event("checkout.session.completed", sf.checkout_session(order)))
        expired = sf.checkout_session(
            order, payment_status="unpaid", status="expired", payment_intent=None
        )
        events.append(sf.event("checkout.session.expired", expired))
    assert deliver_together(workers, events) == [200] * len(events)
    db.session.expire_all()
    for order in orders:
        stored = db.session.get(Order, order.id)
        assert stored.paid_at is not None
        assert stored.status is OrderStatus.PAID
