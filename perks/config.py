"""Settings, read from the environment in this one place.

Every setting here appears in the README's settings table with its default. ``load_settings``
returns plain Flask config keys; ``create_app(config=...)`` may override any of them (tests do),
its ``PERKS_ENV`` picks the defaults that depend on the environment's name, and the settings
that follow another (the rate limits' storage and the Celery broker follow ``REDIS_URL``, the
remember-me cookie ``SESSION_COOKIE_SECURE``) follow its final value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import list_currencies
from werkzeug.sansio.utils import host_is_trusted

from perks.i18n import LOCALES

ENVIRONMENTS = ("development", "production", "testing")
CLICK_WRITE_MODES = ("sync", "batched")
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"
DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - refused in production, see validate_settings
#: where ``make run`` serves the app; the base URL of development and test links
DEV_BASE_URL = "http://127.0.0.1:5000"
#: the offline Stripe sandbox (stripe_sandbox, its own process): where ``make run`` serves it,
#: and its keys. The product's default outside production; all three refused in production.
DEV_STRIPE_API_BASE = "http://127.0.0.1:5002"
SANDBOX_SECRET_KEY = "sk_test_perks_sandbox"  # noqa: S105
SANDBOX_WEBHOOK_SECRET = "whsec_perks_sandbox_0123456789abcdef"  # noqa: S105
#: the schemes of a Redis address (redis-py's ``from_url``; the rate limits take them too)
REDIS_SCHEMES = ("redis", "rediss", "unix")
#: SMTP over TLS from the first byte (RFC 8314); the sender speaks plain SMTP, then STARTTLS
SMTPS_PORT = 465
#: Stripe's own API, the only base production talks to
STRIPE_API_BASES = ("https://api.stripe.com", "https://api.stripe.com/")


class ConfigurationError(RuntimeError):
    """The settings cannot run the app safely (raised at start-up, never at request time)."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str | None, default: int) -> int:
    return default if value in (None, "") else int(value)


def _float(value: str | None, default: float) -> float:
    return default if value in (None, "") else float(value)


