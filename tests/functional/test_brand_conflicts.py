"""Two HR people editing the brand: a save from a page opened before the other's save is
refused in the person's language, with nothing of it written, and the form shows the brand as
it is now with what they had entered; a save from the brand as it is now works. On
PostgreSQL, two saves from the same page version racing: one is saved, the other refused."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask.testing import FlaskClient

from perks.branding import services as branding
from perks.branding.models import BrandSettings
from perks.errors import ChangedMeanwhile
from perks.extensions import db
from perks.people.models import Role
from tests import factories
from tests.helpers import is_postgres, png_bytes, signed_in
from tests.stale_saves import FINGERPRINT, GuardedForm, audit_events

SAVED = "brand.updated"
PAGE = GuardedForm(
    "/settings/brand",
    field="shown",
    audited=(SAVED,),
    version_pattern=FINGERPRINT,
    saved_status=303,
)


def brand(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "company_name": "Công ty Du lịch Sen Vàng",
        "primary_colour": "#0b6e4f",
        "accent_colour": "",
        "tagline_vi": "Những chuyến đi đáng nhớ",
        "tagline_en": "Trips worth remembering",
        "contact_phone": "028 3822 0000",
    }
    form.update(changes)
    return form


def hr(**fields: Any):  # type: ignore[no-untyped-def]
    return factories.UserFactory(roles={Role.HR}, **fields)


def stored() -> BrandSettings:
    db.session.expire_all()
    row = db.session.get(BrandSettings, 1)
    assert row is not None
    return row


def test_a_save_from_a_page_opened_before_anothers_save_is_refused_and_writes_nothing(app):
    first = signed_in(app, hr(name="Phạm Thu Hà"))
    second = signed_in(app, hr(locale="vi"))
    opened = PAGE.opened(first, second)

    PAGE.saves(first, brand(tagline_en="Journeys to remember", shown=opened))
    refused = PAGE.refuses(second, brand(contact_phone="1900 1234", shown=opened))

    assert "Ai đó đã thay đổi" in refused.html or "đã thay đổi" in refused.html
    row = stored()
    assert (row.tagline_en, row.contact_phone) == ("Journeys to remember", "028 3822 0000")
    # the form shows the brand as it is now, and what was entered that differs from it
    assert 'value="Journeys to remember"' in refused.html
    assert "1900 1234" in refused.entered
    assert "Trips worth remembering" in refused.entered

    # Saved again from the form as it is now, it is saved.
    PAGE.saves(
        second,
        brand(tagline_en="Journeys to remember", contact_phone="1900 1234", shown=refused.version),
    )
    row = stored()
    assert (row.tagline_en, row.contact_phone) == ("Journeys to remember", "1900 1234")


def test_a_logo_someone_else_uploaded_is_not_removed_from_a_page_that_never_showed_it(app):
    branding.update_brand(branding.BrandData(**brand()), actor=hr(), logo=png_bytes())
    first, second = signed_in(app, hr()), signed_in(app, hr())
    opened = PAGE.opened(first, second)
    old = stored().logo_image

    replaced = brand(shown=opened, logo=(io.BytesIO(png_bytes()), "new.png"))
    first.post(PAGE.page, data=replaced, content_type="multipart/form-data")
    new = stored().logo_image
    assert new != old

    PAGE.refuses(second, brand(shown=opened, remove_logo="y"))
    assert stored().logo_image == new


def test_a_save_without_the_version_its_page_showed_is_refused(app):
    client = signed_in(app, hr())
    PAGE.refuses_without_version(client, brand(tagline_en="Stale"))
    assert db.session.get(BrandSettings, 1) is None


def test_the_service_refuses_a_stale_page_and_takes_the_current_one(app):
    person = hr()
    never_saved = branding.shown_fingerprint(branding.current_brand())
    branding.update_brand(branding.BrandData(**brand()), actor=person, shown=never_saved)
    before = audit_events(SAVED)

    with pytest.raises(ChangedMeanwhile):
        branding.update_brand(
            branding.BrandData(**brand(tagline_en="Stale")), actor=person, shown=never_saved
        )
    assert stored().tagline_en == "Trips worth remembering"
    assert audit_events(SAVED) == before


def test_two_saves_from_the_same_page_at_once_save_one_and_refuse_the_other(app):
    """PostgreSQL: both pages showed the same brand and are sent at the same moment."""
    if not is_postgres(app):
        pytest.skip("racing saves need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    branding.update_brand(branding.BrandData(**brand()), actor=hr())
    emails = [hr().email, hr().email]

    def with_phone(n: int, client: FlaskClient) -> dict[str, object]:
        return brand(contact_phone=f"1900 100{n}", shown=PAGE.version_shown(client))

    saved = PAGE.raced(app, emails, with_phone)

    with app.app_context():
        assert db.session.get(BrandSettings, 1).contact_phone == saved["contact_phone"]  # type: ignore[union-attr]
        assert audit_events(SAVED) == 2
