"""Errors of the API as ``application/problem+json`` (RFC 9457), in the caller's language.

Every error an API view raises (a domain error, a bad token, an HTTP error, the request
validation's 422) becomes ``{"type", "title", "status", "detail"}``, plus ``errors`` where
there are several (the bad fields, the bad records of a batch). The language follows the
``Accept-Language`` header (``perks.i18n.select_locale``); the request validation's
messages come written in it (``perks.api.validation``).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Response, current_app, json, request
from flask_babel import LazyString
from flask_babel import gettext as _
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from perks.error_pages import render_error
from perks.errors import PerksError
from perks.i18n import format_number

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
#: the ``type`` of every problem: ``about:blank`` means "the status says it all" (RFC 9457)
ABOUT_BLANK = "about:blank"
#: the ``WWW-Authenticate`` of every 401: a bearer token is wanted
CHALLENGE = 'Bearer realm="Perks API"'


def _titles() -> dict[int, str]:
    return {
        400: _("Bad request"),
        401: _("Not signed in"),
        403: _("Not allowed"),
        404: _("Not found"),
        405: _("Method not allowed"),
        409: _("Conflict"),
        413: _("Too large"),
        415: _("Unsupported media type"),
        422: _("Invalid request"),
        429: _("Too many requests"),
        500: _("Server error"),
        503: _("Service unavailable"),
    }


def problem(status: int, detail: str, **extensions: Any) -> Response:
    """A problem document with ``status``; ``extensions`` are added as members. A 401 says
    what it wants (``WWW-Authenticate``)."""
    body = {
        "type": ABOUT_BLANK,
        "title": _titles().get(status, _("Error")),
        "status": status,
        "detail": detail,
        **extensions,
    }
    headers = {"Cache-Control": "no-store"}
    if status == 401:  # RFC 9110 and 6750: a 401 names the scheme it wants
        headers["WWW-Authenticate"] = CHALLENGE
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON, headers=headers)


def _is_message(item: Any) -> bool:
    """A message: a text, or a lazy one (``perks.api.validation``) written on demand."""
    return isinstance(item, str | LazyString)


def _field_errors(messages: Any, prefix: str = "") -> list[dict[str, str]]:
    """Webargs' nested ``{"json": {"people": {"0": {"email": ["..."]}}}}`` as a flat list."""
    found: list[dict[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key in ("json", "query", "headers", "path", "form") and not prefix:
                found += _field_errors(value, "")
            else:
                found += _field_errors(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(messages, list) and all(_is_message(item) for item in messages):
        found += [{"field": prefix, "message": str(item)} for item in messages]
    elif isinstance(messages, list):
        for index, item in enumerate(messages):
            found += _field_errors(item, f"{prefix}.{index}")
    else:
        found.append({"field": prefix, "message": str(messages)})
    return found


def http_problem(error: HTTPException) -> Response:
    """An HTTP error (a bad body, a missing record, a wrong method, a body over the site's
    ``MAX_CONTENT_LENGTH``, the rate limit) as a problem document; a wrong method's names
    the methods the path takes (``Allow``)."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if status == 422 and messages:
        return problem(
            422,
            _("Some fields are not valid; see errors."),
            errors=_field_errors(messages),
        )
    if status == 429:
        limit = getattr(error, "limit", None)  # Flask-Limiter's, which may say its own words
        if limit is not None and limit.error_message and error.description:
            return problem(429, error.description)
        if not request.headers.get("Authorization"):
            return problem(429, _("Too many requests from this address. Wait a moment."))
        return problem(429, _("Too many requests with this token. Wait a moment."))
    if status == 400:
        return problem(400, _("The request could not be read (bad JSON or parameters)."))
    if status == 404:
        return problem(404, _("We could not find what you were looking for."))
    if status == 405:
        answer = problem(405, _("This method is not allowed here."))
        # RFC 9110: a 405 names the methods the path takes, as werkzeug's own answer does
        allowed = getattr(error, "valid_methods", None)
        if allowed:
            answer.headers["Allow"] = ", ".join(allowed)
        return answer
    if status == 413:
        return problem(
            413,
            _(
                "The request is larger than %(size)s bytes: send fewer records at a time.",
                size=format_number(int(current_app.config["MAX_CONTENT_LENGTH"] or 0)),
            ),
        )
    return problem(status, _titles().get(status, _("Error")))


def answer_unrouted_requests(app: Flask, prefix: str) -> None:
    """Make a path under ``prefix`` that names no operation (404), or an operation that does
    not take the request's method (405), answer problem+json as the operations do.

    Routing fails before any blueprint is chosen, so the API blueprint's own handlers never
    see these; every other path keeps its error page (``perks.error_pages``).
    """

    def routing_error(error: HTTPException) -> Response | tuple[Response | str, int]:
        if request.path == prefix or request.path.startswith(prefix + "/"):
            return http_problem(error)
        return render_error(error.code or 500)

    app.register_error_handler(NotFound, routing_error)
    app.register_error_handler(MethodNotAllowed, routing_error)


def register_problem_handlers(bp: Blueprint) -> None:
    @bp.errorhandler(PerksError)
    def domain_error(error: PerksError) -> Response:
        extensions = {}
        for name in ("errors", "reasons", "elsewhere"):
            value = error.details.get(name)
            if isinstance(value, list | dict):
                extensions[name] = value
        return problem(error.status_code, error.message, **extensions)

    @bp.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        return http_problem(error)

    @bp.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
            log.warning("API: the database is unavailable (%s)", type(error).__name__)
            return problem(503, _("The service is briefly unavailable. Try again in a moment."))
        if current_app.testing:  # the test shows the traceback
            raise error
        log.exception("API error")
        return problem(500, _("Something went wrong on our side."))
