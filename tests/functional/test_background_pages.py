"""The pages of background jobs: who may see a job, its progress while it runs (asked for by a
script, no inline code), its result, and the person's own list to come back to."""

from __future__ import annotations

import re

from perks.background import BackgroundJob, JobState
from perks.db import utcnow
from perks.extensions import db
from perks.people import imports
from perks.people.models import Role
from tests import factories
from tests.helpers import deferred_script, login


def a_job(creator_id: int | None, **fields: object) -> BackgroundJob:
    """A people file's dry run as a worker leaves it halfway (nothing is published)."""
    upload = imports.store_upload(
        b"email,name\nan@congty.vn,An\n",
        filename="nhansu.csv",
        actor=factories.UserFactory(roles={Role.HR}),
    )
    job = BackgroundJob(
        kind=imports.CHECK_KIND,
        subject=f"people_import:{upload.id}",
        payload={"import_id": upload.id, "filename": "nhansu.csv"},
        locale="en",
        created_by_id=creator_id,
        heartbeat_at=utcnow(),
        **{"state": JobState.RUNNING, "done": 2500, "total": 10_000, "stage": "checking", **fields},
    )
    db.session.add(job)
    db.session.commit()
    return job


def test_the_creator_sees_the_progress_of_a_running_job(client, login_as):
    hr = login_as(Role.HR)
    job = a_job(hr.id)

    page = client.get(f"/jobs/{job.token}")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="job-progress"' in html
    assert '<progress class="w-100 mb-1" max="100" value="25"' in html
    assert "2,500 of 10,000" in html
    assert "Checking the file" in html
    assert f'data-job-status-url="/jobs/{job.token}/status"' in html
    assert deferred_script("/static/js/job-progress.js").search(html)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline script"
    assert "You can leave this page" in html


def test_the_status_answers_the_state_and_progress_as_json(client, login_as):
    hr = login_as(Role.HR)
    job = a_job(hr.id)

    status = client.get(f"/jobs/{job.token}/status")

    assert status.status_code == 200
    assert status.headers["Cache-Control"] == "no-store"
    assert status.get_json() == {
        "state": "running",
        "label": "Running",
        "finished": False,
        "done": 2500,
        "total": 10_000,
        "percent": 25,
        "stage": "Checking the file",
    }


def test_someone_elses_job_is_not_found_but_an_admin_sees_it(client, app, login_as):
    job = a_job(factories.UserFactory(roles={Role.HR}).id)
    login_as(Role.HR)
    assert client.get(f"/jobs/{job.token}").status_code == 404
    assert client.get(f"/jobs/{job.token}/status").status_code == 404
    assert client.get("/jobs/not-a-token").status_code == 404

    admin = app.test_client()
    login(admin, factories.UserFactory(roles={Role.ADMIN}))
    assert admin.get(f"/jobs/{job.token}").status_code == 200
    assert admin.get(f"/jobs/{job.token}/status").get_json()["state"] == "running"

    anonymous = app.test_client()
    response = anonymous.get(f"/jobs/{job.token}")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_failed_job_says_why_in_the_readers_language(client, login_as):
    hr = login_as(Role.HR)
    job = a_job(hr.id, state=JobState.FAILED, error="internal_error", finished_at=utcnow())

    english = client.get(f"/jobs/{job.token}").get_data(as_text=True)
    client.post("/language", data={"locale": "vi"})
    vietnamese = client.get(f"/jobs/{job.token}").get_data(as_text=True)

    assert 'data-testid="job-error"' in english
    assert "Something went wrong while this ran." in english
    assert "Đã có lỗi trong lúc chạy việc này." in vietnamese
    assert 'data-testid="job-progress"' not in english


def test_my_jobs_lists_my_own_jobs_newest_first(client, login_as):
    hr = login_as(Role.HR)
    older = a_job(hr.id, state=JobState.SUCCEEDED, finished_at=utcnow())
    newer = a_job(hr.id)
    theirs = a_job(factories.UserFactory().id)

    html = client.get("/jobs/").get_data(as_text=True)

    assert html.index(f"/jobs/{newer.token}") < html.index(f"/jobs/{older.token}")
    assert f"/jobs/{theirs.token}" not in html
    assert html.count('data-testid="job-row"') == 2


def test_a_job_is_no_longer_shown_to_its_starter_once_they_lost_the_role_it_needs(client, login_as):
    """Someone taken out of HR still read, at /jobs/<token>, the report of every people file
    they had checked or imported (names, e-mail addresses, what changed) and found them
    listed under "My background jobs"; out of finance, their exports' pages."""
    hr = login_as(Role.HR)
    job = a_job(hr.id)
    assert client.get(f"/jobs/{job.token}").status_code == 200

    hr.set_roles({Role.EMPLOYEE})
    db.session.commit()

    assert client.get(f"/jobs/{job.token}").status_code == 404
    assert client.get(f"/jobs/{job.token}/status").status_code == 404
    assert f"/jobs/{job.token}" not in client.get("/jobs/").get_data(as_text=True)
