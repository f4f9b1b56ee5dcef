"""People CSV import pages: upload, dry run, confirm."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from perks.auth.access import roles_required
from perks.auth.forms import ConfirmForm
from perks.auth.models import Role
from perks.errors import ValidationFailed
from perks.people import imports
from perks.people.forms import ImportForm

bp = Blueprint("people_import", __name__, url_prefix="/people/import")

hr_only = roles_required(Role.HR)

#: changed people listed on the review page; the summary counts them all
PREVIEW_ROWS = 200


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
        "people/import_upload.html", form=form, max_rows=imports.MAX_IMPORT_ROWS
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
    plan = imports.plan_import(stored.content, actor=current_user)
    changed = plan.changed_rows
    return render_template(
        "people/import_review.html",
        upload=stored,
        plan=plan,
        preview=changed[:PREVIEW_ROWS],
        changed_count=len(changed),
        confirm_form=ConfirmForm(),
    ), 400 if plan.errors else 200


@bp.post("/<int:import_id>/confirm")
@hr_only
def confirm(import_id: int) -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        result = imports.confirm_upload(import_id, actor=current_user)
    except ValidationFailed as error:
        # The directory changed since the dry run: the review page shows the rows now bad.
        flash(error.message, "danger")
        return redirect(url_for(".review", import_id=import_id))
    flash(
        _(
            "Import done: %(created)d added, %(updated)d updated, %(unchanged)d unchanged.",
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
        ),
        "success",
    )
    return redirect(url_for("people.directory"))
