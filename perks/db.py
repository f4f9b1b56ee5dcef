"""The declarative base, shared column mixins, and the transaction helper services use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from sqlalchemy import CursorResult, DateTime, MetaData, Result, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, scoped_session

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
