"""Employees' link pages (list, new, share, QR downloads, pause) and the public redirect."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.globals import request_ctx
from flask_babel import gettext as _
from flask_login import COOKIE_NAME as REMEMBER_COOKIE_NAME
from flask_login import current_user
from limits import RateLimitItem
from limits import parse as parse_limit
from werkzeug.http import http_date
from werkzeug.routing import BaseConverter
from werkzeug.wrappers import Response

from perks.db import utcnow
from perks.error_pages import render_error
from perks.errors import PerksError
from perks.extensions import limiter
from perks.forms import ConfirmForm, require_confirmation
from perks.lean import lean
from perks.people.access import login_required
from perks.qr import qr_png_bytes, qr_svg, qr_svg_bytes
from perks.referrals import attribution, clicks, services
from perks.referrals.forms import LinkForm
from perks.referrals.models import ReferralLink
from perks.security import is_safe_path, security_headers
from perks.shop.queries import category_choices, product_choices
from perks.urls import absolute_url

bp = Blueprint("referrals", __name__)

Page = str | tuple[str, int]


class AnyCodeConverter(BaseConverter):
    """Everything after ``/r/``, slashes included, so that ``/r//evil.com`` and the like reach
    the view (and land on the storefront) instead of being re-routed by Werkzeug."""

    regex = r".*"
    part_isolating = False


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    app = state.app
    assert isinstance(app, Flask)  # typed as Flask's framework-neutral base (``App``)
    app.url_map.converters["anycode"] = AnyCodeConverter
    clicks.init_referrals(app)
    init_redirect(app)


def link_url(link: ReferralLink) -> str:
    """The link as people share it: absolute, on this site's configured ``BASE_URL``."""
    return absolute_url("referrals.redirect", code=link.code)


# --- the links pages ------------------------------------------------------------------------


@bp.get("/links")
@login_required
def my_links() -> str:
    rows = services.my_links(current_user)
    return render_template(
        "referrals/my_links.html",
        rows=rows,
        urls={row.link.id: link_url(row.link) for row in rows},
        has_default=any(row.link.is_default for row in rows),
        form=ConfirmForm(),
    )


@bp.post("/links/default")
@login_required
def make_default_link() -> Response:
    """The "make my link" button, for someone who has no default link (people get theirs
    when they are added or re-activated)."""
    require_confirmation()
    link = services.ensure_default_link(current_user)
    flash(_("Your link is ready: share it."), "success")
    return redirect(url_for("referrals.share", link_id=link.id))


def _link_form() -> LinkForm:
    return LinkForm(products=product_choices(), categories=category_choices())


@bp.route("/links/new", methods=["GET", "POST"])
@login_required
def new_link() -> Response | Page:
    form = _link_form()
    if request.method == "GET":
        # ?target=product:12 pre-selects a page (a "share this product" button may link here).
        wanted = request.args.get("target", "")
        if wanted in form.offered_targets():
            form.target.data = wanted
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("referrals/new_link.html", form=form), status
    destination, destination_id = form.destination
    try:
        link = services.create_link(
            current_user,
            label=form.label.data or "",
            destination=destination,
            destination_id=destination_id,
        )
    except PerksError as error:  # ValidationFailed (product gone), Conflict (too many)
        form.form_errors.append(error.message)
        return render_template("referrals/new_link.html", form=form), error.status_code
    flash(_("Your link is ready: share it."), "success")
    return redirect(url_for("referrals.share", link_id=link.id))


@dataclass(frozen=True)
class ShareTarget:
    key: str
    label: str
    href: str
    #: shown under the button: where it works
    note: str = ""
    new_tab: bool = False


