"""Following a referral link, and writing its clicks to the database quickly.

``follow_link`` decides what a visit through ``/r/<code>`` does: where it lands, whether it is
a click worth counting, and whether it carries attribution. The ``ClickRecorder`` then writes
the click, in one of two ways (``CLICK_WRITE_MODE``):

``sync`` (development and tests)
    The click is inserted in the request's own transaction, and its id goes into the cookie.

``batched`` (production)
    The click is put on an in-process queue and the request answers at once; a background
    thread in each worker writes what is queued every ``CLICK_FLUSH_SECONDS`` (0.5 s), or as
    soon as ``CLICK_BATCH_SIZE`` (500) clicks wait, in one ``COPY`` on PostgreSQL (one
    executemany ``INSERT`` elsewhere). A synchronous insert per click costs about two thirds of
    the redirect's throughput (PERFORMANCE.md, P1); a batch costs a few microseconds per click.
    The click's id is not known when the cookie is set, so the cookie carries the link and the
    time only.

    Nothing is lost on a clean stop: ``close()`` writes the queue, and runs at interpreter exit
    (``atexit``) and from gunicorn's ``worker_exit`` hook (README). A crash of the worker
    (SIGKILL, out of memory, power loss) loses at most the clicks of the last flush interval
    (0.5 s), never an order's attribution, which lives in the visitor's cookie. If the
    database is unreachable, batches stay queued (up to ``MAX_PENDING`` clicks) and are retried.

``REDIRECT_CACHE_SECONDS`` (production: 5 s) keeps each worker's answer to "which link has this
code" for a few seconds, so a redirect usually needs no database round trip at all. Pausing a
link clears it in the worker that paused it; other workers notice within those seconds. The
attribution service reads the link again when an order is placed, so a paused link or a
deactivated owner never earns anything, cached or not.
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import logging
import os
import threading
import time
import weakref
from collections import deque
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app
from sqlalchemy import Engine, and_, insert, select
from werkzeug.routing import MapAdapter

from perks.db import transaction
from perks.extensions import db
from perks.people.models import User
from perks.referrals.bots import classify_user_agent
from perks.referrals.models import Click, Destination, ReferralLink
from perks.referrals.services import STOREFRONT, LinkTarget, link_target, normalize_code
from perks.shop.models import Product, ProductCategory

log = logging.getLogger(__name__)

EXTENSION_KEY = "perks.referrals"
#: what a queued click holds, in the order COPY writes it
CLICK_COLUMNS = (
    "link_id",
    "clicked_at",
    "ip_hash",
    "user_agent_family",
    "is_bot",
    "referrer_domain",
)
_COPY_CLICKS = f"COPY click ({', '.join(CLICK_COLUMNS)}) FROM STDIN"
#: batched mode: clicks kept while the database is unreachable; beyond, the oldest are dropped
MAX_PENDING = 100_000
#: entries in a worker's code cache before it starts afresh (random codes cannot fill memory)
CACHE_MAX_ENTRIES = 10_000
REFERRER_MAX_LENGTH = 255


# --- the visit ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Visitor:
    """What the redirect knows about who followed the link (from the request)."""

    ip: str
    user_agent: str
    referrer: str | None = None
    #: the signed-in person, if any
    user_id: int | None = None
    #: a HEAD request: a program checking the link, never a person reading the page
    head_only: bool = False


@dataclass(frozen=True, slots=True)
class Visit:
    """What following a link does."""

    #: where the visitor is sent: a path of the storefront, built from the URL map
    location: str
    #: the link to attribute to (None: no cookie is set)
    link_id: int | None = None
    #: the recorded click (None in batched mode, or when nothing was counted)
    click_id: int | None = None


@dataclass(frozen=True, slots=True)
class LinkInfo:
    """Everything the redirect needs about a link, read in one statement."""

    id: int
    user_id: int
    paused: bool
    owner_active: bool
    #: the link's page, from the URL map (cached with the rest: the URL map never changes)
    location: str


def hash_ip(ip: str, secret: str | bytes) -> str:
    """HMAC-SHA256 of the IP address, keyed by a secret derived from ``SECRET_KEY``.

    The same address always gives the same hash (unique visitors, many clicks from one
    source), but the address cannot be read back, nor the hash recomputed without the key.
    """
    return hmac.new(_ip_key(secret), ip.encode("utf-8", "replace"), hashlib.sha256).hexdigest()


_IP_KEYS: dict[str | bytes, bytes] = {}


def _ip_key(secret: str | bytes) -> bytes:
    key = _IP_KEYS.get(secret)
    if key is None:
        raw = secret.encode() if isinstance(secret, str) else secret
        key = _IP_KEYS[secret] = hmac.new(raw, b"perks.referrals.click-ip", hashlib.sha256).digest()
    return key


def referrer_domain(referrer: str | None) -> str:
    """The host name of an http(s) Referer, lower-case; empty when there is none."""
    if not referrer:
        return ""
    try:
        parts = urlsplit(referrer.strip())
        host = parts.hostname or ""
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https"):
        return ""
    return host[:REFERRER_MAX_LENGTH]


def _read_link(code: str) -> LinkInfo | None:
    row = db.session.execute(
        select(
            ReferralLink.id,
            ReferralLink.user_id,
            ReferralLink.paused,
            ReferralLink.destination,
            User.active,
            Product.slug,
            Product.active,
            ProductCategory.slug,
        )
        .join(User, User.id == ReferralLink.user_id)
        .outerjoin(
            Product,
            and_(
                ReferralLink.destination == Destination.PRODUCT,
                Product.id == ReferralLink.destination_id,
            ),
        )
        .outerjoin(
            ProductCategory,
            and_(
                ReferralLink.destination == Destination.CATEGORY,
                ProductCategory.id == ReferralLink.destination_id,
            ),
        )
        .where(ReferralLink.code == code)
    ).first()
    if row is None:
        return None
    link_id, user_id, paused, destination, owner_active, product_slug, on_sale, category_slug = row
    target = link_target(destination, product_slug if on_sale else None, category_slug)
    return LinkInfo(link_id, user_id, paused, owner_active, _location(target))


def _location(target: LinkTarget) -> str:
    """The path of a storefront page, as ``url_for`` writes it in a request (the redirect
    runs without one: ``redirect_app.py``)."""
    return _state().paths().build(target.endpoint, target.values)


def follow_link(code: str, visitor: Visitor, *, now: datetime) -> Visit:
    """Where a visit through ``/r/<code>`` lands, and what it counts.

    - unknown code, or a paused link: the storefront; nothing counted, no attribution;
    - a deactivated person's link: the link's page; nothing counted, no attribution;
    - the link's owner, signed in: the link's page; nothing counted, no attribution;
    - a bot (``bots.py``), or any HEAD request: the link's page; the click is stored flagged
      ``is_bot`` (so previews and crawls can be seen) but never counted, and no attribution;
    - anyone else: the link's page; the click is counted and attributed (the cookie).
    """
    state = _state()
    normalized = normalize_code(code)
    info = state.links.get(normalized) if normalized else None
    if info is None or info.paused:
        return Visit(state.storefront())
    if not info.owner_active or visitor.user_id == info.user_id:
        return Visit(info.location)
    agent = classify_user_agent(visitor.user_agent)
    is_bot = agent.is_bot or visitor.head_only
    click_id = state.recorder.record(
        {
            "link_id": info.id,
            "clicked_at": now,
            "ip_hash": hash_ip(visitor.ip, current_app.secret_key or ""),
            "user_agent_family": agent.family,
            "is_bot": is_bot,
            "referrer_domain": referrer_domain(visitor.referrer),
        }
    )
    if is_bot:
        return Visit(info.location)
    return Visit(info.location, link_id=info.id, click_id=click_id)


# --- the code cache -------------------------------------------------------------------------


class LinkCache:
    """Each worker's recent answers to "which link has this code" (0 seconds: no cache)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: dict[str, tuple[float, LinkInfo | None]] = {}

    def get(self, code: str) -> LinkInfo | None:
        if self.seconds <= 0:
            return _read_link(code)
        now = time.monotonic()
        entry = self._entries.get(code)
        if entry is not None and entry[0] > now:
            return entry[1]
        info = _read_link(code)
        if len(self._entries) >= CACHE_MAX_ENTRIES:
            self._entries.clear()
        self._entries[code] = (now + self.seconds, info)
        return info

    def forget(self, code: str) -> None:
        self._entries.pop(code, None)


