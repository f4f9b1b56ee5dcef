"""The pages of background jobs: one job's progress and result, and the person's own jobs.

A job is seen by the person who started it, by administrators and by those its kind is
shared with (finance, for a batch being paid); anyone else gets a 404
(its token is random, but it is not a secret to rely on). The page asks for the job's state
with a small script (``static/js/job-progress.js``) and reloads once it changes.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_babel import format_decimal
from flask_login import current_user
from werkzeug.wrappers import Response

from perks import background
from perks.background import BackgroundJob
from perks.people.access import login_required
from perks.people.models import Role

bp = Blueprint("background", __name__, url_prefix="/jobs")

#: jobs listed on "my background jobs"
LISTED = 50


@bp.app_template_filter("whole_number")
def whole_number(value: int) -> str:
    """A count in the reader's locale (100.000 in vi, 100,000 in en)."""
    return format_decimal(value)


def _job(token: str) -> BackgroundJob:
    return background.get_job(
        token, viewer=current_user, sees_all=current_user.has_role(Role.ADMIN)
    )


@bp.get("/")
@login_required
def my_jobs() -> str:
    return render_template(
        "jobs/list.html",
        # not those whose role the person has lost since (their pages answer 404)
        jobs=[
            job
            for job in background.recent_jobs(current_user.id, limit=LISTED)
            if current_user.has_role(Role.ADMIN) or background.may_see(job, current_user)
        ],
        file_keep_days=background.FILE_KEEP_DAYS,
    )


@bp.get("/<token>")
@login_required
def job_page(token: str) -> str:
    return render_template("jobs/job.html", job=_job(token))


@bp.get("/<token>/status")
@login_required
def job_status(token: str) -> Response:
    job = _job(token)
    response = jsonify(
        state=job.state.value,
        label=job.state.label,
        finished=job.state.finished,
        done=job.done,
        total=job.total,
        percent=job.percent,
        stage=job.stage_label,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
