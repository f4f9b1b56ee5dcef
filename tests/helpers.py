"""What the tests share besides fixtures: settings, the test client, database and sign-in
helpers. Test modules import from here (never from ``conftest.py``, which holds fixtures)."""

from __future__ import annotations

import contextvars
import io
import os
import re
import socket
import struct
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from html import unescape
from pathlib import Path
from typing import Any

import segno
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Table, bindparam, event, make_url, text

from perks.catalog import draws
from perks.catalog.models import Draw
from perks.config import database_uri
from perks.db import utcnow
from perks.extensions import db
from perks.people.models import Role, User
from perks.shop.models import Order
from tests import factories

ROOT = Path(__file__).resolve().parents[1]
#: the app's and the Stripe sandbox's message catalogs
TRANSLATIONS = ROOT / "perks" / "translations"
SANDBOX_TRANSLATIONS = ROOT / "stripe_sandbox" / "translations"

TEST_SETTINGS: dict[str, Any] = {
    "PERKS_ENV": "testing",
    "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "RATELIMIT_STORAGE_URI": "memory://",
    "MAIL_BACKEND": "outbox",
    "PASSWORD_HASH_METHOD": factories.PASSWORD_HASH_METHOD,
    # Tasks run in-process right after the commit; the worker tests start a real worker.
    "CELERY_ALWAYS_EAGER": True,
    "TRUSTED_HOSTS": None,
    "SERVER_NAME": None,
    "BASE_URL": "http://localhost",  # the test client's host: links in e-mails can be followed
}


#: the least a production app needs to start (real keys are made up: nothing is called)
PRODUCTION_SETTINGS: dict[str, Any] = {
    "PERKS_ENV": "production",
    "SECRET_KEY": "p" * 40,
    "MAIL_BACKEND": "smtp",
    "TRUSTED_HOSTS": ["perks.example", "localhost"],
    "BASE_URL": "https://perks.example",
    "STRIPE_SECRET_KEY": "sk_live_" + "x" * 24,
    "STRIPE_WEBHOOK_SECRET": "whsec_" + "y" * 32,
    "MAIL_SENDER": "Perks <perks@perks.example>",
    "STRIPE_API_BASE": "",  # Stripe itself
    "PASSWORD_HASH_METHOD": "scrypt",
    # The test database may be SQLite and TEST_SETTINGS count rate limits in memory:
    # tests/unit/test_config.py shows production refusing both without these.
    "ALLOW_SQLITE_IN_PRODUCTION": True,
    "ALLOW_MEMORY_RATE_LIMITS_IN_PRODUCTION": True,
}


