"""The sandbox's settings, as plain values its background worker can carry without an app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from perks.config import ConfigurationError

#: where the app's own webhook endpoint listens (perks.payments.views)
WEBHOOK_PATH = "/stripe/webhook"


@dataclass(frozen=True, slots=True)
class SandboxSettings:
    #: the sandbox's own database (never the app's)
    database_url: str
    #: the only API key the sandbox accepts (``sk_test_...``)
    secret_key: str
    #: signs every webhook, like a Stripe endpoint's ``whsec_...`` secret
    webhook_secret: str
    #: where webhooks go; empty: the host that created the session, at ``WEBHOOK_PATH``
    webhook_url: str
    #: the first retry delay of a failed delivery (seconds); each retry doubles it
    retry_seconds: float
    #: how long an "async" payment method takes to succeed or fail (seconds)
    async_seconds: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SandboxSettings:
        """The sandbox's part of the app's settings.

        Raises:
            ConfigurationError: a negative or zero retry delay, or a negative async delay.
        """
        settings = cls(
            database_url=str(config["STRIPE_SANDBOX_DATABASE_URL"]),
            secret_key=str(config.get("STRIPE_SECRET_KEY") or ""),
            webhook_secret=str(config.get("STRIPE_WEBHOOK_SECRET") or ""),
            webhook_url=str(config.get("STRIPE_SANDBOX_WEBHOOK_URL") or ""),
            retry_seconds=float(config.get("STRIPE_SANDBOX_RETRY_SECONDS", 0.5)),
            async_seconds=float(config.get("STRIPE_SANDBOX_ASYNC_SECONDS", 2.0)),
        )
        if settings.retry_seconds <= 0:
            raise ConfigurationError("STRIPE_SANDBOX_RETRY_SECONDS must be more than 0")
        if settings.async_seconds < 0:
            raise ConfigurationError("STRIPE_SANDBOX_ASYNC_SECONDS must not be negative")
        return settings

    def webhook_url_for(self, host_url: str) -> str:
        """Where a session created through ``host_url`` sends its events."""
        return self.webhook_url or host_url.rstrip("/") + WEBHOOK_PATH
