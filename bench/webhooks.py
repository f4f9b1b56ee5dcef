"""P6: 2,000 signed Stripe events, each delivered three times in a shuffled order, over HTTP.

    python -m bench.webhooks

Creates its own database on the server at ``BENCH_DATABASE_URL`` (default: the local
PostgreSQL as user ``postgres``), migrates it, and seeds products and pending orders (VND
and USD; some redeemed on payment). Each order gets a story, told by the events Stripe
would send (Stripe's own example objects from ``tests/data/stripe_fixtures.json``): paid;
paid then refunded in two parts; paid then disputed and lost, or won; expired; paid later
(a delayed payment method); paid and partly refunded in USD; a gift redeemed on payment.
Exactly ``BENCH_EVENTS`` (2,000) events in all.

The real app (``wsgi:app``, gunicorn with 2 sync workers, as ``bench.redirect`` serves it)
receives every event three times, all 6,000 deliveries shuffled together (so a refund or a
dispute often arrives before its payment, and duplicates race on two workers), from
``BENCH_THREADS`` (8) threads, each delivery signed just before it is sent, as Stripe signs.

Then it checks that each event took effect exactly once: 2,000 stored events, none left
ignored, every order in the state its story ends in (status, amounts paid and refunded,
dispute, redemption), and the customers' e-mails (when the storefront connects its receivers
to the order signals): one confirmation per paid order and a notice per refund Stripe reports.

It prints events/s and deliveries/s and ends with ``webhooks: N events/s (M deliveries/s),
one effect per event PASS`` (or ``FAIL``, exiting 1). The database is dropped afterwards,
whatever happened.
"""

from __future__ import annotations

import http.client
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, make_url, select

from bench.claims_contention import scratch_database
from bench.redirect import SECRET_KEY, gunicorn
from perks import create_app
from perks.extensions import db
from perks.mail import OutboxMessage
from perks.payments.models import EventOutcome, StripeEvent
from perks.shop.events import order_paid
from perks.shop.models import (
    DisputeStatus,
    Order,
    OrderLine,
    OrderStatus,
    Product,
    RedemptionMode,
)
from tests import stripe_fixtures as sf

NAME = "webhooks"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
EVENTS = int(os.environ.get("BENCH_EVENTS", "2000"))
DELIVERIES_PER_EVENT = 3
THREADS = int(os.environ.get("BENCH_THREADS", "8"))
SEED = int(os.environ.get("BENCH_SEED", "20261130"))
WEBHOOK_SECRET = "whsec_perks_bench_0123456789abcdef"  # noqa: S105 - a scratch app


# --- the stories ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SeededOrder:
    """What the event builders need of an order (tests.stripe_fixtures reads these)."""

    id: int
    number: str
    checkout_session_id: str
    subtotal_amount: int
    total_amount: int
    currency: str
    customer_email: str


@dataclass(frozen=True)
class Expected:
    status: OrderStatus
    paid: bool
    refunded: int = 0
    dispute: DisputeStatus = DisputeStatus.NONE
    redeemed: bool = False


@dataclass(frozen=True)
class Story:
    name: str
    product: str
    events: Callable[[SeededOrder], list[dict[str, Any]]]
    expected: Callable[[SeededOrder], Expected]


def _completed(o: SeededOrder, **fields: Any) -> dict[str, Any]:
    return sf.event("checkout.session.completed", sf.checkout_session(o, **fields))


def _refunded(o: SeededOrder, amount: int) -> dict[str, Any]:
    return sf.event("charge.refunded", sf.charge(o, amount_refunded=amount))


def _dispute(o: SeededOrder, event_type: str, status: str) -> dict[str, Any]:
    return sf.event(f"charge.dispute.{event_type}", sf.dispute(o, status=status))


