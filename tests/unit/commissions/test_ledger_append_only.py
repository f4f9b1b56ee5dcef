"""The ledger is append-only: no code updates or deletes an entry, and the ORM refuses to."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from perks.commissions import ledger
from perks.commissions.models import EntryKind, LedgerEntry, LedgerIsAppendOnly
from perks.extensions import db
from perks.money import Money
from tests import factories
from tests.unit.commissions.ledger_scan import ledger_writes

ROOT = Path(__file__).resolve().parents[3]
SOURCES = sorted((ROOT / "perks").rglob("*.py")) + sorted((ROOT / "migrations").rglob("*.py"))


def test_the_scanner_finds_what_it_looks_for():
    bad = """
db.session.execute(update(LedgerEntry).values(amount=0))
db.session.execute(delete(LedgerEntry))
LedgerEntry.__table__.delete()
db.session.delete(entry)
db.session.execute(text("UPDATE ledger_entry SET amount = 0"))
db.session.execute(text("delete from ledger_entry"))
"""
    for line in bad.strip().splitlines():
        assert ledger_writes(line), line
    fine = "db.session.execute(update(Commission).values(state='payable'))\ndb.session.add(entry)"
    assert ledger_writes(fine) == []


def test_no_code_updates_or_deletes_ledger_entries():
    offenders = {}
    for path in SOURCES:
        found = ledger_writes(path.read_text(encoding="utf-8"))
        if path.name.startswith("0006_"):
            continue  # the migration that creates the table also drops it on downgrade
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


@pytest.fixture
def entry(app) -> LedgerEntry:  # type: ignore[no-untyped-def]
    person = factories.UserFactory()
    finance = factories.UserFactory(roles={factories.Role.FINANCE})
    made = ledger.record_adjustment(person.id, Money(50_000, "VND"), "Welcome bonus", actor=finance)
    return made


def test_changing_an_entry_through_the_orm_is_refused(entry):
    entry.amount = 1
    with pytest.raises(LedgerIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(LedgerEntry, entry.id).amount == 50_000


def test_deleting_an_entry_through_the_orm_is_refused(entry):
    db.session.delete(entry)
    with pytest.raises(LedgerIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(LedgerEntry, entry.id) is not None


@pytest.mark.parametrize(
    "statement",
    [
        lambda: update(LedgerEntry).values(amount=0),
        lambda: delete(LedgerEntry).where(LedgerEntry.kind == EntryKind.ADJUSTMENT),
    ],
    ids=["update", "delete"],
)
def test_bulk_statements_on_entries_are_refused(entry, statement):
    with pytest.raises(LedgerIsAppendOnly):
        db.session.execute(statement())
    db.session.rollback()
    assert db.session.scalars(select(LedgerEntry.amount)).all() == [50_000]
