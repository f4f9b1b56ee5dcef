"""Background work on Celery, bound to Flask as the Flask documentation shows it.

* Every task runs inside an app context of its own (``FlaskTask``), so it has its own
  database session and renders in the app's settings.
* ``enqueue()`` publishes a task **after** the caller's transaction commits and never when it
  rolls back: a task never runs on data that does not exist yet, and a broker that is down
  costs a logged warning, not the business action (the periodic sweeps pick the work up).
* The periodic work, in one table (``BEAT_SCHEDULE``), runs on Celery beat. Every task is
  idempotent and safe when two hosts run it at once (conditional updates, row locks, unique
  constraints), and each one handles everything that is due, so a missed run is caught up by
  the next. ``flask perks tick`` runs the same functions for people who prefer cron.

The broker is Redis in production and in the tests that start a real worker. Without Redis
(``make run`` on a fresh machine) it is kombu's SQLAlchemy transport on a SQLite file in
``instance/``: nothing else to install, and the worker and beat survive a restart of the app.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import Celery, Task
from flask import Flask, current_app, has_app_context
from flask.globals import app_ctx
from sqlalchemy import event
from sqlalchemy.orm import Session

from perks.extensions import db

log = logging.getLogger(__name__)

#: what runs when, by task name: each entry a small, idempotent task that does all due work
BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "send-due-mail": {"task": "perks.mail.send_due", "schedule": timedelta(seconds=30)},
    "expire-claims": {"task": "perks.catalog.expire_claims", "schedule": timedelta(minutes=15)},
    # holders of unused claims told a week before their last day: hourly, so the
    # reminder comes early in the company's morning
    "remind-expiring-claims": {
        "task": "perks.catalog.remind_expiring_claims",
        "schedule": timedelta(hours=1),
    },
    "run-due-draws": {"task": "perks.catalog.run_due_draws", "schedule": timedelta(minutes=5)},
    "release-commissions": {
        "task": "perks.commissions.release_due",
        "schedule": timedelta(minutes=15),
    },
    # leavers' unused claims end on their leaving day, their draw seats pass on
    "end-leavers-claims": {
        "task": "perks.catalog.end_leavers_claims",
        "schedule": timedelta(minutes=15),
    },
    # leavers: each leaving date applied once on its day, then the policy to what matures
    "settle-leavers": {
        "task": "perks.commissions.settle_leavers",
        "schedule": timedelta(minutes=15),
    },
    # the day's gifts: hourly, so they arrive early in the company's morning; each run
    # grants only what no run granted yet
    "grant-due-gifts": {
        "task": "perks.recognition.grant_due_gifts",
        "schedule": timedelta(hours=1),
    },
    # points: what ended months left of each allowance expires, this month's is credited;
    # hourly, so a new month starts within the hour in the company's time zone
    "settle-points-months": {
        "task": "perks.recognition.settle_points_months",
        "schedule": timedelta(hours=1),
    },
    # feedback: owners told of new items, overdue ones escalated to the owner's manager
    "escalate-overdue-feedback": {
        "task": "perks.feedback.escalate_overdue",
        "schedule": timedelta(hours=1),
    },
    "roll-up-clicks": {"task": "perks.referrals.roll_up_clicks", "schedule": timedelta(hours=1)},
    # company stats and fraud signals: snapshots of every window, shown "as of" their moment
    # (perks.referrals.snapshots.SNAPSHOT_EVERY)
    "refresh-overviews": {
        "task": "perks.referrals.refresh_overviews",
        "schedule": timedelta(minutes=5),
    },
    # PostgreSQL: click partitions made months ahead, expired ones dropped once rolled up
    "maintain-click-partitions": {
        "task": "perks.referrals.maintain_click_partitions",
        "schedule": timedelta(days=1),
    },
    "purge-ended-sessions": {
        "task": "perks.auth.purge_ended_sessions",
        "schedule": timedelta(days=1),
    },
    # the API's Idempotency-Key answers, once their 24 hours are over
    "forget-old-idempotency-keys": {
        "task": "perks.api.forget_old_keys",
        "schedule": timedelta(hours=6),
    },
    "resume-background-jobs": {
        "task": "perks.background.resume_stalled",
        "schedule": timedelta(minutes=1),
    },
}

#: the modules that define tasks, imported by the worker (and by the app, for ``enqueue``)
TASK_MODULES = (
    "perks.api.tasks",
    "perks.auth.tasks",
    "perks.background",
    "perks.mail",
    "perks.catalog.tasks",
    "perks.commissions.tasks",
    "perks.feedback.tasks",
    "perks.recognition.tasks",
    "perks.referrals.tasks",
)

_PENDING = "perks_pending_tasks"


def celery_init_app(app: Flask) -> Celery:
    """Make the Celery app for ``app`` (``app.extensions["celery"]``) and make it current."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            # A fresh app context (so a session of its own) of the app calling the task in
            # this process, else of the app this worker was built for. Several apps share a
            # process in the tests, and a task proxy resolves to whichever was made last.
            caller = app_ctx.app if has_app_context() else app
            with caller.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_settings(app.config))
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def celery_settings(config: Any) -> dict[str, Any]:
    """Celery's settings from the app's (``CELERY_BROKER_URL``, ``CELERY_ALWAYS_EAGER``,
    ``CELERY_TASK_TIME_LIMIT_SECONDS``)."""
    broker = config["CELERY_BROKER_URL"]
    settings: dict[str, Any] = {
        "broker_url": broker,
        "task_ignore_result": True,  # progress and results live in the database (background.py)
        "result_backend": None,
        "imports": TASK_MODULES,
        "beat_schedule": beat_schedule(config.get("CELERY_BEAT_SCALE", 1.0)),
        "timezone": "UTC",
        "task_acks_late": True,  # a worker that dies mid-task leaves it for another
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        "task_always_eager": config["CELERY_ALWAYS_EAGER"],
        "task_eager_propagates": config["CELERY_ALWAYS_EAGER"],
        # The app's own logging (perks.observability: JSON or text, with request ids) stays
        # in charge of every process, the worker's included.
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        "beat_schedule_filename": config.get("CELERY_BEAT_SCHEDULE_FILE") or "celerybeat-schedule",
    }
    limit = int(config.get("CELERY_TASK_TIME_LIMIT_SECONDS") or 0)
    if limit:
        # The prefork worker kills a task's process at the limit and starts another (the
        # task is acknowledged as failed: a background job is taken up again by the sweep,
        # a periodic task by its next run). A tenth before, the task is told
        # (``SoftTimeLimitExceeded``), so a job can roll back and say it failed.
        settings["task_time_limit"] = limit
        if limit >= 10:
            settings["task_soft_time_limit"] = limit - max(1, limit // 10)
    if broker.startswith("redis"):
        # A dead Redis must cost a publisher milliseconds, not the request.
        settings["broker_transport_options"] = {
            "socket_connect_timeout": 1,
            "socket_timeout": 2,
            "max_retries": 0,
        }
        settings["broker_connection_timeout"] = 1
    return settings


def beat_schedule(scale: float = 1.0) -> dict[str, dict[str, Any]]:
    """``BEAT_SCHEDULE`` with every interval multiplied by ``scale`` (tests and demos make
    the day pass faster; production keeps 1)."""
    return {
        name: {**entry, "schedule": entry["schedule"] * scale}
        for name, entry in BEAT_SCHEDULE.items()
    }


def enqueue(task: Any, *args: object, **kwargs: object) -> None:
    """Publish ``task`` with these arguments once the current transaction commits.

    Outside a transaction it is published at once. Nothing is published for a transaction
    that rolls back. A broker that cannot be reached is logged and left to the sweeps: this
    never raises to the caller.
    """
    session = db.session()
    if session.in_transaction():
        session.info.setdefault(_PENDING, []).append((task, args, kwargs))
    else:
        _publish(task, args, kwargs)


def _publish(task: Any, args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    # The Flask app's own Celery app, not Celery's "current" one: tests make several apps.
    celery_app: Celery = current_app.extensions["celery"]
    bound = celery_app.tasks[task.name]
    if celery_app.conf.task_always_eager:
        bound.apply(args=args, kwargs=kwargs, throw=True)
        return
    try:
        bound.apply_async(args=args, kwargs=kwargs, retry=False)
    except Exception:  # the broker is down: the periodic sweep will find the work
        log.warning("could not publish %s; the periodic sweep will pick it up", task.name)


@event.listens_for(Session, "after_commit")
def _publish_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    for task, args, kwargs in pending or ():
        _publish(task, args, kwargs)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
