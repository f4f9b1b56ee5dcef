"""HTTP errors and uncaught domain errors become pages in the user's language."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, SecurityError

from perks.errors import PerksError

TITLES = {
    400: lambda: _("Bad request"),
    401: lambda: _("Please sign in"),
    403: lambda: _("Not allowed"),
    404: lambda: _("Page not found"),
    405: lambda: _("Method not allowed"),
    409: lambda: _("Conflict"),
    413: lambda: _("File too large"),
    429: lambda: _("Too many attempts"),
    500: lambda: _("Something went wrong"),
}

MESSAGES = {
    400: lambda: _("The request could not be understood. Check what you entered and try again."),
    401: lambda: _("Please sign in to continue."),
    403: lambda: _("You do not have permission to see this page."),
    404: lambda: _("We could not find what you were looking for."),
    405: lambda: _("This page cannot be used that way."),
    409: lambda: _("This conflicts with the current state. Reload the page and try again."),
    413: lambda: _("The file is too large."),
    429: lambda: _("Too many attempts. Wait a minute and try again."),
    500: lambda: _("We are sorry: something went wrong on our side. Please try again."),
}


def render_error(status: int, message: str | None = None):  # type: ignore[no-untyped-def]
    title = TITLES.get(status, TITLES[400])()
    text = message or MESSAGES.get(status, MESSAGES[400])()
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error=title, message=text), status
    return render_template("errors/error.html", status=status, title=title, message=text), status


def init_error_pages(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        status = error.code or 500
        # CSRF failures carry a technical description; show our own words instead.
        return render_error(status)

    @app.errorhandler(SecurityError)
    def untrusted_host(error: SecurityError):  # type: ignore[no-untyped-def]
        # No page can be built for a host we do not serve: answer plainly.
        return "Bad request: untrusted host.", 400, {"Content-Type": "text/plain; charset=utf-8"}

    @app.errorhandler(PerksError)
    def domain_error(error: PerksError):  # type: ignore[no-untyped-def]
        return render_error(error.status_code, error.message)

    @app.errorhandler(500)
    def server_error(error: Exception):  # type: ignore[no-untyped-def]
        return render_error(500)
