"""Claiming a perk hands out a code; a claim is used once; ended claims expire."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from perks.audit import AuditEvent
from perks.catalog.claims import (
    claim_perk,
    company_today,
    expire_claims,
    find_claim_by_code,
    mark_claim_used,
    my_claims,
    redeem_claim,
)
from perks.catalog.models import (
    Allocation,
    Claim,
    ClaimStatus,
    CodeMode,
    Perk,
    PerkCode,
    PerkKind,
    PerkStatus,
)
from perks.errors import Conflict, NotEligible, NotFound, SoldOut
from perks.extensions import db
from perks.i18n import format_day
from perks.i18n import format_moment as format_datetime
from perks.people.models import Role
from tests.factories import PerkFactory, UserFactory

TODAY = date(2026, 5, 4)


@pytest.fixture(autouse=True)
def _in_english(app, _app_context):  # type: ignore[no-untyped-def]
    """Messages are asserted in English (outside a request the default language applies)."""
    with force_locale("en"):
        yield


def claim_for_someone(perk: Perk, **user_fields: object) -> Claim:
    return claim_perk(perk.id, UserFactory(**user_fields), today=TODAY)


def used_message(claim: Claim, name: str) -> str:
    db.session.refresh(claim)
    return f"Already used on {format_datetime(claim.used_at, 'short')} by {name}."


# --- codes ----------------------------------------------------------------------------------


def test_a_voucher_perk_gives_the_claim_reference_as_the_code():
    perk = PerkFactory(code_mode=CodeMode.VOUCHER)
    claim = claim_for_someone(perk)
    assert re.fullmatch(r"PK-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", claim.reference)
    assert claim.code == claim.reference
    assert claim.status is ClaimStatus.CLAIMED
    assert claim.source == "claim"
    assert (claim.period_key, claim.slot) == ("ever", 1)


def test_every_claim_gets_its_own_reference():
    perk = PerkFactory(per_person_limit=None)
    person = UserFactory()
    references = {claim_perk(perk.id, person, today=TODAY).reference for _ in range(20)}
    assert len(references) == 20


def test_a_shared_code_perk_gives_everyone_the_same_code():
    perk = PerkFactory(code_mode=CodeMode.SHARED, shared_code="STAFF20")
    first, second = claim_for_someone(perk), claim_for_someone(perk)
    assert first.code == second.code == "STAFF20"
    assert first.reference != second.reference


def test_a_pool_perk_hands_out_distinct_codes_and_sells_out_when_they_run_out():
    perk = PerkFactory(code_mode=CodeMode.POOL, codes=["AAA-1", "BBB-2", "CCC-3"])
    claims = [claim_for_someone(perk) for _ in range(3)]
    assert sorted(c.code for c in claims) == ["AAA-1", "BBB-2", "CCC-3"]
    owners = dict(db.session.execute(select(PerkCode.code, PerkCode.claim_id)).all())
    assert owners == {c.code: c.id for c in claims}
    with pytest.raises(SoldOut, match=r"^Sold out\.$"):
        claim_for_someone(perk)
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 3


def test_a_pool_code_is_not_handed_out_again_after_a_refused_claim():
    perk = PerkFactory(code_mode=CodeMode.POOL, codes=["ONLY-ONE", "SECOND"])
    person = UserFactory()
    first = claim_perk(perk.id, person, today=TODAY)
    with pytest.raises(Conflict):  # the limit, once ever
        claim_perk(perk.id, person, today=TODAY)
    assert claim_for_someone(perk).code != first.code


# --- stock ----------------------------------------------------------------------------------


def test_counted_stock_goes_down_with_each_claim_and_never_below_zero():
    perk = PerkFactory(total_stock=2)
    claim_for_someone(perk)
    db.session.refresh(perk)
    assert perk.remaining_stock == 1
    claim_for_someone(perk)
    db.session.refresh(perk)
    assert perk.remaining_stock == 0
    for _ in range(3):
        with pytest.raises(SoldOut):
            claim_for_someone(perk)
    db.session.refresh(perk)
    assert perk.remaining_stock == 0
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 2


def test_unlimited_stock_is_never_sold_out():
    perk = PerkFactory(total_stock=None)
    for _ in range(5):
        claim_for_someone(perk)
    db.session.refresh(perk)
    assert perk.remaining_stock is None


def test_the_database_refuses_a_negative_stock():
    perk = PerkFactory(total_stock=1)
    negative = update(Perk).where(Perk.id == perk.id).values(remaining_stock=-1)
    with pytest.raises(IntegrityError):
        db.session.execute(negative)
    db.session.rollback()


def test_a_refused_claim_takes_no_stock():
    perk = PerkFactory(total_stock=5, per_person_limit=1)
    person = UserFactory()
    claim_perk(perk.id, person, today=TODAY)
    with pytest.raises(Conflict):
        claim_perk(perk.id, person, today=TODAY)
    db.session.refresh(perk)
    assert perk.remaining_stock == 4


# --- what cannot be claimed directly --------------------------------------------------------


def test_a_draw_perk_cannot_be_claimed_directly():
    perk = PerkFactory(allocation=Allocation.DRAW, kind=PerkKind.EXPERIENCE, total_stock=3)
    with pytest.raises(NotEligible, match="allocated by a draw"):
        claim_for_someone(perk)
    db.session.refresh(perk)
    assert perk.remaining_stock == 3


@pytest.mark.parametrize("status", [PerkStatus.DRAFT, PerkStatus.ARCHIVED])
def test_a_perk_staff_cannot_see_is_not_found(status):
    perk = PerkFactory(status=status)
    with pytest.raises(NotFound):
        claim_for_someone(perk)


def test_an_unknown_perk_is_not_found():
    with pytest.raises(NotFound):
        claim_perk(999_999, UserFactory(), today=TODAY)


# --- using a claim --------------------------------------------------------------------------


def test_a_person_marks_their_own_claim_used_once():
    perk = PerkFactory()
    person = UserFactory(name="Trần Thị Mai")
    claim = claim_perk(perk.id, person, today=TODAY)

    used = mark_claim_used(claim.id, person)
    assert used.status is ClaimStatus.USED
    assert used.used_by_id == person.id
    assert used.used_at is not None

    with pytest.raises(Conflict) as again:
        mark_claim_used(claim.id, person)
    assert again.value.message == used_message(claim, "Trần Thị Mai")


def test_another_persons_claim_is_not_found_when_marking_it_used():
    claim = claim_for_someone(PerkFactory())
    with pytest.raises(NotFound):
        mark_claim_used(claim.id, UserFactory())
    db.session.refresh(claim)
    assert claim.status is ClaimStatus.CLAIMED


def test_an_expired_claim_cannot_be_used():
    perk = PerkFactory(ends_on=TODAY)
    person = UserFactory()
    claim = claim_perk(perk.id, person, today=TODAY)
    expire_claims(today=TODAY + timedelta(days=1))
    with pytest.raises(Conflict, match=r"^This claim is expired\.$"):
        mark_claim_used(claim.id, person)


def test_a_claim_past_its_last_day_cannot_be_used_before_the_scheduled_run_expires_it():
    yesterday = company_today() - timedelta(days=1)
    perk = PerkFactory(ends_on=yesterday)
    person = UserFactory()
    claim = claim_perk(perk.id, person, today=yesterday)
    other = claim_perk(perk.id, UserFactory(), today=yesterday)
    assert claim.status is ClaimStatus.CLAIMED  # the scheduled run has not come by yet

    ended = f"This claim ended on {format_day(yesterday)}."
    with pytest.raises(Conflict, match=re.escape(ended)):
        redeem_claim(claim.reference, UserFactory(roles={Role.REDEEMER}))
    with pytest.raises(Conflict, match=re.escape(ended)):
        mark_claim_used(other.id, other.user)
    db.session.refresh(claim)
    assert claim.status is ClaimStatus.CLAIMED


def test_my_claims_lists_only_the_persons_own_claims():
    person = UserFactory()
    mine = [claim_perk(PerkFactory().id, person, today=TODAY) for _ in range(2)]
    claim_for_someone(PerkFactory())
    assert {c.id for c in my_claims(person)} == {c.id for c in mine}


# --- redemption at a partner's counter ------------------------------------------------------


def test_a_redeemer_finds_a_claim_by_its_reference_in_any_case_with_spaces_around():
    claim = claim_for_someone(PerkFactory())
    assert find_claim_by_code(f"  {claim.reference.lower()}\t").id == claim.id


def test_a_redeemer_redeems_a_claim_by_reference_and_it_is_audited():
    claim = claim_for_someone(PerkFactory())
    redeemer = UserFactory(roles={Role.REDEEMER}, name="Lê Quầy")
    redeemed = redeem_claim(f" {claim.reference.lower()} ", redeemer)
    assert redeemed.id == claim.id
    assert redeemed.status is ClaimStatus.USED
    assert redeemed.used_by_id == redeemer.id
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "catalog.claim_redeemed")
    )
    assert event.actor_id == redeemer.id
    assert event.details["reference"] == claim.reference


def test_a_redeemer_redeems_a_pool_claim_by_its_partner_code():
    perk = PerkFactory(code_mode=CodeMode.POOL, codes=["Grab-x7Q2"])
    claim = claim_for_someone(perk)
    redeemer = UserFactory(roles={Role.REDEEMER})
    assert redeem_claim(" GRAB-X7Q2 ", redeemer).id == claim.id


def test_a_second_redemption_says_when_and_by_whom_it_was_used():
    claim = claim_for_someone(PerkFactory())
    first = UserFactory(roles={Role.REDEEMER}, name="Phạm Quầy Một")
    redeem_claim(claim.reference, first)
    with pytest.raises(Conflict) as again:
        redeem_claim(claim.reference, UserFactory(roles={Role.REDEEMER}))
    assert again.value.message == used_message(claim, "Phạm Quầy Một")
    assert "Phạm Quầy Một" in again.value.message


def test_a_claim_used_by_its_owner_cannot_then_be_redeemed():
    person = UserFactory(name="Võ Chủ")
    claim = claim_perk(PerkFactory().id, person, today=TODAY)
    mark_claim_used(claim.id, person)
    with pytest.raises(Conflict, match="by Võ Chủ"):
        redeem_claim(claim.reference, UserFactory(roles={Role.REDEEMER}))


@pytest.mark.parametrize("code", ["PK-2222-2222", "NO-SUCH-CODE"])
def test_an_unknown_code_is_not_found(code):
    claim_for_someone(PerkFactory())
    with pytest.raises(NotFound, match=f"No claim has the code {code}"):
        redeem_claim(f" {code} ", UserFactory(roles={Role.REDEEMER}))


def test_a_blank_code_asks_for_one():
    with pytest.raises(NotFound, match="Enter or scan a code"):
        find_claim_by_code("   ")


def test_a_pool_code_handed_out_by_two_perks_needs_the_reference():
    first = claim_for_someone(PerkFactory(code_mode=CodeMode.POOL, codes=["SAVE10-001"]))
    second = claim_for_someone(PerkFactory(code_mode=CodeMode.POOL, codes=["SAVE10-001"]))
    redeemer = UserFactory(roles={Role.REDEEMER})
    with pytest.raises(Conflict, match="Several claims have the code save10-001:"):
        redeem_claim("save10-001", redeemer)
    assert db.session.get(Claim, first.id).status is ClaimStatus.CLAIMED
    assert db.session.get(Claim, second.id).status is ClaimStatus.CLAIMED
    assert redeem_claim(second.reference, redeemer).id == second.id


def test_a_shared_code_alone_does_not_identify_a_claim():
    perk = PerkFactory(code_mode=CodeMode.SHARED, shared_code="STAFF20")
    claim_for_someone(perk)
    with pytest.raises(NotFound):
        find_claim_by_code("STAFF20")


@pytest.mark.parametrize("typed", ["SENVANG-CGV", " senvang cgv ", "SENVANGCGV"])
def test_a_shared_code_says_it_is_everyones_and_asks_for_the_reference(typed):
    perk = PerkFactory(code_mode=CodeMode.SHARED, shared_code="SENVANG-CGV", title_en="CGV")
    claim_for_someone(perk)
    with pytest.raises(NotFound) as looked_up:
        find_claim_by_code(typed)
    # Not "No claim has the code": every claim of the perk has it.
    assert looked_up.value.message == (
        f"{typed.strip()} is the code everyone who claims CGV gets: scan the QR code or type "
        "the claim reference instead."
    )


# --- expiry ---------------------------------------------------------------------------------


def test_claims_expire_the_day_after_the_perk_ends_and_expiring_again_changes_nothing():
    last_day = company_today()  # a claim is used on a day it can still be used
    perk = PerkFactory(ends_on=last_day, per_person_limit=None)
    person = UserFactory()
    waiting = [claim_perk(perk.id, person, today=last_day) for _ in range(2)]
    used = claim_perk(perk.id, person, today=last_day)
    mark_claim_used(used.id, person)
    open_ended = claim_for_someone(PerkFactory(ends_on=None))

    day_after = last_day + timedelta(days=1)
    assert expire_claims(today=last_day) == 0
    assert expire_claims(today=day_after) == 2
    assert expire_claims(today=day_after) == 0
    assert expire_claims(today=last_day + timedelta(days=1500)) == 0

    statuses = {c.id: db.session.get(Claim, c.id).status for c in [*waiting, used, open_ended]}
    assert statuses == {
        waiting[0].id: ClaimStatus.EXPIRED,
        waiting[1].id: ClaimStatus.EXPIRED,
        used.id: ClaimStatus.USED,
        open_ended.id: ClaimStatus.CLAIMED,
    }


def test_an_expired_claim_still_counts_against_the_limit():
    perk = PerkFactory(ends_on=date(2026, 12, 31), per_person_limit=1)
    person = UserFactory()
    claim_perk(perk.id, person, today=date(2026, 3, 1))
    expire_claims(today=date(2027, 1, 1))
    perk.ends_on = None
    db.session.commit()
    with pytest.raises(Conflict, match="Limit reached"):
        claim_perk(perk.id, person, today=date(2027, 1, 2))


def test_the_daily_tick_expires_ended_claims_once(runner):
    yesterday = company_today() - timedelta(days=1)
    perk = PerkFactory(ends_on=yesterday)
    claim = claim_perk(perk.id, UserFactory(), today=yesterday)
    still_open = claim_for_someone(PerkFactory(ends_on=company_today()))

    first = runner.invoke(args=["perks", "tick"])
    assert first.exit_code == 0, first.output
    assert "Claims expired: 1" in first.output
    second = runner.invoke(args=["perks", "tick"])
    assert second.exit_code == 0, second.output
    assert "Claims expired: 0" in second.output

    assert db.session.get(Claim, claim.id).status is ClaimStatus.EXPIRED
    assert db.session.get(Claim, still_open.id).status is ClaimStatus.CLAIMED
