"""Production refuses state that lives on one host: a SQLite file, rate limits in memory."""

from __future__ import annotations

from typing import Any

import pytest

from perks.config import ENVIRONMENTS, ConfigurationError, load_settings, validate_settings
from tests.helpers import PRODUCTION_SETTINGS, TEST_SETTINGS

#: what a real deployment sets, apart from the database, the broker and rate limits
PRODUCTION_ENV = {
    "PERKS_ENV": "production",
    "SECRET_KEY": "s" * 48,
    "BASE_URL": "https://perks.example",
    "TRUSTED_HOSTS": "perks.example",
    "STRIPE_SECRET_KEY": "sk_live_" + "x" * 24,
    "STRIPE_WEBHOOK_SECRET": "whsec_" + "y" * 32,
    "MAIL_SENDER": "Perks <perks@perks.example>",
}
POSTGRES = "postgresql://perks@db.internal/perks"
REDIS = "redis://cache.internal:6379/0"


def production(**env: str) -> dict[str, Any]:
    return load_settings({**PRODUCTION_ENV, **env})


def test_production_with_postgresql_and_redis_starts():
    validate_settings(production(DATABASE_URL=POSTGRES, REDIS_URL=REDIS))


def test_production_without_database_url_refuses_the_sqlite_default():
    with pytest.raises(ConfigurationError, match=r"SQLALCHEMY_DATABASE_URI .*SQLite"):
        validate_settings(production(REDIS_URL=REDIS))


def test_production_refuses_a_sqlite_celery_broker():
    with pytest.raises(ConfigurationError, match="CELERY_BROKER_URL"):
        validate_settings(
            production(
                DATABASE_URL=POSTGRES,
                REDIS_URL=REDIS,
                CELERY_BROKER_URL="sqla+sqlite:////tmp/broker.sqlite3",
            )
        )


def test_production_without_redis_refuses_per_process_rate_limits():
    with pytest.raises(ConfigurationError, match=r"memory://"):
        validate_settings(production(DATABASE_URL=POSTGRES, CELERY_BROKER_URL=REDIS))


def test_an_explicit_memory_rate_limit_storage_is_refused_too():
    with pytest.raises(ConfigurationError, match=r"memory://"):
        validate_settings(
            production(DATABASE_URL=POSTGRES, REDIS_URL=REDIS, RATELIMIT_STORAGE_URI="memory://")
        )


def test_production_on_sqlite_and_memory_starts_when_told_explicitly():
    settings = production(
        ALLOW_SQLITE_IN_PRODUCTION="true", ALLOW_MEMORY_RATE_LIMITS_IN_PRODUCTION="true"
    )
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
    assert settings["RATELIMIT_STORAGE_URI"] == "memory://"

    validate_settings(settings)


def test_each_allowance_lifts_only_its_own_refusal():
    with pytest.raises(ConfigurationError, match="memory://"):
        validate_settings(production(ALLOW_SQLITE_IN_PRODUCTION="true"))
    with pytest.raises(ConfigurationError, match="SQLite"):
        validate_settings(production(ALLOW_MEMORY_RATE_LIMITS_IN_PRODUCTION="true"))


def test_disabled_rate_limits_need_no_shared_storage():
    validate_settings(
        production(DATABASE_URL=POSTGRES, CELERY_BROKER_URL=REDIS, RATELIMIT_ENABLED="false")
    )


def test_the_allowances_are_off_by_default_and_development_needs_none():
    settings = load_settings({})
    assert settings["ALLOW_SQLITE_IN_PRODUCTION"] is False
    assert settings["ALLOW_MEMORY_RATE_LIMITS_IN_PRODUCTION"] is False
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")

    validate_settings(settings)  # development: SQLite and memory:// are the defaults


def test_the_app_factory_refuses_to_start(tmp_path):
    from perks import create_app

    with pytest.raises(ConfigurationError, match="SQLite"):
        create_app(
            {
                **production(REDIS_URL=REDIS),
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'perks.sqlite3'}",
            }
        )


