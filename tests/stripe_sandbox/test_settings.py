"""The sandbox's settings: its own environment variables, checked when it starts; it never
starts in production."""

from __future__ import annotations

import pytest

from stripe_sandbox import ConfigurationError, create_app
from stripe_sandbox.amounts import Amount, parse_amount
from stripe_sandbox.errors import StripeApiError
from stripe_sandbox.settings import (
    DEFAULT_SECRET_KEY,
    DEFAULT_WEBHOOK_SECRET,
    SandboxSettings,
    load_settings,
)


def test_it_refuses_to_start_in_production(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'sandbox.sqlite3'}"
    with pytest.raises(ConfigurationError, match="never runs in production"):
        create_app({"PERKS_ENV": "production", "STRIPE_SANDBOX_DATABASE_URL": url})
    monkeypatch.setenv("PERKS_ENV", "production")
    with pytest.raises(ConfigurationError, match="never runs in production"):
        create_app({"STRIPE_SANDBOX_DATABASE_URL": url})


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("STRIPE_SECRET_KEY", "sk_live_" + "x" * 24, "only accepts a test key"),
        ("STRIPE_WEBHOOK_SECRET", "secret", "whsec_"),
        ("STRIPE_SANDBOX_WEBHOOK_URL", "localhost:5000/stripe/webhook", "http"),
        ("STRIPE_SANDBOX_RETRY_SECONDS", 0, "RETRY"),
        ("STRIPE_SANDBOX_ASYNC_SECONDS", -1, "ASYNC"),
    ],
)
def test_bad_settings_are_refused_at_start_up(tmp_path, setting, value, message):
    with pytest.raises(ConfigurationError, match=message):
        create_app(
            {"STRIPE_SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 's.sqlite3'}", setting: value}
        )


def test_the_defaults_suit_make_run():
    settings = SandboxSettings.from_config(load_settings({}))

    assert settings.database_url.endswith("instance/stripe-sandbox.sqlite3")
    assert settings.webhook_url == "http://127.0.0.1:5000/stripe/webhook"
    assert (settings.secret_key, settings.webhook_secret) == (
        DEFAULT_SECRET_KEY,
        DEFAULT_WEBHOOK_SECRET,
    )
    assert (settings.retry_seconds, settings.async_seconds) == (0.5, 2.0)


def test_settings_come_from_the_sandboxs_own_variables():
    settings = SandboxSettings.from_config(
        load_settings(
            {
                "STRIPE_SECRET_KEY": "sk_test_mine",
                "STRIPE_WEBHOOK_SECRET": "whsec_mine",
                "STRIPE_SANDBOX_DATABASE_URL": "postgresql://sandbox@db/sandbox",
                "STRIPE_SANDBOX_WEBHOOK_URL": "http://127.0.0.1:8000/stripe/webhook",
                "STRIPE_SANDBOX_RETRY_SECONDS": "0.1",
                "STRIPE_SANDBOX_ASYNC_SECONDS": "0",
            }
        )
    )

    assert settings == SandboxSettings(
        database_url="postgresql+psycopg://sandbox@db/sandbox",
        secret_key="sk_test_mine",
        webhook_secret="whsec_mine",
        webhook_url="http://127.0.0.1:8000/stripe/webhook",
        retry_seconds=0.1,
        async_seconds=0.0,
    )


# --- amounts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "locale", "shown"),
    [
        (Amount(2_500_000, "vnd"), "vi", "2.500.000\xa0₫"),
        (Amount(2_500_000, "vnd"), "en", "₫2,500,000"),
        (Amount(1250, "usd"), "en", "$12.50"),
        (Amount(500, "jpy"), "en", "¥500"),
    ],
)
def test_amounts_are_shown_in_stripes_units(amount, locale, shown):
    assert amount.format(locale) == shown


@pytest.mark.parametrize(
    ("text", "currency", "value"),
    [
        ("100.000", "vnd", 100_000),
        ("1,250,000 ₫", "vnd", 1_250_000),
        ("500 000", "vnd", 500_000),
        ("12.50", "usd", 1250),
        ("$12,5", "usd", 1250),
        ("1,234.56", "usd", 123_456),
        ("12", "usd", 1200),
    ],
)
def test_typed_amounts_are_read_in_the_currencys_unit(text, currency, value):
    assert parse_amount(text, currency) == value


@pytest.mark.parametrize("text", ["", "abc", "0", "-", "1" * 40, "1..2"])
def test_what_is_not_an_amount_is_refused(text):
    with pytest.raises(StripeApiError, match="Invalid amount"):
        parse_amount(text, "vnd")
