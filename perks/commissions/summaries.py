"""Summaries finance's overviews read instead of the facts, kept exact in the transaction that
changes the facts.

- ``commission_total``: per person, state and currency, how many commissions there are and
  what they are worth now (``Commission.amount``). The commission list's totals and its
  count read it (PERFORMANCE.md, P7).
- ``ledger_day``: per company day, person, entry kind and currency, how many ledger entries
  were written and their sum. The commission report by person and department, its ledger sums
  and its chart read it.
- ``ledger_balance``: per person and currency, the ledger's sum (the earnings page's
  balance).

Both are kept by a session listener (``after_flush``) that turns the flush's new and changed
commissions and its new ledger entries into deltas, added with one ``INSERT ... ON CONFLICT
DO UPDATE`` per table, in the same transaction: the write paths do not call anything. A bulk
``UPDATE`` of commissions past the ORM (``lifecycle.release_due_commissions``) reports what it
moved through :func:`commissions_moved`. Writing facts with plain SQL past both (the
benchmark's seed) needs :func:`rebuild` afterwards, as the migration does once.

Concurrency: two transactions that change the same person's commissions in the same state
wait for each other on the summary row (PostgreSQL's row lock), which is short; rows are
written in key order so they cannot deadlock on the summaries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Date,
    Index,
    Integer,
    String,
    delete,
    event,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import get_history

from perks.commissions.models import Commission, CommissionState, EntryKind, LedgerEntry, _enum
from perks.db import Base
from perks.extensions import db
from perks.i18n import company_date


class CommissionTotal(Base):
    """Commissions per person, state and currency: how many, and their worth now."""

    __tablename__ = "commission_total"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[CommissionState] = mapped_column(_enum(CommissionState), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    commissions: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)


class LedgerDay(Base):
    """Ledger entries per company day, person, kind and currency: how many, and their sum."""

    __tablename__ = "ledger_day"
    #: the report's filter options: people and currencies of adjustments
    __table_args__ = (Index("ix_ledger_day_kind_currency_user_id", "kind", "currency", "user_id"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[EntryKind] = mapped_column(_enum(EntryKind), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    entries: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)


class LedgerBalance(Base):
    """Ledger entries per person and currency: how many, and their sum (what the person is
    owed, or owes when negative)."""

    __tablename__ = "ledger_balance"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    entries: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)


#: a person's newest commissions (the earnings page) and newest adjustments, read a page at a
#: time whatever the length of their history
Index("ix_commission_user_id_created_at", Commission.user_id, Commission.created_at)
Index(
    "ix_ledger_entry_user_id_kind_created_at",
    LedgerEntry.user_id,
    LedgerEntry.kind,
    LedgerEntry.created_at,
)

Deltas = dict[tuple[Any, ...], list[int]]
BALANCE_KEYS = ("user_id", "currency")


def _insert(connection: Connection) -> Any:
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    from sqlalchemy.dialects import sqlite

    return sqlite.insert


def _add(connection: Connection, model: Any, keys: tuple[str, ...], deltas: Deltas) -> None:
    """Add ``deltas`` (key → [count, amount]) to ``model``'s rows, creating missing ones."""
    count_name, amount_name = (
        ("commissions", "amount") if model is CommissionTotal else ("entries", "amount")
    )
    rows = [
        {**dict(zip(keys, key, strict=True)), count_name: count, amount_name: amount}
        for key, (count, amount) in sorted(deltas.items(), key=lambda item: repr(item[0]))
        if count or amount
    ]
    if not rows:
        return
    table = model.__table__
    statement = _insert(connection)(table)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={
            count_name: table.c[count_name] + statement.excluded[count_name],
            amount_name: table.c[amount_name] + statement.excluded[amount_name],
        },
    )
    connection.execute(statement, rows)


def _was(commission: Commission, name: str) -> Any:
    history = get_history(commission, name)
    if history.deleted:
        return history.deleted[0]
    return getattr(commission, name)


def _after_flush(session: Session, _context: Any) -> None:
    totals: Deltas = defaultdict(lambda: [0, 0])
    days: Deltas = defaultdict(lambda: [0, 0])
    balances: Deltas = defaultdict(lambda: [0, 0])
    names = ("user_id", "state", "currency")
    for obj in session.new:
        if isinstance(obj, Commission):
            key = (obj.user_id, obj.state, obj.currency)
            totals[key][0] += 1
            totals[key][1] += obj.amount
        elif isinstance(obj, LedgerEntry):
            day = (company_date(obj.created_at), obj.user_id, obj.kind, obj.currency)
            days[day][0] += 1
            days[day][1] += obj.amount
            balances[(obj.user_id, obj.currency)][0] += 1
            balances[(obj.user_id, obj.currency)][1] += obj.amount
    for obj in session.dirty:
        if not isinstance(obj, Commission) or not any(
            get_history(obj, name).has_changes() for name in (*names, "amount")
        ):
            continue
        old = (_was(obj, "user_id"), _was(obj, "state"), _was(obj, "currency"))
        totals[old][0] -= 1
        totals[old][1] -= _was(obj, "amount")
        new = (obj.user_id, obj.state, obj.currency)
        totals[new][0] += 1
        totals[new][1] += obj.amount
    for obj in session.deleted:
        if isinstance(obj, Commission):
            old = (_was(obj, "user_id"), _was(obj, "state"), _was(obj, "currency"))
            totals[old][0] -= 1
            totals[old][1] -= _was(obj, "amount")
    if not totals and not days:
        return
    connection = session.connection()
    _add(connection, CommissionTotal, names, totals)
    _add(connection, LedgerDay, ("day", "user_id", "kind", "currency"), days)
    _add(connection, LedgerBalance, BALANCE_KEYS, balances)