def test_log_format_is_json_in_production_and_text_in_development():
    assert production()["LOG_FORMAT"] == "json"
    assert load_settings({})["LOG_FORMAT"] == "text"
    assert load_settings({"LOG_FORMAT": "json"})["LOG_FORMAT"] == "json"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE"),
        ("TIMEZONE", "UTC+7", "TIMEZONE"),
        ("TIMEZONE", "", "TIMEZONE"),
        ("DEFAULT_CURRENCY", "XYZ", "DEFAULT_CURRENCY"),
        ("DEFAULT_CURRENCY", "vnd", "DEFAULT_CURRENCY"),
        ("DEFAULT_LOCALE", "fr", "DEFAULT_LOCALE"),
    ],
)
def test_a_time_zone_currency_or_language_the_app_cannot_use_is_refused_at_start(
    name: str, value: str, message: str
):
    # each started the app, then every page showing a date or an amount answered 500
    with pytest.raises(ConfigurationError, match=message):
        validate_settings(load_settings({name: value}))


def test_other_time_zones_currencies_and_the_english_default_start():
    validate_settings(
        load_settings(
            {"TIMEZONE": "Asia/Bangkok", "DEFAULT_CURRENCY": "USD", "DEFAULT_LOCALE": "en"}
        )
    )


# The environment's name decides some defaults ----------------------------------------------


def environment_dependent() -> set[str]:
    """The settings whose default differs between the environments."""
    each = [load_settings({"PERKS_ENV": name}) for name in ENVIRONMENTS]
    return {
        key
        for key in each[0]
        if key != "PERKS_ENV" and len({repr(settings[key]) for settings in each}) > 1
    }


def test_these_defaults_depend_on_the_environment():
    assert environment_dependent() == {
        "SECRET_KEY",
        "BASE_URL",
        "SESSION_COOKIE_SECURE",
        "REMEMBER_COOKIE_SECURE",
        "MAIL_BACKEND",
        "CLICK_WRITE_MODE",
        "REDIRECT_CACHE_SECONDS",
        "CELERY_ALWAYS_EAGER",
        "OVERVIEW_SNAPSHOT_MAX_AGE",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_API_BASE",
        "LOG_FORMAT",
    }


def app_named(monkeypatch, tmp_path, process: str, named: str, **explicit: Any):  # type: ignore[no-untyped-def]
    """An app made with ``PERKS_ENV=process`` in the process environment and ``named`` given
    to ``create_app``, leaving every environment-dependent setting to its default unless
    ``explicit``."""
    from perks import create_app

    dependent = environment_dependent()
    for key in dependent:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PERKS_ENV", process)
    given = {key: value for key, value in TEST_SETTINGS.items() if key not in dependent}
    if named == "production":
        given.update(PRODUCTION_SETTINGS)
    given.update(PERKS_ENV=named, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'perks.sqlite3'}")
    return create_app({**given, **explicit}), given


@pytest.mark.parametrize(
    ("process", "named"),
    [
        ("development", "testing"),
        ("development", "production"),
        ("production", "testing"),
        ("testing", "development"),
    ],
)
def test_the_environment_named_to_create_app_decides_the_defaults(
    monkeypatch, tmp_path, process, named
):
    # the test suite names "testing" to create_app: it got the process's development
    # defaults (snapshots 15 minutes old shown, tasks on a broker) unless it named each one
    app, given = app_named(monkeypatch, tmp_path, process, named)
    defaults = load_settings({"PERKS_ENV": named})
    assert app.config["PERKS_ENV"] == named
    left_to_default = environment_dependent() - set(given)
    assert left_to_default >= {"CELERY_ALWAYS_EAGER", "OVERVIEW_SNAPSHOT_MAX_AGE", "LOG_FORMAT"}
    assert {key: app.config[key] for key in left_to_default} == {
        key: defaults[key] for key in left_to_default
    }


