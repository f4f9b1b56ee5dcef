"""The sandbox's own storage: Stripe objects as JSON documents, idempotency keys, deliveries.

The sandbox stands in for an external service, so it never touches the product's database:
it has its own tables (created on first use, no migrations), its own engine on
``STRIPE_SANDBOX_DATABASE_URL`` (a SQLite file in ``instance/`` by default) and short
transactions.
On SQLite the database runs in WAL mode with a busy timeout, and every write transaction
starts with ``BEGIN IMMEDIATE`` so that several threads and several processes (gunicorn
workers) take turns instead of failing on a read-then-write upgrade. On PostgreSQL,
``load(..., lock=True)`` takes a row lock for the same purpose.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    make_url,
    or_,
    select,
    update,
)
from sqlalchemy.exc import OperationalError

#: index and constraint names that do not depend on the database (there are no foreign keys
#: or check constraints)
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: every Stripe object the sandbox keeps, as the JSON Stripe would return
objects = Table(
    "sandbox_object",
    metadata,
    #: creation order: lists are newest first, cursors compare it
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(255), nullable=False, unique=True),
    #: Stripe's ``object`` ("checkout.session", "payment_intent", "charge", ...)
    Column("type", String(40), nullable=False),
    Column("created", Integer, nullable=False),
    #: the object's ``status`` (or the event's type), for list filters
    Column("status", String(80)),
    #: the payment intent the object belongs to, for lookups from it
    Column("payment_intent", String(255), index=True),
    #: when the sweep must look at it again (unix seconds): an open session's expiry, an
    #: async payment's settlement
    Column("due_at", Float, index=True),
    #: the Stripe object, as JSON
    Column("data", Text, nullable=False),
    #: the sandbox's own notes (line items, webhook URL, ...), as JSON; never served
    Column("extra", Text, nullable=False, default="{}"),
    Index("ix_sandbox_object_type_seq", "type", "seq"),
    sqlite_autoincrement=True,  # a cursor never names a newer object after a reset
)

#: an ``Idempotency-Key`` and the response it got, replayed for a retry (kept 24 hours)
idempotency_keys = Table(
    "sandbox_idempotency_key",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("method", String(8), nullable=False),
    Column("path", String(255), nullable=False),
    #: the canonical parameters (``params.canonical``): a retry must send the same
    Column("params", Text, nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", Text, nullable=False),
    Column("created", Float, nullable=False, index=True),
)

#: one webhook to send: an event to an endpoint, retried until it answers 2xx
deliveries = Table(
    "sandbox_webhook_delivery",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(255), nullable=False, index=True),
    Column("event_type", String(80), nullable=False),
    Column("url", Text, nullable=False),
    #: "pending", "delivered" or "failed" (gave up after the last retry)
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempt_count", Integer, nullable=False, default=0),
    Column("created", Float, nullable=False),
    Column("next_attempt_at", Float, nullable=False),
    #: a worker is sending it until then (another process leaves it alone)
    Column("locked_until", Float),
    Column("delivered_at", Float),
    Column("last_status_code", Integer),
    Column("last_error", Text, nullable=False, default=""),
    Index("ix_sandbox_webhook_delivery_status_next", "status", "next_attempt_at"),
    sqlite_autoincrement=True,
)

#: every attempt to send a delivery, with what the endpoint answered
attempts = Table(
    "sandbox_webhook_attempt",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # No foreign key: a worker may log an attempt while a test resets the sandbox, and ids
    # are never reused, so a stray attempt can only ever belong to its own delivery.
    Column("delivery_id", Integer, nullable=False, index=True),
    Column("attempted_at", Float, nullable=False),
    Column("status_code", Integer),
    Column("error", Text, nullable=False, default=""),
    #: the start of the endpoint's answer, to see why it refused
    Column("response_excerpt", Text, nullable=False, default=""),
    Column("duration_ms", Integer, nullable=False, default=0),
    sqlite_autoincrement=True,
)

#: switches set on the control page ("deliver_twice", "paused"), shared by every process
options = Table(
    "sandbox_option",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", Text, nullable=False),
)

IDEMPOTENCY_KEY_LIFETIME = 24 * 3600


@dataclass
class Stored:
    """One stored object: Stripe's JSON (``data``) and the sandbox's notes (``extra``)."""

    id: str
    type: str
    created: int
    data: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)
    due_at: float | None = None
    seq: int = 0
    payment_intent: str | None = None
    #: the JSON text as stored (an event's body is delivered byte for byte)
    raw: str = ""


class Store:
    """The sandbox's database: an engine and its transactions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _make_engine(url)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(sandbox_write=True)
            with conn.begin():
                yield conn

    def reset(self) -> None:
        """Forget everything (tests start from an empty sandbox)."""
        with self.write() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(delete(table))


