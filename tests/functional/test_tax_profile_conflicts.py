"""Two finance people editing one tax profile: a save from a version that is no longer the
profile's is refused, with nothing of it written; a save from the current version works."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from perks.audit import AuditEvent
from perks.commissions import tax
from perks.commissions.tax import ProfileFields
from perks.errors import ChangedMeanwhile
from perks.extensions import db
from perks.people.models import EmploymentType
from tests import factories
from tests.unit.finance.helpers import finance_person

BANK = {"bank_account_number": "11112222", "bank_name": "ACB", "account_holder": "NGUYEN AN"}


def payee():  # type: ignore[no-untyped-def]
    return factories.UserFactory(name="Lê Văn An", employment_type=EmploymentType.CONTRACTOR)


def saves() -> int:
    return db.session.scalar(
        select(func.count()).where(AuditEvent.action == "finance.tax_profile_saved")
    )


def test_the_service_refuses_a_stale_version_and_takes_the_current_one(app):
    person = payee()
    officer = finance_person()
    created = tax.save_tax_profile(
        person.id, ProfileFields(**BANK), actor=officer, expected_version=0
    )
    assert created.version == 1
    changed = tax.save_tax_profile(
        person.id, ProfileFields(**BANK, tax_code="0123456787"), actor=officer, expected_version=1
    )
    assert changed.version == 2
    before = saves()

    for stale in (0, 1, 3):
        with pytest.raises(ChangedMeanwhile):
            tax.save_tax_profile(
                person.id,
                ProfileFields(commitment_year=2026),
                actor=officer,
                expected_version=stale,
            )
    db.session.expire_all()
    profile = tax.profile_of(person.id)
    assert (profile.version, profile.commitment_year, profile.tax_code) == (2, None, "0123456787")
    assert saves() == before
