"""Prometheus metrics at /metrics: requests by route and status, latency, the backlogs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from perks.db import transaction
from perks.extensions import db
from perks.mail import MessageStatus, OutboxMessage
from perks.payments.models import EventOutcome, StripeEvent
from tests import factories
from tests.helpers import spare_port

ROOT = Path(__file__).resolve().parents[2]


def scrape(client, **kwargs) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:  # type: ignore[no-untyped-def]
    """Every sample of one scrape, by name and sorted labels."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/plain"
    return samples(response.get_data(as_text=True))


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def requests_of(scraped, endpoint: str, status: str = "200", method: str = "GET") -> float:  # type: ignore[no-untyped-def]
    key = (
        "perks_http_requests_total",
        (("endpoint", endpoint), ("method", method), ("status", status)),
    )
    return scraped.get(key, 0.0)


# --- requests -------------------------------------------------------------------------------


def test_requests_are_counted_by_route_name_and_status(client):
    before = scrape(client)
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    client.get("/login")
    client.get("/perks")  # anonymous: a redirect to the sign-in page
    client.get("/definitely/not/a/page")
    client.get(f"/shop/images/{'0' * 32}.png")  # a route, answering 404

    after = scrape(client)

    assert requests_of(after, "main.health") - requests_of(before, "main.health") == 3
    assert requests_of(after, "auth.login") - requests_of(before, "auth.login") == 1
    assert requests_of(after, "catalog.index", "302") - requests_of(before, "catalog.index", "302")
    assert requests_of(after, "none", "404") - requests_of(before, "none", "404") == 1
    image = "shop_images.product_image"
    assert requests_of(after, image, "404") - requests_of(before, image, "404") == 1
    # No raw path ever becomes a label: the number of series stays small.
    assert not any("definitely" in str(labels) for _, labels in after)


def test_a_made_up_method_is_counted_as_other(client):
    before = scrape(client)
    for method in ("FOO", "BAR", "PROPFIND"):
        assert client.open("/healthz", method=method).status_code == 405

    after = scrape(client)
    assert requests_of(after, "none", "405", "other") - requests_of(before, "none", "405", "other")
    assert not any(label == ("method", "FOO") for _, labels in after for label in labels)


def test_latency_is_a_histogram_per_route(client):
    before = scrape(client)
    client.get("/healthz")
    after = scrape(client)

    count = ("perks_http_request_duration_seconds_count", (("endpoint", "main.health"),))
    total = ("perks_http_request_duration_seconds_sum", (("endpoint", "main.health"),))
    slowest = (
        "perks_http_request_duration_seconds_bucket",
        (("endpoint", "main.health"), ("le", "+Inf")),
    )
    assert after[count] - before.get(count, 0) == 1
    assert after[total] > before.get(total, 0)
    assert after[slowest] == after[count]


def test_the_lean_referral_redirect_is_counted(client):
    link = factories.ReferralLinkFactory()
    before = requests_of(scrape(client), "referrals.redirect", "302")
    client.get(f"/r/{link.code}")
    assert requests_of(scrape(client), "referrals.redirect", "302") == before + 1


# --- who may scrape -------------------------------------------------------------------------


def test_only_a_direct_local_request_may_scrape_without_a_token(client):
    assert client.get("/metrics").status_code == 200  # the test client comes from 127.0.0.1
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=outside).status_code == 404
    proxied = {"X-Forwarded-For": "203.0.113.9"}
    assert client.get("/metrics", headers=proxied).status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


def test_a_bearer_token_opens_metrics_from_anywhere(app_factory):
    app = app_factory(METRICS_TOKEN="s3cret-token-for-prometheus")
    client = app.test_client()
    outside = {"REMOTE_ADDR": "203.0.113.9"}

    good = {"Authorization": "Bearer s3cret-token-for-prometheus"}
    assert client.get("/metrics", environ_base=outside, headers=good).status_code == 200
    for bad in ("Bearer wrong", "s3cret-token-for-prometheus", "Basic czNjcmV0", ""):
        headers = {"Authorization": bad}
        assert client.get("/metrics", environ_base=outside, headers=headers).status_code == 404


def test_metrics_are_exempt_from_rate_limits(app_factory):
    from perks.extensions import limiter

    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2 per minute")
    client = app.test_client()
    with app.app_context():
        limiter.reset()
    try:
        assert [client.get("/metrics").status_code for _ in range(5)] == [200] * 5
        assert [client.get("/password/forgot").status_code for _ in range(3)][-1] == 429
    finally:
        with app.app_context():
            limiter.reset()


# --- the backlogs ---------------------------------------------------------------------------


def outbox_message(status: MessageStatus, created_at: datetime) -> OutboxMessage:
    return OutboxMessage(
        recipient="someone@example.com",
        subject="Hello",
        body_text="Hello",
        body_html="<p>Hello</p>",
        status=status,
        created_at=created_at,
    )


def stripe_event(created: datetime, received: datetime) -> StripeEvent:
    return StripeEvent(
        event_id=f"evt_{uuid.uuid4().hex}",
        type="checkout.session.completed",
        stripe_created_at=created,
        received_at=received,
        payload={},
        outcome=EventOutcome.IGNORED,
    )