def forget_link(code: str, **_: object) -> None:
    """Drop ``code`` from this worker's cache (receiver of ``link_changed``: its link was
    paused or resumed)."""
    _state().links.forget(code)


# --- writing clicks -------------------------------------------------------------------------

_RECORDERS: weakref.WeakSet[ClickRecorder] = weakref.WeakSet()


class ClickRecorder:
    """Writes clicks: at once in the request's transaction (``sync``), or queued (``batched``).

    In batched mode the queue is a ``deque`` (appends from request threads need no lock) and
    one daemon thread per process writes it; ``flush()`` writes everything queued, from any
    thread, and ``close()`` stops the thread and flushes. The thread starts with the first
    click, so a gunicorn master that preloads the app never owns one, and a forked worker
    starts afresh (``os.register_at_fork``). On PostgreSQL a batch is one ``COPY``; elsewhere
    one executemany ``INSERT``.
    """

    def __init__(
        self,
        mode: str = "sync",
        *,
        flush_seconds: float = 0.5,
        batch_size: int = 500,
        engine: Engine | None = None,
    ) -> None:
        if mode not in ("sync", "batched"):
            raise ValueError(f"unknown click write mode {mode!r}")
        self.mode = mode
        self.flush_seconds = flush_seconds
        self.batch_size = max(1, batch_size)
        self._engine = engine
        self._reset()
        _RECORDERS.add(self)

    def _reset(self) -> None:
        self._pending: deque[dict[str, Any]] = deque()
        self._flush_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> int:
        """Clicks queued and not yet written."""
        return len(self._pending)

    def record(self, click: dict[str, Any]) -> int | None:
        """Write (sync: returns its id) or queue (batched: returns None) one click.

        ``click`` has the ``Click`` columns of ``CLICK_COLUMNS``.
        """
        if self.mode == "sync":
            with transaction() as session:
                return session.scalar(insert(Click).values(**click).returning(Click.id))
        if self._thread is None:
            if self._engine is None:
                self._engine = db.engine  # the app's engine, known inside the request
            self._start()
        self._pending.append(click)
        if len(self._pending) >= self.batch_size:
            self._wake.set()
        return None

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                return
            self._stop.clear()
            thread = threading.Thread(target=self._run, name="perks-click-writer", daemon=True)
            thread.start()
            self._thread = thread

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return  # close() writes the rest
            try:
                self.flush()
            except Exception:  # the writer must outlive a bad moment
                log.exception("writing queued clicks failed; they stay queued")

    def flush(self) -> int:
        """Write every queued click now, in batches. Returns how many were written.

        If the database refuses a batch, it goes back to the front of the queue (to be retried
        by the next flush) and the error is logged.
        """
        written = 0
        with self._flush_lock:
            while self._pending:
                batch: list[dict[str, Any]] = []
                try:
                    while len(batch) < self.batch_size:
                        batch.append(self._pending.popleft())
                except IndexError:
                    pass
                try:
                    self._write(batch)
                except Exception:
                    self._pending.extendleft(reversed(batch))
                    self._drop_excess()
                    log.exception("could not write %d clicks; %d queued", len(batch), self.pending)
                    break
                written += len(batch)
        return written

    def _write(self, batch: list[dict[str, Any]]) -> None:
        engine = self._engine
        if engine is None:
            raise RuntimeError("no database engine yet")
        if engine.dialect.name == "postgresql":
            # COPY: about half the cost per row of an executemany INSERT, in this process
            # and in the database; all rows or none, in one transaction.
            raw = engine.raw_connection()
            try:
                connection = raw.driver_connection  # psycopg's own: COPY is not DB-API
                assert connection is not None  # a connection checked out of the pool
                with connection.cursor() as cursor, cursor.copy(_COPY_CLICKS) as copy:
                    for click in batch:
                        copy.write_row(tuple(click[column] for column in CLICK_COLUMNS))
                raw.commit()
            except BaseException:
                with suppress(Exception):  # a broken connection cannot roll back: the
                    raw.rollback()  # original error is the one worth raising
                raise
            finally:
                raw.close()
            return
        with engine.begin() as connection:
            connection.execute(insert(Click.__table__), batch)

    def _drop_excess(self) -> None:
        dropped = 0
        while len(self._pending) > MAX_PENDING:
            self._pending.popleft()
            dropped += 1
        if dropped:
            log.error("click queue full: dropped the %d oldest clicks", dropped)

    def close(self) -> int:
        """Stop the writer thread and write what is queued (a clean stop loses nothing)."""
        thread = self._thread
        if thread is not None:
            self._stop.set()
            self._wake.set()
            thread.join(timeout=max(5.0, self.flush_seconds * 4))
        self._thread = None
        return self.flush()


