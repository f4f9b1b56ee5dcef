"""People CSV import pages (dry run, then confirm)."""

from __future__ import annotations

from flask import Blueprint, render_template

from perks.auth.access import roles_required
from perks.auth.models import Role
from perks.people.forms import ImportForm

bp = Blueprint("people_import", __name__, url_prefix="/people/import")


@bp.get("/")
@roles_required(Role.HR)
def upload() -> str:
    return render_template("people/import_upload.html", form=ImportForm())
