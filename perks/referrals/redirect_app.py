"""The referral redirect, ``GET /r/<code>``: a small WSGI application mounted in front of Flask.

It is the product's hottest path (PERFORMANCE.md, P1: at least as fast as a bare Flask 302),
so it is not a Flask view: a view pays for the request context, routing, the signals and
every ``before_request``/``after_request`` hook of the app (CSRF, Flask-Limiter, Flask-Login,
the NUL-byte check, the security headers), which together cost more than the redirect
itself. ``RedirectMiddleware`` sends every request under ``/r/`` to ``RedirectApp`` (which
answers ``GET`` and ``HEAD``, and the app's 405 page to any other method) and everything
else to Flask, unchanged; the Flask app keeps a build-only
rule (``referrals.redirect``) so ``url_for`` still writes the links.

What the redirect needs of the app, all of it here (and nothing from Flask's private API):

- **the answer's headers**: the security headers and the content type, written once per app
  from the settings (``RedirectSettings``), plus the request id (``perks.observability``);
- **the rate limit**: ``REDIRECT_RATE_LIMIT`` per IP address, through the app's limiter and
  its storage (Redis when configured); over it, the app's own 429 page;
- **the signed-in person**, only when a sign-in cookie came with the request (their own link
  counts nothing): Flask-Login, in a request context pushed for that request alone;
- **the click writer and the code cache** (``perks.referrals.clicks``), in an app context,
  which is all the database session needs;
- **the attribution cookie**, signed by ``perks.referrals.attribution`` and written the way
  Werkzeug's ``set_cookie`` writes it, its expiry computed once a second;
- **the metrics** (``perks.metrics``: counted under the endpoint ``referrals.redirect``);
- **errors**: any exception is handed to the Flask app's own error handling (a 503 page when
  the database is down, a 500 page otherwise) in a request context, as a view's would be.

The session is never opened for an anonymous visitor and never saved: the redirect sets no
session cookie.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Flask, g
from flask_login import COOKIE_NAME as REMEMBER_COOKIE_NAME
from flask_login import current_user
from limits import RateLimitItem
from limits import parse as parse_limit
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.http import http_date, parse_cookie
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from perks.db import utcnow
from perks.error_pages import render_error
from perks.extensions import limiter
from perks.metrics import count
from perks.observability import REQUEST_ID_HEADER, request_id_from
from perks.referrals import attribution, clicks
from perks.security import security_headers, set_security_headers

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: where the redirect is mounted, and its endpoint (for url_for, the metrics and the limiter)
PREFIX = "/r/"
ENDPOINT = "referrals.redirect"
#: the rate limiter's key prefix (kept from the Flask view: the same counters in Redis)
RATE_LIMIT_SCOPE = "perks.referrals.redirect"
#: redirect pages kept per worker before the memo starts afresh (one per link page)
BODY_MEMO_ENTRIES = 10_000
STATUS = "302 FOUND"
METHODS = ["GET", "HEAD"]


@dataclass(frozen=True, slots=True)
class RedirectSettings:
    """What the redirect's answer takes from the settings, read once per app."""

    #: the cookie's attributes after its value and expiry, exactly as Werkzeug writes them
    cookie_attributes: str
    max_age: int
    #: the answer's headers besides Location, Set-Cookie and its length
    headers: tuple[tuple[str, str], ...]
    rate_limit: RateLimitItem
    sign_in_cookies: tuple[str, ...]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RedirectSettings:
        max_age = int(config["ATTRIBUTION_WINDOW_DAYS"]) * 86_400
        secure = "; Secure" if config["SESSION_COOKIE_SECURE"] else ""
        return cls(
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


class RedirectApp:
    """``/r/<code>`` for one Flask app: count the click, set the cookie, send the visitor on."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.settings = RedirectSettings.from_config(app.config)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        request_id = request_id_from(environ)
        with self.app.app_context():
            g.request_id = request_id
            try:
                if environ["REQUEST_METHOD"] not in METHODS:
                    raise MethodNotAllowed(valid_methods=METHODS)
                status, headers, body = self._follow(environ)
            except Exception as error:  # the app's own error pages, as for any view
                status, headers, body = self._failure(environ, error)
        headers.append((REQUEST_ID_HEADER, request_id))
        start_response(status, headers)
        count(ENDPOINT, environ["REQUEST_METHOD"], int(status[:3]), time.perf_counter() - started)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def _follow(self, environ: WSGIEnvironment) -> tuple[str, list[tuple[str, str]], bytes]:
        settings = self.settings
        ip = environ.get("REMOTE_ADDR") or ""
        if limiter.enabled and not limiter.limiter.hit(settings.rate_limit, RATE_LIMIT_SCOPE, ip):
            return self._page(environ, lambda: render_error(429))
        now = utcnow()
        visit = clicks.follow_link(
            _code(environ),
            clicks.Visitor(
                ip=ip,
                user_agent=environ.get("HTTP_USER_AGENT", ""),
                referrer=environ.get("HTTP_REFERER"),
                user_id=self._signed_in_user_id(environ),
                head_only=environ["REQUEST_METHOD"] == "HEAD",
            ),
            now=now,
        )
        body = redirect_body(visit.location)
        headers = [
            ("Location", visit.location),
            *settings.headers,
            ("Content-Length", str(len(body))),
        ]
        if visit.link_id is not None:
            value = attribution.dump_referral_cookie(visit.link_id, visit.click_id, now)
            headers.append(("Set-Cookie", referral_set_cookie(value, now, settings)))
        return STATUS, headers, body

    def _signed_in_user_id(self, environ: WSGIEnvironment) -> int | None:
        """The signed-in person, looked up only if the request carries a sign-in cookie.

        Anonymous visitors, almost all of them, never touch the session: no session cookie
        is ever set by the redirect, and no time is spent on it.
        """
        header = environ.get("HTTP_COOKIE")
        if not header:
            return None
        cookies = parse_cookie(header)
        if not any(name in cookies for name in self.settings.sign_in_cookies):
            return None
        with self.app.request_context(environ):
            return current_user.id if current_user.is_authenticated else None

    def _page(
        self, environ: WSGIEnvironment, build: Callable[[], Any]
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        """An answer of the Flask app (an error page), in a request context of its own."""
        with self.app.request_context(environ):
            response = set_security_headers(self.app.make_response(build()))
            return response.status, list(response.headers.to_wsgi_list()), response.get_data()

    def _failure(
        self, environ: WSGIEnvironment, error: Exception
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        """What the app answers for ``error`` raised by a view: its handler's page (the
        database's 503), else the 500 page (or, when testing, the exception itself)."""

        def handled() -> Response:
            try:
                return self.app.make_response(self.app.handle_user_exception(error))
            except Exception as unhandled:
                return self.app.handle_exception(unhandled)

        return self._page(environ, handled)


def _code(environ: WSGIEnvironment) -> str:
    """Everything after ``/r/``, slashes included (``/r//evil.com`` lands on the storefront,
    as an unknown code), decoded as Werkzeug's routing does."""
    path: str = environ.get("PATH_INFO", "")
    return path[len(PREFIX) :].encode("latin-1").decode("utf-8", "replace")


class RedirectMiddleware:
    """Sends ``/r/...`` to the redirect and every other request to Flask."""

    def __init__(self, app: WSGIApplication, redirect_app: WSGIApplication) -> None:
        self.app = app
        self.redirect_app = redirect_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(PREFIX):
            return self.redirect_app(environ, start_response)
        return self.app(environ, start_response)


def with_redirect(app: Flask, wsgi_app: WSGIApplication) -> RedirectMiddleware:
    """``wsgi_app`` (the Flask app's) with ``app``'s redirect in front of it."""
    return RedirectMiddleware(wsgi_app, RedirectApp(app))