def test_the_testing_environment_named_to_create_app_computes_snapshots_and_runs_tasks_eagerly(
    monkeypatch, tmp_path
):
    app, _ = app_named(monkeypatch, tmp_path, "development", "testing")
    assert app.config["OVERVIEW_SNAPSHOT_MAX_AGE"] == 0
    assert app.config["CELERY_ALWAYS_EAGER"] is True
    assert app.extensions["celery"].conf.task_always_eager is True


def test_an_explicit_setting_wins_over_the_named_environments_default(monkeypatch, tmp_path):
    app, _ = app_named(
        monkeypatch,
        tmp_path,
        "development",
        "testing",
        OVERVIEW_SNAPSHOT_MAX_AGE=15,
        CELERY_ALWAYS_EAGER=False,
    )
    assert app.config["OVERVIEW_SNAPSHOT_MAX_AGE"] == 15
    assert app.config["CELERY_ALWAYS_EAGER"] is False


def test_a_setting_in_the_process_environment_wins_over_the_named_environments_default(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("OVERVIEW_SNAPSHOT_MAX_AGE", "7")
    monkeypatch.setenv("LOG_FORMAT", "json")
    for key in environment_dependent() - {"OVERVIEW_SNAPSHOT_MAX_AGE", "LOG_FORMAT"}:
        monkeypatch.delenv(key, raising=False)
    from perks import create_app

    app = create_app(
        {
            **{k: v for k, v in TEST_SETTINGS.items() if k != "OVERVIEW_SNAPSHOT_MAX_AGE"},
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'perks.sqlite3'}",
        }
    )
    assert app.config["OVERVIEW_SNAPSHOT_MAX_AGE"] == 7
    assert app.config["LOG_FORMAT"] == "json"


# Settings that follow another follow its final value --------------------------------------


def test_a_redis_url_given_to_create_app_carries_the_rate_limits_and_the_broker():
    # they followed the environment's REDIS_URL only: memory:// and the SQLite broker
    settings = load_settings({}, given={"REDIS_URL": REDIS})
    assert settings["RATELIMIT_STORAGE_URI"] == REDIS
    assert settings["CELERY_BROKER_URL"] == REDIS


def test_no_redis_given_to_create_app_leaves_the_environments_redis_alone():
    settings = load_settings({"REDIS_URL": REDIS}, given={"REDIS_URL": ""})
    assert settings["RATELIMIT_STORAGE_URI"] == "memory://"
    assert settings["CELERY_BROKER_URL"].startswith("sqla+sqlite:///")


def test_an_explicit_rate_limit_storage_or_broker_wins_over_redis_url():
    other = "redis://other.internal:6379/1"
    from_env = load_settings(
        {"RATELIMIT_STORAGE_URI": "memory://", "CELERY_BROKER_URL": other},
        given={"REDIS_URL": REDIS},
    )
    assert from_env["RATELIMIT_STORAGE_URI"] == "memory://"
    assert from_env["CELERY_BROKER_URL"] == other
    given = load_settings(
        {"REDIS_URL": REDIS, "RATELIMIT_STORAGE_URI": "memory://"},
        given={"RATELIMIT_STORAGE_URI": other, "CELERY_BROKER_URL": other},
    )
    assert given["RATELIMIT_STORAGE_URI"] == other
    assert given["CELERY_BROKER_URL"] == other


@pytest.mark.parametrize("secure", [True, False])
def test_the_remember_me_cookie_follows_a_session_cookie_setting_given_to_create_app(secure):
    # it followed the environment's SESSION_COOKIE_SECURE only (secure in production)
    for environ in ({}, {"PERKS_ENV": "production"}, {"SESSION_COOKIE_SECURE": str(not secure)}):
        settings = load_settings(environ, given={"SESSION_COOKIE_SECURE": secure})
        assert settings["REMEMBER_COOKIE_SECURE"] is secure


def test_an_explicit_remember_me_cookie_setting_wins():
    settings = load_settings(
        {"SESSION_COOKIE_SECURE": "true"}, given={"REMEMBER_COOKIE_SECURE": False}
    )
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["REMEMBER_COOKIE_SECURE"] is False


