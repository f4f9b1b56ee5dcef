"""The rules history page: every signed-in person (staff, partners, contractors, suppliers)
reads every version of the rules that decide what they receive."""

from __future__ import annotations

from flask import Blueprint, render_template

from perks.admin.rules_history import rules_history
from perks.people.access import login_required

bp = Blueprint("rules", __name__)


@bp.get("/rules/history")
@login_required
def history() -> str:
    return render_template("admin/rules_history.html", sections=rules_history())
