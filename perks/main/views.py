"""Home page per role, language switch, and the liveness and readiness checks."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask.globals import app_ctx
from flask_login import current_user
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Response

from perks.auth import services as auth_services
from perks.errors import ValidationFailed
from perks.extensions import limiter
from perks.i18n import LOCALES, company_today
from perks.main import readiness
from perks.main.navigation import register_navigation
from perks.main.team import team_of
from perks.people import services as people_services
from perks.people.models import Role
from perks.recognition import awards, gifts
from perks.security import is_safe_path

bp = Blueprint("main", __name__)
register_navigation(bp)


@bp.get("/")
def home() -> Response | str:
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    team = team_of(current_user) if current_user.has_role(Role.MANAGER) else None
    return render_template(
        "main/home.html",
        team=team,
        greetings=gifts.greetings(current_user, company_today()),
        my_awards=awards.awards_of(current_user),
        **people_services.home_figures(current_user),
    )


def answers_get(target: str) -> bool:
    """True when ``target`` (a path of this site) is a page a browser can open: a refused
    form is answered at its own address, which may take only a POST."""
    if not is_safe_path(target):
        return False
    adapter = current_app.create_url_adapter(request)
    assert adapter is not None
    try:
        adapter.match(urlsplit(target).path, method="GET")
    except RequestRedirect:  # the same page under its canonical address
        return True
    except HTTPException:  # no such page, or not one to open (405)
        return False
    return True


@bp.app_template_global()
def language_return_path() -> str:
    """The page the language switcher shows again: this one; for the answer to a form (a
    refused claim, a reply without text), the page the form was on, which a browser can
    open again; else nothing (the home page). Only the referrer's path is read (the form's
    own page; and a path of this site wherever it came from), never its host."""
    if request.method in ("GET", "HEAD"):
        return request.full_path if request.query_string else request.path
    referrer = urlsplit(request.referrer or "")
    path = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return path if answers_get(path) else ""


@bp.post("/language")
def set_language() -> Response:
    locale = request.form.get("locale", "")
    if locale not in LOCALES:
        raise ValidationFailed()
    session["locale"] = locale
    if current_user.is_authenticated:
        auth_services.set_preferred_locale(current_user, locale)
    target = request.form.get("next", "")
    return redirect(target if answers_get(target) else url_for("main.home"))


@bp.get("/healthz")
@limiter.exempt
def health() -> tuple[dict[str, str], int]:
    """Liveness: the process serves requests. Touches nothing else (no database, no Redis),
    so a dependency that is down never gets healthy workers restarted; ``/readyz`` says
    what is down."""
    return {"status": "ok"}, 200


@bp.get("/readyz")
@limiter.exempt
def ready() -> Response:
    """Readiness: the database, Redis (when ``REDIS_URL`` is set) and the Celery broker (when
    it is another server) each answer within ``readiness.CHECK_SECONDS``. 200 when all do,
    503 naming what is down; the body names every check (``perks.main.readiness``)."""
    report = readiness.check_all(app_ctx.app)
    response = current_app.response_class(
        readiness.to_json(report), status=200 if report.ready else 503, mimetype="application/json"
    )
    response.headers["Cache-Control"] = "no-store"
    return response
