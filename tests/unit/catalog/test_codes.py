"""Code pools are imported whole or not at all; publishing and stock changes keep the books.

Each bad line of an import is named by its line number, and then nothing is imported.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from perks.audit import AuditEvent
from perks.catalog.claims import claim_perk, expire_claims, grant_gift, redeem_claim
from perks.catalog.models import (
    Allocation,
    Claim,
    ClaimStatus,
    CodeMode,
    LimitPeriod,
    Perk,
    PerkCode,
    PerkKind,
    PerkStatus,
)
from perks.catalog.services import (
    MAX_CODE_LENGTH,
    PerkData,
    create_perk,
    import_codes,
    publish_perk,
    update_perk,
)
from perks.errors import Conflict, LimitReached, ValidationFailed
from perks.extensions import db
from perks.i18n import company_today
from perks.people.models import Role, User
from tests.factories import PerkFactory, UserFactory

TODAY = date(2026, 5, 4)


@pytest.fixture(autouse=True)
def _in_english(app, _app_context):  # type: ignore[no-untyped-def]
    """Messages are asserted in English (outside a request the default language applies)."""
    with force_locale("en"):
        yield


@pytest.fixture
def hr() -> User:
    return UserFactory(roles={Role.HR})


@pytest.fixture
def pool_perk() -> Perk:
    return PerkFactory(code_mode=CodeMode.POOL, status=PerkStatus.DRAFT)


def pool(perk: Perk) -> list[str]:
    return list(
        db.session.scalars(
            select(PerkCode.code).where(PerkCode.perk_id == perk.id).order_by(PerkCode.id)
        )
    )


def refused_lines(perk: Perk, text: str, actor: User) -> dict[int, str]:
    """Import ``text``, expecting a refusal; the bad lines by number."""
    with pytest.raises(ValidationFailed) as refused:
        import_codes(perk.id, text, actor=actor)
    assert refused.value.message == "Nothing was imported: fix the lines listed below."
    return {error.line: error.message for error in refused.value.details["errors"]}


# --- importing ------------------------------------------------------------------------------


def test_a_clean_list_imports_every_code_and_is_audited(pool_perk, hr):
    assert import_codes(pool_perk.id, "GRAB-001\n  GRAB-002  \nGRAB-003\n", actor=hr) == 3
    assert pool(pool_perk) == ["GRAB-001", "GRAB-002", "GRAB-003"]
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "catalog.codes_imported")
    )
    assert (event.actor_id, event.details["count"]) == (hr.id, 3)


def test_windows_line_endings_are_fine(pool_perk, hr):
    assert import_codes(pool_perk.id, "A1\r\nB2\r\n", actor=hr) == 2
    assert pool(pool_perk) == ["A1", "B2"]


def test_a_duplicate_line_is_refused_with_its_line_number_and_nothing_is_imported(pool_perk, hr):
    bad = refused_lines(pool_perk, "A1\nB2\nA1\nC3", hr)
    assert bad == {3: "Same code as line 1."}
    assert pool(pool_perk) == []


def test_a_blank_line_is_refused_with_its_line_number_and_nothing_is_imported(pool_perk, hr):
    assert refused_lines(pool_perk, "A1\n\nB2\n   \nC3\n", hr) == {
        2: "This line is blank.",
        4: "This line is blank.",
    }
    assert pool(pool_perk) == []


def test_a_code_already_in_the_pool_is_refused_and_nothing_is_imported(pool_perk, hr):
    import_codes(pool_perk.id, "A1\nB2", actor=hr)
    assert refused_lines(pool_perk, "C3\nB2\nD4", hr) == {2: "Already in this perk's pool."}
    assert pool(pool_perk) == ["A1", "B2"]


def test_every_bad_line_is_listed_not_only_the_first(pool_perk, hr):
    import_codes(pool_perk.id, "OLD-1", actor=hr)
    text = "\n".join(["NEW-1", "", "NEW-1", "OLD-1", "NEW-2", "x" * (MAX_CODE_LENGTH + 1), "NEW-2"])
    assert refused_lines(pool_perk, text, hr) == {
        2: "This line is blank.",
        3: "Same code as line 1.",
        4: "Already in this perk's pool.",
        6: f"Longer than {MAX_CODE_LENGTH} characters.",
        7: "Same code as line 5.",
    }
    assert pool(pool_perk) == ["OLD-1"]


def test_invisible_characters_pasted_around_codes_are_not_part_of_them(hr):
    """A partner's list copied from a web page, a chat or a spreadsheet brings zero-width
    spaces, word joiners and byte order marks that ``str.strip`` keeps: the pool must hold
    the code the counter types, and refuse a line with one inside a code."""
    perk = PerkFactory(code_mode=CodeMode.POOL, total_stock=None)
    pasted = "HL-001\u200b\n\u2060HL-002\n\ufeffHL-003 \u200b\n\u200b"
    assert refused_lines(perk, pasted, hr) == {4: "This line is blank."}
    assert refused_lines(perk, "HL\u200b-004", hr) == {
        1: "Contains a tab or an invisible control character."
    }
    assert import_codes(perk.id, pasted.removesuffix("\n\u200b"), actor=hr) == 3
    assert pool(perk) == ["HL-001", "HL-002", "HL-003"]
    claim = claim_perk(perk.id, UserFactory(), today=TODAY)
    assert claim.code == "HL-001"
    assert redeem_claim("hl-001", hr).id == claim.id


def test_a_shared_code_or_a_code_at_the_counter_pasted_with_invisible_characters(hr):
    data = PerkData(
        title_vi="Vé xem phim",
        title_en="Cinema",
        code_mode=CodeMode.SHARED,
        shared_code="\u200bCGV-STAFF\ufeff",
    )
    perk = create_perk(data, actor=hr)
    assert perk.shared_code == "CGV-STAFF"
    publish_perk(perk.id, actor=hr)
    claim = claim_perk(perk.id, UserFactory(), today=TODAY)
    assert claim.code == "CGV-STAFF"
    # a reference copied from a chat message, with the zero-width space it came with
    assert redeem_claim(f"{claim.reference}\u200b", hr).id == claim.id


def test_the_same_code_in_another_perks_pool_is_fine(pool_perk, hr):
    other = PerkFactory(code_mode=CodeMode.POOL, codes=["SHARED-1"])
    assert import_codes(pool_perk.id, "SHARED-1", actor=hr) == 1
    assert pool(other) == pool(pool_perk) == ["SHARED-1"]


def test_an_empty_list_is_refused(pool_perk, hr):
    assert refused_lines(pool_perk, "", hr) == {1: "There are no codes."}


def test_codes_go_only_to_a_perk_that_uses_a_pool(hr):
    perk = PerkFactory(code_mode=CodeMode.VOUCHER)
    with pytest.raises(Conflict, match="does not use a code pool"):
        import_codes(perk.id, "A1", actor=hr)
    assert db.session.scalar(select(func.count()).select_from(PerkCode)) == 0


def test_imported_codes_are_what_claims_hand_out(hr):
    perk = PerkFactory(code_mode=CodeMode.POOL)
    import_codes(perk.id, "ONE\nTWO", actor=hr)
    handed = {claim_perk(perk.id, UserFactory(), today=TODAY).code for _ in range(2)}
    assert handed == {"ONE", "TWO"}


# --- publishing -----------------------------------------------------------------------------


def test_a_pool_perk_without_codes_cannot_be_published(pool_perk, hr):
    with pytest.raises(Conflict, match="Add codes to the pool before publishing"):
        publish_perk(pool_perk.id, actor=hr)
    db.session.refresh(pool_perk)
    assert pool_perk.status is PerkStatus.DRAFT

    import_codes(pool_perk.id, "A1", actor=hr)
    assert publish_perk(pool_perk.id, actor=hr).status is PerkStatus.PUBLISHED


def test_a_published_perk_cannot_be_published_again(hr):
    perk = PerkFactory(status=PerkStatus.PUBLISHED)
    with pytest.raises(Conflict, match="already published"):
        publish_perk(perk.id, actor=hr)


# --- creating and changing perks ------------------------------------------------------------


def perk_data(**changes: object) -> PerkData:
    return PerkData(**{"title_vi": "Vé xem phim", "title_en": "Cinema ticket", **changes})


def test_a_new_perk_is_a_draft_with_full_stock(hr):
    perk = create_perk(perk_data(total_stock=10), actor=hr)
    assert perk.status is PerkStatus.DRAFT
    assert (perk.total_stock, perk.remaining_stock) == (10, 10)
    assert perk.created_by_id == hr.id


def test_a_perk_can_have_no_limit_per_person(hr):
    perk = create_perk(perk_data(per_person_limit=None), actor=hr)
    db.session.expire_all()
    assert db.session.get(Perk, perk.id).per_person_limit is None


def test_one_claim_already_made_reads_as_one_when_the_stock_is_lowered_below_it(hr):
    """The refusal read "1 are already claimed" for a single claim."""
    perk = PerkFactory(total_stock=5, per_person_limit=None)
    claim_perk(perk.id, UserFactory(), today=TODAY)

    with pytest.raises(ValidationFailed) as refused:
        update_perk(perk.id, perk_data(total_stock=0, per_person_limit=None), actor=hr)
    assert refused.value.message == "1 is already claimed: the stock cannot be lower."


def test_a_perk_limited_per_month_keeps_its_limit(hr):
    perk = create_perk(perk_data(per_person_limit=2, limit_period=LimitPeriod.MONTH), actor=hr)
    db.session.expire_all()
    stored = db.session.get(Perk, perk.id)
    assert (stored.per_person_limit, stored.limit_period) == (2, LimitPeriod.MONTH)


def test_a_reward_bought_with_points_is_not_a_draw(hr):
    with pytest.raises(ValidationFailed, match="first come, not a draw"):
        create_perk(perk_data(points_price=40, allocation=Allocation.DRAW, total_stock=3), actor=hr)
    assert create_perk(perk_data(points_price=40), actor=hr).points_price == 40


def test_the_total_stock_cannot_go_below_what_is_already_claimed(hr):
    perk = PerkFactory(total_stock=5, per_person_limit=None)
    person = UserFactory()
    for _ in range(3):
        claim_perk(perk.id, person, today=TODAY)

    with pytest.raises(ValidationFailed, match="3 are already claimed"):
        update_perk(perk.id, perk_data(total_stock=2, per_person_limit=None), actor=hr)
    db.session.refresh(perk)
    assert (perk.total_stock, perk.remaining_stock) == (5, 2)

    update_perk(perk.id, perk_data(total_stock=3, per_person_limit=None), actor=hr)
    db.session.refresh(perk)
    assert (perk.total_stock, perk.remaining_stock) == (3, 0)

    update_perk(perk.id, perk_data(total_stock=10, per_person_limit=None), actor=hr)
    db.session.refresh(perk)
    assert (perk.total_stock, perk.remaining_stock) == (10, 7)
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 3


def test_unlimited_stock_can_become_limited_counting_what_is_claimed(hr):
    perk = PerkFactory(total_stock=None)
    for _ in range(2):
        claim_perk(perk.id, UserFactory(), today=TODAY)
    update_perk(perk.id, perk_data(total_stock=4), actor=hr)
    db.session.refresh(perk)
    assert (perk.total_stock, perk.remaining_stock) == (4, 2)


def test_codes_differing_only_in_case_are_one_code(app):
    from perks.catalog.models import CodeMode
    from perks.catalog.services import check_codes
    from tests.factories import PerkFactory

    perk = PerkFactory(code_mode=CodeMode.POOL, codes=["SALE-1"])
    _codes, errors = check_codes(perk, "abc\nABC\nsale-1\n")
    assert [(e.line, e.message) for e in errors] == [
        (2, "Same code as line 1."),
        (3, "Already in this perk's pool."),
    ]


def test_a_later_last_day_carries_unused_claims_with_it(hr):
    perk = PerkFactory(ends_on=date(2026, 5, 8), total_stock=None, per_person_limit=None)
    unused = claim_perk(perk.id, UserFactory(), today=TODAY)
    unused.reminded_on = TODAY  # told already that it ends on the 8th
    db.session.commit()

    update_perk(perk.id, perk_data(ends_on=date(2026, 5, 31), per_person_limit=None), actor=hr)
    db.session.refresh(unused)
    assert (unused.expires_on, unused.reminded_on) == (date(2026, 5, 31), None)

    update_perk(perk.id, perk_data(ends_on=None, per_person_limit=None), actor=hr)
    db.session.refresh(unused)
    assert unused.expires_on is None


def test_an_earlier_last_day_leaves_claims_already_made_as_they_were(hr):
    perk = PerkFactory(ends_on=date(2026, 5, 31), total_stock=None, per_person_limit=None)
    unused = claim_perk(perk.id, UserFactory(), today=TODAY)

    update_perk(perk.id, perk_data(ends_on=date(2026, 5, 10), per_person_limit=None), actor=hr)
    db.session.refresh(unused)
    assert unused.expires_on == date(2026, 5, 31)
    assert claim_perk(perk.id, UserFactory(), today=TODAY).expires_on == date(2026, 5, 10)


def test_a_limit_made_once_ever_counts_the_claims_made_under_the_monthly_one(hr):
    perk = PerkFactory(total_stock=None, per_person_limit=1, limit_period=LimitPeriod.MONTH)
    person = UserFactory()
    claim_perk(perk.id, person, today=company_today())

    update_perk(perk.id, perk_data(per_person_limit=1, limit_period=LimitPeriod.EVER), actor=hr)
    with pytest.raises(LimitReached):
        claim_perk(perk.id, person, today=company_today())
    assert claim_perk(perk.id, UserFactory(), today=company_today()).slot == 1


def test_a_monthly_limit_counts_this_months_claims_made_under_the_old_rule(hr):
    perk = PerkFactory(total_stock=None, per_person_limit=1, limit_period=LimitPeriod.EVER)
    person = UserFactory()
    claim_perk(perk.id, person, today=company_today())

    update_perk(perk.id, perk_data(per_person_limit=2, limit_period=LimitPeriod.MONTH), actor=hr)
    assert claim_perk(perk.id, person, today=company_today()).slot == 2
    with pytest.raises(LimitReached):
        claim_perk(perk.id, person, today=company_today())


def test_a_later_last_day_gives_back_claims_that_expired_at_the_old_one(hr):
    yesterday = company_today() - timedelta(days=1)
    perk = PerkFactory(ends_on=yesterday, total_stock=None, per_person_limit=1)
    person = UserFactory()
    claim = claim_perk(perk.id, person, today=yesterday)
    assert expire_claims() == 1
    db.session.refresh(claim)
    assert claim.status is ClaimStatus.EXPIRED

    next_week = company_today() + timedelta(days=7)
    update_perk(perk.id, perk_data(ends_on=next_week), actor=hr)
    db.session.refresh(claim)
    assert (claim.status, claim.expires_on) == (ClaimStatus.CLAIMED, next_week)
    redeem_claim(claim.reference, UserFactory(roles={Role.REDEEMER}))


def test_a_new_shared_code_reaches_the_unused_claims_that_show_the_old_one(hr):
    """HR corrects a shared code ("STAFF2O" for "STAFF20") or the partner changes it: the
    claims made before showed the old one at the counter, which the partner refuses. Used
    claims keep the code they were used with."""
    perk = PerkFactory(code_mode=CodeMode.SHARED, shared_code="STAFF2O", per_person_limit=None)
    unused = claim_perk(perk.id, UserFactory(), today=TODAY)
    used = claim_perk(perk.id, UserFactory(), today=TODAY)
    redeem_claim(used.reference, UserFactory(roles={Role.REDEEMER}))

    update_perk(
        perk.id,
        perk_data(code_mode=CodeMode.SHARED, shared_code="STAFF20", per_person_limit=None),
        actor=hr,
    )

    db.session.expire_all()
    assert db.session.get(Claim, unused.id).code == "STAFF20"
    assert db.session.get(Claim, used.id).code == "STAFF2O"
    assert claim_perk(perk.id, UserFactory(), today=TODAY).code == "STAFF20"


def test_a_perks_places_are_kept_in_vietnamese_alphabetical_order(hr):
    places = ["Hà Nội", " Đà Nẵng ", "Cần Thơ", "Đà Nẵng", "An Giang"]
    perk = create_perk(perk_data(locations=places), actor=hr)
    db.session.expire_all()
    assert db.session.get(Perk, perk.id).locations == ["An Giang", "Cần Thơ", "Đà Nẵng", "Hà Nội"]


def test_a_paste_of_more_codes_than_an_import_takes_is_refused_whole(hr, monkeypatch):
    """SECURITY.md: uploads are size-limited. Removing the limit on pasted codes passed every
    test."""
    from perks.catalog import services

    monkeypatch.setattr(services, "MAX_CODES_PER_IMPORT", 3)
    perk = PerkFactory(code_mode=CodeMode.POOL, total_stock=None)
    with pytest.raises(ValidationFailed) as refused:
        import_codes(perk.id, "A-1\nA-2\nA-3\nA-4", actor=hr)
    assert "at most 3 codes" in refused.value.message
    assert "errors" not in refused.value.details  # no line of it is at fault
    assert db.session.scalar(select(func.count()).select_from(PerkCode)) == 0
    assert import_codes(perk.id, "A-1\nA-2\nA-3", actor=hr) == 3


def test_a_gift_perk_made_claimable_then_limited_yearly_files_its_claims_beside_the_gifts(hr):
    """Gifts keep their slots (the year's): a claim re-filed under the same year took slot 1
    beside the person's gift there, and the save failed on the unique slot (a 500)."""
    perk = PerkFactory(
        kind=PerkKind.GIFT, total_stock=None, per_person_limit=1, limit_period=LimitPeriod.MONTH
    )
    person = UserFactory()
    today = company_today()
    gift = grant_gift(perk, person, today=today)
    db.session.commit()
    update_perk(
        perk.id,
        perk_data(
            kind=PerkKind.INTERNAL_VOUCHER, per_person_limit=1, limit_period=LimitPeriod.MONTH
        ),
        actor=hr,
    )
    claimed = claim_perk(perk.id, person, today=today)

    update_perk(
        perk.id,
        perk_data(
            kind=PerkKind.INTERNAL_VOUCHER, per_person_limit=2, limit_period=LimitPeriod.YEAR
        ),
        actor=hr,
    )

    db.session.refresh(gift)
    db.session.refresh(claimed)
    assert (gift.period_key, gift.slot) == (f"{today.year:04d}", 1)
    assert (claimed.period_key, claimed.slot) == (f"{today.year:04d}", 2)
