"""Two HR people editing one perk: a save from a page opened before the other's save is
refused in the person's language, with nothing of it written, and the form shows the perk as
it is now with what they had entered; a save from the perk as it is works. What the page did
not show (stock taken by claims, the status, the image) does not make it out of date. On
PostgreSQL, two saves from the same page racing: one is saved, the other refused."""

from __future__ import annotations

import io

import pytest

from perks.catalog import claims, services
from perks.catalog.models import CodeMode, Perk, PerkStatus
from perks.errors import ChangedMeanwhile
from perks.extensions import db
from perks.people.models import Role
from tests import factories
from tests.helpers import is_postgres, png_bytes, signed_in
from tests.stale_saves import FINGERPRINT, GuardedForm, audit_events
from tests.submissions import perk_form

UPDATED = "catalog.perk_updated"


def hr_person(**fields: object):  # type: ignore[no-untyped-def]
    return factories.UserFactory(roles={Role.HR}, **fields)


def edit_page(perk_id: int) -> GuardedForm:
    return GuardedForm(
        f"/admin/perks/{perk_id}/edit",
        field="shown",
        audited=(UPDATED,),
        version_pattern=FINGERPRINT,
    )


def stored(perk_id: int) -> Perk:
    db.session.expire_all()
    return db.session.get(Perk, perk_id)  # type: ignore[return-value]


def shared_perk(**fields: object) -> Perk:
    return factories.PerkFactory(
        code_mode=CodeMode.SHARED,
        shared_code="STAFF20",
        total_stock=100,
        remaining_stock=100,
        **fields,
    )


def test_a_save_from_a_page_opened_before_anothers_save_is_refused_and_writes_nothing(app):
    perk = shared_perk(title_vi="Giảm 20%", partner_name="Highlands Coffee")
    edit = edit_page(perk.id)
    first = signed_in(app, hr_person(name="Phạm Thu Hà"))
    second = signed_in(app, hr_person(locale="vi"))
    opened = edit.opened(first, second)

    edit.saves(first, perk_form(title_vi="Giảm 30%", shown=opened))
    refused = edit.refuses(
        second, perk_form(title_vi="Giảm 20%", partner_name="Phúc Long", shown=opened)
    )

    assert "Phạm Thu Hà đã thay đổi ưu đãi này sau khi bạn mở trang" in refused.html
    perk = stored(perk.id)
    assert (perk.title_vi, perk.partner_name) == ("Giảm 30%", "Highlands Coffee")
    # the form shows the perk as it is now, and beside it what was entered that differs
    assert 'value="Giảm 30%"' in refused.html
    assert 'value="Phúc Long"' not in refused.html
    assert "Phúc Long" in refused.entered
    assert "Giảm 20%" in refused.entered  # the title the page showed, which the first one changed
    assert "STAFF20" not in refused.entered  # the same as saved
    assert refused.version == services.shown_fingerprint(perk)

    # Saved again from the form as it is now, it is saved.
    edit.saves(
        second, perk_form(title_vi="Giảm 30%", partner_name="Phúc Long", shown=refused.version)
    )
    perk = stored(perk.id)
    assert (perk.title_vi, perk.partner_name) == ("Giảm 30%", "Phúc Long")


def test_claims_publishing_and_an_image_do_not_make_the_page_out_of_date(app):
    perk = shared_perk(status=PerkStatus.DRAFT, per_person_limit=5)
    hr = hr_person()
    client = signed_in(app, hr)
    opened = edit_page(perk.id).version_shown(client)

    services.publish_perk(perk.id, actor=hr)
    claims.claim_perk(perk.id, factories.UserFactory())
    services.set_perk_image(perk.id, png_bytes(), actor=hr)

    edit_page(perk.id).saves(client, perk_form(title_vi="Mới", shown=opened))
    perk = stored(perk.id)
    assert (perk.title_vi, perk.status, perk.remaining_stock) == ("Mới", PerkStatus.PUBLISHED, 99)


def test_a_save_without_the_fingerprint_of_its_page_is_refused(app):
    perk = shared_perk(title_vi="Giảm 20%")
    client = signed_in(app, hr_person())
    edit_page(perk.id).refuses_without_version(client, perk_form(title_vi="Khác"))
    assert stored(perk.id).title_vi == "Giảm 20%"


def test_the_service_refuses_a_page_that_showed_other_departments(app):
    sales, support = factories.DepartmentFactory(), factories.DepartmentFactory()
    perk = shared_perk()
    hr = hr_person()
    data = services.perk_data_of(perk)
    opened = services.shown_fingerprint(perk)

    # only the departments change: the page that showed none is out of date
    services.update_perk(
        perk.id, services.PerkData(**{**vars(data), "department_ids": frozenset({sales.id})}),
        actor=hr, shown=opened,
    )  # fmt: skip
    before = audit_events(UPDATED)
    with pytest.raises(ChangedMeanwhile):
        services.update_perk(
            perk.id,
            services.PerkData(**{**vars(data), "department_ids": frozenset({support.id})}),
            actor=hr,
            shown=opened,
        )
    assert {d.id for d in stored(perk.id).departments} == {sales.id}
    assert audit_events(UPDATED) == before
    # None checks nothing (the demo, scripts)
    services.update_perk(perk.id, data, actor=hr)
    assert stored(perk.id).departments == []


def test_two_saves_from_the_same_page_at_once_save_one_and_refuse_the_other(app):
    """PostgreSQL: both pages showed the same perk and are sent at the same moment, each
    request on its own connection; without the check under the lock both would be saved and
    the last would win."""
    if not is_postgres(app):
        pytest.skip("racing saves need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    perk_id = shared_perk().id
    emails = [hr_person().email, hr_person().email]

    edit = edit_page(perk_id)

    saved = edit.raced(
        app,
        emails,
        lambda n, client: perk_form(partner_name=f"Đối tác {n}", shown=edit.version_shown(client)),
    )

    with app.app_context():
        assert db.session.get(Perk, perk_id).partner_name == saved["partner_name"]  # type: ignore[union-attr]
        assert audit_events(UPDATED) == 1


def test_a_refused_save_with_a_new_image_says_to_choose_it_again(app):
    """A file input cannot be filled again and the refused save stored nothing, the image
    included: the page says so beside what was entered, or the change would be lost unseen."""
    perk = shared_perk()
    first, second = signed_in(app, hr_person()), signed_in(app, hr_person(locale="vi"))
    edit = edit_page(perk.id)
    opened = edit.opened(first, second)
    edit.saves(first, perk_form(title_vi="Mới", shown=opened))

    data = perk_form(title_vi="Cũ", shown=opened)
    data["image"] = (io.BytesIO(png_bytes()), "logo.png")
    refused = edit.refuses(second, data)

    assert "Một hình ảnh mới: hãy chọn lại." in refused.entered
    assert stored(perk.id).image_filename is None
