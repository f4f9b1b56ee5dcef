"""The declarative base, shared column mixins, and the transaction helper services use."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.pagination import Pagination
from flask_sqlalchemy.session import Session
from sqlalchemy import (
    ColumnDefault,
    ColumnElement,
    CompoundSelect,
    CursorResult,
    DateTime,
    MetaData,
    Result,
    Select,
    String,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy import column as sql_column
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import table as sql_table
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, scoped_session

#: a mapped class, for helpers that return its rows
Entity = TypeVar("Entity")

# Named constraints let Alembic alter them later, on SQLite (batch mode) as on PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Typed declarative base of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    if TYPE_CHECKING:
        # Every model names its ``__tablename__``, so each is mapped to a Table (SQLAlchemy
        # types it as any FromClause, which has no ``insert()`` and is no ``Table``).
        __table__: ClassVar[Table]


#: the largest id a URL, a cursor or a form can name: PostgreSQL's INTEGER, the ids of every
#: table they name (only ledger entries, clicks, payout items and points entries have BIGINT
#: ids, and only the API's ledger cursor names one: ``MAX_BIGINT_ID``). A larger one names
#: nothing; asked of PostgreSQL, it fails the statement ("integer out of range": a 500 for
#: /people/3000000000)
MAX_ID = 2**31 - 1
#: the largest id of a table with BIGINT ids (PostgreSQL's BIGINT)
MAX_BIGINT_ID = 2**63 - 1


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (stored as UTC everywhere)."""
    return datetime.now(UTC)


class TimestampMixin:
    """``created_at`` and ``updated_at``, set by the database session, always UTC."""

    #: when the row was first written
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: when the row last changed
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class BilingualMixin:
    """Models whose texts come in Vietnamese and English columns (``title_vi``, ``title_en``)."""

    def localized(self, field: str, locale: str | None = None) -> str:
        """``field`` in ``locale`` (default: the request's), falling back to the other language."""
        from flask_babel import get_locale

        locale = locale or str(get_locale() or "vi")
        first, second = ("en", "vi") if locale == "en" else ("vi", "en")
        text: str = getattr(self, f"{field}_{first}") or getattr(self, f"{field}_{second}")
        return text


@contextmanager
def transaction() -> Iterator[scoped_session[Session]]:
    """One unit of work: commit when the block ends, roll back if it raises.

    Every public service function runs its writes inside exactly one ``transaction()``;
    helpers it calls only ``flush()``. The exception is re-raised after the rollback, so a
    domain error reaches the view with nothing half-written.
    """
    session = db.session
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def locked(model: type[Entity], key: Any) -> Entity | None:
    """The ``model`` row whose primary key is ``key``, or None: locked until the transaction
    ends (changes of one row take turns) and read again under the lock, not taken from what
    the session loaded before. Raises nothing.

    ``FOR UPDATE OF`` the row's own table: PostgreSQL refuses to lock the nullable side of an
    outer join, which a joined eager load (a rule's target, a product's category, a draw's
    perk) adds. ``populate_existing``: an object the session already holds, read before the
    lock was taken, must show what the lock protects, or a second host would act on it again.
    """
    # Not ``Session.get(..., with_for_update=...)``: on a model with a version counter it
    # checks the version the session held against the locked row's and raises
    # StaleDataError, where the callers want the row as it now is, to compare themselves.
    (primary_key,) = sa_inspect(model).primary_key
    return db.session.scalar(
        select(model)
        .where(primary_key == key)
        .with_for_update(of=model)
        .execution_options(populate_existing=True)
    )


