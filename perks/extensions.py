"""Extensions, created unbound and attached to the app in ``create_app``."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from flask import Flask, request
from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from limits.storage import MemoryStorage, MovingWindowSupport, SlidingWindowCounterSupport, Storage
from limits.strategies import STRATEGIES

# ``db`` is made in perks.db (the models' module needs it); it is bound with the others.
from perks.db import db as db
from perks.text import trim

log = logging.getLogger(__name__)

#: URL schemes of a Redis (or Valkey) server, as ``limits`` and redis-py know them
REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://", "valkey://", "valkeys://")
#: the most a rate-limit check waits for Redis to connect, and then to answer: a Redis that
#: is down costs milliseconds (a refused connection) or at most this, once per retry interval
REDIS_CONNECT_TIMEOUT_SECONDS = 0.25
REDIS_SOCKET_TIMEOUT_SECONDS = 0.5


class FallbackStorage(Storage, MovingWindowSupport, SlidingWindowCounterSupport):
    """Rate-limit counters in ``primary`` (Redis), or in this process's memory while it is down.

    Any call that fails because ``primary`` cannot be reached (refused, timed out, Redis
    errors) is answered from a ``MemoryStorage`` instead, with one warning in the log; from
    then on every call goes to memory, and ``primary`` is asked again (``check()``, a PING)
    at most once every ``retry_seconds``. When it answers, the counters are kept there again
    (logged), and the memory's are forgotten. So a Redis outage never fails a request: limits
    are counted per process for as long as it lasts (each worker allows the full limit).

    Every caller of the limiter goes through it: Flask-Limiter's decorators and headers, and
    the referral redirect's direct ``limiter.limiter.hit``. (Flask-Limiter's own
    ``RATELIMIT_IN_MEMORY_FALLBACK_ENABLED`` guards only its decorators, and comes back to
    Redis on a schedule of up to 32 s.)
    """

    STORAGE_SCHEME = None  # made by PerksLimiter, never from a URI

    def __init__(self, primary: Storage, *, retry_seconds: float = 5.0) -> None:
        super().__init__()
        self.primary = primary
        self.memory = MemoryStorage()
        self.retry_seconds = retry_seconds
        self._lock = threading.Lock()
        #: when the primary was found unreachable (``time.monotonic()``); None while it works
        self.down_since: float | None = None
        self._next_check = 0.0

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return ()  # nothing escapes: that is the point

    @property
    def _failures(self) -> tuple[type[BaseException], ...]:
        base = self.primary.base_exceptions
        return (*(base if isinstance(base, tuple) else (base,)), OSError)

    @property
    def using_memory(self) -> bool:
        return self.down_since is not None

    def _mark_down(self, error: BaseException) -> None:
        with self._lock:
            if self.down_since is not None:
                return
            self.down_since = time.monotonic()
            self._next_check = self.down_since + self.retry_seconds
        log.warning(
            "rate limit storage unreachable (%s: %s): counting rate limits in this process's "
            "memory until it answers again",
            type(error).__name__,
            error,
        )

    def _back(self) -> bool:
        """While down: ask the primary again if it is time; True once it answers."""
        now = time.monotonic()
        with self._lock:
            if now < self._next_check:
                return False
            self._next_check = now + self.retry_seconds
        if not self.primary.check():
            return False
        with self._lock:
            down_since, self.down_since = self.down_since, None
        if down_since is not None:
            log.warning(
                "rate limit storage answers again after %.0f s: rate limits are shared again",
                now - down_since,
            )
            self.memory.reset()
        return True

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.down_since is None or self._back():
            try:
                return getattr(self.primary, name)(*args, **kwargs)
            except self._failures as error:
                self._mark_down(error)
        return getattr(self.memory, name)(*args, **kwargs)

    # --- Storage ----------------------------------------------------------------------------

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return int(self._call("incr", key, expiry, amount=amount))

    def get(self, key: str) -> int:
        return int(self._call("get", key))

    def get_expiry(self, key: str) -> float:
        return float(self._call("get_expiry", key))

    def check(self) -> bool:
        """Whether the primary answers (a PING); the limiter works either way."""
        return bool(self.primary.check())

    def reset(self) -> int | None:
        self.memory.reset()
        return self._call("reset")

    def clear(self, key: str) -> None:
        self.memory.clear(key)
        self._call("clear", key)

    # --- moving window and sliding window counter -------------------------------------------

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        return bool(self._call("acquire_entry", key, limit, expiry, amount=amount))

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        window: tuple[float, int] = self._call("get_moving_window", key, limit, expiry)
        return window

    def acquire_sliding_window_entry(
        self, key: str, limit: int, expiry: int, amount: int = 1
    ) -> bool:
        return bool(self._call("acquire_sliding_window_entry", key, limit, expiry, amount=amount))

    def get_sliding_window(self, key: str, expiry: int) -> tuple[int, float, int, float]:
        window: tuple[int, float, int, float] = self._call("get_sliding_window", key, expiry)
        return window

    def clear_sliding_window(self, key: str, expiry: int) -> None:
        self._call("clear_sliding_window", key, expiry)


class PerksLimiter(Limiter):
    """Flask-Limiter whose counters degrade to per-process memory while Redis is down.

    With a Redis (``RATELIMIT_STORAGE_URI`` ``redis://...``), the connection gets short
    timeouts (``REDIS_CONNECT_TIMEOUT_SECONDS``, ``REDIS_SOCKET_TIMEOUT_SECONDS``) and the
    storage is wrapped in ``FallbackStorage`` (``RATELIMIT_STORAGE_RETRY_SECONDS`` between
    tries while it is down). ``memory://`` stays as it is.
    """

    def init_app(self, app: Flask) -> None:
        config = app.config
        uri = str(config.get("RATELIMIT_STORAGE_URI") or "")
        if uri.startswith(REDIS_SCHEMES):
            options = dict(config.get("RATELIMIT_STORAGE_OPTIONS") or {})
            options.setdefault("socket_connect_timeout", REDIS_CONNECT_TIMEOUT_SECONDS)
            options.setdefault("socket_timeout", REDIS_SOCKET_TIMEOUT_SECONDS)
            config["RATELIMIT_STORAGE_OPTIONS"] = options
        super().init_app(app)
        if not self.enabled or isinstance(self._storage, MemoryStorage | FallbackStorage):
            return
        # Flask-Limiter 4 takes a storage URI only: the storage it made is wrapped here, and
        # the strategy rebuilt on the wrapper (both attributes are Flask-Limiter's own).
        assert self._storage is not None
        assert self._strategy is not None
        self._storage = FallbackStorage(
            self._storage,
            retry_seconds=float(config.get("RATELIMIT_STORAGE_RETRY_SECONDS", 5.0)),
        )
        self._limiter = STRATEGIES[self._strategy](self._storage)


migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
bootstrap = Bootstrap5()
limiter = PerksLimiter(key_func=get_remote_address)


def login_email_key() -> str:
    """Rate-limit key for one account: the e-mail typed into the login form, as sign-in looks
    it up (``perks.people.models.normalise_email``: trimmed of spaces and invisible format
    characters, lower-case), so every spelling that reaches the account counts against it."""
    return "login:" + trim(request.form.get("email") or "").lower()


def signed_in_account_key() -> str:
    """Rate-limit key of the signed-in person's account, the sign-in form's for their address
    (``login_email_key``): checking the current password on the account page is one more
    guess at it, counted with the guesses made at sign-in. Anyone else: their IP address."""
    from flask_login import current_user

    email = getattr(current_user, "email", None) if current_user.is_authenticated else None
    return "login:" + email if email else get_remote_address()


def reset_email_key() -> str:
    """Rate-limit key for the reset links sent to one address (the forgot-password form's
    e-mail, read as ``login_email_key`` reads it): each request e-mails the address, so
    without it anyone could fill a colleague's mailbox from a few IP addresses."""
    return "password-reset:" + trim(request.form.get("email") or "").lower()