def _list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def database_uri(url: str) -> str:
    """Normalise a database URL so PostgreSQL always goes through psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_settings(
    environ: Mapping[str, str] | None = None, *, given: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Every setting: read from ``environ`` (default: the process environment), with
    ``given`` (``create_app``'s ``config``) over it.

    Some defaults depend on the environment's name (``production``, ``testing``): it is
    ``given``'s ``PERKS_ENV`` when it names one, else ``environ``'s, else ``development``.
    Others follow another setting's final value, wherever that came from
    (``_follow_settings``): a ``REDIS_URL`` given to ``create_app`` moves the rate limits
    and the Celery broker as one in the environment does. A setting ``environ`` or
    ``given`` holds always wins over a default (``given`` over ``environ``).
    """
    env = os.environ if environ is None else environ
    given = given or {}
    named = given.get("PERKS_ENV")
    perks_env = named if named is not None else env.get("PERKS_ENV", "development")
    production = perks_env == "production"
    settings: dict[str, Any] = {
        "PERKS_ENV": perks_env,
        "SECRET_KEY": env.get("SECRET_KEY", "" if production else DEV_SECRET_KEY),
        # Earlier keys, while a rotation settles: sessions and links signed with them, and
        # survey departments sealed with them, still open (Flask's own setting).
        "SECRET_KEY_FALLBACKS": _list(env.get("SECRET_KEY_FALLBACKS")),
        "SQLALCHEMY_DATABASE_URI": database_uri(
            env.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'perks.sqlite3'}")
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # PostgreSQL: a database host that does not answer costs this, then a 503 page.
        "DATABASE_CONNECT_TIMEOUT_SECONDS": _int(env.get("DATABASE_CONNECT_TIMEOUT_SECONDS"), 5),
        # PostgreSQL, each process's pool (perks.database): connections kept open, extra ones
        # opened under load, how long a request waits for one, when one is replaced.
        "DATABASE_POOL_SIZE": _int(env.get("DATABASE_POOL_SIZE"), 5),
        "DATABASE_MAX_OVERFLOW": _int(env.get("DATABASE_MAX_OVERFLOW"), 10),
        "DATABASE_POOL_TIMEOUT_SECONDS": _float(env.get("DATABASE_POOL_TIMEOUT_SECONDS"), 10.0),
        "DATABASE_POOL_RECYCLE_SECONDS": _int(env.get("DATABASE_POOL_RECYCLE_SECONDS"), 1800),
        # Each web request's transactions end a statement after this (0: never); not jobs.
        "DATABASE_STATEMENT_TIMEOUT_MS": _int(env.get("DATABASE_STATEMENT_TIMEOUT_MS"), 20_000),
        # Server-side prepared statements: off, so PgBouncer's transaction pooling works; on
        # only with a direct connection to PostgreSQL (or a pooler that supports them).
        "DATABASE_PREPARED_STATEMENTS": _bool(env.get("DATABASE_PREPARED_STATEMENTS"), False),
        "REDIS_URL": env.get("REDIS_URL", ""),
        # None: follows REDIS_URL (_follow_settings)
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI"),
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        # Redis down: limits are counted in each process's memory, and Redis is asked again
        # this often (perks.extensions.FallbackStorage).
        "RATELIMIT_STORAGE_RETRY_SECONDS": _float(env.get("RATELIMIT_STORAGE_RETRY_SECONDS"), 5.0),
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute"),
        "LOGIN_ACCOUNT_RATE_LIMIT": env.get("LOGIN_ACCOUNT_RATE_LIMIT", "5 per minute"),
        # reset links e-mailed to one address, whatever the IP (a mailbox is not flooded)
        "PASSWORD_RESET_ACCOUNT_RATE_LIMIT": env.get(
            "PASSWORD_RESET_ACCOUNT_RATE_LIMIT", "3 per hour"
        ),
        "REDEEM_RATE_LIMIT": env.get("REDEEM_RATE_LIMIT", "60 per minute"),
        # The JSON API (perks.api): requests per token, and the release /api/v1/version names.
        "API_RATE_LIMIT": env.get("API_RATE_LIMIT", "600 per minute"),
        # ... and failed authentications (401s) per address, whatever the token sent.
        "API_AUTH_FAILURE_RATE_LIMIT": env.get("API_AUTH_FAILURE_RATE_LIMIT", "30 per minute"),
        "APP_VERSION": env.get("APP_VERSION", "dev"),
        "REDIRECT_RATE_LIMIT": env.get("REDIRECT_RATE_LIMIT", "120 per minute"),
        # Referral links: the cookie's life, and how clicks reach the database (see clicks.py).
        "ATTRIBUTION_WINDOW_DAYS": _int(env.get("ATTRIBUTION_WINDOW_DAYS"), 30),
        "CLICK_WRITE_MODE": env.get("CLICK_WRITE_MODE", "batched" if production else "sync"),
        "CLICK_FLUSH_SECONDS": _float(env.get("CLICK_FLUSH_SECONDS"), 0.5),
        "CLICK_BATCH_SIZE": _int(env.get("CLICK_BATCH_SIZE"), 500),
        # PostgreSQL: raw clicks are kept this many whole months (at least 13), then dropped a
        # month at a time once rolled up into day summaries (perks.referrals.partitions).
        "CLICK_RETENTION_MONTHS": max(13, _int(env.get("CLICK_RETENTION_MONTHS"), 13)),
        # Survey results show only for groups of at least this many answers (never below 3).
        "SURVEY_MIN_RESPONSES": max(3, _int(env.get("SURVEY_MIN_RESPONSES"), 5)),
        "REDIRECT_CACHE_SECONDS": _float(
            env.get("REDIRECT_CACHE_SECONDS"), 5.0 if production else 0.0
        ),
        "TRUSTED_HOSTS": _list(env.get("TRUSTED_HOSTS")) or None,
        # Every absolute URL (e-mails, share links, QR codes, Stripe's return URLs) starts
        # with this, never with the request's Host (perks.urls). Required in production.
        "BASE_URL": env.get("BASE_URL", "" if production else DEV_BASE_URL),
        "PROXY_COUNT": _int(env.get("PROXY_COUNT"), 0),
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": None,  # follows SESSION_COOKIE_SECURE (_follow_settings)
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": timedelta(days=_int(env.get("REMEMBER_DAYS"), 14)),
        "PERMANENT_SESSION_LIFETIME": timedelta(
            minutes=_int(env.get("SESSION_LIFETIME_MINUTES"), 120)
        ),
        "INVITATION_MAX_AGE_HOURS": _int(env.get("INVITATION_MAX_AGE_HOURS"), 72),
        "PASSWORD_RESET_MAX_AGE_MINUTES": _int(env.get("PASSWORD_RESET_MAX_AGE_MINUTES"), 30),
        # werkzeug's method for new password hashes. Not read from the environment: only the
        # tests choose a cheap one (thousands of sign-ins), and production refuses any other.
        "PASSWORD_HASH_METHOD": "scrypt",
        # 100,000 people in a CSV file (the import's limit) take about 15 MB.
        "MAX_CONTENT_LENGTH": _int(env.get("MAX_UPLOAD_BYTES"), 32 * 1024 * 1024),
        # The largest field a form may send besides a file (Flask's default, 500 kB, answered
        # 413 "File too large" to codes pasted into a perk's pool): 50,000 codes of 64
        # characters, one a line (perks.catalog.services.MAX_CODES_PER_IMPORT), take 3.3 MB.
        "MAX_FORM_MEMORY_SIZE": 4 * 1024 * 1024,
        # Background jobs (perks.background): larger exports go to a job; a running job
        # whose heartbeat is older than this is taken over by another worker.
        "EXPORT_BACKGROUND_ROWS": _int(env.get("EXPORT_BACKGROUND_ROWS"), 50_000),
        "JOB_STALE_SECONDS": _int(env.get("JOB_STALE_SECONDS"), 300),
        "MAIL_BACKEND": env.get("MAIL_BACKEND", "smtp" if production else "outbox"),
        "MAIL_SERVER": env.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": _int(env.get("MAIL_PORT"), 587),
        "MAIL_USERNAME": env.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS"), True),
        "MAIL_SENDER": env.get("MAIL_SENDER", "Perks <perks@localhost>"),
        "MAIL_TIMEOUT_SECONDS": _float(env.get("MAIL_TIMEOUT_SECONDS"), 10.0),
        "MAIL_MAX_ATTEMPTS": _int(env.get("MAIL_MAX_ATTEMPTS"), 8),
        "MAIL_RETRY_SECONDS": _int(env.get("MAIL_RETRY_SECONDS"), 60),
        # None: follows REDIS_URL (_follow_settings). Testing runs tasks in-process (eager).
        "CELERY_BROKER_URL": env.get("CELERY_BROKER_URL"),
        "CELERY_ALWAYS_EAGER": _bool(env.get("CELERY_ALWAYS_EAGER"), perks_env == "testing"),
        "CELERY_BEAT_SCALE": _float(env.get("CELERY_BEAT_SCALE"), 1.0),
        # A task still running after this long is ended (its process killed and replaced),
        # so a task stuck for good does not hold a worker for ever; under Redis's one hour
        # before it hands an unacknowledged task to another worker. 0: no limit.
        "CELERY_TASK_TIME_LIMIT_SECONDS": _int(env.get("CELERY_TASK_TIME_LIMIT_SECONDS"), 3000),
        "CELERY_BEAT_SCHEDULE_FILE": env.get(
            "CELERY_BEAT_SCHEDULE_FILE", str(INSTANCE_DIR / "celerybeat-schedule")
        ),
        "BABEL_DEFAULT_LOCALE": env.get("DEFAULT_LOCALE", "vi"),
        "BABEL_DEFAULT_TIMEZONE": env.get("TIMEZONE", "Asia/Ho_Chi_Minh"),
        "DEFAULT_CURRENCY": env.get("DEFAULT_CURRENCY", "VND"),
        # Payments: the offline sandbox's process and keys outside production, unless told
        # otherwise (production refuses them); an empty STRIPE_API_BASE is Stripe itself.
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY", "" if production else SANDBOX_SECRET_KEY),
        "STRIPE_WEBHOOK_SECRET": env.get(
            "STRIPE_WEBHOOK_SECRET", "" if production else SANDBOX_WEBHOOK_SECRET
        ),
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE", "" if production else DEV_STRIPE_API_BASE),
        # Every Stripe call is bounded (perks.payments.stripe_gateway.call_time_bound): each
        # attempt waits at most this long for an answer, and is retried this many times.
        "STRIPE_TIMEOUT_SECONDS": _float(env.get("STRIPE_TIMEOUT_SECONDS"), 8.0),
        "STRIPE_MAX_RETRIES": _int(env.get("STRIPE_MAX_RETRIES"), 1),
        "FRIENDS_DISCOUNT_BPS": _int(env.get("FRIENDS_DISCOUNT_BPS"), 500),
        "CHECKOUT_EXPIRY_MINUTES": _int(env.get("CHECKOUT_EXPIRY_MINUTES"), 60),
        # Commissions: days between an order's redemption and its commission being payable.
        "COMMISSION_HOLDING_DAYS": _int(env.get("COMMISSION_HOLDING_DAYS"), 14),
        "CHECKOUT_RATE_LIMIT": env.get("CHECKOUT_RATE_LIMIT", "10 per minute"),
        "COMPANY_NAME": env.get("COMPANY_NAME", "Perks"),
        "PEOPLE_PER_PAGE": _int(env.get("PEOPLE_PER_PAGE"), 25),
        # Company stats and fraud signals are read from snapshots the scheduled job refreshes
        # every 5 minutes (perks.referrals.snapshots); a page whose snapshot is older than this
        # many minutes computes it again. Testing: 0 (always computed).
        "OVERVIEW_SNAPSHOT_MAX_AGE": _int(
            env.get("OVERVIEW_SNAPSHOT_MAX_AGE"), 0 if perks_env == "testing" else 15
        ),
        "BOOTSTRAP_SERVE_LOCAL": True,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        # Several hosts: production refuses one host's SQLite file and per-process rate limits
        # unless told explicitly (a single-host trial, say).
        "ALLOW_SQLITE_IN_PRODUCTION": _bool(env.get("ALLOW_SQLITE_IN_PRODUCTION"), False),
        "ALLOW_MEMORY_RATE_LIMITS_IN_PRODUCTION": _bool(
            env.get("ALLOW_MEMORY_RATE_LIMITS_IN_PRODUCTION"), False
        ),
        # Operations (perks.observability): logs, metrics, error reports.
        "LOG_FORMAT": env.get("LOG_FORMAT", "json" if production else "text"),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        "METRICS_TOKEN": env.get("METRICS_TOKEN", ""),
        "SENTRY_DSN": env.get("SENTRY_DSN", ""),
        "SENTRY_TRACES_SAMPLE_RATE": _float(env.get("SENTRY_TRACES_SAMPLE_RATE"), 0.0),
    }
    settings.update(given)
    _follow_settings(settings)
    return settings


