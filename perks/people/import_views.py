"""People CSV import pages: upload, dry run (a background job), confirm (another job)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, stream_with_context, url_for
from flask_login import current_user
from werkzeug.exceptions import NotFound as HttpNotFound
from werkzeug.wrappers import Response

from perks import background
from perks.errors import Conflict, ValidationFailed
from perks.forms import ConfirmForm, require_confirmation
from perks.people import imports
from perks.people.access import roles_required
from perks.people.forms import ImportForm
from perks.people.models import Role

bp = Blueprint("people_import", __name__, url_prefix="/people/import")

hr_only = roles_required(Role.HR)


@bp.route("/", methods=["GET", "POST"])
@hr_only
def upload() -> Response | tuple[str, int]:
    form = ImportForm()
    if form.validate_on_submit():
        file = form.file.data
        try:
            stored = imports.store_upload(
                file.read(), filename=file.filename or "", actor=current_user
            )
        except ValidationFailed as error:
            form.file.errors.append(error.message)
        else:
            return redirect(url_for(".review", import_id=stored.id))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "people/import_upload.html",
        form=form,
        max_rows=imports.MAX_IMPORT_ROWS,
        vietnamese_headers=imports.VIETNAMESE_HEADERS,
        jobs=imports.recent_jobs(current_user),
    ), status


@bp.get("/example.csv")
@hr_only
def example() -> Response:
    return Response(
        imports.example_csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=perks-people-example.csv"},
    )


@bp.get("/<int:import_id>")
@hr_only
def review(import_id: int) -> tuple[str, int]:
    stored = imports.get_upload(import_id, actor=current_user)
    check = imports.check_job(stored)
    dry_run = imports.dry_run_of(check)
    applied = imports.import_job(stored)
    page = render_template(
        "people/import_review.html",
        upload=stored,
        check=check,
        plan=dry_run,
        applied=applied,
        confirm_form=ConfirmForm(),
    )
    return page, 400 if dry_run is not None and not dry_run.is_valid else 200


@bp.post("/<int:import_id>/confirm")
@hr_only
def confirm(import_id: int) -> Response:
    require_confirmation()
    try:
        job = imports.start_import(import_id, actor=current_user)
    except Conflict as error:  # confirmed again (Back, then the button): show what it did
        done = imports.import_job(imports.get_upload(import_id, actor=current_user))
        if done is None:
            raise
        flash(error.message, "info")
        job = done
    return redirect(url_for("background.job_page", token=job.token))


@bp.get("/jobs/<token>/problems.csv")
@hr_only
def problems(token: str) -> Response:
    """Every problem a dry run or an import found, as CSV."""
    job = background.get_job(token, viewer=current_user, sees_all=current_user.has_role(Role.ADMIN))
    if job.kind not in (imports.CHECK_KIND, imports.IMPORT_KIND) or not background.has_file(job):
        raise HttpNotFound()
    name = (job.file or {}).get("name") or "problems.csv"
    return Response(
        stream_with_context(background.read_file(job.id)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
