"""Background jobs: long work (imports, large exports, paying a batch) out of the request.

A job is a row, so every host sees it: its kind, its state (``queued`` → ``running`` →
``succeeded`` or ``failed``), its progress, a small JSON result and, when the work makes a
file (an export, an error report), that file in the database, a piece at a time.

* :func:`start_job` adds the row to the caller's transaction and publishes the
  ``perks.background.run`` task after the commit (``perks.jobs.enqueue``): nothing runs for a
  change that rolled back, and a broker that is down only delays the job (the sweep
  publishes it again).
* The task claims the row with one conditional UPDATE (``queued`` → ``running``), so a message
  delivered twice runs the work once. A running job whose heartbeat is older than
  ``JOB_STALE_SECONDS`` (its worker died) may be claimed again, at most ``MAX_ATTEMPTS``
  times in all. Each claim numbers the attempt; the work's own transaction ends by marking
  the job done only if that attempt still holds it (:meth:`JobRun.succeed`), so of two
  workers that both believe they own a job, one commits and the other rolls back.
* :func:`report_progress` writes the progress (and the heartbeat) in its own short
  transaction on a separate connection, at most once a second, so the page sees it while
  the work's transaction is still open.
* The ``perks.background.resume_stalled`` sweep (Celery beat, every minute) publishes again
  the jobs whose message was lost or whose worker stopped, fails those out of attempts, and
  deletes result files older than ``FILE_KEEP_DAYS``.

Capabilities register what each kind does with :func:`register_kind`; this module imports
none of them. The work runs in the language of the person who started it.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from celery import shared_task
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from perks.db import Base, affected_rows, transaction, utcnow
from perks.errors import NotFound, PerksError
from perks.extensions import db
from perks.i18n import LabelledEnum
from perks.jobs import enqueue

if TYPE_CHECKING:
    from perks.people.models import User

log = logging.getLogger(__name__)

#: claims of one job at most (a job whose worker keeps dying is failed after that)
MAX_ATTEMPTS = 3
#: progress is written at most this often (seconds), besides the first and the last
PROGRESS_INTERVAL = 1.0
#: a queued job not taken for this long is published again (its message may be lost)
REPUBLISH_AFTER = timedelta(minutes=2)
#: days a finished job's file (an export) is kept
FILE_KEEP_DAYS = 7
#: bytes per stored piece of a file
FILE_PIECE = 1024 * 1024

#: errors stored as keys (everything else is stored as the text the work raised, already in
#: the language of the person who started it)
ERROR_INTERNAL = "internal_error"
ERROR_STALLED = "stalled"
ERROR_MESSAGES = {
    ERROR_INTERNAL: _l(
        "Something went wrong while this ran. Nothing was changed; try again, and tell an "
        "administrator if it happens again."
    ),
    ERROR_STALLED: _l(
        "This stopped before it finished (the worker running it stopped several times). "
        "Nothing was changed; try again."
    ),
}


class JobState(LabelledEnum):
    QUEUED = "queued", _l("Waiting to start")
    RUNNING = "running", _l("Running")
    SUCCEEDED = "succeeded", _l("Done")
    FAILED = "failed", _l("Failed")

    @property
    def finished(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED)


class BackgroundJob(Base):
    """One piece of long work, its progress and its outcome."""

    __tablename__ = "background_job"
    __table_args__ = (
        #: "my recent jobs"
        Index("ix_background_job_created_by_id_id", "created_by_id", "id"),
        #: the sweep's question: what is queued or running, oldest heartbeat first
        Index("ix_background_job_state_heartbeat_at", "state", "heartbeat_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the job's address (``/jobs/<token>``): random, so ids cannot be walked
    token: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: new_token())
    #: what the work is: a kind registered with ``register_kind`` ("people_import", "export")
    kind: Mapped[str] = mapped_column(String(32))
    #: what the job is about, "<type>:<id>" ("payout_batch:12"), for its pages to find it
    subject: Mapped[str] = mapped_column(String(64), default="", index=True)
    state: Mapped[JobState] = mapped_column(
        Enum(
            JobState, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]
        ),
        default=JobState.QUEUED,
    )
    #: the work's input: plain values (ids, filters), never a file
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: the language the work speaks (its messages, the names in its files)
    locale: Mapped[str] = mapped_column(String(5), default="vi")
    #: what the work is doing now, a key its result template names ("checking", "writing")
    stage: Mapped[str] = mapped_column(String(32), default="")
    done: Mapped[int] = mapped_column(Integer, default=0)
    #: None while the size of the work is unknown
    total: Mapped[int | None] = mapped_column(Integer)
    #: what the work made: small (counts, ids, the name of its file)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: why it failed: a key of ``ERROR_MESSAGES`` or the text of the domain error
    error: Mapped[str] = mapped_column(Text, default="")
    #: claims so far (a second one means a worker stopped while running it)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: who started it; None for the command line and the system
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: last sign of life: the running worker's last progress; for a queued job, when it was
    #: last published
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    created_by: Mapped[User | None] = relationship(lazy="select")

    @property
    def percent(self) -> int | None:
        """Progress in whole percent; None while the size is unknown."""
        if self.state is JobState.SUCCEEDED:
            return 100
        if not self.total:
            return None
        return max(0, min(100, self.done * 100 // self.total))

    @property
    def title(self) -> str:
        kind = _KINDS.get(self.kind)
        return str(kind.title) if kind else self.kind

    @property
    def result_template(self) -> str | None:
        kind = _KINDS.get(self.kind)
        return kind.result_template if kind else None

    @property
    def stage_label(self) -> str:
        kind = _KINDS.get(self.kind)
        label = (kind.stages or {}).get(self.stage) if kind else None
        return str(label) if label is not None else ""

    @property
    def error_message(self) -> str:
        """The error, in the reader's language when it is one of ours."""
        message = ERROR_MESSAGES.get(self.error)
        return str(message) if message is not None else self.error

    @property
    def file(self) -> dict[str, Any] | None:
        """The stored file's name, type, size and expiry (``result["file"]``), if any."""
        stored = (self.result or {}).get("file")
        return stored if isinstance(stored, dict) else None

    @property
    def file_kept(self) -> bool:
        """True while the job's file can still be downloaded (the sweep deletes it
        ``FILE_KEEP_DAYS`` after the job finished)."""
        return has_file(self)

    @property
    def file_expires_at(self) -> datetime | None:
        if self.file is None or self.finished_at is None:
            return None
        return self.finished_at + timedelta(days=FILE_KEEP_DAYS)

    def __repr__(self) -> str:
        return f"<BackgroundJob {self.id} {self.kind} {self.state.value}>"