def test_production_checks_see_a_redis_url_given_to_create_app():
    validate_settings(
        load_settings({**PRODUCTION_ENV, "DATABASE_URL": POSTGRES}, given={"REDIS_URL": REDIS})
    )
    with pytest.raises(ConfigurationError, match="CELERY_BROKER_URL"):
        validate_settings(
            load_settings(
                {**PRODUCTION_ENV, "DATABASE_URL": POSTGRES, "REDIS_URL": REDIS},
                given={"REDIS_URL": ""},
            )
        )


def test_the_app_factory_follows_the_settings_given_to_it(monkeypatch, tmp_path):
    from perks import create_app

    for key in ("REDIS_URL", "RATELIMIT_STORAGE_URI", "CELERY_BROKER_URL", "SESSION_COOKIE_SECURE"):
        monkeypatch.delenv(key, raising=False)
    given = {
        **{k: v for k, v in TEST_SETTINGS.items() if k != "RATELIMIT_STORAGE_URI"},
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'perks.sqlite3'}",
        "REDIS_URL": REDIS,
        "SESSION_COOKIE_SECURE": True,
    }
    app = create_app(given)
    assert app.config["RATELIMIT_STORAGE_URI"] == REDIS
    assert app.config["CELERY_BROKER_URL"] == REDIS
    assert app.extensions["celery"].conf.broker_url == REDIS
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


def test_the_app_factory_refuses_memory_rate_limits_when_told_there_is_no_redis(
    monkeypatch, tmp_path
):
    # the environment's Redis carried the rate limits past the check, the app being told
    # there is none
    from perks import create_app

    monkeypatch.setenv("REDIS_URL", REDIS)
    for key in ("RATELIMIT_STORAGE_URI", "CELERY_BROKER_URL"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(ConfigurationError, match="memory://"):
        create_app(
            {
                **{k: v for k, v in TEST_SETTINGS.items() if k != "RATELIMIT_STORAGE_URI"},
                **PRODUCTION_SETTINGS,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'perks.sqlite3'}",
                "REDIS_URL": "",
                "RATELIMIT_ENABLED": True,
                "ALLOW_MEMORY_RATE_LIMITS_IN_PRODUCTION": False,
            }
        )


def test_earlier_secret_keys_are_a_comma_separated_list():
    """``SECRET_KEY_FALLBACKS``: Flask's own setting (sessions, cookies, links signed before a
    rotation) and the survey departments sealed before it (``perks.feedback.surveys``)."""
    assert load_settings({})["SECRET_KEY_FALLBACKS"] == []
    earlier = load_settings({"SECRET_KEY_FALLBACKS": " old-key-one , old-key-two,"})
    assert earlier["SECRET_KEY_FALLBACKS"] == ["old-key-one", "old-key-two"]


def test_production_refuses_to_start_without_trusted_hosts():
    """SECURITY.md: TRUSTED_HOSTS is set in production (Host headers nobody configured are
    refused before any view runs)."""
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "TRUSTED_HOSTS"}
    with pytest.raises(ConfigurationError, match="TRUSTED_HOSTS"):
        validate_settings(load_settings({**env, "DATABASE_URL": POSTGRES, "REDIS_URL": REDIS}))


def test_uploads_are_limited_to_32_mib_unless_max_upload_bytes_says_otherwise():
    assert load_settings({})["MAX_CONTENT_LENGTH"] == 32 * 1024 * 1024
    assert load_settings({"MAX_UPLOAD_BYTES": "1048576"})["MAX_CONTENT_LENGTH"] == 1024 * 1024