def _after_fork_in_child() -> None:
    # A forked worker starts empty: the parent's queue is the parent's to write, and its
    # thread does not exist here (threads do not survive fork).
    for recorder in list(_RECORDERS):
        recorder._reset()


os.register_at_fork(after_in_child=_after_fork_in_child)


def close_all_recorders() -> int:
    """Flush and stop every click recorder of this process (``atexit``, gunicorn's
    ``worker_exit``). Returns how many clicks were written."""
    written = 0
    for recorder in list(_RECORDERS):
        try:
            written += recorder.close()
        except Exception:  # at exit: report it and go on with the others
            log.exception("could not write the queued clicks at exit")
    return written


atexit.register(close_all_recorders)


# --- per app --------------------------------------------------------------------------------


@dataclass
class ReferralState:
    recorder: ClickRecorder
    links: LinkCache
    #: builds the paths of the app's pages (its URL map, bound on first use)
    _paths: MapAdapter | None = None
    #: the storefront's path, where unknown and paused codes land (built on first use)
    _storefront: str | None = None

    def paths(self) -> MapAdapter:
        if self._paths is None:
            app = current_app
            self._paths = app.url_map.bind(
                "localhost",
                script_name=app.config["APPLICATION_ROOT"],
                url_scheme=app.config["PREFERRED_URL_SCHEME"],
            )
        return self._paths

    def storefront(self) -> str:
        if self._storefront is None or self.links.seconds <= 0:
            self._storefront = _location(STOREFRONT)
        return self._storefront


def init_referrals(app: Flask) -> None:
    """Give ``app`` its click recorder and code cache (settings read once, here)."""
    config = app.config
    app.extensions[EXTENSION_KEY] = ReferralState(
        recorder=ClickRecorder(
            config["CLICK_WRITE_MODE"],
            flush_seconds=float(config["CLICK_FLUSH_SECONDS"]),
            batch_size=int(config["CLICK_BATCH_SIZE"]),
        ),
        links=LinkCache(float(config["REDIRECT_CACHE_SECONDS"])),
    )


def _state() -> ReferralState:
    return current_app.extensions[EXTENSION_KEY]


def click_recorder() -> ClickRecorder:
    """The current app's click recorder (tests flush it; a stats page may, too)."""
    return _state().recorder
