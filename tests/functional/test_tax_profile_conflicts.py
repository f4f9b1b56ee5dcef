"""Two finance people editing one tax profile: a save from a page opened before the other's
save is refused in the person's language, with nothing of it written, and the form shows the
profile as it is now with what they had entered; a save from the current version works. On
PostgreSQL, two saves from the same version racing: one is saved, the other refused."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from perks.commissions import tax
from perks.commissions.tax import ProfileFields
from perks.errors import ChangedMeanwhile
from perks.extensions import db
from perks.people.models import EmploymentType
from tests import factories
from tests.helpers import is_postgres, signed_in
from tests.stale_saves import GuardedForm, audit_events
from tests.unit.finance.helpers import finance_person

BANK = {"bank_account_number": "11112222", "bank_name": "ACB", "account_holder": "NGUYEN AN"}


SAVED = "finance.tax_profile_saved"


def payee():  # type: ignore[no-untyped-def]
    return factories.UserFactory(name="Lê Văn An", employment_type=EmploymentType.CONTRACTOR)


def profile_page(person_id: int) -> GuardedForm:
    return GuardedForm(
        f"/finance/tax/people/{person_id}",
        field="version",
        audited=(SAVED,),
    )


def test_a_save_from_a_page_opened_before_anothers_save_is_refused_and_writes_nothing(app):
    person = payee()
    tax.save_tax_profile(person.id, ProfileFields(**BANK), actor=finance_person())
    page = profile_page(person.id)
    first_officer = finance_person(name="Phạm Thu Hà")
    first, second = signed_in(app, first_officer), signed_in(app, finance_person(locale="vi"))
    opened = page.opened(first, second)

    page.saves(
        first,
        {**BANK, "bank_account_number": "33334444", "resident": "y", "version": opened},
    )
    refused = page.refuses(
        second,
        {**BANK, "tax_code": "0123456787", "resident": "y", "version": opened},
    )

    assert "Phạm Thu Hà đã thay đổi hồ sơ thuế này sau khi bạn mở trang" in refused.html
    db.session.expire_all()
    profile = tax.profile_of(person.id)
    assert (profile.bank_account_number, profile.tax_code) == ("33334444", "")
    # the form shows the profile as it is now, and what was entered that differs from it
    assert 'value="33334444"' in refused.html
    assert 'value="0123456787"' not in refused.html
    assert "0123456787" in refused.entered
    assert "11112222" in refused.entered  # the account the page showed, which the first one changed
    assert refused.version == str(profile.version)

    # Saved again from the form as it is now, it is saved.
    page.saves(
        second,
        {
            **BANK,
            "bank_account_number": "33334444",
            "tax_code": "0123456787",
            "resident": "y",
            "version": refused.version,
        },
    )
    db.session.expire_all()
    profile = tax.profile_of(person.id)
    assert (profile.bank_account_number, profile.tax_code) == ("33334444", "0123456787")


def test_two_pages_that_found_no_profile_create_it_once(app):
    person = payee()
    first, second = signed_in(app, finance_person()), signed_in(app, finance_person())
    page = profile_page(person.id)
    assert page.opened(first, second) == "0"

    data = {**BANK, "resident": "y", "version": "0"}
    page.saves(first, data)
    refused = page.refuses(second, {**data, "bank_name": "VCB"})

    assert "changed this tax profile after you opened it" in refused.html
    db.session.expire_all()
    assert tax.profile_of(person.id).bank_name == "ACB"


def test_a_save_without_the_version_its_page_showed_is_refused(app):
    person = payee()
    client = signed_in(app, finance_person())
    profile_page(person.id).refuses_without_version(client, {**BANK, "resident": "y"})
    assert tax.profile_of(person.id) is None


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
    before = audit_events(SAVED)

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
    assert audit_events(SAVED) == before


def test_two_saves_from_the_same_version_at_once_save_one_and_refuse_the_other(app):
    """PostgreSQL: both pages showed version 1 and are sent at the same moment, each request
    on its own connection; without the lock both would read version 1 and the last would win."""
    if not is_postgres(app):
        pytest.skip("racing saves need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    person = payee()
    tax.save_tax_profile(person.id, ProfileFields(**BANK), actor=finance_person())
    emails = [finance_person().email, finance_person().email]
    person_id = person.id
    page = profile_page(person_id)

    def with_account(n: int, client: FlaskClient) -> dict[str, object]:
        account = {"bank_account_number": f"9999000{n}", "resident": "y"}
        return {**BANK, **account, "version": page.version_shown(client)}

    saved = page.raced(app, emails, with_account)

    with app.app_context():
        profile = tax.profile_of(person_id)
        assert (profile.bank_account_number, profile.version) == (saved["bank_account_number"], 2)
        assert audit_events(SAVED) == 2  # the first profile and the one save that won