STORIES = [
    Story("paid", "tour", lambda o: [_completed(o)], lambda o: Expected(OrderStatus.PAID, True)),
    Story(
        "refunded in two parts",
        "tour",
        lambda o: [_completed(o), _refunded(o, o.total_amount // 3), _refunded(o, o.total_amount)],
        lambda o: Expected(OrderStatus.REFUNDED, True, refunded=o.total_amount),
    ),
    Story(
        "dispute lost",
        "tour",
        lambda o: [
            _completed(o),
            _dispute(o, "created", "needs_response"),
            _dispute(o, "closed", "lost"),
        ],
        lambda o: Expected(OrderStatus.DISPUTED, True, dispute=DisputeStatus.LOST),
    ),
    Story(
        "expired",
        "tour",
        lambda o: [
            sf.event(
                "checkout.session.expired",
                sf.checkout_session(o, payment_status="unpaid", status="expired"),
            )
        ],
        lambda o: Expected(OrderStatus.EXPIRED, False),
    ),
    Story(
        "delayed payment",
        "tour",
        lambda o: [
            _completed(o, payment_status="unpaid"),
            sf.event("checkout.session.async_payment_succeeded", sf.checkout_session(o)),
        ],
        lambda o: Expected(OrderStatus.PAID, True),
    ),
    Story(
        "dispute won",
        "tour",
        lambda o: [
            _completed(o),
            _dispute(o, "created", "warning_needs_response"),
            _dispute(o, "closed", "won"),
        ],
        lambda o: Expected(OrderStatus.PAID, True, dispute=DisputeStatus.WON),
    ),
    Story(
        "gift redeemed on payment",
        "gift",
        lambda o: [_completed(o)],
        lambda o: Expected(OrderStatus.REDEEMED, True, redeemed=True),
    ),
    Story(
        "USD partly refunded",
        "usd",
        lambda o: [_completed(o), _refunded(o, 433)],
        lambda o: Expected(OrderStatus.PARTIALLY_REFUNDED, True, refunded=433),
    ),
]


def plan_stories(total: int) -> list[Story]:
    """Stories in turn until they tell exactly ``total`` events (a short one fills the end)."""
    counts = {story.name: len(story.events(_PROBE)) for story in STORIES}
    planned: list[Story] = []
    told = 0
    turn = 0
    while told < total:
        story = STORIES[turn % len(STORIES)]
        turn += 1
        if told + counts[story.name] > total:
            story = STORIES[0]  # one event
        planned.append(story)
        told += counts[story.name]
    return planned


_PROBE = SeededOrder(0, "PK-PROBE", "cs_probe", 100, 100, "VND", "probe@example.com")


# --- the database ---------------------------------------------------------------------------


def make_app(url: str) -> Flask:
    return create_app(
        {
            "PERKS_ENV": "testing",
            # tasks go to the broker, as deployed ("testing" would run them in the request)
            "CELERY_ALWAYS_EAGER": False,
            "SECRET_KEY": SECRET_KEY,
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "MAIL_BACKEND": "outbox",
            "TRUSTED_HOSTS": None,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }
    )


def seed(url: str, stories: list[Story]) -> list[SeededOrder]:
    """Migrate; one pending order (one line) per story, its Checkout Session opened."""
    from flask_migrate import upgrade

    app = make_app(url)
    with app.app_context():
        upgrade()
        products = {
            "tour": Product(
                slug="tour-ha-long",
                name_vi="Tour Hạ Long",
                name_en="Ha Long tour",
                price_amount=1_250_000,
                currency="VND",
            ),
            "gift": Product(
                slug="the-qua-tang",
                name_vi="Thẻ quà tặng",
                name_en="Gift card",
                price_amount=500_000,
                currency="VND",
                redemption_mode=RedemptionMode.ON_PAYMENT,
            ),
            "usd": Product(
                slug="spa-day",
                name_vi="Ngày spa",
                name_en="Spa day",
                price_amount=1299,
                currency="USD",
            ),
        }
        db.session.add_all(products.values())
        db.session.flush()
        orders = []
        for n, story in enumerate(stories):
            product = products[story.product]
            order = Order(
                customer_name="Nguyễn Thị Khách",
                customer_email=f"khach{n}@example.com",
                locale="vi",
                currency=product.currency,
                subtotal_amount=product.price_amount,
                total_amount=product.price_amount,
                checkout_session_id=f"cs_test_bench_{n:06d}",
            )
            order.lines.append(
                OrderLine(
                    product_id=product.id,
                    product_name=product.name_vi,
                    quantity=1,
                    unit_list_amount=product.price_amount,
                    unit_amount=product.price_amount,
                    line_total_amount=product.price_amount,
                )
            )
            orders.append(order)
        db.session.add_all(orders)
        db.session.commit()
        seeded = [
            SeededOrder(
                o.id,
                o.number,
                o.checkout_session_id or "",
                o.subtotal_amount,
                o.total_amount,
                o.currency,
                o.customer_email,
            )
            for o in orders
        ]
        db.session.remove()
        db.engine.dispose()
    return seeded


def customer_emails_connected() -> bool:
    """True when something (the storefront's confirmation e-mail) receives ``order_paid``:
    making the app imported the modules that connect their receivers, as in gunicorn."""
    return bool(order_paid.receivers)


def _mail_as_told(story: Story, want: Expected, received: int) -> bool:
    """Whether a customer got the e-mails their order's story tells: one confirmation once
    paid, and a refund notice each time Stripe's running total of refunds grew. Deliveries are
    shuffled, so a partial refund reported after the full one is no news: between one notice
    and one per refund event."""
    if not want.paid:
        return received == 0
    if not want.refunded:
        return received == 1
    refund_events = sum(e["type"] == "charge.refunded" for e in story.events(_PROBE))
    return 2 <= received <= 1 + refund_events


# --- delivering -----------------------------------------------------------------------------


@dataclass
class Deliveries:
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def deliver_all(port: int, bodies: list[bytes]) -> Deliveries:
    """POST every body from THREADS threads, each signed just before it is sent."""
    result = Deliveries()
    lock = threading.Lock()
    queue = iter(bodies)

    def worker() -> None:
        while True:
            with lock:
                payload = next(queue, None)
            if payload is None:
                return
            signature = sf.signature_header(payload, WEBHOOK_SECRET)
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                connection.request(
                    "POST",
                    sf.WEBHOOK_PATH,
                    body=payload,
                    headers={"Content-Type": "application/json", "Stripe-Signature": signature},
                )
                response = connection.getresponse()
                response.read()
                connection.close()
                status = response.status
            except OSError as error:
                with lock:
                    result.errors.append(repr(error))
                continue
            with lock:
                result.statuses[status] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for _ in range(THREADS):
            pool.submit(worker)
    result.seconds = time.monotonic() - started
    return result


# --- checking -------------------------------------------------------------------------------


def check(
    url: str, stories: list[Story], orders: list[SeededOrder], event_ids: set[str]
) -> list[str]:
    """Every way the run could have applied an event other than exactly once."""
    problems: list[str] = []
    app = make_app(url)
    with app.app_context():
        stored = set(db.session.scalars(select(StripeEvent.event_id)))
        if len(stored) != len(event_ids) or stored != event_ids:
            problems.append(
                f"{len(stored)} events stored for {len(event_ids)} sent "
                f"({len(event_ids - stored)} missing, {len(stored - event_ids)} unknown)"
            )
        outcomes = Counter(
            dict(
                db.session.execute(
                    select(StripeEvent.outcome, func.count()).group_by(StripeEvent.outcome)
                ).all()
            )
        )
        print("  outcomes: " + ", ".join(f"{o.value} {outcomes[o]}" for o in EventOutcome))
        if outcomes[EventOutcome.IGNORED] or outcomes[EventOutcome.MISMATCH]:
            problems.append("some events were ignored or found a mismatch")

        by_id = {o.id: o for o in db.session.scalars(select(Order))}
        mail = Counter(db.session.scalars(select(OutboxMessage.recipient)))
        wrong: Counter[str] = Counter()
        wrong_mail: Counter[str] = Counter()
        expected_paid = 0
        for story, seeded in zip(stories, orders, strict=True):
            want = story.expected(seeded)
            expected_paid += want.paid
            if not _mail_as_told(story, want, mail[seeded.customer_email]):
                wrong_mail[story.name] += 1
            got = by_id[seeded.id]
            actual = Expected(
                got.status,
                got.paid_at is not None,
                got.refunded_amount,
                got.dispute_status,
                got.redeemed_at is not None,
            )
            if actual != want or got.mismatch:
                wrong[story.name] += 1
        for name, count in sorted(wrong.items()):
            problems.append(f"{count} orders of the story “{name}” did not end as told")
        paid = sum(o.paid_at is not None for o in by_id.values())
        emails = mail.total()
        print(f"  paid orders {paid} (expected {expected_paid}); customer e-mails {emails}")
        if paid != expected_paid:
            problems.append(f"{paid} orders paid, {expected_paid} expected")
        if customer_emails_connected():
            for name, count in sorted(wrong_mail.items()):
                problems.append(f"{count} customers of the story “{name}” got the wrong e-mails")
        db.session.remove()
        db.engine.dispose()
    return problems


def main() -> int:
    server = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    logs = Path(tempfile.mkdtemp(prefix="perks-bench-webhooks-"))
    stories = plan_stories(EVENTS)
    problems: list[str] = []
    with scratch_database(server) as url:
        orders = seed(url, stories)
        events = [evt for story, o in zip(stories, orders, strict=True) for evt in story.events(o)]
        event_ids = {evt["id"] for evt in events}
        bodies = [sf.body(evt) for evt in events] * DELIVERIES_PER_EVENT
        random.Random(SEED).shuffle(bodies)
        print(
            f"{NAME}: database {make_url(url).database}; {len(orders)} orders, "
            f"{len(events)} events × {DELIVERIES_PER_EVENT} = {len(bodies)} deliveries, "
            f"shuffled; gunicorn 2 sync workers; {THREADS} sending threads; logs in {logs}"
        )
        base_env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PERKS_", "DATABASE_", "STRIPE_", "MAIL_", "TEST_"))
        }
        app_env = {
            **base_env,
            "PERKS_ENV": "development",  # plain HTTP on loopback
            "DATABASE_URL": make_url(url).render_as_string(hide_password=False),
            "SECRET_KEY": SECRET_KEY,
            "RATELIMIT_ENABLED": "false",
            "MAIL_BACKEND": "outbox",
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }
        with gunicorn("wsgi:app", app_env, logs / "app.log") as (port, stopper):
            run = deliver_all(port, bodies)
            exit_code = stopper.stop()
        events_per_second = len(events) / run.seconds if run.seconds else 0.0
        deliveries_per_second = len(bodies) / run.seconds if run.seconds else 0.0
        print(
            f"  {len(bodies):,} deliveries in {run.seconds:.1f} s: "
            f"{deliveries_per_second:,.0f} deliveries/s, {events_per_second:,.0f} events/s; "
            f"answers {dict(sorted(run.statuses.items()))}; gunicorn exited with {exit_code}"
        )
        if run.errors:
            problems.append(f"{len(run.errors)} deliveries failed, first: {run.errors[0]}")
        if set(run.statuses) != {200}:
            problems.append(f"answers other than 200: {dict(run.statuses)} (see {logs})")
        problems += check(url, stories, orders, event_ids)
    for problem in problems:
        print(f"  FAIL: {problem}")
    verdict = "FAIL" if problems else "PASS"
    print(
        f"{NAME}: {events_per_second:,.0f} events/s ({deliveries_per_second:,.0f} deliveries/s), "
        f"{'one effect per event' if not problems else 'NOT one effect per event'} "
        f"(target exactly one effect per event) {verdict}"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