def _keep_old_values(*_args: Any) -> None:
    """A no-op ``set`` listener whose ``active_history`` makes the ORM load a commission's
    old value before it is replaced, even when expired (the deltas need it)."""


for _name in ("user_id", "state", "currency", "amount"):
    event.listen(getattr(Commission, _name), "set", _keep_old_values, active_history=True)
event.listen(Session, "after_flush", _after_flush)


def commissions_moved(
    moved: Iterable[tuple[int, str, int]], before: CommissionState, after: CommissionState
) -> None:
    """Commissions (``user_id``, ``currency``, ``amount``) moved from ``before`` to ``after``
    by a bulk UPDATE past the ORM, in the current transaction."""
    totals: Deltas = defaultdict(lambda: [0, 0])
    for user_id, currency, amount in moved:
        totals[(user_id, before, currency)][0] -= 1
        totals[(user_id, before, currency)][1] -= amount
        totals[(user_id, after, currency)][0] += 1
        totals[(user_id, after, currency)][1] += amount
    _add(db.session.connection(), CommissionTotal, ("user_id", "state", "currency"), totals)


#: what each person's ledger sums to, per currency: (user, currency, entries, amount)
_BALANCES_OF_THE_FACTS = select(
    LedgerEntry.user_id, LedgerEntry.currency, func.count(), func.sum(LedgerEntry.amount)
).group_by(LedgerEntry.user_id, LedgerEntry.currency)
#: each person's commissions per state and currency: (user, state, currency, count, amount)
_TOTALS_OF_THE_FACTS = select(
    Commission.user_id,
    Commission.state,
    Commission.currency,
    func.count(),
    func.sum(Commission.amount),
).group_by(Commission.user_id, Commission.state, Commission.currency)


def rebuild() -> None:
    """Both summaries again from the facts, in one transaction (after facts were written with
    plain SQL past the ORM: the benchmark's seed). Ledger days are company days, computed in
    Python a batch at a time, so that SQLite and PostgreSQL agree."""
    session = db.session
    for summary in (CommissionTotal, LedgerDay, LedgerBalance):  # summaries, not the ledger
        session.execute(delete(summary))
    session.execute(
        LedgerBalance.__table__.insert().from_select(
            ["user_id", "currency", "entries", "amount"], _BALANCES_OF_THE_FACTS
        )
    )
    session.execute(
        CommissionTotal.__table__.insert().from_select(
            ["user_id", "state", "currency", "commissions", "amount"], _TOTALS_OF_THE_FACTS
        )
    )
    _add(session.connection(), LedgerDay, ("day", "user_id", "kind", "currency"), _ledger_days())
    session.commit()


def _ledger_days() -> Deltas:
    """The ledger's entries per company day, person, kind and currency, from the entries."""
    days: Deltas = defaultdict(lambda: [0, 0])
    rows = db.session.execute(
        select(LedgerEntry.created_at, LedgerEntry.user_id, LedgerEntry.kind, LedgerEntry.currency)
        .add_columns(LedgerEntry.amount)
        .execution_options(yield_per=10_000)
    )
    for created_at, user_id, kind, currency, amount in rows:
        key = (company_date(created_at), user_id, kind, currency)
        days[key][0] += 1
        days[key][1] += amount
    return days


def disagreements() -> list[str]:
    """Where a summary differs from the facts it sums (``verify-ledger`` lists them): a
    commission total, a ledger day or a ledger balance. After facts were written past the
    ORM without :func:`rebuild`, the reports would show figures the ledger does not hold.
    Raises nothing."""
    problems: list[str] = []

    def compare(name: str, stored: Deltas, expected: Deltas) -> None:
        for key in sorted(set(stored) | set(expected), key=repr):
            have, want = stored.get(key, [0, 0]), expected.get(key, [0, 0])
            if list(have) != list(want):
                shown = ", ".join(str(part) for part in key)
                problems.append(
                    f"{name} ({shown}): the summary holds {have[0]} for {have[1]}, "
                    f"the facts {want[0]} for {want[1]}"
                )

    totals = CommissionTotal
    compare(
        "commission total",
        _stored(
            select(totals.user_id, totals.state, totals.currency, totals.commissions, totals.amount)
        ),
        _stored(_TOTALS_OF_THE_FACTS),
    )
    compare(
        "ledger day",
        _stored(
            select(
                LedgerDay.day,
                LedgerDay.user_id,
                LedgerDay.kind,
                LedgerDay.currency,
                LedgerDay.entries,
                LedgerDay.amount,
            )
        ),
        _ledger_days(),
    )
    compare(
        "ledger balance",
        _stored(
            select(
                LedgerBalance.user_id,
                LedgerBalance.currency,
                LedgerBalance.entries,
                LedgerBalance.amount,
            )
        ),
        _stored(_BALANCES_OF_THE_FACTS),
    )
    return problems


def _stored(query: Any) -> Deltas:
    """Rows of (key columns..., count, amount) as key → [count, amount]; rows of nothing left
    out (a summary keeps a row that came back to zero)."""
    rows: Deltas = {}
    for *key, count, amount in db.session.execute(query):
        if count or amount:
            rows[tuple(key)] = [int(count), int(amount)]
    return rows
