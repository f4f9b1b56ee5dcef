"""The points ledger is append-only: no code updates or deletes an entry, and the ORM
refuses to (the discipline of the commission ledger, tests/unit/commissions/
test_ledger_append_only.py, whose scanner this reuses)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from perks.extensions import db
from perks.recognition import kudos
from perks.recognition.points_models import PointsEntry, PointsLedgerIsAppendOnly
from tests.factories import CompanyValueFactory, UserFactory
from tests.unit.commissions.ledger_scan import ledger_writes

ROOT = Path(__file__).resolve().parents[3]
SOURCES = sorted((ROOT / "perks").rglob("*.py")) + sorted((ROOT / "migrations").rglob("*.py"))


def points_writes(source: str) -> list[str]:
    """Statements in ``source`` that would change or remove points entries: the commission
    scanner run over the source with the points ledger's names in the commission ledger's
    place."""
    renamed = re.sub(r"\bPointsEntry\b", "LedgerEntry", source)
    renamed = re.sub(r"\bpoints_entry\b", "ledger_entry", renamed)
    return [] if renamed == source else ledger_writes(renamed)


def test_the_scanner_finds_what_it_looks_for():
    for line in (
        "db.session.execute(update(PointsEntry).values(points=0))",
        "db.session.execute(delete(PointsEntry))",
        "PointsEntry.__table__.delete()",
        'db.session.execute(text("DELETE FROM points_entry"))',
    ):
        assert points_writes(line), line
    assert points_writes("db.session.add(PointsEntry(points=1))") == []


def test_no_code_updates_or_deletes_points_entries():
    offenders = {}
    for path in SOURCES:
        if path.name.startswith("0016_"):
            continue  # the migration that creates the table also drops it on downgrade
        found = points_writes(path.read_text(encoding="utf-8"))
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}


@pytest.fixture
def entry(app) -> PointsEntry:  # type: ignore[no-untyped-def]
    from datetime import date

    given = kudos.give_kudos(
        UserFactory(),
        UserFactory().id,
        10,
        CompanyValueFactory().id,
        "Thanks",
        today=date(2027, 3, 10),
    )
    return db.session.scalars(select(PointsEntry).where(PointsEntry.kudos_id == given.id)).first()


def test_changing_an_entry_through_the_orm_is_refused(entry):
    before = entry.points
    entry.points = 1_000
    with pytest.raises(PointsLedgerIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(PointsEntry, entry.id).points == before


def test_deleting_an_entry_through_the_orm_is_refused(entry):
    db.session.delete(entry)
    with pytest.raises(PointsLedgerIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert db.session.get(PointsEntry, entry.id) is not None


@pytest.mark.parametrize(
    "statement",
    [lambda: update(PointsEntry).values(points=0), lambda: delete(PointsEntry)],
    ids=["update", "delete"],
)
def test_bulk_statements_on_entries_are_refused(entry, statement):
    with pytest.raises(PointsLedgerIsAppendOnly):
        db.session.execute(statement())
    db.session.rollback()
    assert len(db.session.scalars(select(PointsEntry)).all()) == 3
