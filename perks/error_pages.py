"""HTTP errors and uncaught domain errors become pages in the user's language; a database
that cannot be reached becomes a 503 page, never a traceback."""

from __future__ import annotations

from flask import (
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect
from werkzeug.exceptions import HTTPException, SecurityError

from perks.errors import PerksError
from perks.i18n import LOCALES

#: what a client is told to wait before trying again when the database is down
RETRY_AFTER_SECONDS = 30

TITLES = {
    400: lambda: _("Bad request"),
    401: lambda: _("Please sign in"),
    403: lambda: _("Not allowed"),
    404: lambda: _("Page not found"),
    405: lambda: _("Method not allowed"),
    409: lambda: _("Conflict"),
    413: lambda: _("Too large to send"),
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
    413: lambda: _("What you sent is too large: choose a smaller file, or send less text at once."),
    429: lambda: _("Too many attempts. Wait a minute and try again."),
    500: lambda: _("We are sorry: something went wrong on our side. Please try again."),
}


def render_error(status: int, message: str | None = None) -> tuple[Response | str, int]:
    # a status without words of its own is said as its class is: a server's failure (a 502,
    # a 503) never as the reader's mistake
    said_as = status if status in TITLES else (500 if status >= 500 else 400)
    title = TITLES[said_as]()
    text = message or MESSAGES[said_as]()
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error=title, message=text), status
    page = render_template(
        "errors/error.html", status=status, title=title, message=text, storefront=_on_storefront()
    )
    return page, status


def _on_storefront() -> bool:
    """Whether the request is a customer's, on the storefront (``/shop/``): their error page
    is the storefront's, and its way back leads there, not to the staff's sign-in page."""
    if request.blueprint is not None:
        return request.blueprint == "shop"
    return request.path.startswith(url_for("shop.index"))


def init_error_pages(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response | str, int]:
        status = error.code or 500
        # CSRF failures carry a technical description; show our own words instead.
        return render_error(status)

    @app.errorhandler(SecurityError)
    def untrusted_host(error: SecurityError) -> tuple[str, int, dict[str, str]]:
        # No page can be built for a host we do not serve: answer plainly.
        return "Bad request: untrusted host.", 400, {"Content-Type": "text/plain; charset=utf-8"}

    @app.errorhandler(PerksError)
    def domain_error(error: PerksError) -> tuple[Response | str, int]:
        return render_error(error.status_code, error.message)

    @app.errorhandler(500)
    def server_error(error: Exception) -> tuple[Response | str, int]:
        return render_error(500)

    @app.errorhandler(sa_exc.OperationalError)
    @app.errorhandler(sa_exc.InterfaceError)
    @app.errorhandler(sa_exc.TimeoutError)
    def database_unavailable(error: Exception) -> Response:
        return render_database_unavailable(error)


def _locale_without_the_database() -> str:
    """The user's language, chosen without a query: the signed-in person's preference if it
    is already loaded, else the language switcher's choice, else the browser's."""
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        try:
            loaded = inspect(user).dict  # what is loaded; reading it never queries
        except sa_exc.NoInspectionAvailable:
            loaded = {}
        if loaded.get("locale") in LOCALES:
            return str(loaded["locale"])
    chosen = session.get("locale")
    if chosen in LOCALES:
        return str(chosen)
    return request.accept_languages.best_match(LOCALES) or str(
        current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def render_database_unavailable(error: BaseException) -> Response:
    """The 503 answer when the database cannot be used: down, unreachable, refusing
    connections, no connection free in the pool, or an operational failure (a lock or
    statement timeout). A page in the user's language that needs no query (no navigation, no
    signed-in person), or JSON; the error is logged in one line, no traceback is shown."""
    first_line = (str(error).strip().splitlines() or [""])[0][:300]
    current_app.logger.error("database unavailable (%s): %s", type(error).__name__, first_line)
    locale = _locale_without_the_database()
    with force_locale(locale):
        title = _("The service is unavailable")
        text = _("Our database is not answering right now. Please try again in a minute.")
        if request.accept_mimetypes.best == "application/json":
            response = jsonify(error=title, message=text)
        else:
            # Rendered without the context processors: the navigation asks who is signed in.
            page = current_app.jinja_env.get_template("errors/unavailable.html").render(
                status=503, title=title, message=text, current_locale=locale
            )
            response = current_app.make_response(page)
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response
