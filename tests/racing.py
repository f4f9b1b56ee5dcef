"""Racing hosts and requests: what must happen once happens once, however many try at once.

``all_at_once`` runs one thread per input, each in its own app context (so its own session and
connection, as on another host or worker), and releases them together with a barrier. It
gathers what they gave in an ``Outcome``; a test then says what the race must come to. Only
PostgreSQL has concurrent writers: on SQLite these races prove nothing, and the tests that
run them are skipped there.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask_babel import force_locale
from sqlalchemy import text

from perks.errors import PerksError
from perks.extensions import db

#: the longest a thread waits for the others at the barrier, or for its connection
WAIT_SECONDS = 120


@dataclass
class Outcome:
    """What a burst of simultaneous calls gave."""

    #: "ok" or the domain error's class name ("SoldOut", "LimitReached", "Conflict") -> count
    answers: Counter[str] = field(default_factory=Counter)
    #: what the successful calls returned, in the order they finished
    results: list[Any] = field(default_factory=list)
    #: the domain errors' messages, as the person would read them
    refusals: list[str] = field(default_factory=list)
    #: anything that is not a domain error: always a failure
    errors: list[str] = field(default_factory=list)


def _as_is(item: Any) -> Any:
    return item


def all_at_once(
    app: Flask,
    inputs: Iterable[Any],
    act: Callable[[Any], Any],
    *,
    prepare: Callable[[Any], Any] = _as_is,
    locale: str | None = None,
    requests: bool = False,
) -> Outcome:
    """Run ``act(prepare(input))`` for every input, each in a thread of its own, together.

    Each thread runs ``prepare(input)`` first (loading what it needs, then giving its
    connection back), waits at a barrier until every thread is ready, then runs ``act`` on
    what ``prepare`` returned. Messages are in ``locale`` when it is given (else the default
    locale). With ``requests``, the threads only send requests through test clients, each
    request in contexts of its own as in production: no app context is held around them.
    Never raises for what the threads raise: a ``PerksError`` is an answer and a
    refusal; anything else, a barrier broken by a thread that failed to get ready included,
    is in ``errors``.
    """
    items = list(inputs)
    barrier = threading.Barrier(len(items))
    lock = threading.Lock()
    outcome = Outcome()

    def run(item: Any) -> None:
        if requests:
            context: AbstractContextManager[Any] = nullcontext()
        else:
            context = app.app_context()
        with context, force_locale(locale) if locale else nullcontext():
            try:
                try:
                    prepared = prepare(item)
                    if not requests:
                        db.session.close()  # keep what was loaded; give the connection back
                except BaseException:
                    barrier.abort()  # the others would wait for this thread in vain
                    raise
                barrier.wait(timeout=WAIT_SECONDS)
                try:
                    result = act(prepared)
                except PerksError as refused:
                    with lock:
                        outcome.answers[type(refused).__name__] += 1
                        outcome.refusals.append(str(refused.message))
                else:
                    with lock:
                        outcome.answers["ok"] += 1
                        outcome.results.append(result)
            except Exception as error:  # every other outcome is a failure
                with lock:
                    outcome.errors.append(repr(error))
            finally:
                if not requests:
                    db.session.remove()

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        list(pool.map(run, items))
    return outcome


def waiting_on_a_lock(app: Flask) -> bool:
    """Whether a connection to the test database waits for a row or a lock another one holds
    (PostgreSQL): a test holds a row, starts the rival in a thread, and goes on once the
    rival waits (``tests.processes.wait_for``), so both have read before either commits."""
    with app.app_context(), db.engine.connect() as connection:
        waiting = connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)
