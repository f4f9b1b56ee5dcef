"""Background work on a real Celery worker and real Celery beat, with Redis as the broker.

The rest of the suite runs tasks in-process right after the commit; these tests start the
processes production runs (``celery -A perks.worker worker`` / ``beat``) on loopback.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import select

from perks.commissions import lifecycle
from perks.commissions.models import Commission, CommissionState
from perks.db import transaction
from perks.extensions import db
from perks.mail import MessageStatus, OutboxMessage, send_email
from tests import factories
from tests.processes import (
    RedisServer,
    celery_beat,
    celery_worker,
    process_env,
    wait_for,
)
from tests.unit.commissions.helpers import pay, redeem, referred_order

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def broker_url(redis_database: str) -> str:
    """A Redis database of the machine's Redis for this test alone, emptied afterwards."""
    return redis_database


def the_messages() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage)))


def test_a_real_worker_sends_a_committed_message(
    app_factory, app, database_url, broker_url, smtp_server
):
    web = app_factory(
        CELERY_ALWAYS_EAGER=False, CELERY_BROKER_URL=broker_url, **smtp_server.settings()
    )
    env = process_env(database_url, CELERY_BROKER_URL=broker_url, **smtp_server.settings())
    user = factories.UserFactory(email="mai@example.com")
    db.session.commit()

    with celery_worker(env) as worker:
        with web.test_request_context(), transaction():
            send_email(user.email, "invitation", locale="vi", user=user, link="http://x/i")
        wait_for(lambda: smtp_server.to("mai@example.com"), what="the worker to send it")
        wait_for(lambda: the_messages()[0].status == MessageStatus.SENT, what="the row marked sent")
        assert "perks.mail.send_message" in worker.output()
    assert len(smtp_server.received) == 1


def test_with_the_broker_down_the_action_succeeds_and_the_sweep_sends_later(
    app_factory, app, database_url, smtp_server
):
    broker = RedisServer()
    broker.start()
    web = app_factory(
        CELERY_ALWAYS_EAGER=False, CELERY_BROKER_URL=broker.url, **smtp_server.settings()
    )
    user = factories.UserFactory(email="an@example.com")
    db.session.commit()
    broker.stop()

    with web.test_request_context(), transaction():  # publishing fails: logged, not raised
        send_email(user.email, "invitation", locale="vi", user=user, link="http://x/i")
    assert [m.status for m in the_messages()] == [MessageStatus.QUEUED]

    broker.start()  # the same port: Redis is back
    env = process_env(
        database_url, CELERY_BROKER_URL=broker.url, CELERY_BEAT_SCALE=0.05, **smtp_server.settings()
    )
    try:
        with celery_worker(env), celery_beat(env, broker.process.log_path.parent):  # type: ignore[union-attr]
            wait_for(lambda: smtp_server.to("an@example.com"), timeout=60, what="the sweep")
    finally:
        broker.stop()
    assert len(smtp_server.received) == 1


def test_beat_and_a_worker_make_due_commissions_payable(
    app_factory, app, database_url, broker_url, tmp_path
):
    factories.CommissionRuleFactory()
    order = referred_order()
    pay(order)
    redeem(order)
    lifecycle.backdate_earning(order.id, 30)
    env = process_env(database_url, CELERY_BROKER_URL=broker_url, CELERY_BEAT_SCALE=0.01)

    def states() -> list[CommissionState]:
        db.session.expire_all()
        return [c.state for c in db.session.scalars(select(Commission))]

    with celery_worker(env) as worker, celery_beat(env, tmp_path) as beat:
        wait_for(lambda: states() == [CommissionState.PAYABLE], timeout=60, what="payable")
        assert "perks.commissions.release_due" in beat.output()
        assert "perks.commissions.release_due" in worker.output()


def test_the_worker_entry_point_freezes_the_loaded_app_before_the_pool_forks(database_url):
    # What ``celery -A perks.worker`` imports; in a process of its own, as a frozen generation
    # stays frozen for the rest of the process.
    entry = (
        "import gc\n"
        "before = gc.get_freeze_count()\n"
        "import perks.worker\n"
        "print(before, gc.get_freeze_count())\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", entry],
        env=process_env(database_url),
        capture_output=True,
        text=True,
        check=True,
    )

    before, frozen = map(int, ran.stdout.split()[-2:])
    assert before == 0
    assert frozen > 100_000  # the app and every module it loaded
