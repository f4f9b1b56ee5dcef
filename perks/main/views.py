"""Home page per role, language switch, health check."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from perks.auth import services as auth_services
from perks.auth.models import LOCALES
from perks.db import database_answers
from perks.errors import ValidationFailed
from perks.people import services as people_services
from perks.security import is_safe_path

bp = Blueprint("main", __name__)


@bp.get("/")
def home() -> Response | str:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return render_template("main/home.html", **people_services.home_figures(current_user))


@bp.post("/language")
def set_language() -> Response:
    locale = request.form.get("locale", "")
    if locale not in LOCALES:
        raise ValidationFailed()
    session["locale"] = locale
    if current_user.is_authenticated:
        auth_services.set_preferred_locale(current_user, locale)
    target = request.form.get("next", "")
    return redirect(target if is_safe_path(target) else url_for("main.home"))


@bp.get("/healthz")
def health() -> tuple[dict[str, str], int]:
    if not database_answers():
        return {"status": "database unavailable"}, 503
    return {"status": "ok"}, 200