_stores: dict[tuple[int, str], Store] = {}
_stores_lock = threading.Lock()


def get_store(url: str) -> Store:
    """This process's store on ``url``, its tables created on first use."""
    key = (os.getpid(), url)  # an engine never crosses a fork
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = Store(url)
        return store


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        pool_pre_ping=not sqlite,
        connect_args={"check_same_thread": False, "timeout": 30} if sqlite else {},
    )
    if sqlite:

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own BEGIN handling is off: the "begin" hook below says how to begin.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            writing = conn.get_execution_options().get("sandbox_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    for attempt in range(3):
        try:
            metadata.create_all(engine)
            break
        except OperationalError:  # another process created the tables at the same moment
            if attempt == 2:
                raise
    return engine


# --- objects --------------------------------------------------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _stored(row: Any) -> Stored:
    return Stored(
        id=row.id,
        type=row.type,
        created=row.created,
        data=json.loads(row.data),
        extra=json.loads(row.extra),
        due_at=row.due_at,
        seq=row.seq,
        payment_intent=row.payment_intent,
        raw=row.data,
    )


def insert_object(
    conn: Connection,
    data: dict[str, Any],
    *,
    extra: dict[str, Any] | None = None,
    payment_intent: str | None = None,
    due_at: float | None = None,
    status: str | None = None,
) -> Stored:
    raw = _dumps(data)
    stored = Stored(
        id=data["id"],
        type=data["object"],
        created=int(data["created"]),
        data=data,
        extra=extra or {},
        due_at=due_at,
        payment_intent=payment_intent,
        raw=raw,
    )
    result = conn.execute(
        insert(objects).values(
            id=stored.id,
            type=stored.type,
            created=stored.created,
            status=status if status is not None else data.get("status"),
            payment_intent=payment_intent,
            due_at=due_at,
            data=raw,
            extra=_dumps(stored.extra),
        )
    )
    assert result.inserted_primary_key is not None  # a single-row INSERT always has one
    stored.seq = result.inserted_primary_key[0]
    return stored


def save_object(conn: Connection, stored: Stored, *, payment_intent: str | None = None) -> None:
    """Write back ``stored``'s data, notes and due time (and its payment intent if given)."""
    values: dict[str, Any] = {
        "data": _dumps(stored.data),
        "extra": _dumps(stored.extra),
        "due_at": stored.due_at,
        "status": stored.data.get("status"),
    }
    if payment_intent is not None:
        values["payment_intent"] = payment_intent
    conn.execute(update(objects).where(objects.c.id == stored.id).values(**values))


def load(
    conn: Connection, object_id: str, object_type: str | None = None, *, lock: bool = False
) -> Stored | None:
    query = select(objects).where(objects.c.id == object_id)
    if object_type is not None:
        query = query.where(objects.c.type == object_type)
    if lock:
        query = query.with_for_update()  # PostgreSQL; SQLite's BEGIN IMMEDIATE already locks
    row = conn.execute(query).first()
    return _stored(row) if row is not None else None


def load_many(conn: Connection, object_ids: Sequence[str]) -> dict[str, Stored]:
    if not object_ids:
        return {}
    rows = conn.execute(select(objects).where(objects.c.id.in_(list(object_ids))))
    return {row.id: _stored(row) for row in rows}


def of_payment_intents(
    conn: Connection, object_type: str, intent_ids: Sequence[str]
) -> list[Stored]:
    """Objects of ``object_type`` belonging to any of ``intent_ids``, oldest first."""
    if not intent_ids:
        return []
    rows = conn.execute(
        select(objects)
        .where(objects.c.type == object_type, objects.c.payment_intent.in_(list(intent_ids)))
        .order_by(objects.c.seq)
    )
    return [_stored(row) for row in rows]


def page(
    conn: Connection,
    object_type: str,
    *,
    limit: int,
    created: dict[str, int] | None = None,
    payment_intent: str | None = None,
    status: str | None = None,
    starting_after: int | None = None,
    ending_before: int | None = None,
) -> tuple[list[Stored], bool]:
    """One page of a Stripe list, newest first, and whether more follow.

    ``starting_after``/``ending_before`` are the ``seq`` of the cursor objects.
    """
    query = select(objects).where(objects.c.type == object_type)
    bounds = created or {}
    if "gt" in bounds:
        query = query.where(objects.c.created > bounds["gt"])
    if "gte" in bounds:
        query = query.where(objects.c.created >= bounds["gte"])
    if "lt" in bounds:
        query = query.where(objects.c.created < bounds["lt"])
    if "lte" in bounds:
        query = query.where(objects.c.created <= bounds["lte"])
    if payment_intent is not None:
        query = query.where(objects.c.payment_intent == payment_intent)
    if status is not None:
        query = query.where(objects.c.status == status)
    if ending_before is not None:
        # the page just before the cursor: the oldest first, then turned round
        query = query.where(objects.c.seq > ending_before).order_by(objects.c.seq)
        rows = list(conn.execute(query.limit(limit + 1)))
        return [_stored(row) for row in reversed(rows[:limit])], len(rows) > limit
    if starting_after is not None:
        query = query.where(objects.c.seq < starting_after)
    rows = list(conn.execute(query.order_by(objects.c.seq.desc()).limit(limit + 1)))
    return [_stored(row) for row in rows[:limit]], len(rows) > limit


def latest(conn: Connection, object_type: str, limit: int) -> list[Stored]:
    rows = conn.execute(
        select(objects)
        .where(objects.c.type == object_type)
        .order_by(objects.c.seq.desc())
        .limit(limit)
    )
    return [_stored(row) for row in rows]


def due_objects(conn: Connection, now: float) -> list[str]:
    """Ids of the objects whose ``due_at`` has come (oldest first)."""
    rows = conn.execute(
        select(objects.c.id)
        .where(objects.c.due_at.is_not(None), objects.c.due_at <= now)
        .order_by(objects.c.seq)
    )
    return [row.id for row in rows]


def next_due_object(conn: Connection) -> float | None:
    return conn.execute(select(func.min(objects.c.due_at))).scalar()


# --- idempotency keys -----------------------------------------------------------------------


def idempotent_response(conn: Connection, key: str) -> Any:
    """The saved response of ``key`` (a row with method, path, params, status, response)."""
    return conn.execute(select(idempotency_keys).where(idempotency_keys.c.key == key)).first()


def save_idempotent_response(
    conn: Connection,
    key: str,
    *,
    method: str,
    path: str,
    params: str,
    status_code: int,
    response: str,
    now: float,
) -> None:
    conn.execute(
        insert(idempotency_keys).values(
            key=key,
            method=method,
            path=path,
            params=params,
            status_code=status_code,
            response=response,
            created=now,
        )
    )


def forget_old_idempotency_keys(conn: Connection, now: float) -> None:
    conn.execute(
        delete(idempotency_keys).where(idempotency_keys.c.created < now - IDEMPOTENCY_KEY_LIFETIME)
    )


# --- webhook deliveries ---------------------------------------------------------------------


def add_delivery(conn: Connection, *, event_id: str, event_type: str, url: str, now: float) -> int:
    result = conn.execute(
        insert(deliveries).values(
            event_id=event_id,
            event_type=event_type,
            url=url,
            status="pending",
            attempt_count=0,
            created=now,
            next_attempt_at=now,
            last_error="",
        )
    )
    assert result.inserted_primary_key is not None  # a single-row INSERT always has one
    return int(result.inserted_primary_key[0])


def due_deliveries(conn: Connection, now: float, *, every_pending: bool = False) -> list[int]:
    """Pending deliveries to attempt now, in the order they were created."""
    query = select(deliveries.c.id).where(
        deliveries.c.status == "pending",
        or_(deliveries.c.locked_until.is_(None), deliveries.c.locked_until < now),
    )
    if not every_pending:
        query = query.where(deliveries.c.next_attempt_at <= now)
    return [row.id for row in conn.execute(query.order_by(deliveries.c.id))]


def claim_delivery(conn: Connection, delivery_id: int, now: float, lease: float) -> Any:
    """Take ``delivery_id`` for ``lease`` seconds if nobody holds it; its row, or None."""
    claimed = conn.execute(
        update(deliveries)
        .where(
            deliveries.c.id == delivery_id,
            deliveries.c.status == "pending",
            or_(deliveries.c.locked_until.is_(None), deliveries.c.locked_until < now),
        )
        .values(locked_until=now + lease)
    ).rowcount
    if claimed != 1:
        return None
    return conn.execute(
        select(deliveries, objects.c.data.label("payload"))
        .join(objects, objects.c.id == deliveries.c.event_id)
        .where(deliveries.c.id == delivery_id)
    ).first()


def record_attempt(
    conn: Connection,
    delivery_id: int,
    *,
    attempted_at: float,
    status_code: int | None,
    error: str,
    response_excerpt: str,
    duration_ms: int,
    outcome: str,
    next_attempt_at: float | None,
) -> None:
    """Log one attempt and move the delivery on: "delivered", "failed", or retried later."""
    values: dict[str, Any] = {
        "attempt_count": deliveries.c.attempt_count + 1,
        "locked_until": None,
        "last_status_code": status_code,
        "last_error": error,
        "status": outcome,
    }
    if outcome == "delivered":
        values["delivered_at"] = attempted_at
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    updated = conn.execute(
        update(deliveries).where(deliveries.c.id == delivery_id).values(**values)
    ).rowcount
    if updated:  # else the sandbox was reset while the webhook was on its way
        conn.execute(
            insert(attempts).values(
                delivery_id=delivery_id,
                attempted_at=attempted_at,
                status_code=status_code,
                error=error,
                response_excerpt=response_excerpt,
                duration_ms=duration_ms,
            )
        )


def next_due_delivery(conn: Connection) -> float | None:
    return conn.execute(
        select(func.min(deliveries.c.next_attempt_at)).where(deliveries.c.status == "pending")
    ).scalar()


def retry_pending_now(conn: Connection, now: float) -> int:
    return conn.execute(
        update(deliveries).where(deliveries.c.status == "pending").values(next_attempt_at=now)
    ).rowcount


def delivery_log(conn: Connection, limit: int) -> list[dict[str, Any]]:
    """The latest deliveries, newest first, each with its attempts (two queries)."""
    rows = [
        dict(row._mapping)
        for row in conn.execute(select(deliveries).order_by(deliveries.c.id.desc()).limit(limit))
    ]
    by_id = {row["id"]: row for row in rows}
    for row in rows:
        row["attempts"] = []
    if by_id:
        for attempt in conn.execute(
            select(attempts).where(attempts.c.delivery_id.in_(list(by_id))).order_by(attempts.c.id)
        ):
            by_id[attempt.delivery_id]["attempts"].append(dict(attempt._mapping))
    return rows


def deliveries_of_event(conn: Connection, event_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(deliveries).where(deliveries.c.event_id == event_id).order_by(deliveries.c.id)
    )
    return [dict(row._mapping) for row in rows]


# --- options --------------------------------------------------------------------------------


def get_options(conn: Connection) -> dict[str, Any]:
    return {row.name: json.loads(row.value) for row in conn.execute(select(options))}


def set_option(conn: Connection, name: str, value: Any) -> None:
    updated = conn.execute(
        update(options).where(options.c.name == name).values(value=json.dumps(value))
    ).rowcount
    if not updated:
        conn.execute(insert(options).values(name=name, value=json.dumps(value)))