@pytest.mark.parametrize("sender", ["", "Perks <perks@localhost>", "perks@mailhost", "Perks"])
def test_production_refuses_to_send_mail_from_localhost(sender):
    """The default sender, ``perks@localhost``, is fine for the development outbox; from a
    real SMTP relay every invitation and reset link would be refused or taken for spam."""
    with pytest.raises(ConfigurationError, match="MAIL_SENDER"):
        validate_settings(production(DATABASE_URL=POSTGRES, REDIS_URL=REDIS, MAIL_SENDER=sender))
    default = {key: value for key, value in PRODUCTION_ENV.items() if key != "MAIL_SENDER"}
    with pytest.raises(ConfigurationError, match="MAIL_SENDER"):
        validate_settings(load_settings({**default, "DATABASE_URL": POSTGRES, "REDIS_URL": REDIS}))


def test_production_sends_mail_from_the_companys_domain():
    validate_settings(
        production(DATABASE_URL=POSTGRES, REDIS_URL=REDIS, MAIL_SENDER="Perks <perks@senvang.vn>")
    )


def test_production_refuses_a_base_url_its_trusted_hosts_would_refuse():
    """A typo in either (``perks.senvang.vn`` against ``perks.senvang.com``): the app would
    start, and every link in e-mails and QR codes would open on 400 Bad Request."""
    with pytest.raises(ConfigurationError, match=r"BASE_URL.*TRUSTED_HOSTS"):
        validate_settings(
            production(
                DATABASE_URL=POSTGRES,
                REDIS_URL=REDIS,
                BASE_URL="https://perks.senvang.vn",
                TRUSTED_HOSTS="perks.senvang.com",
            )
        )
    for base_url, trusted in [
        ("https://perks.senvang.vn/", "perks.senvang.vn"),
        ("https://perks.senvang.vn:8443/perks", "admin.senvang.vn,perks.senvang.vn"),
        ("https://perks.senvang.vn", ".senvang.vn"),
    ]:
        validate_settings(
            production(
                DATABASE_URL=POSTGRES, REDIS_URL=REDIS, BASE_URL=base_url, TRUSTED_HOSTS=trusted
            )
        )


def test_smtp_on_the_implicit_tls_port_is_refused_at_start():
    """Port 465 speaks TLS from the first byte (SMTPS); the sender speaks plain SMTP and then
    STARTTLS, so it would wait out MAIL_TIMEOUT_SECONDS on every attempt and mark every
    message failed some two hours later. The start says so instead."""
    with pytest.raises(ConfigurationError, match=r"MAIL_PORT.*465.*587"):
        validate_settings(
            production(
                DATABASE_URL=POSTGRES,
                REDIS_URL=REDIS,
                MAIL_PORT="465",
                MAIL_SENDER="Perks <perks@perks.example>",
            )
        )
    # the development outbox sends nothing
    validate_settings(load_settings({"MAIL_PORT": "465"}))


@pytest.mark.parametrize("url", ["cache.internal:6379", "127.0.0.1:6379/0", "http://cache:6379"])
def test_a_redis_url_without_a_redis_scheme_is_refused_naming_the_setting(url):
    """Redis's client and the rate limits would each refuse it later, in words that name
    neither the setting nor what to write."""
    with pytest.raises(ConfigurationError, match=r"REDIS_URL.*redis://"):
        validate_settings(load_settings({"REDIS_URL": url}))


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "rediss://cache.example:6380/1", "unix:///run/redis.sock"]
)
def test_a_redis_url_with_a_redis_scheme_is_accepted(url):
    validate_settings(load_settings({"REDIS_URL": url}))


@pytest.mark.parametrize("limit", ["-1", "3600", "86400"])
def test_a_task_time_limit_past_redis_handing_the_task_on_is_refused(limit):
    """Redis gives a task still unacknowledged after an hour to another worker: a limit at or
    past it would let the same task run twice."""
    with pytest.raises(ConfigurationError, match="CELERY_TASK_TIME_LIMIT_SECONDS"):
        validate_settings(load_settings({"CELERY_TASK_TIME_LIMIT_SECONDS": limit}))
    validate_settings(load_settings({"CELERY_TASK_TIME_LIMIT_SECONDS": "0"}))
