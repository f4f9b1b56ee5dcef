"""A balance adjustment sent twice from one form (a double-clicked button, a slow network
retried, two requests at the same moment): the person's balance changes once. The form
carries a token made when the page was drawn, as the refund form does."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from perks.audit import AuditEvent
from perks.commissions import ledger
from perks.commissions.models import LedgerEntry
from perks.errors import ValidationFailed
from perks.extensions import db
from perks.money import Money
from perks.people.models import Role
from tests import factories
from tests.factories import PASSWORD
from tests.helpers import is_postgres, login, text_of
from tests.racing import all_at_once

URL = "/finance/commissions/adjustments"


def token_of(client: FlaskClient) -> str:
    page = client.get(URL).get_data(as_text=True)
    found = re.search(r'name="request_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="request_token"', page
    )
    assert found is not None, "the adjustment form carries a request token"
    return found.group(1)


def a_form(person_id: int, token: str, amount: str = "500.000") -> dict[str, object]:
    return {
        "user_id": person_id,
        "currency": "VND",
        "amount": amount,
        "reason": "Thưởng dự án",
        "request_token": token,
    }


def entries() -> int:
    return db.session.scalar(select(func.count()).select_from(LedgerEntry)) or 0


def adjustments_audited() -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "commissions.adjustment")
        )
        or 0
    )


def test_a_double_submitted_adjustment_is_recorded_once(client):
    person = factories.UserFactory()
    login(client, factories.UserFactory(roles={Role.FINANCE}))
    token = token_of(client)

    first = client.post(URL, data=a_form(person.id, token))
    second = client.post(URL, data=a_form(person.id, token))

    assert (first.status_code, second.status_code) == (302, 302)
    assert entries() == 1
    assert adjustments_audited() == 1
    # a new page is a new form: a second adjustment of the same amount is recorded
    assert client.post(URL, data=a_form(person.id, token_of(client))).status_code == 302
    assert entries() == 2


def test_the_same_form_sent_again_with_another_amount_is_refused(client):
    person = factories.UserFactory()
    login(client, factories.UserFactory(roles={Role.FINANCE}))
    token = token_of(client)
    assert client.post(URL, data=a_form(person.id, token)).status_code == 302

    again = client.post(URL, data=a_form(person.id, token, amount="600.000"))

    assert again.status_code == 409
    assert "This adjustment form was already sent." in text_of(again)
    assert entries() == 1


def test_simultaneous_submissions_of_one_form_record_one_adjustment(app):
    person_id = factories.UserFactory().id
    finance = factories.UserFactory(roles={Role.FINANCE})
    db.session.commit()
    opener = app.test_client()
    login(opener, finance)
    token = token_of(opener)
    email = finance.email
    db.session.remove()

    def signed_in(_tab: int) -> FlaskClient:
        client = app.test_client()
        signing_in = client.post("/login", data={"email": email, "password": PASSWORD})
        assert signing_in.status_code == 302
        return client

    outcome = all_at_once(
        app,
        range(3),
        lambda client: client.post(URL, data=a_form(person_id, token)).status_code,
        prepare=signed_in,
        requests=True,
    )

    assert outcome.errors == []
    assert outcome.results == [302, 302, 302]
    if is_postgres(app):  # SQLite serialises writers: there the test proves what the first did
        assert entries() == 1
        assert adjustments_audited() == 1


def test_an_adjustment_without_a_reason_is_refused_by_the_page_and_the_ledger(client):
    """SECURITY.md: finance adjustments need a reason. Removing the ledger's own check passed
    every test: a reason of spaces alone is refused by the form, and by ``record_adjustment``
    for any other caller; nothing is written or audited."""
    person = factories.UserFactory()
    finance = factories.UserFactory(roles={Role.FINANCE})
    login(client, finance)
    refused = client.post(URL, data={**a_form(person.id, token_of(client)), "reason": "  \t "})
    assert refused.status_code == 400
    with pytest.raises(ValidationFailed):
        ledger.record_adjustment(person.id, Money(5_000, "VND"), " \u200b ", actor=finance)
    db.session.rollback()
    assert (entries(), adjustments_audited()) == (0, 0)
