"""What becomes of a leaver's perks: the counter refuses their codes from their leaving date,
their unused claims end that day and their draw seats pass to the waiting list."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from perks.catalog import claims
from perks.catalog.models import ClaimStatus
from perks.errors import Conflict
from perks.extensions import db
from perks.i18n import company_today, format_day
from perks.people.models import Role
from tests import factories
from tests.helpers import text_of


def test_the_counter_refuses_the_code_of_someone_whose_leaving_date_has_come(client, login_as):
    holder = factories.UserFactory(name="Trần Thị Lan")
    claim = claims.claim_perk(factories.PerkFactory().id, holder)
    holder.leaving_date = company_today()  # still active: the leavers' task runs later
    db.session.commit()
    redeemer = factories.UserFactory(roles={Role.REDEEMER})

    with force_locale("en"), pytest.raises(Conflict) as refused:
        claims.redeem_claim(claim.reference, redeemer)
    with force_locale("en"):
        left = format_day(company_today())
        expected = f"Trần Thị Lan left the company on {left}: this claim can no longer be used."
    assert refused.value.message == expected
    db.session.refresh(claim)
    assert claim.status is ClaimStatus.CLAIMED  # the leavers' task ends it

    login_as(Role.REDEEMER)
    page = client.get("/redeem", query_string={"code": claim.reference})
    assert expected in text_of(page)
    assert 'data-testid="redeem-use"' not in page.get_data(as_text=True)


def test_the_counter_tells_a_vietnamese_clerk_in_vietnamese(client, login_as, vietnamese):
    holder = factories.UserFactory(name="Trần Thị Lan")
    claim = claims.claim_perk(factories.PerkFactory().id, holder)
    holder.leaving_date = company_today()
    db.session.commit()
    login_as(Role.REDEEMER, locale="vi")

    response = client.post("/redeem/use", data={"code": claim.reference})

    assert response.status_code == 409
    with force_locale("vi"):
        left = format_day(company_today())
    expected = vietnamese(
        "%(name)s left the company on %(date)s: this claim can no longer be used.",
        name="Trần Thị Lan",
        date=left,
    )
    assert expected in text_of(response)
    db.session.refresh(claim)
    assert claim.status is ClaimStatus.CLAIMED


def test_the_counter_refuses_the_code_of_someone_deactivated(client, login_as):
    holder = factories.UserFactory(name="Trần Thị Lan")
    claim = claims.claim_perk(factories.PerkFactory().id, holder)
    holder.active = False
    db.session.commit()
    redeemer = factories.UserFactory(roles={Role.REDEEMER})

    with force_locale("en"), pytest.raises(Conflict) as refused:
        claims.redeem_claim(claim.reference, redeemer)
    assert refused.value.message == (
        "Trần Thị Lan is no longer with the company: this claim can no longer be used."
    )