def _follow_settings(settings: dict[str, Any]) -> None:
    """Give each setting that follows another, and was not set (None), its default from the
    other's final value: a value from the environment and one given to ``create_app`` alike,
    so the production checks (``_check_shared_state``) see what the app will use."""
    redis_url = str(settings.get("REDIS_URL") or "")
    following = {
        # Rate limits live in Redis when there is one, so every gunicorn worker shares them.
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # Background work: Redis when there is one, else kombu's SQLAlchemy transport on a
        # SQLite file (development without Redis).
        "CELERY_BROKER_URL": redis_url
        or f"sqla+sqlite:///{INSTANCE_DIR / 'celery-broker.sqlite3'}",
        # One switch for both cookies that sign someone in.
        "REMEMBER_COOKIE_SECURE": bool(settings.get("SESSION_COOKIE_SECURE")),
    }
    for key, default in following.items():
        if settings.get(key) is None:
            settings[key] = default


def _check_base_url(url: str) -> None:
    """Raises ConfigurationError unless ``url`` is an http(s) address of a host (an optional
    path, no query, fragment or credentials)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises ValueError
    except ValueError:
        parts = urlsplit("")
    valid = (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not (parts.query or parts.fragment or parts.username or parts.password)
        and url == url.strip()
    )
    if not valid:
        raise ConfigurationError(
            "BASE_URL must be the site's address, like https://perks.example.com "
            f"(every link in e-mails and QR codes starts with it), not {url!r}"
        )


def _check_company_defaults(config: Mapping[str, Any]) -> None:
    """Raises ConfigurationError for a ``TIMEZONE``, ``DEFAULT_CURRENCY`` or ``DEFAULT_LOCALE``
    the app cannot use: each would otherwise start the app and break only the pages that
    show a date, an amount or a visitor's language."""
    zone = str(config.get("BABEL_DEFAULT_TIMEZONE") or "")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ConfigurationError(
            f"TIMEZONE must be a time zone name such as Asia/Ho_Chi_Minh, not {zone!r}"
        ) from error
    currency = config.get("DEFAULT_CURRENCY")
    if currency not in list_currencies():
        raise ConfigurationError(
            f"DEFAULT_CURRENCY must be an ISO 4217 code in capitals, such as VND, not {currency!r}"
        )
    locale = config.get("BABEL_DEFAULT_LOCALE")
    if locale not in LOCALES:
        raise ConfigurationError(
            f"DEFAULT_LOCALE must be one of {', '.join(LOCALES)}, not {locale!r}"
        )


