"""The sandbox's settings: read from its own environment variables, checked at start-up.

The names are those the product reads for the same things (``STRIPE_SECRET_KEY``,
``STRIPE_WEBHOOK_SECRET``), so one environment (``make run``'s) gives both processes the same
keys; the sandbox's own settings start with ``STRIPE_SANDBOX_``. ``create_app(config)`` may
override any of them (the tests do). The values are plain, so the webhook worker thread can
carry them without an app.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import make_url

#: the repository's ``instance/`` folder, where ``make run`` keeps its files
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"
#: the keys the sandbox accepts by default (the product's development defaults too)
DEFAULT_SECRET_KEY = "sk_test_perks_sandbox"  # noqa: S105 - a test key, refused by production
DEFAULT_WEBHOOK_SECRET = "whsec_perks_sandbox_0123456789abcdef"  # noqa: S105
#: where ``make run`` serves the product's webhook endpoint
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:5000/stripe/webhook"
DEFAULT_DATABASE_URL = f"sqlite:///{INSTANCE_DIR / 'stripe-sandbox.sqlite3'}"


class ConfigurationError(RuntimeError):
    """The sandbox cannot start with these settings (raised by ``create_app``)."""


def database_url(url: str) -> str:
    """``url`` for SQLAlchemy, with PostgreSQL driven by psycopg 3 (``postgres://...`` too)."""
    parsed = make_url(url)
    if parsed.drivername not in ("postgres", "postgresql"):
        return url
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def load_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every setting of the sandbox from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ
    return {
        # Read only to refuse production: the sandbox is for development, demos and tests.
        "PERKS_ENV": env.get("PERKS_ENV", "development"),
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY") or DEFAULT_SECRET_KEY,
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET") or DEFAULT_WEBHOOK_SECRET,
        "STRIPE_SANDBOX_DATABASE_URL": env.get("STRIPE_SANDBOX_DATABASE_URL")
        or DEFAULT_DATABASE_URL,
        "STRIPE_SANDBOX_WEBHOOK_URL": env.get("STRIPE_SANDBOX_WEBHOOK_URL") or DEFAULT_WEBHOOK_URL,
        "STRIPE_SANDBOX_RETRY_SECONDS": float(env.get("STRIPE_SANDBOX_RETRY_SECONDS") or 0.5),
        "STRIPE_SANDBOX_ASYNC_SECONDS": float(env.get("STRIPE_SANDBOX_ASYNC_SECONDS") or 2.0),
    }


@dataclass(frozen=True, slots=True)
class SandboxSettings:
    #: the sandbox's own database (never the product's)
    database_url: str
    #: the only API key the sandbox accepts (``sk_test_...``); it also opens the control page
    secret_key: str
    #: signs every webhook, like a Stripe endpoint's ``whsec_...`` secret
    webhook_secret: str
    #: the webhook endpoint every event goes to; empty: none (events are kept, not sent)
    webhook_url: str
    #: the first retry delay of a failed delivery (seconds); each retry doubles it
    retry_seconds: float
    #: how long an "async" payment method takes to succeed or fail (seconds)
    async_seconds: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SandboxSettings:
        """The settings of a sandbox app's config, checked.

        Raises:
            ConfigurationError: ``PERKS_ENV=production``; a key that is not a test key
                (``sk_test_...``); a webhook secret that is not a ``whsec_...``; a webhook URL
                that is not http(s); a retry delay of zero or less, or a negative async delay.
        """
        if config.get("PERKS_ENV") == "production":
            raise ConfigurationError(
                "the Stripe sandbox is for development and tests; it never runs in production"
            )
        settings = cls(
            database_url=database_url(str(config["STRIPE_SANDBOX_DATABASE_URL"])),
            secret_key=str(config.get("STRIPE_SECRET_KEY") or ""),
            webhook_secret=str(config.get("STRIPE_WEBHOOK_SECRET") or ""),
            webhook_url=str(config.get("STRIPE_SANDBOX_WEBHOOK_URL") or ""),
            retry_seconds=float(config.get("STRIPE_SANDBOX_RETRY_SECONDS", 0.5)),
            async_seconds=float(config.get("STRIPE_SANDBOX_ASYNC_SECONDS", 2.0)),
        )
        if not settings.secret_key.startswith("sk_test_"):
            raise ConfigurationError(
                "The Stripe sandbox only accepts a test key: set STRIPE_SECRET_KEY to sk_test_..."
            )
        if not settings.webhook_secret.startswith("whsec_"):
            raise ConfigurationError("STRIPE_WEBHOOK_SECRET must be a whsec_... secret")
        check_webhook_url(settings.webhook_url)
        if settings.retry_seconds <= 0:
            raise ConfigurationError("STRIPE_SANDBOX_RETRY_SECONDS must be more than 0")
        if settings.async_seconds < 0:
            raise ConfigurationError("STRIPE_SANDBOX_ASYNC_SECONDS must not be negative")
        return settings


def check_webhook_url(url: str) -> None:
    """Raises ConfigurationError unless ``url`` is empty or an http(s) URL."""
    if url and not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"STRIPE_SANDBOX_WEBHOOK_URL must be an http(s) URL, not {url!r}")