def take_turns(name: str) -> None:
    """Wait until no other transaction holds the lock ``name``, then hold it until this
    transaction ends (PostgreSQL: ``pg_advisory_xact_lock``; SQLite serialises writers).
    For a check across rows that no row lock covers (is a name taken, in any case?): every
    writer takes the same lock before it reads, so the second reads what the first wrote.
    Raises nothing."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": name}
        )


#: up to this many keys, ``probing`` looks each up in its index (PostgreSQL); more are matched
#: by the plan PostgreSQL picks (a scan of the table, for a whole file)
PROBE_LIMIT = 5000


def probing(
    columns: Sequence[Any], key: Any, keys: ColumnElement[Any], *conditions: Any
) -> Select[Any]:
    """``SELECT columns`` of the rows whose ``key`` is one of the array ``keys`` (and that
    meet ``conditions``), on PostgreSQL, one index look-up per key.

    ``key = ANY(:array)`` leaves the choice to the planner, which scans the whole table for a
    thousand keys (a batch of the API, say) once it holds some tens of thousands of rows:
    the same work for every batch, growing with the table. Here each key is a ``LATERAL``
    sub-select (``OFFSET 0`` keeps the planner from folding it into a join), so the cost
    follows the keys, not the table. ``key`` must be indexed. A key given twice gives its
    rows twice.
    """
    wanted = func.unnest(keys).table_valued("key").render_derived(name="wanted")
    found = select(*columns).where(key == wanted.c.key, *conditions).offset(0).lateral("found")
    return select(*found.c).select_from(wanted).join(found, true())


#: values per ``IN (...)`` list where there are no arrays (SQLite takes a limited number of
#: parameters)
IN_LIST_CHUNK = 500


def _split_keys(text_parameter: Any, of: Any) -> ColumnElement[Any]:
    split = func.string_to_array(text_parameter, "\n")
    return split if isinstance(of, String) else cast(split, ARRAY(of))


def keys_parameter(name: str, of: Any) -> ColumnElement[Any]:
    """The PostgreSQL array parameter ``name`` of keys of the type ``of`` (a column's type:
    ``String()``, ``Integer()``), given as one text (``joined_keys``) that the server splits:
    far cheaper to send than a list, and a statement built once (``probing``) takes new keys
    each time."""
    return _split_keys(bindparam(name, type_=Text), of)


def keys_array(values: Iterable[Any], of: Any) -> ColumnElement[Any]:
    """``values`` as ``keys_parameter`` sends them, bound now (a statement built for them)."""
    return _split_keys(bindparam(None, joined_keys(values), type_=Text), of)


def joined_keys(values: Iterable[Any]) -> str:
    """``values`` as ``keys_parameter`` takes them (a text holding a line break, which no
    e-mail, employee number, code or id has, is left out)."""
    return "\n".join(text for text in map(str, values) if "\n" not in text)


def among(column: Any, values: Sequence[Any]) -> Iterator[ColumnElement[bool]]:
    """Conditions "``column`` is one of ``values``": on PostgreSQL one ``= ANY(array)``
    (``keys_array``: one parameter whatever the count), elsewhere ``IN`` lists of
    ``IN_LIST_CHUNK`` values."""
    if not values:
        return
    if db.session.get_bind().dialect.name == "postgresql":
        yield column == any_(keys_array(values, column.type))
        return
    for start in range(0, len(values), IN_LIST_CHUNK):
        yield column.in_(values[start : start + IN_LIST_CHUNK])


def copies_rows() -> bool:
    """Whether ``insert_rows`` sends its rows with ``COPY`` (on PostgreSQL)."""
    return db.session.get_bind().dialect.name == "postgresql"


def insert_rows(
    table: Table,
    columns: Sequence[str],
    chunks: Iterable[Sequence[tuple[Any, ...]]],
    written: Callable[[int], None] | None = None,
) -> None:
    """Insert many rows (the values of ``columns``, in that order, given in chunks) without
    the ORM; flush only. On PostgreSQL one ``COPY`` for them all (the cheapest way in: a
    hundred thousand people, say), elsewhere an executemany per chunk. Columns left out get
    their scalar default (``default=...``) or the database's. ``written`` is called with each
    chunk's size as it is sent.

    Values go in as the columns store them: an enumeration's value, not the member.

    Raises:
        IntegrityError: a row breaks a constraint (as an ORM insert would raise it).
    """
    if not copies_rows():
        for rows in chunks:
            if rows:
                db.session.execute(
                    insert(table), [dict(zip(columns, row, strict=True)) for row in rows]
                )
                if written is not None:
                    written(len(rows))
        return
    defaults = _scalar_defaults(table, columns)
    _copy(table.name, [*columns, *defaults], chunks, written, tuple(defaults.values()))


def update_rows(
    table: Table,
    columns: Sequence[str],
    chunks: Iterable[Sequence[tuple[Any, ...]]],
    written: Callable[[int], None] | None = None,
) -> None:
    """Update many rows without the ORM, each found by its first column (its primary key)
    and given the values of the other ``columns``, in that order; flush only. On PostgreSQL
    the rows are copied into a temporary table and the update is one ``UPDATE ... FROM``;
    elsewhere an executemany per chunk. ``written`` is called with each chunk's size.

    Raises:
        IntegrityError: a row breaks a constraint (two people under one e-mail, say).
    """
    key, *changed = columns
    if not copies_rows():
        statement = (
            update(table)
            .where(table.c[key] == bindparam(f"p_{key}"))
            .values({name: bindparam(f"p_{name}") for name in changed})
        )
        names = [f"p_{name}" for name in columns]
        for rows in chunks:
            if rows:
                db.session.execute(statement, [dict(zip(names, row, strict=True)) for row in rows])
                if written is not None:
                    written(len(rows))
        return
    staging = sql_table(f"staging_{table.name}", *(sql_column(name) for name in columns))
    quote = db.session.get_bind().dialect.identifier_preparer.quote
    # The staging table has the columns' own types; it goes at the end of the transaction
    # at the latest. Every name is the table's own, from its metadata.
    db.session.execute(
        text(
            f"CREATE TEMPORARY TABLE {quote(staging.name)} ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {', '.join(quote(name) for name in columns)} "
            f"FROM {quote(table.name)} WITH NO DATA"
        )
    )
    _copy(staging.name, columns, chunks, written, ())
    db.session.execute(
        update(table)
        .where(table.c[key] == staging.c[key])
        .values({name: staging.c[name] for name in changed})
    )
    db.session.execute(text(f"DROP TABLE {quote(staging.name)}"))


def _copy(
    table_name: str,
    columns: Sequence[str],
    chunks: Iterable[Sequence[tuple[Any, ...]]],
    written: Callable[[int], None] | None,
    extra: tuple[Any, ...],
) -> None:
    """``COPY`` the rows of ``chunks`` (each followed by ``extra``) into ``columns`` of a
    table, on the session's connection.

    Raises:
        IntegrityError: a row breaks a constraint.
    """
    import psycopg

    sql = 'COPY "{}" ({}) FROM STDIN'.format(table_name, ", ".join(f'"{name}"' for name in columns))
    connection = db.session.connection().connection.driver_connection
    assert connection is not None  # the session's connection, checked out
    try:
        with connection.cursor() as cursor, cursor.copy(sql) as copy:
            for rows in chunks:
                for row in rows:
                    copy.write_row(row + extra)
                if written is not None and rows:
                    written(len(rows))
    except psycopg.errors.IntegrityError as error:
        raise IntegrityError(sql, None, error) from error


def _scalar_defaults(table: Table, given: Sequence[str]) -> dict[str, Any]:
    """Values for the columns ``given`` leaves out that have a scalar client-side default
    (those with a server default or none are left to the database)."""
    values: dict[str, Any] = {}
    for column in table.columns:
        if column.name in given or column.primary_key:
            continue
        default = column.default
        if isinstance(default, ColumnDefault) and default.is_scalar:
            values[column.name] = default.arg
    return values


def affected_rows(result: Result[Any]) -> int:
    """How many rows an INSERT, UPDATE or DELETE run through the session wrote (the DB-API's
    ``rowcount``).

    ``Session.execute`` is typed to return a plain ``Result``, since a session cannot promise
    a cursor for every statement; for INSERT, UPDATE and DELETE without RETURNING it is always
    a ``CursorResult``.
    """
    if not isinstance(result, CursorResult):
        raise TypeError(f"not the result of a write: {type(result).__name__}")
    return result.rowcount


#: the database of the app: models, sessions, the engine (bound in ``create_app``; every
#: module imports it as ``perks.extensions.db``, with the other extensions)
db = SQLAlchemy(model_class=Base)


def refuse_changes(model: type, error: type[Exception], *, noun: str, plural: str) -> None:
    """Make ``model`` append-only for every session: changing or deleting a row through the
    ORM (an object, or an ``update()``/``delete()`` statement) raises ``error``. The
    ledgers use it; a correction is a new row."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session as OrmSession

    @event.listens_for(OrmSession, "before_flush")
    def _refuse_row_changes(session: OrmSession, flush_context: Any, instances: Any) -> None:
        for obj in session.deleted:
            if isinstance(obj, model):
                raise error(f"{noun} {getattr(obj, 'id', None)} cannot be deleted")
        for obj in session.dirty:
            if isinstance(obj, model) and session.is_modified(obj, include_collections=False):
                raise error(f"{noun} {getattr(obj, 'id', None)} cannot be changed")

    @event.listens_for(OrmSession, "do_orm_execute")
    def _refuse_statements(state: Any) -> None:
        mapper = state.bind_mapper
        if (state.is_update or state.is_delete) and mapper is not None and mapper.class_ is model:
            raise error(f"{plural} cannot be updated or deleted")


