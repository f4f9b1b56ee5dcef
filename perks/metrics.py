"""Prometheus metrics at ``/metrics``, right with one process or many gunicorn workers.

Counted as requests finish (``count_request``, from ``perks.observability``'s receiver of
Flask's ``request_finished`` signal; the referral redirect, not a Flask view, calls ``count``):

* ``perks_http_requests_total{endpoint, method, status}``: the endpoint is the route's name
  (``catalog.detail``), never the raw path, so the number of series stays small; requests
  no route matched are ``endpoint="none"``;
* ``perks_http_request_duration_seconds{endpoint}``: a latency histogram.

Computed when scraped, by the process that answers (``BacklogCollector``):

* ``perks_job_queue_depth{queue}``: tasks waiting in the Celery queue (``LLEN`` on the Redis
  broker; absent with another broker);
* ``perks_outbox_messages{status}``: outgoing messages queued, being sent, or failed;
  ``perks_outbox_oldest_queued_age_seconds``: how long the oldest unsent one has waited;
* ``perks_stripe_webhook_lag_seconds``: the longest delay between Stripe creating an event
  and this app receiving it, over the last hour (0 without events);
  ``perks_stripe_webhook_last_received_age_seconds``: time since the newest event arrived;
* ``perks_metrics_source_up{source}``: 1 when the database or the broker answered the scrape.

**Several workers.** With ``PROMETHEUS_MULTIPROC_DIR`` in the environment before the app is
imported (``gunicorn.conf.py`` sets one up), every worker writes its counters to files there
and the scrape adds up all of them (``prometheus_client``'s multiprocess mode;
``gunicorn.conf.py``'s ``child_exit`` marks dead workers). Without it, the default registry of
the one process is served.

**Access.** ``/metrics`` answers only a request made straight to the app from the loopback
address (no ``X-Forwarded-For``: a request through a proxy on the same host is not local), or
one with ``Authorization: Bearer <METRICS_TOKEN>`` when that setting is set; anyone else gets a
404. It is exempt from rate limits.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Awaitable, Iterator
from datetime import UTC, datetime, timedelta

from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    abort,
    current_app,
    request,
)
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import DateTime, bindparam, text

from perks.extensions import db, limiter

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: seconds; from a redirect served from the code cache to a large export page
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: outbox states still on their way out (``perks.mail.MessageStatus``)
UNSENT = ("queued", "sending")
OUTBOX_STATES = (*UNSENT, "failed")
WEBHOOK_WINDOW = timedelta(hours=1)
#: a broker that does not answer within this costs the scrape no more
BROKER_TIMEOUT_SECONDS = 0.5
FORWARDING_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")
#: methods counted under their name; any other is "other" (a label a client cannot multiply)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "perks_http_requests",
    "HTTP requests answered, by route name, method and status code.",
    ("endpoint", "method", "status"),
)
LATENCY = Histogram(
    "perks_http_request_duration_seconds",
    "Time from routing to the answer, by route name.",
    ("endpoint",),
    buckets=LATENCY_BUCKETS,
)

bp = Blueprint("metrics", __name__)


def init_metrics(app: Flask) -> None:
    """Serve ``/metrics``. Requests are counted by ``count_request``, called as each one
    finishes by ``perks.observability`` (its ``request_finished`` receiver)."""
    app.register_blueprint(bp)


def count_request(request: Request, response: Response, seconds: float | None) -> None:
    """Count ``request``, answered with ``response`` in ``seconds``."""
    rule = request.url_rule
    endpoint = rule.endpoint if rule is not None else "none"
    count(endpoint, request.method, response.status_code, seconds)


def count(endpoint: str, method: str, status: int, seconds: float | None) -> None:
    """Count a request to ``endpoint`` answered with ``status`` in ``seconds``."""
    method = method if method in METHODS else "other"  # a client's choice
    key = (endpoint, method, status)
    try:
        children = _CHILDREN.get(key)
        if children is None:
            children = _CHILDREN[key] = (
                REQUESTS.labels(endpoint, method, str(status)),
                LATENCY.labels(endpoint),
            )
        children[0].inc()
        if seconds is not None:
            children[1].observe(seconds)
    except Exception:  # counting never costs the answer (a metrics folder gone, say)
        global _count_failed
        if not _count_failed:
            _count_failed = True
            log.exception("metrics: could not count a request (reported once per process)")


#: each (endpoint, method, status)'s counter and histogram: ``labels()`` takes a lock and
#: builds its key on every call; the number of keys is bounded by the routes
_CHILDREN: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
_count_failed = False


# --- the scrape -----------------------------------------------------------------------------


@bp.get("/metrics")
@limiter.exempt
def metrics() -> Response:
    if not may_scrape():
        abort(404)
    payload = generate_latest(scrape_registry(current_app))
    response = Response(payload, mimetype=CONTENT_TYPE_LATEST)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.cache_control.no_store = True
    return response


def may_scrape() -> bool:
    """A direct request from the loopback address, or the right bearer token."""
    token = str(current_app.config.get("METRICS_TOKEN") or "")
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    if any(header in request.headers for header in FORWARDING_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def scrape_registry(app: Flask) -> CollectorRegistry:
    """What one scrape reports: every worker's counters (multiprocess mode) or this
    process's, plus the backlog gauges computed now."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(registry)
    else:
        registry.register(_ProcessRegistry())
    registry.register(BacklogCollector(app))
    return registry


