"""Background work on a real Celery worker and real Celery beat, with Redis as the broker.

The rest of the suite runs tasks in-process right after the commit; these tests start the
processes production runs (``celery -A perks.worker worker`` / ``beat``) on loopback.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import select

from perks.commissions import lifecycle
from perks.commissions.models import Commission, CommissionState
from perks.db import transaction
from perks.extensions import db
from perks.mail import MessageStatus, OutboxMessage, send_email
from tests import factories
from tests.processes import (
    Process,
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


def test_a_task_that_hangs_is_stopped_at_its_time_limit_and_the_worker_goes_on(
    app_factory, app, database_url, broker_url
):
    """A task stuck for good (here on a mail server that takes the connection and never
    answers, past a mail timeout set long) would hold its worker process for ever; production's
    prefork worker ends it at ``CELERY_TASK_TIME_LIMIT_SECONDS`` and takes the next task."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections are taken by the kernel, and never answered
    mail = {
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": silent.getsockname()[1],
        "MAIL_USE_TLS": False,
        "MAIL_TIMEOUT_SECONDS": 120,
    }
    # the limit travels with each task, from the process that queues it: every process of a
    # host has the same settings
    limited = {"CELERY_TASK_TIME_LIMIT_SECONDS": 3, **mail}
    web = app_factory(CELERY_ALWAYS_EAGER=False, CELERY_BROKER_URL=broker_url, **limited)
    env = process_env(database_url, CELERY_BROKER_URL=broker_url, **limited)
    user = factories.UserFactory(email="treo@example.com")
    db.session.commit()
    worker = Process(
        "worker",
        [
            sys.executable, "-m", "celery", "-A", "perks.worker", "worker",
            "--pool", "prefork", "--concurrency", "1", "--without-gossip", "--without-mingle",
            "--without-heartbeat", "--loglevel", "info",
            "--hostname", f"test-{uuid.uuid4().hex[:8]}@%h",
        ],
        env,
    )  # fmt: skip
    try:
        worker.wait_for_output("ready.")
        started = time.monotonic()
        with web.test_request_context(), transaction():
            send_email(user.email, "invitation", locale="vi", user=user, link="http://x/i")
        wait_for(lambda: "Hard time limit (3" in worker.output(), timeout=60, what="the time limit")
        assert time.monotonic() - started < 60  # not the mail timeout's 120 s
        # the worker took the next task: a new process in place of the one it ended
        with web.test_request_context(), transaction():
            send_email(user.email, "invitation", locale="vi", user=user, link="http://x/j")
        wait_for(
            lambda: worker.output().count("Hard time limit (3") >= 2, timeout=60, what="the next"
        )
    finally:
        worker.stop()
        silent.close()