def share_targets(url: str, message: str, subject: str) -> list[ShareTarget]:
    """Plain links that open each app's own share screen on a phone (no script, no SDK).

    Zalo publishes no share URL that works without its SDK and an Official Account, so the page
    offers "Copy for Zalo" and the phone's own share sheet (which lists Zalo) instead.
    """

    def q(text: str) -> str:
        return quote(text, safe="")

    return [
        ShareTarget(
            "facebook",
            _("Facebook"),
            f"https://www.facebook.com/sharer/sharer.php?u={q(url)}",
            new_tab=True,
        ),
        ShareTarget(
            "messenger",
            _("Messenger"),
            f"fb-messenger://share?link={q(url)}",
            note=_("opens the Messenger app on a phone."),
        ),
        ShareTarget("email", _("E-mail"), f"mailto:?subject={q(subject)}&body={q(message)}"),
        ShareTarget(
            "sms",
            _("SMS"),
            f"sms:?&body={q(message)}",
            note=_("opens the messages app on a phone."),
        ),
    ]


def _share_page(link: ReferralLink) -> str:
    url = link_url(link)
    destination_name, target = services.link_details(link)
    message = _("Have a look at this: %(url)s", url=url)
    subject = _("A recommendation from %(name)s", name=current_user.name)
    return render_template(
        "referrals/share.html",
        link=link,
        url=url,
        message=message,
        destination_name=destination_name,
        landing_url=url_for(target.endpoint, **target.values),
        clicks=services.human_clicks(link.id),
        targets=share_targets(url, message, subject),
        qr=qr_svg(url),
        form=ConfirmForm(),
    )


@bp.get("/links/<int:link_id>")
@login_required
def share(link_id: int) -> str:
    return _share_page(services.own_link(link_id, current_user))


