"""Background jobs: claimed once, a redelivered message does nothing, a stalled job is taken
over (and the worker that stalled cannot commit), progress is seen while the work's
transaction is open, files are stored and read back a piece at a time."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select, update

from perks import background, jobs
from perks.background import (
    BackgroundJob,
    BackgroundJobPiece,
    JobRun,
    JobState,
    JobTakenOver,
)
from perks.db import transaction, utcnow
from perks.errors import Conflict
from perks.extensions import db
from perks.people.models import User
from tests.factories import UserFactory

#: what the test kinds did, by job id (a run appends its payload's "n")
RUNS: dict[int, list[int]] = {}


def _count(run: JobRun) -> dict[str, Any]:
    RUNS.setdefault(run.id, []).append(run.payload.get("n", 0))
    run.progress(1, 2, force=True)
    return {"n": run.payload.get("n", 0), "attempt": run.attempt}


def _refuse(run: JobRun) -> None:
    raise Conflict("Someone else did it first.")


def _crash(run: JobRun) -> None:
    raise RuntimeError("a bug")


def _store_a_file(run: JobRun) -> None:
    with transaction():
        described = run.write_file(
            [b"a" * (background.FILE_PIECE + 10), b"b" * 5],
            name="test.bin",
            mimetype="application/octet-stream",
        )
        run.succeed({"file": described})


def _fail_at_the_commit(run: JobRun) -> None:
    with transaction():
        run.succeed({"n": 1})
        # the commit fails (the database went away, a constraint checked at the commit)
        raise RuntimeError("server closed the connection unexpectedly")


background.register_kind("test_count", _count, title="Counting")
background.register_kind("test_commit_fails", _fail_at_the_commit, title="Failing at the end")
background.register_kind("test_refuse", _refuse, title="Refusing")
background.register_kind("test_crash", _crash, title="Crashing")
background.register_kind("test_file", _store_a_file, title="A file")


@pytest.fixture(autouse=True)
def _forget_runs() -> None:
    RUNS.clear()  # ids are used again once the database is emptied


def queued(kind: str = "test_count", **fields: Any) -> BackgroundJob:
    """A job row written as ``start_job`` writes it, but not published (the test runs it)."""
    fields.setdefault("heartbeat_at", utcnow())
    job = BackgroundJob(kind=kind, payload={"n": 7}, locale="en", **fields)
    db.session.add(job)
    db.session.commit()
    return job


def reread(job: BackgroundJob) -> BackgroundJob:
    db.session.expire_all()
    found = db.session.get(BackgroundJob, job.id)
    assert found is not None
    return found


def test_a_started_job_runs_after_the_commit_and_records_its_result(app):
    actor = UserFactory()
    with transaction():
        job = background.start_job("test_count", actor=actor, payload={"n": 3})
        assert RUNS.get(job.id) is None  # nothing runs before the commit
    job = reread(job)
    assert RUNS[job.id] == [3]
    assert job.state is JobState.SUCCEEDED
    assert job.result == {"n": 3, "attempt": 1}
    assert job.created_by_id == actor.id
    assert job.started_at is not None
    assert job.finished_at is not None
    assert job.done == job.total == 2


def test_a_job_started_in_a_transaction_that_rolls_back_never_runs(app, monkeypatch):
    started: list[int] = []

    def work_that_fails() -> None:
        with transaction():
            started.append(background.start_job("test_count", actor=None).id)
            raise RuntimeError("the caller's work failed")

    with pytest.raises(RuntimeError):
        work_that_fails()
    assert db.session.get(BackgroundJob, started[0]) is None
    # the next commit in the same session publishes nothing of it either (a mutation that kept
    # the rolled-back work waiting for the next commit passed every test)
    published: list[tuple[object, ...]] = []
    monkeypatch.setattr(jobs, "_publish", lambda *call: published.append(call))
    with transaction():
        pass
    assert published == []
    assert RUNS == {}


def test_a_message_delivered_twice_does_the_work_once(app):
    job = queued()
    assert background.execute(job.id) is JobState.SUCCEEDED
    assert background.execute(job.id) is None  # the redelivery
    assert RUNS[job.id] == [7]
    assert reread(job).attempts == 1


def test_a_running_job_with_a_live_worker_is_not_claimed_again(app):
    job = queued(state=JobState.RUNNING, attempts=1)
    assert background.claim_job(job.id) is None
    assert background.execute(job.id) is None
    assert job.id not in RUNS


def test_a_job_whose_worker_stopped_is_taken_over_and_the_old_claim_cannot_finish(app):
    stale = utcnow() - timedelta(seconds=app.config["JOB_STALE_SECONDS"] + 1)
    job = queued(state=JobState.RUNNING, attempts=1, heartbeat_at=stale)

    assert background.claim_job(job.id) == 2
    # The first worker wakes up and tries to record its outcome: refused, and rolled back.
    with pytest.raises(JobTakenOver), transaction():
        background.finish_job(job.id, {"from": "the first worker"}, attempt=1)
    assert background.fail_job(job.id, "late", attempt=1) is False
    assert reread(job).state is JobState.RUNNING
    with transaction():
        background.finish_job(job.id, {"from": "the second worker"}, attempt=2)
    assert reread(job).result == {"from": "the second worker"}


def test_a_worker_whose_job_was_taken_over_no_longer_writes_its_progress(app):
    """The worker thought dead went on reporting: its counts overwrote the new attempt's on
    the page (the bar jumped back and forth), and its heartbeats kept the job looking alive
    had the new worker died."""
    stale = utcnow() - timedelta(seconds=app.config["JOB_STALE_SECONDS"] + 1)
    job = queued(state=JobState.RUNNING, attempts=1, heartbeat_at=stale)
    assert background.claim_job(job.id) == 2
    old, new = (
        JobRun(
            id=job.id,
            token=job.token,
            kind=job.kind,
            payload={},
            actor_id=None,
            locale="en",
            attempt=attempt,
        )
        for attempt in (1, 2)
    )
    new.progress(10, 100, force=True)

    old.progress(90, 100, force=True)

    assert reread(job).done == 10


def test_a_job_that_keeps_stalling_is_failed_by_the_sweep_after_its_attempts(app):
    stale = utcnow() - timedelta(seconds=app.config["JOB_STALE_SECONDS"] + 1)
    job = queued(state=JobState.RUNNING, attempts=background.MAX_ATTEMPTS, heartbeat_at=stale)

    assert background.claim_job(job.id) is None
    background.resume_stalled_jobs()

    job = reread(job)
    assert job.state is JobState.FAILED
    assert job.error == background.ERROR_STALLED
    with force_locale("en"):
        assert "stopped before it finished" in job.error_message


def test_the_sweep_publishes_again_a_queued_job_nobody_took(app):
    lost = queued(heartbeat_at=utcnow() - background.REPUBLISH_AFTER - timedelta(seconds=1))
    fresh = queued()

    assert background.resume_stalled_jobs() == 1  # tests run tasks in-process: it ran

    assert RUNS[lost.id] == [7]
    assert reread(lost).state is JobState.SUCCEEDED
    assert reread(fresh).state is JobState.QUEUED  # just published: left alone
    assert fresh.id not in RUNS


def test_the_sweep_resumes_a_stalled_job_on_another_worker(app):
    stale = utcnow() - timedelta(seconds=app.config["JOB_STALE_SECONDS"] + 1)
    job = queued(state=JobState.RUNNING, attempts=1, heartbeat_at=stale)

    background.resume_stalled_jobs()

    job = reread(job)
    assert job.state is JobState.SUCCEEDED
    assert job.result == {"n": 7, "attempt": 2}


def test_a_domain_error_fails_the_job_with_its_message(app):
    job = queued("test_refuse")
    assert background.execute(job.id) is JobState.FAILED
    job = reread(job)
    assert job.error_message == "Someone else did it first."
    assert job.finished_at is not None


def test_an_unexpected_error_fails_the_job_with_a_message_in_the_readers_language(app):
    job = queued("test_crash")
    assert background.execute(job.id) is JobState.FAILED
    job = reread(job)
    assert job.error == background.ERROR_INTERNAL
    with force_locale("en"):
        assert job.error_message.startswith("Something went wrong while this ran.")
    with force_locale("vi"):
        assert job.error_message.startswith("Đã có lỗi")


def test_a_job_whose_outcome_does_not_commit_fails_instead_of_running_on(app):
    job = queued("test_commit_fails")
    assert background.execute(job.id) is JobState.FAILED
    job = reread(job)
    assert job.state is JobState.FAILED
    assert job.error == background.ERROR_INTERNAL
    assert job.result == {}


def test_progress_is_written_on_its_own_connection_while_the_work_holds_its_transaction(app):
    job = queued(state=JobState.RUNNING, attempts=1)
    person = UserFactory(name="Before")
    # The work's transaction: a write, not committed yet.
    db.session.execute(update(User).where(User.id == person.id).values(name="During"))

    started = time.monotonic()
    written = background.report_progress(job.id, 10, 100, stage="checking", force=True)
    waited = time.monotonic() - started

    with db.engine.connect() as other:
        seen = other.execute(
            select(BackgroundJob.done, BackgroundJob.total, BackgroundJob.stage).where(
                BackgroundJob.id == job.id
            )
        ).one()
    db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        assert written
        assert tuple(seen) == (10, 100, "checking")
    else:
        # SQLite has one writer at a time: the progress is skipped, and never waits for it.
        assert not written
        assert tuple(seen) == (0, None, "")
    assert waited < 2
    # Within the interval, further reports are skipped (one write a second at most).
    assert not background.report_progress(job.id, 11, 100)


def test_a_progress_report_leaves_the_pooled_connections_waiting_as_long_as_before(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only: the report shortens the file lock's wait, then restores it")
    from perks.database import SQLITE_BUSY_SECONDS

    job = queued(state=JobState.RUNNING, attempts=1)
    db.session.commit()
    for _ in range(3):  # the pool's connection is used again each time
        assert background.report_progress(job.id, 10, 100, force=True)
        with db.engine.connect() as connection:
            waits_ms = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        assert waits_ms == SQLITE_BUSY_SECONDS * 1000


def test_progress_and_percent_as_the_page_shows_them(app):
    job = queued(state=JobState.RUNNING, attempts=1)
    assert background.report_progress(job.id, 25, 100, force=True)
    assert reread(job).percent == 25


def test_a_jobs_file_is_stored_in_pieces_and_read_back_whole(app):
    job = queued("test_file")
    background.execute(job.id)
    job = reread(job)
    assert job.state is JobState.SUCCEEDED
    assert job.file["size"] == background.FILE_PIECE + 15
    pieces = db.session.scalar(
        select(func.count())
        .select_from(BackgroundJobPiece)
        .where(BackgroundJobPiece.job_id == job.id)
    )
    assert pieces == 2
    assert background.has_file(job)
    assert b"".join(background.read_file(job.id)) == b"a" * (background.FILE_PIECE + 10) + b"b" * 5


def test_files_older_than_the_keeping_time_are_deleted_by_the_sweep(app):
    job = queued("test_file")
    background.execute(job.id)
    with transaction():
        reread(job).finished_at = utcnow() - timedelta(days=background.FILE_KEEP_DAYS, minutes=1)
    background.resume_stalled_jobs()
    assert not background.has_file(reread(job))


def test_a_job_is_seen_by_its_creator_and_admins_only(app):
    creator, other = UserFactory(), UserFactory()
    job = queued(created_by_id=creator.id)
    assert background.get_job(job.token, viewer=creator) == job
    assert background.get_job(job.token, viewer=other, sees_all=True) == job
    for viewer in (other, None):
        with pytest.raises(background.NotFound):
            background.get_job(job.token, viewer=viewer)
    with pytest.raises(background.NotFound):
        background.get_job("no-such-token", viewer=creator)


def test_an_unknown_kind_is_refused_when_started(app):
    with pytest.raises(LookupError), transaction():
        background.start_job("no_such_kind", actor=None)