class _ProcessRegistry:
    """The default registry of this process, as one collector."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


class BacklogCollector:
    """Gauges read at scrape time from the database and the broker (module docstring)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "perks_metrics_source_up",
            "1 when the source answered this scrape, 0 when it did not.",
            labels=("source",),
        )
        families, database_up = self._database_families()
        yield from families
        up.add_metric(("database",), 1.0 if database_up else 0.0)
        broker = self._broker_family()
        if broker is not None:
            family, broker_up = broker
            if family is not None:
                yield family
            up.add_metric(("broker",), 1.0 if broker_up else 0.0)
        yield up

    # -- the database --

    def _database_families(self) -> tuple[list[Metric], bool]:
        now = datetime.now(UTC)
        try:
            outbox = _outbox_backlog()
            webhooks = _webhook_lag(now)
        except Exception:  # a scrape reports the database down; it never fails
            log.warning("metrics: the database did not answer", exc_info=True)
            db.session.rollback()
            return [], False
        counts, oldest = outbox
        messages = GaugeMetricFamily(
            "perks_outbox_messages",
            "Outgoing messages by state: queued, being sent, or failed.",
            labels=("status",),
        )
        for status in OUTBOX_STATES:
            messages.add_metric((status,), float(counts.get(status, 0)))
        age = GaugeMetricFamily(
            "perks_outbox_oldest_queued_age_seconds",
            "How long the oldest message not yet sent has waited (0 when none waits).",
            value=_seconds_since(oldest, now) if oldest is not None else 0.0,
        )
        lag, newest = webhooks
        families: list[Metric] = [
            messages,
            age,
            GaugeMetricFamily(
                "perks_stripe_webhook_lag_seconds",
                "Longest delay between Stripe creating an event and its arrival, last hour.",
                value=max(lag or 0.0, 0.0),
            ),
        ]
        if newest is not None:
            families.append(
                GaugeMetricFamily(
                    "perks_stripe_webhook_last_received_age_seconds",
                    "Seconds since the newest Stripe event arrived.",
                    value=_seconds_since(newest, now),
                )
            )
        return families, True

    # -- the broker --

    def _broker_family(self) -> tuple[Metric | None, bool] | None:
        """The Celery queue's length on a Redis broker; None with another broker."""
        url = str(self.app.config.get("CELERY_BROKER_URL") or "")
        if not url.startswith(("redis://", "rediss://", "unix://")):
            return None
        celery = self.app.extensions.get("celery")
        queue = getattr(getattr(celery, "conf", None), "task_default_queue", None) or "celery"
        import redis

        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
            socket_timeout=BROKER_TIMEOUT_SECONDS,
        )
        try:
            answer = client.llen(queue)
            if isinstance(answer, Awaitable):  # redis-py types each command for both clients
                raise TypeError("an asyncio Redis client")
            depth = int(answer)
        except Exception:
            log.warning("metrics: the broker did not answer", exc_info=True)
            return None, False
        finally:
            client.close()
        family = GaugeMetricFamily(
            "perks_job_queue_depth", "Tasks waiting in the Celery queue.", labels=("queue",)
        )
        family.add_metric((queue,), float(depth))
        return family, True


def _outbox_backlog() -> tuple[dict[str, int], datetime | None]:
    rows = db.session.execute(
        text(
            "SELECT status, count(*) AS n FROM outbox_message "
            "WHERE status IN :states GROUP BY status"
        ).bindparams(bindparam("states", expanding=True)),
        {"states": list(OUTBOX_STATES)},
    )
    counts = {str(status): int(n) for status, n in rows}
    oldest = db.session.execute(
        text("SELECT min(created_at) AS oldest FROM outbox_message WHERE status IN :states")
        .bindparams(bindparam("states", expanding=True))
        .columns(oldest=DateTime(timezone=True)),
        {"states": list(UNSENT)},
    ).scalar()
    return counts, oldest


def _webhook_lag(now: datetime) -> tuple[float | None, datetime | None]:
    if db.session.get_bind().dialect.name == "postgresql":
        lag_sql = "extract(epoch FROM max(received_at - stripe_created_at))"
    else:
        lag_sql = "max((julianday(received_at) - julianday(stripe_created_at)) * 86400.0)"
    lag = db.session.execute(
        text(
            f"SELECT {lag_sql} FROM stripe_event WHERE received_at >= :since"  # noqa: S608 - constant
        ).bindparams(bindparam("since", type_=DateTime(timezone=True))),
        {"since": now - WEBHOOK_WINDOW},
    ).scalar()
    newest = db.session.execute(
        text("SELECT max(received_at) AS newest FROM stripe_event").columns(
            newest=DateTime(timezone=True)
        )
    ).scalar()
    return (float(lag) if lag is not None else None), newest


def _seconds_since(moment: datetime, now: datetime) -> float:
    if moment.tzinfo is None:  # SQLite keeps no time zone: every stored time is UTC
        moment = moment.replace(tzinfo=UTC)
    return max((now - moment).total_seconds(), 0.0)