def _download(link: ReferralLink, body: bytes, mimetype: str, extension: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="referral-{link.code}.{extension}"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/links/<int:link_id>/qr.png", endpoint="qr_png")
@login_required
def qr_png_download(link_id: int) -> Response:
    link = services.own_link(link_id, current_user)
    return _download(link, qr_png_bytes(link_url(link)), "image/png", "png")


@bp.get("/links/<int:link_id>/qr.svg", endpoint="qr_svg")
@login_required
def qr_svg_download(link_id: int) -> Response:
    link = services.own_link(link_id, current_user)
    return _download(link, qr_svg_bytes(link_url(link)), "image/svg+xml", "svg")


def _back_to(link_id: int) -> Response:
    target = request.form.get("next", "")
    return redirect(target if is_safe_path(target) else url_for("referrals.share", link_id=link_id))


@bp.post("/links/<int:link_id>/pause")
@login_required
def pause(link_id: int) -> Response:
    require_confirmation()
    services.set_link_paused(link_id, current_user, paused=True)
    flash(_("Link paused: it still leads to the storefront, but counts nothing."), "info")
    return _back_to(link_id)


@bp.post("/links/<int:link_id>/resume")
@login_required
def resume(link_id: int) -> Response:
    require_confirmation()
    services.set_link_paused(link_id, current_user, paused=False)
    flash(_("Link resumed."), "success")
    return _back_to(link_id)


# --- the public redirect --------------------------------------------------------------------
#
# The hot path of PERFORMANCE.md P1: a lean view (``perks.lean``: none of the app's request
# hooks run), whose answer is put together from what ``RedirectSettings`` prepared once per app.

REDIRECT_SETTINGS_KEY = "perks.referrals.redirect"
#: redirect pages kept per worker before the memo starts afresh (one per link page)
BODY_MEMO_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class RedirectSettings:
    """What the redirect's answer takes from the settings, read once per app."""

    #: the cookie's attributes after its value and expiry, exactly as Werkzeug writes them
    cookie_attributes: str
    max_age: int
    #: the answer's headers besides Location and Set-Cookie: its type and security headers
    headers: tuple[tuple[str, str], ...]
    rate_limit: RateLimitItem
    sign_in_cookies: tuple[str, ...]


def init_redirect(app: Flask) -> None:
    config = app.config
    max_age = int(config["ATTRIBUTION_WINDOW_DAYS"]) * 86_400
    secure = "; Secure" if config["SESSION_COOKIE_SECURE"] else ""
    app.extensions[REDIRECT_SETTINGS_KEY] = RedirectSettings(
        cookie_attributes=f"; Max-Age={max_age}{secure}; HttpOnly; Path=/; SameSite=Lax",
        max_age=max_age,
        headers=(
            ("Content-Type", "text/html; charset=utf-8"),
            *security_headers(config, html=True),
        ),
        rate_limit=parse_limit(config["REDIRECT_RATE_LIMIT"]),
        sign_in_cookies=(
            config["SESSION_COOKIE_NAME"],
            config.get("REMEMBER_COOKIE_NAME", REMEMBER_COOKIE_NAME),
        ),
    )


_bodies: dict[str, bytes] = {}
_expiry: list[tuple[int, str]] = [(0, "")]


def redirect_body(location: str) -> bytes:
    """The little page of a redirect to ``location``, as ``werkzeug.utils.redirect`` writes
    it (the location is one of the storefront's own paths: a few of them, remembered)."""
    body = _bodies.get(location)
    if body is None:
        if len(_bodies) >= BODY_MEMO_ENTRIES:
            _bodies.clear()
        body = _bodies[location] = redirect(location, 302).get_data()
    return body


def referral_set_cookie(value: str, now: datetime, settings: RedirectSettings) -> str:
    """The ``Set-Cookie`` header of the ``perks_ref`` cookie, the same as Werkzeug's
    ``set_cookie(..., max_age=..., secure=..., httponly=True, samesite="Lax")`` writes (its
    value is URL-safe base64 and dots: nothing to quote); the expiry is written once a
    second."""
    expires_at = int(now.timestamp()) + settings.max_age
    second, expires = _expiry[0]
    if second != expires_at:
        expires = http_date(expires_at)
        _expiry[0] = (expires_at, expires)
    return f"{attribution.REFERRAL_COOKIE}={value}; Expires={expires}{settings.cookie_attributes}"


def _signed_in_user_id(settings: RedirectSettings, cookies: Mapping[str, str]) -> int | None:
    """The signed-in person, looked up only if the request carries a sign-in cookie.

    Anonymous visitors, almost all of them, never touch the session: no session cookie is
    ever set by the redirect, and no time is spent on it.
    """
    if not any(name in cookies for name in settings.sign_in_cookies):
        return None
    return current_user.id if current_user.is_authenticated else None


def _rate_limited(settings: RedirectSettings, ip: str) -> bool:
    """Count the request against ``REDIRECT_RATE_LIMIT`` for its IP address; True once the
    address is over it. The same limiter and storage as Flask-Limiter's decorators (Redis
    when configured), without their per-request bookkeeping."""
    if not limiter.enabled:
        return False
    return not limiter.limiter.hit(settings.rate_limit, REDIRECT_SETTINGS_KEY, ip)


@bp.get("/r/<anycode:code>", endpoint="redirect", merge_slashes=False)
@lean
def follow(code: str) -> Response:
    """Send the visitor to the link's page; count the click and set the cookie (``clicks``).

    Rate limited per IP address (``REDIRECT_RATE_LIMIT``): over it, a 429 page and nothing
    counted.
    """
    settings: RedirectSettings = current_app.extensions[REDIRECT_SETTINGS_KEY]
    req = request_ctx.request  # the request itself, not the proxy: looked up once
    ip = req.remote_addr or ""
    if _rate_limited(settings, ip):
        return current_app.make_response(render_error(429))
    now = utcnow()
    environ = req.environ
    visit = clicks.follow_link(
        code,
        clicks.Visitor(
            ip=ip,
            user_agent=environ.get("HTTP_USER_AGENT", ""),
            referrer=environ.get("HTTP_REFERER"),
            user_id=_signed_in_user_id(settings, req.cookies),
            head_only=req.method == "HEAD",
        ),
        now=now,
    )
    headers = [("Location", visit.location), *settings.headers]
    if visit.link_id is not None:
        value = attribution.dump_referral_cookie(visit.link_id, visit.click_id, now)
        headers.append(("Set-Cookie", referral_set_cookie(value, now, settings)))
    return Response(redirect_body(visit.location), 302, headers)