def test_outbox_backlog_and_age_of_the_oldest_queued_message(client):
    now = datetime.now(UTC)
    with transaction():
        db.session.add_all(
            [
                outbox_message(MessageStatus.QUEUED, now - timedelta(minutes=10)),
                outbox_message(MessageStatus.QUEUED, now - timedelta(minutes=1)),
                outbox_message(MessageStatus.SENDING, now - timedelta(minutes=2)),
                outbox_message(MessageStatus.FAILED, now - timedelta(days=2)),
                outbox_message(MessageStatus.SENT, now - timedelta(days=3)),
            ]
        )

    scraped = scrape(client)

    assert scraped[("perks_outbox_messages", (("status", "queued"),))] == 2
    assert scraped[("perks_outbox_messages", (("status", "sending"),))] == 1
    assert scraped[("perks_outbox_messages", (("status", "failed"),))] == 1
    age = scraped[("perks_outbox_oldest_queued_age_seconds", ())]
    assert 600 <= age < 700  # the failed one is not waiting: it needs an admin
    assert scraped[("perks_metrics_source_up", (("source", "database"),))] == 1


def test_an_empty_outbox_has_no_backlog(client):
    scraped = scrape(client)
    assert scraped[("perks_outbox_messages", (("status", "queued"),))] == 0
    assert scraped[("perks_outbox_oldest_queued_age_seconds", ())] == 0


def test_webhook_lag_is_the_slowest_delivery_of_the_last_hour(client):
    now = datetime.now(UTC)
    with transaction():
        db.session.add_all(
            [
                stripe_event(now - timedelta(minutes=30, seconds=90), now - timedelta(minutes=30)),
                stripe_event(now - timedelta(minutes=5, seconds=4), now - timedelta(minutes=5)),
                # two hours ago it took an hour: outside the window
                stripe_event(now - timedelta(hours=3), now - timedelta(hours=2)),
            ]
        )

    scraped = scrape(client)

    assert scraped[("perks_stripe_webhook_lag_seconds", ())] == pytest.approx(90, abs=1)
    newest = scraped[("perks_stripe_webhook_last_received_age_seconds", ())]
    assert 300 <= newest < 360


def test_without_webhooks_there_is_no_lag(client):
    scraped = scrape(client)
    assert scraped[("perks_stripe_webhook_lag_seconds", ())] == 0
    assert ("perks_stripe_webhook_last_received_age_seconds", ()) not in scraped


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def test_job_queue_depth_is_the_length_of_the_celery_list_in_redis(app_factory):
    import redis

    url = "redis://127.0.0.1:6379/0"
    if not redis_answers(url):
        pytest.skip("no Redis answers at 127.0.0.1:6379 (the shared test Redis)")
    app = app_factory(CELERY_BROKER_URL=url)
    queue = f"perks-test-{uuid.uuid4().hex}"  # never the real queue of a running worker
    app.extensions["celery"].conf.task_default_queue = queue
    broker = redis.Redis.from_url(url)
    try:
        broker.rpush(queue, "task-1", "task-2", "task-3")
        scraped = scrape(app.test_client())
    finally:
        broker.delete(queue)
        broker.close()

    assert scraped[("perks_job_queue_depth", (("queue", queue),))] == 3
    assert scraped[("perks_metrics_source_up", (("source", "broker"),))] == 1


@pytest.mark.usefixtures(
    "_schema"
)  # the database is up: its tables exist, whichever test ran first
def test_a_broker_that_is_down_is_reported_and_the_scrape_still_answers(app_factory):
    app = app_factory(CELERY_BROKER_URL=f"redis://127.0.0.1:{spare_port()}/0")

    started = time.monotonic()
    scraped = scrape(app.test_client())

    assert time.monotonic() - started < 3
    assert scraped[("perks_metrics_source_up", (("source", "broker"),))] == 0
    assert not any(name == "perks_job_queue_depth" for name, _ in scraped)
    assert scraped[("perks_metrics_source_up", (("source", "database"),))] == 1


# --- several processes ----------------------------------------------------------------------

WRITER = """
import sys
from perks.metrics import REQUESTS, LATENCY
for _ in range(int(sys.argv[1])):
    REQUESTS.labels("main.health", "GET", "200").inc()
    LATENCY.labels("main.health").observe(0.01)
"""


def test_the_multiprocess_collector_adds_up_every_process(tmp_path):
    """What gunicorn's workers do: each process writes its own file, a scrape adds them up."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for count in (3, 4):
        subprocess.run(
            [sys.executable, "-c", WRITER, str(count)], env=env, cwd=ROOT, check=True, timeout=60
        )
    assert len(list(tmp_path.glob("counter_*.db"))) == 2  # two processes, two files

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    total = registry.get_sample_value(
        "perks_http_requests_total",
        {"endpoint": "main.health", "method": "GET", "status": "200"},
    )
    observed = registry.get_sample_value(
        "perks_http_request_duration_seconds_count", {"endpoint": "main.health"}
    )
    assert (total, observed) == (7, 7)