def validate_settings(config: Mapping[str, Any]) -> None:
    """Refuse settings that would be unsafe.

    Raises:
        ConfigurationError: an unknown ``PERKS_ENV`` or ``CLICK_WRITE_MODE``, an attribution
            window under a day, a friends discount outside 0–100 %, a checkout expiry Stripe
            would refuse, Stripe timeouts or retries out of range (they must stay well below
            the worker's timeout), a ``BASE_URL`` that is not an http(s) address (or none at
            all), a ``REDIS_URL`` that is not a redis://, rediss:// or unix:// address, an
            unknown ``TIMEZONE``, ``DEFAULT_CURRENCY`` or ``DEFAULT_LOCALE``, SMTP on
            port 465 (SMTPS, which the sender does not speak), or
            production without a real ``SECRET_KEY``, with the development outbox, without
            trusted hosts or with a ``BASE_URL`` host they do not list, without real Stripe
            keys (the sandbox's are refused) or with an API base other than Stripe's (the
            sandbox's, say), with an http ``BASE_URL`` while cookies are for https only, with
            a ``MAIL_SENDER`` at localhost, or on SQLite or ``memory://`` rate limits
            (``_check_shared_state``).
    """
    env = config["PERKS_ENV"]
    if env not in ENVIRONMENTS:
        raise ConfigurationError(f"PERKS_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    mode = config.get("CLICK_WRITE_MODE", "sync")
    if mode not in CLICK_WRITE_MODES:
        raise ConfigurationError(
            f"CLICK_WRITE_MODE must be one of {', '.join(CLICK_WRITE_MODES)}, not {mode!r}"
        )
    if config.get("ATTRIBUTION_WINDOW_DAYS", 30) < 1:
        raise ConfigurationError("ATTRIBUTION_WINDOW_DAYS must be at least 1")
    if not 0 <= config.get("FRIENDS_DISCOUNT_BPS", 0) <= 10_000:
        raise ConfigurationError("FRIENDS_DISCOUNT_BPS must be between 0 and 10000")
    if not 30 <= config.get("CHECKOUT_EXPIRY_MINUTES", 60) <= 24 * 60:
        raise ConfigurationError("CHECKOUT_EXPIRY_MINUTES must be between 30 and 1440 (Stripe)")
    if not 0 <= config.get("COMMISSION_HOLDING_DAYS", 14) <= 366:
        raise ConfigurationError("COMMISSION_HOLDING_DAYS must be between 0 and 366")
    if not 0 < config.get("STRIPE_TIMEOUT_SECONDS", 8.0) <= 20:
        raise ConfigurationError("STRIPE_TIMEOUT_SECONDS must be above 0 and at most 20")
    if not 0 <= config.get("STRIPE_MAX_RETRIES", 1) <= 3:
        raise ConfigurationError("STRIPE_MAX_RETRIES must be between 0 and 3")
    _check_base_url(str(config.get("BASE_URL") or ""))
    _check_company_defaults(config)
    if config.get("LOG_FORMAT", "text") not in ("json", "text"):
        raise ConfigurationError("LOG_FORMAT must be json or text")
    if not 0 <= config.get("CELERY_TASK_TIME_LIMIT_SECONDS", 3000) < 3600:
        raise ConfigurationError(
            "CELERY_TASK_TIME_LIMIT_SECONDS must be from 0 (no limit) to 3599: Redis hands a "
            "task still running after an hour to another worker"
        )
    redis_url = str(config.get("REDIS_URL") or "")
    if redis_url and urlsplit(redis_url).scheme not in REDIS_SCHEMES:
        raise ConfigurationError(
            f"REDIS_URL must be a Redis address, like redis://cache.internal:6379/0 (or "
            f"rediss:// with TLS, unix:// for a socket), not {redis_url!r}"
        )
    if config.get("MAIL_BACKEND") == "smtp" and config.get("MAIL_PORT") == SMTPS_PORT:
        raise ConfigurationError(
            f"MAIL_PORT {SMTPS_PORT} is TLS from the first byte (SMTPS), which the sender does "
            "not speak: every message would wait out MAIL_TIMEOUT_SECONDS and fail. Use the "
            "server's submission port, 587, with STARTTLS (MAIL_USE_TLS=true)"
        )
    if env != "production":
        return
    secret = config.get("SECRET_KEY") or ""
    if len(secret) < 32 or secret == DEV_SECRET_KEY:
        raise ConfigurationError("SECRET_KEY must be set (32+ random characters) in production")
    if config.get("MAIL_BACKEND") == "outbox":
        raise ConfigurationError("MAIL_BACKEND=outbox is for development; use smtp in production")
    if not config.get("TRUSTED_HOSTS"):
        raise ConfigurationError("TRUSTED_HOSTS must list the site's host names in production")
    base_host = urlsplit(str(config.get("BASE_URL"))).hostname or ""
    if not host_is_trusted(base_host, config["TRUSTED_HOSTS"]):
        raise ConfigurationError(
            f"BASE_URL's host {base_host!r} must be one of TRUSTED_HOSTS "
            f"({', '.join(config['TRUSTED_HOSTS'])}): every link in e-mails and QR codes "
            "would answer 400 Bad Request"
        )
    if (config.get("STRIPE_API_BASE") or "") not in ("", *STRIPE_API_BASES):
        raise ConfigurationError(
            "STRIPE_API_BASE must be empty (Stripe) in production: the Stripe sandbox is for "
            "development"
        )
    if (
        not str(config.get("STRIPE_SECRET_KEY") or "").startswith(("sk_", "rk_"))
        or config.get("STRIPE_SECRET_KEY") == SANDBOX_SECRET_KEY
    ):
        raise ConfigurationError("STRIPE_SECRET_KEY must be a real Stripe key in production")
    webhook_secret = str(config.get("STRIPE_WEBHOOK_SECRET") or "")
    if not webhook_secret.startswith("whsec_") or webhook_secret == SANDBOX_WEBHOOK_SECRET:
        raise ConfigurationError("STRIPE_WEBHOOK_SECRET must be set in production")
    if config.get("PASSWORD_HASH_METHOD", "scrypt") != "scrypt":
        raise ConfigurationError("passwords are hashed with scrypt in production")
    if config.get("SESSION_COOKIE_SECURE") and str(config.get("BASE_URL")).startswith("http:"):
        raise ConfigurationError(
            "BASE_URL must be an https address in production: session cookies are sent over "
            "https only (SESSION_COOKIE_SECURE), so every link in e-mails and QR codes would "
            "open the site signed out. Serve it over https, or set SESSION_COOKIE_SECURE=false "
            "for plain http on a closed network"
        )
    _check_mail_sender(str(config.get("MAIL_SENDER") or ""))
    _check_shared_state(config)


def _check_mail_sender(sender: str) -> None:
    """Raises ConfigurationError unless ``sender`` is an address of a real mail domain (one
    with a dot, not ``localhost``): a mail server refuses, or files as spam, mail from the
    default ``perks@localhost``, and its domain ends every ``Message-ID``."""
    _name, address = parseaddr(sender)
    domain = address.rpartition("@")[2].lower() if "@" in address else ""
    if "." not in domain or domain == "localhost" or domain.endswith(".localhost"):
        raise ConfigurationError(
            "MAIL_SENDER must be an address of your mail domain in production, like "
            f"Perks <perks@example.com>, not {sender!r}: mail servers refuse or bin mail "
            "from localhost"
        )


def _check_shared_state(config: Mapping[str, Any]) -> None:
    """Production keeps its state where every host and worker sees it (PostgreSQL, Redis).

    Raises:
        ConfigurationError: SQLite as the database or the Celery broker without
            ``ALLOW_SQLITE_IN_PRODUCTION``; enabled rate limits counted in each process's
            memory without ``ALLOW_MEMORY_RATE_LIMITS_IN_PRODUCTION``.
    """
    sqlite = [
        name
        for name in ("SQLALCHEMY_DATABASE_URI", "CELERY_BROKER_URL")
        if "sqlite" in str(config.get(name) or "").split("://", 1)[0]
    ]
    if sqlite and not config.get("ALLOW_SQLITE_IN_PRODUCTION"):
        raise ConfigurationError(
            f"{' and '.join(sqlite)} {'point' if len(sqlite) > 1 else 'points'} at SQLite, "
            "a file on one host: set DATABASE_URL "
            "(PostgreSQL) and REDIS_URL, or ALLOW_SQLITE_IN_PRODUCTION=true for a single host"
        )
    memory = str(config.get("RATELIMIT_STORAGE_URI") or "").startswith("memory://")
    if (
        memory
        and config.get("RATELIMIT_ENABLED", True)
        and not config.get("ALLOW_MEMORY_RATE_LIMITS_IN_PRODUCTION")
    ):
        raise ConfigurationError(
            "rate limits would be counted per process (memory://): set REDIS_URL or "
            "RATELIMIT_STORAGE_URI, or ALLOW_MEMORY_RATE_LIMITS_IN_PRODUCTION=true"
        )
