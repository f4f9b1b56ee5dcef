"""A leaver's closed balance keeps its outcome (deduct, write off) as a code in the ledger,
not as the label in the language of the finance person who closed it: every reader sees it in
their own language (report lines, batch lines, the finance adjustments list, the earner's own
page), and the exports, which speak in codes, show the code. Rows written before, with the
label in English or Vietnamese, are recognised and shown in the reader's language too."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from perks.commissions import ledger
from perks.commissions.models import (
    BalanceOutcome,
    EntryKind,
    LeaverBalanceDecision,
    LedgerEntry,
    reason_label,
)
from perks.extensions import db
from perks.finance import payouts
from perks.i18n import company_today
from perks.money import Money
from perks.people.models import User
from tests import factories
from tests.helpers import login, text_of
from tests.unit.finance.helpers import finance_person


def _leaver_who_owes(locale: str) -> User:
    """A person who left yesterday owing 240,000 VND (an adjustment taken back)."""
    leaver = factories.UserFactory(leaving_date=company_today() - timedelta(days=1), locale=locale)
    ledger.record_adjustment(
        leaver.id, Money(-240_000, "VND"), "Clawed back", actor=finance_person()
    )
    return leaver


def _close(client, leaver: User, closer: User, outcome: str, reason: str) -> LedgerEntry:  # type: ignore[no-untyped-def]
    login(client, closer)
    response = client.post(
        f"/finance/leavers/{leaver.id}/close",
        data={"currency": "VND", "amount": "-240000", "outcome": outcome, "reason": reason},
    )
    assert response.status_code == 302, text_of(response)[:2000]
    client.post("/logout")
    db.session.expire_all()
    decision = db.session.scalars(select(LeaverBalanceDecision)).one()
    entry = db.session.get(LedgerEntry, decision.ledger_entry_id)
    assert entry is not None
    return entry


def _pages_read_by(client, leaver: User, reader: User) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The report lines, the adjustments list and the batch page as ``reader`` (finance)
    reads them, and the leaver's own earnings page."""
    # something to pay them, so a batch holds the closing entry in the leaver's line
    ledger.record_adjustment(leaver.id, Money(100_000, "VND"), "Bonus", actor=finance_person())
    batch = payouts.draft_batch(company_today(), actor=finance_person())
    login(client, reader)
    pages = {
        "report lines": text_of(client.get("/finance/reports/lines?period=month")),
        "adjustments": text_of(client.get("/finance/commissions/adjustments")),
        "batch": text_of(client.get(f"/finance/payouts/{batch.id}")),
    }
    client.post("/logout")
    login(client, leaver)
    pages["earnings"] = text_of(client.get("/earnings"))
    client.post("/logout")
    return pages


def test_a_balance_written_off_in_english_reads_in_vietnamese(client):
    leaver = _leaver_who_owes("vi")
    entry = _close(client, leaver, finance_person(locale="en"), "write_off", "Too small")

    assert entry.reason == "write_off: Too small"  # a code, not "Write off"
    pages = _pages_read_by(client, leaver, finance_person(locale="vi"))
    for name, text in pages.items():
        assert "Xóa nợ: Too small" in text, name
        assert "Write off" not in text, name
        assert "write_off" not in text, name


def test_a_balance_deducted_in_vietnamese_reads_in_english(client):
    leaver = _leaver_who_owes("en")
    entry = _close(client, leaver, finance_person(locale="vi"), "deduct", "Trừ lương tháng 12")

    assert entry.reason == "deduct: Trừ lương tháng 12"
    pages = _pages_read_by(client, leaver, finance_person(locale="en"))
    for name, text in pages.items():
        assert "Deduct from the final salary: Trừ lương tháng 12" in text, name
        assert "Khấu trừ" not in text, name


@pytest.mark.parametrize(
    ("stored", "outcome"),
    [
        ("Write off: Too small", BalanceOutcome.WRITE_OFF),
        ("Xóa nợ: Too small", BalanceOutcome.WRITE_OFF),
        ("Deduct from the final salary: Too small", BalanceOutcome.DEDUCT),
        ("Khấu trừ vào lương kỳ cuối: Too small", BalanceOutcome.DEDUCT),
        ("write_off: Too small", BalanceOutcome.WRITE_OFF),
        ("deduct: Too small", BalanceOutcome.DEDUCT),
    ],
)
def test_a_reason_stored_in_either_language_reads_in_the_readers(app, stored, outcome):
    for locale in ("en", "vi"):
        with app.test_request_context(), force_locale(locale):
            assert reason_label(stored) == f"{outcome.label}: Too small"


def test_finances_own_words_are_left_as_written(app):
    with app.test_request_context(), force_locale("vi"):
        assert reason_label("Deduct: laptop not returned") == "Deduct: laptop not returned"
        assert reason_label("Write off the rest: 10 000") == "Write off the rest: 10 000"
        assert reason_label("write_off") == "write_off"
        assert reason_label("refund") == "đơn hàng đã được hoàn tiền"


def test_an_old_row_with_the_english_label_reads_in_vietnamese_on_the_page(client):
    leaver = factories.UserFactory(locale="vi")
    ledger.append_entry(
        user_id=leaver.id,
        kind=EntryKind.ADJUSTMENT,
        amount=Money(240_000, "VND"),
        reason="Write off: Too small",
        actor=finance_person(),
    )
    db.session.commit()
    login(client, finance_person(locale="vi"))
    text = text_of(client.get("/finance/reports/lines?period=month"))
    assert "Xóa nợ: Too small" in text
    assert "Write off" not in text


@pytest.mark.parametrize("locale", ["en", "vi"])
def test_the_exports_keep_the_code_and_the_exports_page_says_what_it_means(client, locale):
    leaver = _leaver_who_owes("vi")
    _close(client, leaver, finance_person(locale="vi"), "write_off", "Số nhỏ")
    login(client, finance_person(locale=locale))
    for name in ("ledger", "commissions"):
        body = client.get(f"/finance/exports/{name}.csv?period=month").get_data()
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))
        assert [r["reason"] for r in rows] == ["Clawed back", "write_off: Số nhỏ"], name
    page = text_of(client.get("/finance/exports"))
    assert "write_off" in page
    assert "deduct" in page
