"""How the app uses PostgreSQL when the database is shared: pool, timeouts, PgBouncer.

* The connection pool of each process (``DATABASE_POOL_SIZE``, ``DATABASE_MAX_OVERFLOW``,
  ``DATABASE_POOL_TIMEOUT_SECONDS``, ``DATABASE_POOL_RECYCLE_SECONDS``) and the connect
  timeout (``DATABASE_CONNECT_TIMEOUT_SECONDS``) are settings (:func:`engine_options`).
* Web requests run each transaction with a statement timeout
  (``DATABASE_STATEMENT_TIMEOUT_MS``): a query stuck behind a lock or a runaway plan ends
  with an error page instead of holding a worker and a connection. It is set with
  ``set_config(..., true)`` (``SET LOCAL``) at the start of every transaction, so it lasts
  exactly that transaction and works behind PgBouncer's transaction pooling. Celery jobs,
  the CLI and the exports' own streaming connections (``perks.finance.exports``) have none.
* Behind PgBouncer in transaction pooling a server connection serves another client after
  each transaction, so the app keeps no session state: no server-side prepared statements
  (psycopg's ``prepare_threshold`` is None unless ``DATABASE_PREPARED_STATEMENTS``), no
  ``SET`` without ``LOCAL``, only transaction-scoped advisory locks
  (``pg_advisory_xact_lock``), temporary tables dropped on commit, no ``LISTEN``.
* On SQLite (development, the tests) a writer waits ``SQLITE_BUSY_SECONDS`` for another,
  also when a savepoint or a locking read begins its transaction
  (:func:`wait_for_writers_on_savepoints`).
"""

from __future__ import annotations

from typing import Any

from flask import has_request_context
from sqlalchemy import Engine, event


def engine_options(config: dict[str, Any]) -> dict[str, Any]:
    """``SQLALCHEMY_ENGINE_OPTIONS`` for PostgreSQL from the settings (what the app's
    config already holds wins: tests and deployments may pass their own)."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.setdefault("pool_size", int(config["DATABASE_POOL_SIZE"]))
    options.setdefault("max_overflow", int(config["DATABASE_MAX_OVERFLOW"]))
    options.setdefault("pool_timeout", float(config["DATABASE_POOL_TIMEOUT_SECONDS"]))
    options.setdefault("pool_recycle", int(config["DATABASE_POOL_RECYCLE_SECONDS"]))
    connect_args: dict[str, Any] = {
        # A database host that does not answer costs seconds (then a 503 page), not the worker.
        "connect_timeout": max(2, int(config["DATABASE_CONNECT_TIMEOUT_SECONDS"])),
    }
    if not config["DATABASE_PREPARED_STATEMENTS"]:
        connect_args["prepare_threshold"] = None  # PgBouncer's transaction pooling
    options["connect_args"] = {**connect_args, **(options.get("connect_args") or {})}
    return options


#: SQLite: how long a write waits for another connection's write to end before "database is
#: locked" (the driver's default is 5 s). ``make run``'s web, worker and scheduler share one
#: SQLite file, and a loaded machine can hold a lock longer than 5 s.
SQLITE_BUSY_SECONDS = 30.0


def sqlite_engine_options(config: dict[str, Any]) -> dict[str, Any]:
    """``SQLALCHEMY_ENGINE_OPTIONS`` for SQLite: writers wait ``SQLITE_BUSY_SECONDS`` for
    each other (what the app's config already holds wins)."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options["connect_args"] = {
        "timeout": SQLITE_BUSY_SECONDS,
        **(options.get("connect_args") or {}),
    }
    return options


def wait_for_writers_on_savepoints(engine: Engine) -> None:
    """SQLite: a transaction begun by a savepoint or by a locking read (``SELECT ... FOR
    UPDATE``) takes the write lock at once (``BEGIN IMMEDIATE``), waiting
    ``SQLITE_BUSY_SECONDS`` for another writer.

    The driver (pysqlite) begins a transaction only before a write, so most transactions
    wait for another writer at their first write. A savepoint passes through, and SQLite
    begins a deferred transaction for it; what the transaction then reads holds a read lock,
    and SQLite refuses to turn that read lock into a write lock while another connection
    writes, at once and without waiting (it would deadlock). The savepoints of this app
    (claims, gifts, draws, referral links) are there to write, so the write lock is taken
    first.
    SQLite has no row locks: it leaves ``FOR UPDATE`` out, and the read ran outside any
    transaction, so two requests could both read a payout batch as approved and both pay it.
    Taking the write lock before the read makes the second wait for the first's commit and
    read what it wrote, as PostgreSQL's row lock does.
    Through the driver's own connection, so statement counts (tests) and the app's events do
    not see it.
    """
    if engine.dialect.name != "sqlite":
        return

    def begin_writing(connection: Any) -> None:
        dbapi_connection = connection.connection.dbapi_connection
        if not dbapi_connection.in_transaction:
            dbapi_connection.execute("BEGIN IMMEDIATE")

    @event.listens_for(engine, "savepoint")
    def _on_savepoint(connection: Any, _name: str) -> None:
        begin_writing(connection)

    @event.listens_for(engine, "before_cursor_execute")
    def _on_locking_read(
        connection: Any, _cursor: Any, _statement: str, _parameters: Any, context: Any, _many: bool
    ) -> None:
        compiled = getattr(context, "compiled", None)
        if getattr(getattr(compiled, "statement", None), "_for_update_arg", None) is not None:
            begin_writing(connection)


def time_out_web_statements(engine: Engine, milliseconds: int) -> None:
    """Give every transaction begun during a web request a statement timeout of
    ``milliseconds`` (0: none). The ``SET LOCAL`` goes through the driver's own cursor, in
    the transaction it opens, so statement counts (tests) and the app's events do not see
    it."""
    if milliseconds <= 0 or engine.dialect.name != "postgresql":
        return
    setting = str(int(milliseconds))

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if not has_request_context():
            return
        dbapi_connection = connection.connection.dbapi_connection
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [setting])
        finally:
            cursor.close()