class IsolatedClient(FlaskClient):
    """A test client whose requests never share the test's app context.

    The tests hold an app context for factories and queries; without this, every request
    would reuse it, and ``g`` (the signed-in user, the chosen language) would leak from one
    request to the next, which never happens in production.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Assertions read English unless a test asks for Vietnamese (the default locale).
        self.environ_base.setdefault("HTTP_ACCEPT_LANGUAGE", "en")

    def open(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def,override]
        context = contextvars.Context()
        response = context.run(super().open, *args, **kwargs)
        if response.is_streamed:
            # A streamed body (stream_with_context) is read after open() returns: read it in
            # the request's own context, as the server would.
            response.response = _ReadIn(context, response.response)
        return response


class _ReadIn:
    """An iterable read (and closed) inside a given contextvars context."""

    def __init__(self, context: contextvars.Context, iterable: Any) -> None:
        self._context, self._iterable, self._iterator = context, iterable, iter(iterable)

    def __iter__(self) -> _ReadIn:
        return self

    def __next__(self) -> Any:
        return self._context.run(next, self._iterator)

    def close(self) -> None:
        close, self._iterable = getattr(self._iterable, "close", None), None
        if close is not None:
            self._context.run(close)

    def __del__(self) -> None:
        # A body nobody read is closed here, in its request's context, not by the garbage
        # collector in whatever context it happens to run.
        self.close()


def deferred_script(path: str) -> re.Pattern[str]:
    """A page's ``<script defer>`` of the static file at ``path``, named by its content
    (``?v=<digest>``: perks.static_files)."""
    return re.compile(rf'<script src="{re.escape(path)}\?v=[0-9a-f]{{12}}" defer></script>')


def is_postgres(app: Flask) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


@cache
def tables_in_order() -> tuple[Table, ...]:
    """The schema's tables, each after those it refers to (``metadata.sorted_tables``, whose
    sort runs anew on every call: worked out once, as the schema does not change in a run)."""
    return tuple(db.metadata.sorted_tables)


@cache
def _tables_holding_rows_query() -> str:
    return " UNION ALL ".join(
        f"SELECT '{table.name}' WHERE EXISTS (SELECT 1 FROM \"{table.name}\")"
        for table in tables_in_order()
    )


def clean_database() -> None:
    """Remove every row, keeping the schema (and Alembic's version); ids start again at 1.

    PostgreSQL: ``DELETE`` in one round trip, and the sequences set back (about 3 ms for the
    schema's 72 tables, empty). ``TRUNCATE`` would do both, but it costs about 200 ms;
    asking first which tables hold rows costs more than it saves.

    SQLite: ``DELETE`` only from the tables that hold rows, found in one statement (0.6 ms
    with none, against 6.8 ms for a ``DELETE`` from each of the 72; thousands of tests).
    """
    tables = tables_in_order()[::-1]
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("; ".join(f'DELETE FROM "{table.name}"' for table in tables)))
        db.session.execute(
            text(
                "SELECT setval(oid, 1, false) FROM pg_class "
                "WHERE relkind = 'S' AND relnamespace = 'public'::regnamespace"
            )
        )
    else:
        filled = set(db.session.scalars(text(_tables_holding_rows_query())))
        for table in tables:
            if table.name in filled:
                db.session.execute(table.delete())
    db.session.commit()


@dataclass(frozen=True)
class DatabaseSnapshot:
    """Every row of every table, and on PostgreSQL where each sequence stood (``snapshot``)."""

    rows: dict[str, list[dict[str, Any]]]
    sequences: dict[str, int]


def snapshot_database() -> DatabaseSnapshot:
    """What the database holds now, to be written back by ``restore_database`` after
    ``clean_database``: a set-up many tests share is built once, not once per test (the route
    table's samples: about 80 ms to build on SQLite, a few to restore)."""
    db.session.commit()
    rows = {
        table.name: [
            dict(row)
            for row in db.session.execute(
                table.select().order_by(*table.primary_key.columns)
            ).mappings()
        ]
        for table in tables_in_order()
    }
    sequences: dict[str, int] = {}
    if db.engine.dialect.name == "postgresql":
        found = db.session.execute(
            text(
                "SELECT sequencename, last_value FROM pg_sequences "
                "WHERE schemaname = 'public' AND last_value IS NOT NULL"
            )
        )
        sequences = dict(found.all())
    return DatabaseSnapshot({name: found for name, found in rows.items() if found}, sequences)


def restore_database(snapshot: DatabaseSnapshot) -> None:
    """Write ``snapshot``'s rows back into an empty database, with the same ids, and set
    PostgreSQL's sequences where they stood, so rows made afterwards get new ids. A row's
    reference to a row written after it (a person's manager) is set once both are in."""
    tables = tables_in_order()
    position = {table.name: index for index, table in enumerate(tables)}
    references_later: list[tuple[Table, list[str], list[dict[str, Any]]]] = []
    for table in tables:
        rows = snapshot.rows.get(table.name)
        if not rows:
            continue
        later = sorted(
            {
                key.parent.name
                for key in table.foreign_keys
                if position[key.column.table.name] >= position[table.name]
            }
        )
        db.session.execute(table.insert(), [dict(row, **dict.fromkeys(later)) for row in rows])
        if later:
            references_later.append((table, later, rows))
    for table, later, rows in references_later:
        (key,) = table.primary_key.columns
        # and the columns an update would change by itself (updated_at), as they were
        columns = [*later, *(c.name for c in table.columns if c.onupdate is not None)]
        referring = [row for row in rows if any(row[column] is not None for column in later)]
        if referring:
            db.session.execute(
                table.update()
                .where(key == bindparam("_key"))
                .values({column: bindparam(f"_{column}") for column in columns}),
                [
                    {"_key": row[key.name], **{f"_{column}": row[column] for column in columns}}
                    for row in referring
                ],
            )
    if snapshot.sequences:
        db.session.execute(
            text(
                "; ".join(
                    f"SELECT setval('\"{name}\"', {value:d})"
                    for name, value in snapshot.sequences.items()
                )
            )
        )
    db.session.commit()


@contextmanager
def counting_statements() -> Iterator[list[str]]:
    """The SQL statements the app's engine sends while the block runs, in order."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def login(client: FlaskClient, user: User, password: str = factories.PASSWORD) -> None:
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def person_form(person: User, **overrides: object) -> dict[str, object]:
    """HR's edit form of ``person`` (``/people/<id>/edit``) as its page shows them, without a
    department or a manager, with ``overrides``."""
    return {
        "name": person.name,
        "email": person.email,
        "employee_number": person.employee_number or "",
        "location": person.location,
        "employment_type": person.employment_type.value,
        "hire_date": person.hire_date.isoformat() if person.hire_date else "",
        "locale": person.locale,
        "roles": sorted(r.value for r in person.roles),
        "department_id": "",
        "manager_id": "",
        **overrides,
    }


def signed_in(app: Flask, user: User) -> FlaskClient:
    """A new client of ``app``, signed in as ``user``."""
    client = app.test_client()
    login(client, user)
    return client


def redis_database_url() -> str:
    """A database of the machine's Redis (127.0.0.1:6379) for this test process alone: 9 to
    14, one per pytest-xdist worker (``gw0`` is 9), so parallel workers never empty each
    other's. The caller empties it before and after use."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0)
    if index > 5:
        raise RuntimeError("at most six test workers share the machine's Redis (databases 9-14)")
    return f"redis://127.0.0.1:6379/{9 + index}"


#: the public value tests' draws use (a made-up XSMB special prize)
PUBLIC_VALUE = "58214"


def make_draw(draw_id: int, now: datetime | None = None, value: str = PUBLIC_VALUE) -> Draw:
    """Make a draw the way its method allows. Method 2: its entries are frozen at ``now``,
    HR enters the public value a day later (its day has come) and the draw is made then.
    Method 1: the draw is made at ``now``."""
    now = now or utcnow()
    if db.session.get(Draw, draw_id, populate_existing=True).method < 2:  # type: ignore[union-attr]
        return draws.run_draw(draw_id, actor=None, now=now)
    draws.close_entries(draw_id, actor=None, now=now)
    later = now + timedelta(days=1)
    hr = factories.UserFactory(roles={Role.HR})
    draws.enter_public_value(draw_id, value, actor=hr, now=later)
    return draws.run_draw(draw_id, actor=None, now=later)


def text_of(response: Any) -> str:
    """The page's text with tags and scripts removed, entities decoded, spaces collapsed."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<script\b.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def png_bytes() -> bytes:
    """A small real PNG (a QR code), as an uploaded picture."""
    out = io.BytesIO()
    segno.make("perks").save(out, kind="png", scale=2)
    return out.getvalue()


def png_of_size(width: int, height: int) -> bytes:
    """A real black-and-white PNG of ``width`` by ``height`` pixels: all zeros, so a
    20,000 × 20,000 one squeezes into a few dozen kB (a decompression bomb)."""
    row = b"\x00" * (1 + (width + 7) // 8)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    pixels = zlib.compressobj(9)
    data = b"".join(pixels.compress(row) for _ in range(height)) + pixels.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def spare_port() -> int:
    """A loopback port nothing listens on (just freed): a server can take it, and connecting
    to it before then is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_catalogs_compiled() -> bool:
    """Compile each catalog whose .mo is missing or older than its .po (*.mo is not in git).

    Says whether anything was compiled. The .mo is written beside the .po, as
    ``pybabel compile -d ...`` (``make translations``) does, and replaced
    atomically so that parallel test workers never read half a file.
    """
    compiled = False
    catalogs = [*TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")]
    catalogs += SANDBOX_TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")
    for po in sorted(catalogs):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f)
        fd, tmp = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                write_mo(f, catalog)
            os.chmod(tmp, 0o644)  # as pybabel compile leaves it, not mkstemp's 0600
            os.replace(tmp, mo)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        compiled = True
    return compiled


def postgres_server_url() -> str | None:
    """A PostgreSQL server's maintenance database that answers here, or None."""
    url = database_uri(
        os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    parsed = make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 5432), 1):
            return url
    except OSError:
        return None


def wait_for_order(order_id: int, condition: Any) -> Order:
    """The order once ``condition`` holds of it, as a live server's webhook makes it hold
    (polled; fails after ``tests.stripe_sandbox.wait_for``'s timeout)."""
    from tests.stripe_sandbox import wait_for

    def probe() -> Order | None:
        db.session.expire_all()
        order = db.session.get(Order, order_id)
        found = order if order is not None and condition(order) else None
        db.session.rollback()  # let the live server's webhook write between polls
        return found

    return wait_for(probe)


def open_checkout_session(order: Order) -> str:
    """A Checkout Session for ``order`` at the live sandbox, through the real ``stripe``
    library, kept on the order (committed): the session's id, for the sandbox to pay."""
    from perks.payments import stripe_gateway

    session = stripe_gateway.create_checkout_session(
        order,
        success_url="https://perks.example/success",
        cancel_url="https://perks.example/cancel",
        expires_in=timedelta(hours=1),
    )
    order.checkout_session_id = session.id
    db.session.commit()
    return str(session.id)
