"""The reasons finance writes into the ledger (a commission adjustment, a leaver's closed
balance) are taken without the spaces and invisible characters (zero-width space, byte order
mark, word joiner) around them: one made only of them is refused as empty (400, the field's
message in the person's language, nothing written), one with them around is kept without
them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from perks.commissions import ledger
from perks.commissions.models import BalanceOutcome, LeaverBalanceDecision, LedgerEntry
from perks.errors import ValidationFailed
from perks.extensions import db
from perks.finance import leavers
from perks.i18n import company_today
from perks.money import Money
from perks.people.models import User
from tests import factories
from tests.helpers import login, text_of
from tests.unit.finance.helpers import finance_person

INVISIBLE = "\u200b\ufeff\u2060"


def _reasons() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(LedgerEntry.reason).order_by(LedgerEntry.id)))


def test_an_invisible_adjustment_reason_is_refused_and_invisible_ends_are_not_kept(client):
    person = factories.UserFactory()
    login(client, finance_person(locale="vi"))
    url = "/finance/commissions/adjustments"
    form = {"user_id": person.id, "currency": "VND", "amount": "10.000"}

    refused = client.post(url, data={**form, "reason": INVISIBLE})

    assert refused.status_code == 400
    assert "Trường này là bắt buộc." in text_of(refused)
    assert 'name="reason"' in refused.get_data(as_text=True)
    assert "is-invalid" in refused.get_data(as_text=True)
    assert _reasons() == []

    saved = client.post(url, data={**form, "reason": f" {INVISIBLE}Thưởng quý\u200b "})

    assert saved.status_code == 302, text_of(saved)[:2000]
    assert _reasons() == ["Thưởng quý"]


def _leaver_who_owes() -> User:
    """A person who left yesterday owing 240,000 VND (an adjustment taken back)."""
    leaver = factories.UserFactory(leaving_date=company_today() - timedelta(days=1))
    ledger.record_adjustment(
        leaver.id, Money(-240_000, "VND"), "Clawed back", actor=finance_person()
    )
    return leaver


def test_an_invisible_leaver_balance_reason_is_refused_and_invisible_ends_are_not_kept(client):
    leaver = _leaver_who_owes()
    login(client, finance_person(locale="vi"))
    url = f"/finance/leavers/{leaver.id}/close"
    form = {"currency": "VND", "amount": "-240000", "outcome": "write_off"}

    refused = client.post(url, data={**form, "reason": INVISIBLE})

    assert refused.status_code == 400
    assert "Trường này là bắt buộc." in text_of(refused)
    assert "is-invalid" in refused.get_data(as_text=True)
    assert db.session.scalars(select(LeaverBalanceDecision)).all() == []
    assert ledger.balance(leaver.id, "VND") == Money(-240_000, "VND")

    done = client.post(url, data={**form, "reason": f"\ufeff Số nhỏ {INVISIBLE}"})

    assert done.status_code == 302, text_of(done)[:2000]
    db.session.expire_all()
    assert db.session.scalars(select(LeaverBalanceDecision.reason)).one() == "Số nhỏ"
    assert _reasons()[-1].endswith(": Số nhỏ")


def test_the_services_refuse_an_invisible_reason(app):
    leaver = _leaver_who_owes()
    with pytest.raises(ValidationFailed):
        ledger.record_adjustment(leaver.id, Money(5_000, "VND"), INVISIBLE, actor=finance_person())
    with pytest.raises(ValidationFailed):
        leavers.close_negative_balance(
            leaver.id,
            Money(-240_000, "VND"),
            BalanceOutcome.WRITE_OFF,
            INVISIBLE,
            actor=finance_person(),
        )
    assert _reasons() == ["Clawed back"]