def page_within(page: int, total: int, per_page: int) -> int:
    """``page`` brought within a list of ``total`` rows: 1 below the first, the last past it
    (what ``paginate`` shows, for lists counted elsewhere). Raises nothing."""
    return min(max(page, 1), max((total + per_page - 1) // per_page, 1))


def paginate(query: Select[Any], page: int, per_page: int) -> Pagination:
    """The ``page`` of ``query``'s rows (1 below the first); a page past the last shows the
    last, as a link kept from a longer list would want (one statement more, then only).
    Raises nothing of its own."""
    found = db.paginate(query, page=max(page, 1), per_page=per_page, error_out=False)
    if not found.items and found.page > 1 and found.pages:
        found = db.paginate(query, page=found.pages, per_page=per_page, error_out=False)
    return found


@dataclass(frozen=True)
class ReadTogether:
    """Several small reads of a page as one statement, one round trip to the database instead
    of one each: the parts' selects, whose columns agree in number and kind (what the first
    part's columns are, the others' are read as), joined with ``UNION ALL``, each kept whole
    as a subquery with its own order and limit.

    Build it once (a module's ``functools.cache``) with ``bindparam`` for what changes from
    one read to the next: a statement this size costs more to build than to run."""

    names: tuple[str, ...]
    statement: CompoundSelect[Any]

    @classmethod
    def of(cls, parts: dict[str, Select[Any]]) -> ReadTogether:
        statement = union_all(
            *(
                select(literal(number).label("part"), *part.subquery().c)
                for number, part in enumerate(parts.values())
            )
        )
        return cls(tuple(parts), statement)

    def read(self, **parameters: Any) -> dict[str, list[tuple[Any, ...]]]:
        """Each part's rows, in no particular order (sort them where order matters), given
        the values of its bound parameters. Raises nothing of its own (the database's
        errors)."""
        rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in self.names}
        for row in db.session.execute(self.statement, parameters):
            rows[self.names[row[0]]].append(tuple(row[1:]))
        return rows


@dataclass(frozen=True)
class PageOf:
    """Which page of a list counted elsewhere is shown: what the ``pager`` macro reads, with
    the names of Flask-SQLAlchemy's ``Pagination`` (for lists that are not one query)."""

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1
