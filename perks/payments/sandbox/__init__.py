"""An offline, Stripe-compatible sandbox served by the app itself (development, demo, tests).

The app's gateway (``perks.payments.stripe_gateway``) talks to it through the real ``stripe``
library, with the API base pointed at ``<host>/stripe-sandbox``: the same code runs against
real Stripe with real keys. It serves the subset of Stripe's API the app uses
(``api.py``), Stripe's hosted checkout page and a control page (``views.py``), keeps its own
database (``store.py``) and delivers signed webhooks back to the app (``webhooks.py``).

It is registered only when ``STRIPE_SANDBOX`` is on and never in production.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask

from perks.config import ConfigurationError

if TYPE_CHECKING:
    from perks.payments.sandbox.webhooks import AttemptResult


def init_app(app: Flask) -> None:
    """Register the sandbox's API and pages if ``STRIPE_SANDBOX`` is on.

    Raises:
        ConfigurationError: the sandbox switched on in production, or bad sandbox settings.
    """
    if not app.config.get("STRIPE_SANDBOX"):
        return
    if app.config["PERKS_ENV"] == "production":
        raise ConfigurationError("STRIPE_SANDBOX is for development; it never runs in production")
    from perks.extensions import csrf
    from perks.payments.sandbox.api import bp as api_bp
    from perks.payments.sandbox.settings import SandboxSettings
    from perks.payments.sandbox.views import bp as pages_bp

    SandboxSettings.from_config(app.config)  # refuse bad settings at start-up
    csrf.exempt(api_bp)  # an API for programs, with its own key; the pages keep CSRF
    app.register_blueprint(api_bp)
    app.register_blueprint(pages_bp)


def deliver_pending() -> list[AttemptResult]:
    """Send every pending webhook of the current app's sandbox now, in this thread."""
    from perks.payments.sandbox import webhooks

    return webhooks.deliver_pending()
