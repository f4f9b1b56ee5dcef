"""An offline, Stripe-compatible sandbox: its own application, process and database.

It stands in for Stripe in development, the demo and the tests. The product (``perks``)
talks to it only as it talks to Stripe: through the real ``stripe`` library, with its API
base pointed here (``STRIPE_API_BASE=http://127.0.0.1:5002``), and through the signed
webhooks the sandbox posts to the product's ``/stripe/webhook``. Nothing here imports the
product, and nothing in the product imports this package (import-linter holds both).

- ``api.py``: the subset of Stripe's ``/v1`` API the product uses;
- ``simulate.py``: test helpers under ``/v1/test_helpers`` (pay, dispute, forward webhooks),
  for programs such as the product's demo;
- ``views.py``: the hosted checkout page (``/pay/<session>``) and the control page (``/``),
  which asks for the secret key first (``access.py``);
- ``store.py``: its own database; ``webhooks.py``: signed deliveries, retried;
- ``operations.py``: what happens to sessions, payments, refunds, disputes and events.

Run it with ``flask --app stripe_sandbox run --port 5002`` (``make run`` does). It refuses
to start when ``PERKS_ENV=production``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, render_template, request
from flask_babel import Babel, format_datetime, get_locale
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from stripe_sandbox.amounts import Amount
from stripe_sandbox.settings import ConfigurationError, SandboxSettings, load_settings

__all__ = ["ConfigurationError", "create_app"]

#: the languages of the sandbox's pages (its catalog is stripe_sandbox/translations)
LOCALES = ("vi", "en")
#: the control page's times: the product's company time (Vietnam, UTC+7)
TIMEZONE = "Asia/Ho_Chi_Minh"
#: the pages' policy: everything from the sandbox itself, no script at all; forms may go
#: anywhere, since the hosted page sends the customer back to the shop's own success_url
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The sandbox application, with settings from the environment and then ``config``.

    Raises:
        ConfigurationError: ``PERKS_ENV=production``, or settings it cannot run with (see
            :meth:`SandboxSettings.from_config`).
    """
    from stripe_sandbox import access, api, simulate, views
    from stripe_sandbox.service import EXTENSION

    settings = {**load_settings(), **(config or {})}
    sandbox = SandboxSettings.from_config(settings)  # refuses production and bad settings

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=access.session_secret(sandbox.secret_key),
        # The product may run on the same host (127.0.0.1): cookies do not tell ports apart.
        SESSION_COOKIE_NAME="stripe_sandbox_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE="vi",
        BABEL_DEFAULT_TIMEZONE=TIMEZONE,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).resolve().parent / "translations"),
    )
    app.config.update(settings)  # the environment's, then ``config``: tests may change any
    app.extensions[EXTENSION] = sandbox

    csrf = CSRFProtect(app)
    csrf.exempt(api.bp)  # APIs for programs, with their own key; the pages keep CSRF
    csrf.exempt(simulate.bp)
    Babel(app, locale_selector=_select_locale)
    app.jinja_env.filters["money"] = _money
    app.jinja_env.filters["datetime"] = format_datetime
    app.context_processor(lambda: {"current_locale": str(get_locale() or "vi")})
    app.register_blueprint(api.bp)
    app.register_blueprint(simulate.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(access.bp)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _error_page)
    return app


def _select_locale() -> str:
    return request.accept_languages.best_match(LOCALES) or "vi"


def _money(value: Amount) -> str:
    if not isinstance(value, Amount):
        raise TypeError("the money filter takes an Amount")
    return value.format()


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


def _error_page(error: HTTPException) -> tuple[str, int] | HTTPException:
    if error.code is None:
        return error
    return render_template("error.html", error=error), error.code