class BackgroundJobPiece(Base):
    """One piece of a file a job made (an export, an error report), in order."""

    __tablename__ = "background_job_piece"

    job_id: Mapped[int] = mapped_column(
        ForeignKey("background_job.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


def new_token() -> str:
    return secrets.token_urlsafe(18)


# --- kinds ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobKind:
    """What a kind of job does, and how its page shows it."""

    name: str
    #: runs the work (see ``JobRun``); returns the result unless it already called
    #: ``succeed`` or ``fail``
    run: Callable[[JobRun], dict[str, Any] | None]
    title: Any
    #: the template that shows the result on the job's page (gets ``job``)
    result_template: str | None = None
    #: what each of its stages is called on the page
    stages: dict[str, Any] | None = None
    #: who, besides the person who started it and administrators, sees its jobs (finance
    #: sees every batch being paid: the batch's page links to it for all of them)
    shared_with: Callable[[User], bool] | None = None
    #: who may see its jobs at all, their starter included (the role its pages need: HR
    #: for people files, finance for exports); None: anyone allowed above
    seen_by: Callable[[User], bool] | None = None


_KINDS: dict[str, JobKind] = {}


def register_kind(
    name: str,
    run: Callable[[JobRun], dict[str, Any] | None],
    *,
    title: Any,
    result_template: str | None = None,
    stages: dict[str, Any] | None = None,
    shared_with: Callable[[User], bool] | None = None,
    seen_by: Callable[[User], bool] | None = None,
) -> None:
    """Say what jobs of kind ``name`` do (capabilities call it when they are imported)."""
    _KINDS[name] = JobKind(name, run, title, result_template, stages, shared_with, seen_by)


def kinds() -> dict[str, JobKind]:
    return dict(_KINDS)


# --- starting ------------------------------------------------------------------------------------


def start_job(
    kind: str,
    *,
    actor: User | None,
    payload: dict[str, Any] | None = None,
    subject: str = "",
    total: int | None = None,
    locale: str | None = None,
) -> BackgroundJob:
    """Add a queued job to the caller's unit of work (flush only); it is published after the
    commit. ``payload`` holds plain values only.

    Raises:
        LookupError: ``kind`` was never registered (a programming error).
    """
    if kind not in _KINDS:
        raise LookupError(f"unknown background job kind {kind!r}")
    job = BackgroundJob(
        kind=kind,
        subject=subject,
        payload=payload or {},
        total=total,
        locale=locale or _current_locale(),
        created_by_id=actor.id if actor is not None else None,
        state=JobState.QUEUED,
        heartbeat_at=utcnow(),
    )
    db.session.add(job)
    db.session.flush()
    enqueue(run_job, job.id)
    return job


def _current_locale() -> str:
    from flask_babel import get_locale

    try:
        return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
    except (RuntimeError, KeyError):  # no app or request context: the default
        return "vi"


# --- reading -------------------------------------------------------------------------------------


def get_job(token: str, *, viewer: User | None, sees_all: bool = False) -> BackgroundJob:
    """The job with ``token``, if ``viewer`` started it, or its kind is shared with them
    (``shared_with``), or ``sees_all`` (admins); never to someone who no longer holds the
    role its kind needs (``seen_by``).

    Raises:
        NotFound: no such job, or someone else's that the viewer may not see.
    """
    job = db.session.scalar(select(BackgroundJob).where(BackgroundJob.token == token))
    if job is None or not (sees_all or (viewer is not None and may_see(job, viewer))):
        raise NotFound()
    return job


def may_see(job: BackgroundJob, viewer: User) -> bool:
    """True if ``viewer`` (not an administrator as such) may see ``job`` (see ``get_job``)."""
    kind = _KINDS.get(job.kind)
    if kind is not None and kind.seen_by is not None and not kind.seen_by(viewer):
        return False
    if job.created_by_id is not None and job.created_by_id == viewer.id:
        return True
    return kind is not None and kind.shared_with is not None and kind.shared_with(viewer)


def active_job(kind: str, subject: str) -> BackgroundJob | None:
    """The queued or running job of ``kind`` about ``subject``, if there is one."""
    return db.session.scalar(
        select(BackgroundJob)
        .where(
            BackgroundJob.kind == kind,
            BackgroundJob.subject == subject,
            BackgroundJob.state.in_([JobState.QUEUED, JobState.RUNNING]),
        )
        .order_by(BackgroundJob.id.desc())
        .limit(1)
    )


def latest_job(kind: str, subject: str) -> BackgroundJob | None:
    """The newest job of ``kind`` about ``subject``, whatever its state."""
    return db.session.scalar(
        select(BackgroundJob)
        .where(BackgroundJob.kind == kind, BackgroundJob.subject == subject)
        .order_by(BackgroundJob.id.desc())
        .limit(1)
    )


def recent_jobs(
    user_id: int, kinds: Iterable[str] | None = None, *, limit: int = 10
) -> list[BackgroundJob]:
    """``user_id``'s newest jobs (of ``kinds``), newest first."""
    query = select(BackgroundJob).where(BackgroundJob.created_by_id == user_id)
    if kinds is not None:
        query = query.where(BackgroundJob.kind.in_(list(kinds)))
    return list(db.session.scalars(query.order_by(BackgroundJob.id.desc()).limit(limit)))


# --- running -------------------------------------------------------------------------------------


class JobTakenOver(Exception):
    """Another worker claimed the job again while this one still ran it (this one's work
    must roll back)."""


@dataclass
class JobRun:
    """A claimed job, as its work sees it."""

    id: int
    token: str
    kind: str
    payload: dict[str, Any]
    actor_id: int | None
    locale: str
    #: the claim this run holds (``BackgroundJob.attempts`` when it was claimed)
    attempt: int
    #: set once the run recorded its outcome
    outcome: JobState | None = None

    @property
    def actor(self) -> User | None:
        """Who started the job (None: the command line or the system)."""
        if self.actor_id is None:
            return None
        job = db.session.get(BackgroundJob, self.id)
        return job.created_by if job is not None else None

    def progress(
        self, done: int, total: int | None = None, *, stage: str | None = None, force: bool = False
    ) -> None:
        """Record progress (throttled; ``force`` writes now), while this attempt holds the
        job."""
        report_progress(self.id, done, total, stage=stage, force=force, attempt=self.attempt)

    def succeed(self, result: dict[str, Any] | None = None) -> None:
        """Mark the job done with ``result``, in the caller's transaction (flush only), so the
        work and its outcome commit together.

        Raises:
            JobTakenOver: another claim holds the job now; the caller's transaction must roll
                back (it propagates out of ``transaction()``, which does that).
        """
        finish_job(self.id, result or {}, attempt=self.attempt)
        self.outcome = JobState.SUCCEEDED

    def fail(self, error: str, result: dict[str, Any] | None = None) -> None:
        """Mark the job failed (its own transaction): ``error`` is shown to the person.
        Nothing changes if this attempt no longer holds the job (another took it over, or
        its success committed)."""
        if fail_job(self.id, error, result=result, attempt=self.attempt):
            self.outcome = JobState.FAILED

    def write_file(
        self, pieces: Iterable[bytes], *, name: str, mimetype: str, **details: Any
    ) -> dict[str, Any]:
        """Store a file in the caller's transaction; returns its description for the result
        (``{"file": ...}``)."""
        with JobFileWriter(self.id) as target:
            for piece in pieces:
                target.write(piece)
        return file_description(target, name=name, mimetype=mimetype, **details)

    def file_writer(self) -> JobFileWriter:
        return JobFileWriter(self.id)


def claim_job(job_id: int, *, now: datetime | None = None) -> int | None:
    """Take a job for this worker: a queued one, or a running one whose heartbeat is stale
    (with attempts left). Returns the attempt number, or None when the job is done, failed or
    held by a live worker (a message delivered twice does nothing)."""
    now = now or utcnow()
    stale = now - stale_after()
    with transaction():
        result = db.session.execute(
            update(BackgroundJob)
            .where(
                BackgroundJob.id == job_id,
                or_(
                    BackgroundJob.state == JobState.QUEUED,
                    and_(
                        BackgroundJob.state == JobState.RUNNING,
                        BackgroundJob.heartbeat_at < stale,
                        BackgroundJob.attempts < MAX_ATTEMPTS,
                    ),
                ),
            )
            .values(
                state=JobState.RUNNING,
                attempts=BackgroundJob.attempts + 1,
                started_at=func.coalesce(BackgroundJob.started_at, now),
                heartbeat_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        taken = affected_rows(result)
        if taken != 1:
            return None
        return db.session.scalar(select(BackgroundJob.attempts).where(BackgroundJob.id == job_id))


def finish_job(job_id: int, result: dict[str, Any], *, attempt: int) -> None:
    """Mark a running job succeeded in the caller's transaction (flush only).

    Raises:
        JobTakenOver: the job is no longer held by ``attempt``.
    """
    now = utcnow()
    outcome = db.session.execute(
        update(BackgroundJob)
        .where(
            BackgroundJob.id == job_id,
            BackgroundJob.state == JobState.RUNNING,
            BackgroundJob.attempts == attempt,
        )
        .values(
            state=JobState.SUCCEEDED,
            result=result,
            finished_at=now,
            heartbeat_at=now,
            done=func.coalesce(BackgroundJob.total, BackgroundJob.done),
        )
        .execution_options(synchronize_session=False)
    )
    done = affected_rows(outcome)
    if done != 1:
        raise JobTakenOver(job_id)
    _last_report.pop(job_id, None)


def fail_job(
    job_id: int, error: str, *, result: dict[str, Any] | None = None, attempt: int | None = None
) -> bool:
    """Mark a running job failed with ``error`` (own transaction). Returns False if
    ``attempt`` no longer holds it (nothing is written then)."""
    now = utcnow()
    query = update(BackgroundJob).where(
        BackgroundJob.id == job_id, BackgroundJob.state == JobState.RUNNING
    )
    if attempt is not None:
        query = query.where(BackgroundJob.attempts == attempt)
    values: dict[str, Any] = {"state": JobState.FAILED, "error": error, "finished_at": now}
    if result is not None:
        values["result"] = result
    with transaction():
        outcome = db.session.execute(
            query.values(**values).execution_options(synchronize_session=False)
        )
        failed = affected_rows(outcome)
    _last_report.pop(job_id, None)
    return failed == 1


#: when each job's progress was last written by this process (monotonic seconds)
_last_report: dict[int, float] = {}


def report_progress(
    job_id: int,
    done: int,
    total: int | None = None,
    *,
    stage: str | None = None,
    force: bool = False,
    attempt: int | None = None,
) -> bool:
    """Write a running job's progress and heartbeat, at most once per ``PROGRESS_INTERVAL``
    (``force``: now). Its own short transaction on its own connection, so it is seen while the
    work's transaction is open. Never raises over a busy database: progress is a hint. With
    ``attempt``, nothing is written once another claim holds the job (a worker thought dead
    neither moves the new attempt's progress nor keeps the job looking alive).

    On SQLite (development), while the work holds the write lock the update is skipped.
    Returns True if written.
    """
    now = time.monotonic()
    last = _last_report.get(job_id)
    if not force and last is not None and now - last < PROGRESS_INTERVAL:
        return False
    _last_report[job_id] = now
    values: dict[str, Any] = {"done": done, "heartbeat_at": utcnow()}
    if total is not None:
        values["total"] = total
    if stage is not None:
        values["stage"] = stage
    statement = (
        update(BackgroundJob)
        .where(BackgroundJob.id == job_id, BackgroundJob.state == JobState.RUNNING)
        .values(**values)
    )
    if attempt is not None:
        statement = statement.where(BackgroundJob.attempts == attempt)
    engine = db.engine
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.connect() as connection:
            waits_ms = 0
            if sqlite:  # a progress report never waits long for the file's write lock
                waits_ms = int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0)
                connection.exec_driver_sql("PRAGMA busy_timeout = 50")
            try:
                if engine.dialect.name == "postgresql":
                    connection.execute(text("SET LOCAL lock_timeout = '2s'"))
                connection.execute(statement)
                connection.commit()
            finally:
                connection.rollback()
                if sqlite:  # the pooled connection waits as long as it did before
                    connection.exec_driver_sql(f"PRAGMA busy_timeout = {waits_ms}")
                    connection.commit()
    except DBAPIError as error:
        log.debug("progress of job %s not written: %s", job_id, error)
        return False
    return True


@shared_task(name="perks.background.run")
def run_job(job_id: int) -> str | None:
    """Run a job if this worker can claim it (see ``execute``)."""
    state = execute(job_id)
    return state.value if state is not None else None


def execute(job_id: int) -> JobState | None:
    """Claim the job and run its work; record how it ended. Returns the final state, or None
    when the job was not claimed (done already, or held by a live worker).

    A domain error fails the job with its message; any other error fails it with a generic
    message and is logged. Neither propagates: the job's row tells the story.
    """
    attempt = claim_job(job_id)
    if attempt is None:
        return None
    job = db.session.get(BackgroundJob, job_id)
    assert job is not None
    run = JobRun(
        id=job.id,
        token=job.token,
        kind=job.kind,
        payload=dict(job.payload or {}),
        actor_id=job.created_by_id,
        locale=job.locale or "vi",
        attempt=attempt,
    )
    db.session.rollback()  # nothing held while the work runs
    kind = _KINDS.get(run.kind)
    with force_locale(run.locale):
        if kind is None:
            log.error("background job %s has an unknown kind %r", run.id, run.kind)
            run.fail(ERROR_INTERNAL)
            return JobState.FAILED
        try:
            result = kind.run(run)
            if run.outcome is None:
                with transaction():
                    run.succeed(result)
        except JobTakenOver:
            log.warning("background job %s was taken over by another worker", run.id)
            db.session.rollback()
            return None
        # A success recorded in a transaction that then rolled back (its commit failed) is
        # no success: the job fails (a success that did commit is left as it is).
        except PerksError as error:
            db.session.rollback()
            if run.outcome is not JobState.FAILED:
                run.fail(error.message)
        except Exception:
            log.exception("background job %s (%s) failed", run.id, run.kind)
            db.session.rollback()
            if run.outcome is not JobState.FAILED:
                run.fail(ERROR_INTERNAL)
    return run.outcome


def stale_after() -> timedelta:
    return timedelta(seconds=current_app.config.get("JOB_STALE_SECONDS", 300))


@shared_task(name="perks.background.resume_stalled")
def resume_stalled() -> int:
    """The sweep (see ``resume_stalled_jobs``)."""
    return resume_stalled_jobs()


def resume_stalled_jobs(now: datetime | None = None) -> int:
    """Publish again every queued job nobody took for ``REPUBLISH_AFTER`` and every running
    job whose heartbeat is stale; fail those out of attempts; delete expired files. Safe on
    several hosts at once (a job is claimed once whatever is published). Returns how many
    were published."""
    now = now or utcnow()
    stale = now - stale_after()
    with transaction():
        db.session.execute(
            update(BackgroundJob)
            .where(
                BackgroundJob.state == JobState.RUNNING,
                BackgroundJob.heartbeat_at < stale,
                BackgroundJob.attempts >= MAX_ATTEMPTS,
            )
            .values(state=JobState.FAILED, error=ERROR_STALLED, finished_at=now)
            .execution_options(synchronize_session=False)
        )
        ids = list(
            db.session.scalars(
                select(BackgroundJob.id)
                .where(
                    or_(
                        and_(
                            BackgroundJob.state == JobState.QUEUED,
                            BackgroundJob.heartbeat_at < now - REPUBLISH_AFTER,
                        ),
                        and_(
                            BackgroundJob.state == JobState.RUNNING,
                            BackgroundJob.heartbeat_at < stale,
                        ),
                    )
                )
                .order_by(BackgroundJob.id)
            )
        )
        if ids:
            db.session.execute(
                update(BackgroundJob)
                .where(BackgroundJob.id.in_(ids), BackgroundJob.state == JobState.QUEUED)
                .values(heartbeat_at=now)
                .execution_options(synchronize_session=False)
            )
        for job_id in ids:
            enqueue(run_job, job_id)
        expired = select(BackgroundJob.id).where(
            BackgroundJob.finished_at < now - timedelta(days=FILE_KEEP_DAYS)
        )
        db.session.execute(
            delete(BackgroundJobPiece)
            .where(BackgroundJobPiece.job_id.in_(expired))
            .execution_options(synchronize_session=False)
        )
    return len(ids)


# --- files ---------------------------------------------------------------------------------------


class JobFileWriter:
    """A write-only binary file stored in ``background_job_piece``, a piece of ``FILE_PIECE``
    bytes at a time, in the caller's transaction (no ORM objects: memory stays flat).

    It has ``tell`` but no ``seek``, which is what ``zipfile`` needs to stream a workbook.
    """

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.size = 0
        self.pieces = 0
        self._buffer = bytearray()
        self.closed = False
        # A retried job writes its file again from the start.
        db.session.execute(
            delete(BackgroundJobPiece)
            .where(BackgroundJobPiece.job_id == job_id)
            .execution_options(synchronize_session=False)
        )

    def write(self, data: bytes) -> int:
        self._buffer += data
        self.size += len(data)
        while len(self._buffer) >= FILE_PIECE:
            self._store(bytes(self._buffer[:FILE_PIECE]))
            del self._buffer[:FILE_PIECE]
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self.closed:
            return
        if self._buffer or not self.pieces:
            self._store(bytes(self._buffer))
            self._buffer.clear()
        self.closed = True

    def _store(self, data: bytes) -> None:
        db.session.execute(
            insert(BackgroundJobPiece), [{"job_id": self.job_id, "seq": self.pieces, "data": data}]
        )
        self.pieces += 1

    def __enter__(self) -> JobFileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def file_description(
    writer: JobFileWriter, *, name: str, mimetype: str, **details: Any
) -> dict[str, Any]:
    """What a job's result says about the file ``writer`` stored."""
    writer.close()
    return {
        "name": name,
        "mimetype": mimetype,
        "size": writer.size,
        "pieces": writer.pieces,
        **details,
    }


def has_file(job: BackgroundJob) -> bool:
    """True if the job's file is still stored (it is deleted ``FILE_KEEP_DAYS`` later)."""
    if job.file is None:
        return False
    return (
        db.session.scalar(
            select(func.count())
            .select_from(BackgroundJobPiece)
            .where(BackgroundJobPiece.job_id == job.id)
        )
        or 0
    ) > 0


def read_file(job_id: int) -> Iterator[bytes]:
    """The stored file's pieces in order, one query each (memory: one piece)."""
    seq = 0
    while True:
        data = db.session.scalar(
            select(BackgroundJobPiece.data).where(
                BackgroundJobPiece.job_id == job_id, BackgroundJobPiece.seq == seq
            )
        )
        if data is None:
            return
        db.session.rollback()  # hold no transaction between pieces of a long download
        yield bytes(data)
        seq += 1
