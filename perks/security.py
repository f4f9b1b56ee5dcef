"""Security headers on every response."""

from __future__ import annotations

from flask import abort, current_app, request
from werkzeug.wrappers import Response

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


def refuse_nul_bytes() -> None:
    """A NUL byte is never meaningful input, and PostgreSQL refuses it in text: answer 400."""
    for values in (request.args, request.form):
        if any("\x00" in value for _, items in values.lists() for value in items):
            abort(400)
    if "\x00" in request.path:
        abort(400)


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
    if current_app.config["PERKS_ENV"] != "development" and not current_app.config.get(
        "TESTING_PLAIN_HTTP"
    ):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if response.mimetype == "text/html":
        # Pages can hold personal data: keep them out of shared caches.
        headers.setdefault("Cache-Control", "no-store")
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
