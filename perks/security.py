"""Security headers on every response."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from flask import abort, current_app, request
from werkzeug.wrappers import Response

ResponseT = TypeVar("ResponseT", bound=Response)

# No inline script or style: everything comes from this origin's static files.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)


BASE_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(self), microphone=(), geolocation=()"),
)


def refuse_nul_bytes() -> None:
    """A NUL byte is never meaningful input, and PostgreSQL refuses it in text: answer 400.

    Looked for in the path, in every name and value of the query string and the form, and in
    the names of uploaded files (a people file's name is stored as sent)."""
    if "\x00" in request.path:
        abort(400)
    # Reading request.form costs time on every GET (the redirect hot path): only where forms go.
    sources = [request.args] if request.method in ("GET", "HEAD") else [request.args, request.form]
    for values in sources:
        for name, items in values.lists():
            if "\x00" in name or any("\x00" in value for value in items):
                abort(400)
    if request.method not in ("GET", "HEAD"):
        for name, upload in request.files.items(multi=True):
            if "\x00" in name or "\x00" in (upload.filename or ""):
                abort(400)


HSTS = "max-age=31536000; includeSubDomains"


def security_headers(config: Mapping[str, Any], *, html: bool) -> tuple[tuple[str, str], ...]:
    """Every header ``set_security_headers`` gives a response that has none of them, for a
    WSGI app that builds its whole answer at once (``perks.referrals.redirect_app``)."""
    headers = list(BASE_HEADERS)
    if config["PERKS_ENV"] != "development":
        headers.append(("Strict-Transport-Security", HSTS))
    if html:
        headers.append(("Cache-Control", "no-store"))
    return tuple(headers)


def set_security_headers(response: ResponseT) -> ResponseT:
    headers = response.headers
    # `name not in headers` then assignment: Werkzeug's setdefault raises and catches a KeyError
    # for every missing header.
    for name, value in BASE_HEADERS:
        if name not in headers:
            headers[name] = value
    if (
        current_app.config["PERKS_ENV"] != "development"
        and "Strict-Transport-Security" not in headers
    ):
        headers["Strict-Transport-Security"] = HSTS
    if response.mimetype == "text/html" and "Cache-Control" not in headers:
        # Pages can hold personal data: keep them out of shared caches.
        headers["Cache-Control"] = "no-store"
    return response


def is_safe_path(target: str | None) -> bool:
    """True only for a path on this site (``/people?page=2``), never another host.

    Refuses absolute URLs, scheme-relative ``//host``, backslash tricks (``/\\host``, which
    browsers read as ``//host``) and control characters.
    """
    from urllib.parse import urlsplit

    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc
