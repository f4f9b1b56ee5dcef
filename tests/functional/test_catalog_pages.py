"""Employees browse and claim perks, use their codes, enter draws and read the rules;
redeemers check codes at the counter. Through the pages, in English and Vietnamese."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from perks.catalog import claims, draws
from perks.catalog.models import (
    Claim,
    ClaimStatus,
    CodeMode,
    DrawEntry,
    EntryOutcome,
    LimitPeriod,
    PerkCategory,
    PerkKind,
    PerkStatus,
)
from perks.extensions import db
from perks.i18n import company_today
from perks.i18n import format_day as format_date
from perks.people.models import EmploymentType, Role
from tests import factories
from tests.helpers import PUBLIC_VALUE, login, make_draw, text_of


def card_ids(response) -> set[int]:  # type: ignore[no-untyped-def]
    html = response.get_data(as_text=True)
    return {int(i) for i in re.findall(r'data-testid="perk-card" data-perk-id="(\d+)"', html)}


def claim_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Claim)) or 0


def draw_perk(**fields: object):  # type: ignore[no-untyped-def]
    return factories.DrawFactory(**fields)


# --- the catalog ----------------------------------------------------------------------------


def test_catalog_shows_each_reason_a_person_cannot_claim(client, login_as):
    sales = factories.DepartmentFactory(name="Sales")
    support = factories.DepartmentFactory(name="Support")
    person = login_as(Role.EMPLOYEE, department=support)
    open_perk = factories.PerkFactory(title_en="Cinema tickets")
    sales_only = factories.PerkFactory(title_en="Sales lunch", departments=[sales])
    sold_out = factories.PerkFactory(title_en="Gym pass", total_stock=0)
    yearly = factories.PerkFactory(title_en="Spa day", limit_period=LimitPeriod.YEAR)
    veterans = factories.PerkFactory(title_en="Long service", min_tenure_days=100_000)
    contractors = factories.PerkFactory(
        title_en="Contractor kit", employment_types=[EmploymentType.CONTRACTOR.value]
    )
    draft = factories.PerkFactory(title_en="Secret draft", status=PerkStatus.DRAFT)
    claims.claim_perk(yearly.id, person)

    response = client.get("/perks")

    assert response.status_code == 200
    page = text_of(response)
    assert card_ids(response) == {
        open_perk.id,
        sales_only.id,
        sold_out.id,
        yearly.id,
        veterans.id,
        contractors.id,
    }
    assert draft.id not in card_ids(response)
    assert "Only for Sales." in page
    assert "Sold out." in page
    next_year = claims.company_today().replace(year=claims.company_today().year + 1, month=1, day=1)
    with force_locale("en"):
        assert f"Limit reached: next claim from {format_date(next_year, 'long')}." in page
    assert "1 January" in page
    assert "After 100,000 days with the company" in page
    assert "Only for: Contractor." in page
    assert "You can claim this" in page


def test_catalog_shows_availability_and_allocation(client, login_as):
    login_as(Role.EMPLOYEE)
    factories.PerkFactory(title_en="Counted", total_stock=12)
    factories.PerkFactory(title_en="Pooled", code_mode=CodeMode.POOL, codes=["A", "B", "C"])
    factories.PerkFactory(title_en="Endless", total_stock=None)
    draw_perk()

    page = text_of(client.get("/perks"))

    assert "12 left" in page
    assert "3 left" in page
    assert "Unlimited" in page
    assert "2 seats" in page
    assert "Fair draw" in page
    assert "First come, first served" in page


def test_the_claimable_filter_keeps_only_what_the_person_can_claim(client, login_as):
    sales = factories.DepartmentFactory(name="Sales")
    login_as(Role.EMPLOYEE)
    mine = factories.PerkFactory(title_en="For me")
    factories.PerkFactory(title_en="Not for me", departments=[sales])
    factories.PerkFactory(title_en="All gone", total_stock=0)
    draw = draw_perk()

    response = client.get("/perks?claimable=y")

    assert response.status_code == 200
    assert card_ids(response) == {mine.id, draw.perk.id}
    assert re.search(r'<input checked[^>]*name="claimable"', response.get_data(as_text=True))


def test_search_looks_in_title_partner_and_description_of_the_page_language(client, login_as):
    login_as(Role.EMPLOYEE)
    coffee = factories.PerkFactory(
        title_en="Coffee 20% off", title_vi="Giảm 20% cà phê", partner_name="Highlands"
    )
    spa = factories.PerkFactory(
        title_en="Spa", description_en="A relaxing massage", description_vi="Mát-xa thư giãn"
    )
    factories.PerkFactory(title_en="Cinema", title_vi="Rạp phim")

    assert card_ids(client.get("/perks?q=coffee")) == {coffee.id}
    assert card_ids(client.get("/perks?q=HIGHLANDS")) == {coffee.id}
    assert card_ids(client.get("/perks?q=massage")) == {spa.id}
    # Vietnamese text is not searched on an English page...
    assert card_ids(client.get("/perks?q=thư giãn")) == set()
    # ...and percent signs are text, not wildcards.
    assert card_ids(client.get("/perks?q=20%")) == {coffee.id}
    assert "No perks match" in text_of(client.get("/perks?q=nothing-like-this"))


def test_search_in_vietnamese(client, login_as):
    login_as(Role.EMPLOYEE, locale="vi")
    spa = factories.PerkFactory(title_en="Spa", description_vi="Mát-xa thư giãn")
    factories.PerkFactory(title_en="Cinema", title_vi="Rạp phim")

    assert card_ids(client.get("/perks?q=thư giãn")) == {spa.id}
    # as a phone keyboard without Telex types it, and in capitals
    assert card_ids(client.get("/perks?q=thu gian")) == {spa.id}
    assert card_ids(client.get("/perks?q=MÁT-XA")) == {spa.id}


def test_category_filter(client, login_as):
    login_as(Role.EMPLOYEE)
    trip = factories.PerkFactory(category=PerkCategory.TRAVEL)
    factories.PerkFactory(category=PerkCategory.FOOD_DRINK)

    assert card_ids(client.get("/perks?category=travel")) == {trip.id}
    assert client.get("/perks?category=not-a-category").status_code == 400


def test_gifts_are_not_in_the_catalog(client, login_as):
    login_as(Role.EMPLOYEE)
    gift = factories.PerkFactory(kind=PerkKind.GIFT)

    assert gift.id not in card_ids(client.get("/perks"))


# --- a perk's page and claiming ------------------------------------------------------------


def test_perk_page_shows_description_terms_rules_and_the_claim_button(client, login_as):
    sales = factories.DepartmentFactory(name="Sales")
    login_as(Role.EMPLOYEE, department=sales)
    perk = factories.PerkFactory(
        title_en="Coffee",
        description_en="Any drink.\nAny size.",
        terms_en="Show the code.",
        departments=[sales],
        min_tenure_days=30,
        per_person_limit=2,
        limit_period=LimitPeriod.MONTH,
        total_stock=5,
    )

    response = client.get(f"/perks/{perk.id}")

    assert response.status_code == 200
    page = text_of(response)
    assert "Any drink." in page
    assert "Any size." in page
    assert "Show the code." in page
    assert "Only people in: Sales." in page
    assert "After 30 days with the company." in page
    assert "2 per person per calendar month." in page
    assert "5 in total, 5 left." in page
    assert 'data-testid="claim"' in response.get_data(as_text=True)


def test_the_perk_page_counts_claims_in_the_current_period_only_for_periodic_limits(
    client, login_as
):
    """A "1 per person, ever" perk's page said "You have claimed this 1 time in the current
    period": an ever limit has no period."""
    person = login_as(Role.EMPLOYEE)
    ever = factories.PerkFactory(per_person_limit=1, limit_period=LimitPeriod.EVER)
    monthly = factories.PerkFactory(per_person_limit=2, limit_period=LimitPeriod.MONTH)
    claims.claim_perk(ever.id, person)
    claims.claim_perk(monthly.id, person)

    ever_page = text_of(client.get(f"/perks/{ever.id}"))
    assert "You have claimed this 1 time." in ever_page
    assert "current period" not in ever_page
    assert "You have claimed this 1 time in the current period." in text_of(
        client.get(f"/perks/{monthly.id}")
    )
    client.post("/language", data={"locale": "vi"})
    assert "Bạn đã nhận ưu đãi này 1 lần." in text_of(client.get(f"/perks/{ever.id}"))


@pytest.mark.parametrize("status", [PerkStatus.DRAFT, PerkStatus.ARCHIVED])
def test_unpublished_perks_are_hidden_from_employees_but_hr_can_preview(client, login_as, status):
    perk = factories.PerkFactory(status=status)
    login_as(Role.EMPLOYEE)
    assert client.get(f"/perks/{perk.id}").status_code == 404
    assert client.post(f"/perks/{perk.id}/claim").status_code == 404
    client.post("/logout")
    login_as(Role.HR)
    preview = client.get(f"/perks/{perk.id}")
    assert preview.status_code == 200
    assert "Preview" in text_of(preview)


def test_claiming_shows_the_code_and_a_qr_code_of_the_reference(client, login_as):
    person = login_as(Role.EMPLOYEE)
    perk = factories.PerkFactory(title_en="Cinema", code_mode=CodeMode.POOL, codes=["CGV-111"])

    response = client.post(f"/perks/{perk.id}/claim")

    claim = db.session.scalars(select(Claim)).one()
    assert claim.user_id == person.id
    assert response.status_code == 302
    assert response.headers["Location"] == f"/my-perks/{claim.id}"
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "CGV-111" in html
    assert claim.reference in html
    assert re.search(r'data-testid="claim-qr">\s*<svg', html)
    assert "It is yours" in html  # the flash


def test_a_get_never_claims(client, login_as):
    login_as(Role.EMPLOYEE)
    perk = factories.PerkFactory()

    assert client.get(f"/perks/{perk.id}/claim").status_code == 405
    assert client.get(f"/perks/{perk.id}/enter").status_code == 405
    assert claim_count() == 0


def test_refused_claims_show_the_reason_with_a_4xx(client, login_as):
    sales = factories.DepartmentFactory(name="Sales")
    login_as(Role.EMPLOYEE)
    sales_only = factories.PerkFactory(departments=[sales])
    sold_out = factories.PerkFactory(total_stock=0)
    once = factories.PerkFactory()

    refused = client.post(f"/perks/{sales_only.id}/claim")
    assert refused.status_code == 403
    assert "Only for Sales." in text_of(refused)

    refused = client.post(f"/perks/{sold_out.id}/claim")
    assert refused.status_code == 409
    assert "Sold out." in text_of(refused)

    assert client.post(f"/perks/{once.id}/claim").status_code == 302
    refused = client.post(f"/perks/{once.id}/claim")
    assert refused.status_code == 409
    assert "Limit reached." in text_of(refused)
    assert claim_count() == 1


def test_a_draw_perk_cannot_be_claimed_first_come(client, login_as):
    login_as(Role.EMPLOYEE)
    draw = draw_perk()

    refused = client.post(f"/perks/{draw.perk.id}/claim")

    assert refused.status_code == 403
    assert "enter the draw instead" in text_of(refused)


# --- my perks and marking used --------------------------------------------------------------


def test_my_perks_lists_claims_with_their_status(client, login_as):
    person = login_as(Role.EMPLOYEE)
    used = claims.claim_perk(factories.PerkFactory(title_en="Used one").id, person)
    claims.mark_claim_used(used.id, person)
    claims.claim_perk(factories.PerkFactory(title_en="Fresh one").id, person)
    other = factories.UserFactory()
    claims.claim_perk(factories.PerkFactory(title_en="Not mine").id, other)

    page = text_of(client.get("/my-perks"))

    assert "Used one" in page
    assert "Fresh one" in page
    assert "Not mine" not in page
    assert "Used" in page
    assert "Claimed" in page
    assert person.name in page  # who marked it used


def test_marking_used_twice_says_when_and_by_whom(client, login_as):
    person = login_as(Role.EMPLOYEE, name="Trần Thị Lan")
    claim = claims.claim_perk(factories.PerkFactory().id, person)

    first = client.post(f"/my-perks/{claim.id}/used")
    assert first.status_code == 302
    page = text_of(client.get(f"/my-perks/{claim.id}"))
    assert "Marked as used." in page
    assert "Used" in page
    assert "by Trần Thị Lan" in page

    second = client.post(f"/my-perks/{claim.id}/used")
    assert second.status_code == 409
    assert re.search(r"Already used on .+ by Trần Thị Lan\.", text_of(second))


def test_the_claim_page_asks_to_show_the_code_only_while_it_can_be_used(client, login_as):
    """A used or expired claim's page told its holder to show the code at the counter."""
    person = login_as(Role.EMPLOYEE)
    yesterday = company_today() - timedelta(days=1)
    used = claims.claim_perk(factories.PerkFactory().id, person)
    ended = claims.claim_perk(factories.PerkFactory(ends_on=yesterday).id, person, today=yesterday)
    claims.mark_claim_used(used.id, person)
    claims.expire_claims()
    fresh = claims.claim_perk(factories.PerkFactory().id, person)

    def label(claim: Claim) -> str:
        return text_of(client.get(f"/my-perks/{claim.id}"))

    assert "Your code: show it or read it out at the counter" in label(fresh)
    assert "Your code (used)" in label(used)
    assert "show it or read it out" not in label(used)
    assert "Your code (no longer valid)" in label(ended)
    assert "show it or read it out" not in label(ended)


def test_a_claim_past_its_last_day_is_no_longer_valid_before_the_expiry_run(client, login_as):
    """A claim past its last day that the scheduled run had not yet marked expired still
    offered "Mark as used" and asked to show the code at the counter (using it was refused)."""
    person = login_as(Role.EMPLOYEE)
    yesterday = company_today() - timedelta(days=1)
    ended = claims.claim_perk(factories.PerkFactory(ends_on=yesterday).id, person, today=yesterday)
    assert ended.status is ClaimStatus.CLAIMED  # the expiry run has not been yet

    response = client.get(f"/my-perks/{ended.id}")
    text = text_of(response)
    assert 'data-testid="mark-used"' not in response.get_data(as_text=True)
    assert "show it or read it out" not in text
    assert "Your code (no longer valid)" in text
    assert "Expired" in text
    row = client.get("/my-perks").get_data(as_text=True).split(f'data-claim-id="{ended.id}"')[1]
    assert "Expired" in row.split("</tr>")[0]


def test_another_persons_claim_is_not_found(client, login_as):
    login_as(Role.EMPLOYEE)
    other = factories.UserFactory()
    theirs = claims.claim_perk(factories.PerkFactory().id, other)

    assert client.get(f"/my-perks/{theirs.id}").status_code == 404
    assert client.post(f"/my-perks/{theirs.id}/used").status_code == 404
    assert client.get("/my-perks/999999").status_code == 404
    db.session.expire_all()
    assert db.session.get(Claim, theirs.id).status is ClaimStatus.CLAIMED


# --- the redeemer's counter -----------------------------------------------------------------


def test_redeemer_looks_up_a_code_and_marks_it_used_once(client, login_as):
    owner = factories.UserFactory(name="Lê Văn Nam")
    perk = factories.PerkFactory(title_en="Buffet", code_mode=CodeMode.POOL, codes=["BUF-9"])
    claim = claims.claim_perk(perk.id, owner)
    redeemer = login_as(Role.REDEEMER, name="Quầy Lễ Tân")

    assert client.get("/redeem").status_code == 200
    found = client.get("/redeem?code=buf-9")  # the partner code, typed in lower case
    assert found.status_code == 200
    page = text_of(found)
    assert "Buffet" in page
    assert "Lê Văn Nam" in page
    assert "Claimed" in page
    assert claim.reference in page

    used = client.post("/redeem/use", data={"code": claim.reference})
    assert used.status_code == 302
    assert used.headers["Location"] == f"/redeem?code={claim.reference}"
    after = text_of(client.get(used.headers["Location"]))
    assert "Marked as used: Buffet for Lê Văn Nam." in after
    assert "by Quầy Lễ Tân" in after

    again = client.post("/redeem/use", data={"code": claim.reference})
    assert again.status_code == 409
    assert re.search(r"Already used on .+ by Quầy Lễ Tân\.", text_of(again))
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).used_by_id == redeemer.id


def test_a_second_use_at_the_counter_says_in_vietnamese_who_marked_it_not_who_used_it(
    client, login_as
):
    """The redeemer marked it used; the owner used it. The Vietnamese said the redeemer had
    used the perk ("Đã được <redeemer> sử dụng")."""
    claim = claims.claim_perk(factories.PerkFactory().id, factories.UserFactory())
    login_as(Role.REDEEMER, name="Quầy Lễ Tân", locale="vi")
    client.post("/language", data={"locale": "vi"})
    assert client.post("/redeem/use", data={"code": claim.reference}).status_code == 302

    again = text_of(client.post("/redeem/use", data={"code": claim.reference}))

    assert re.search(r"Đã sử dụng lúc .+, do Quầy Lễ Tân xác nhận\.", again)
    assert "Đã được Quầy Lễ Tân sử dụng" not in again


def test_the_counter_offers_no_button_for_a_claim_past_its_last_day(client, login_as):
    """Before the scheduled run marks it expired, the counter page already says the claim
    ended, instead of a "Mark as used" the counter would be refused."""
    yesterday = company_today() - timedelta(days=1)
    perk = factories.PerkFactory(title_en="Spa", ends_on=yesterday)
    claim = claims.claim_perk(perk.id, factories.UserFactory(), today=yesterday)
    login_as(Role.REDEEMER)

    page = client.get(f"/redeem?code={claim.reference}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert 'data-testid="redeem-use"' not in page.text
    with force_locale("en"):
        ended = f"This claim ended on {format_date(yesterday)}."
    assert ended in text_of(page)


def test_the_counter_shows_a_claim_past_its_last_day_as_expired_not_claimed(client, login_as):
    """As its holder's pages do (``claims.status_now``): a blue "Claimed" badge beside
    "This claim ended on ..." left the counter wondering which to believe."""
    yesterday = company_today() - timedelta(days=1)
    perk = factories.PerkFactory(title_en="Spa", ends_on=yesterday)
    claim = claims.claim_perk(perk.id, factories.UserFactory(), today=yesterday)
    login_as(Role.REDEEMER)

    page = client.get(f"/redeem?code={claim.reference}")

    badge = re.search(r'data-testid="claim-status">([^<]*)<', page.text)
    assert badge is not None
    assert badge.group(1) == "Expired"


def test_redeemer_with_an_unknown_code_gets_a_404_message(client, login_as):
    login_as(Role.REDEEMER)

    response = client.get("/redeem?code=PK-NOPE-NOPE")
    assert response.status_code == 404
    assert "No claim has the code PK-NOPE-NOPE." in text_of(response)

    response = client.post("/redeem/use", data={"code": "PK-NOPE-NOPE"})
    assert response.status_code == 404
    assert client.get("/redeem?code=").status_code == 400


def test_only_redeemers_use_the_counter(client, login_as):
    login_as(Role.EMPLOYEE)
    claim = claims.claim_perk(factories.PerkFactory().id, factories.UserFactory())

    assert client.get("/redeem").status_code == 403
    assert client.post("/redeem/use", data={"code": claim.reference}).status_code == 403


# --- draws ----------------------------------------------------------------------------------


def test_draw_page_publishes_the_commitment_and_keeps_the_seed_secret(client, login_as):
    login_as(Role.EMPLOYEE)
    draw = draw_perk(show_names=False)
    seed = draw.seed
    draw_id, perk_id = draw.id, draw.perk.id

    for url in (f"/draws/{draw_id}", f"/perks/{perk_id}", "/perks", "/rules", "/my-perks"):
        html = client.get(url).get_data(as_text=True)
        assert seed not in html, url
    html = client.get(f"/draws/{draw_id}").get_data(as_text=True)
    assert draw.commitment in html
    assert "Secret until the draw" in html
    assert "draw-data" not in html
    assert f"flask perks verify-draw {draw_id}" in html
    exact = "SHA-256(seed + ':' + entries hash + ':' + public value + ':' + key)"
    assert exact in text_of(client.get(f"/draws/{draw_id}"))
    client.post("/language", data={"locale": "vi"})
    # the exact method in the reader's language, not English pseudo-code
    page = text_of(client.get(f"/draws/{draw_id}"))
    exact_vi = (
        "SHA-256(giá trị khởi tạo + ':' + mã băm danh sách + ':' + giá trị công khai + ':' + mã)"
    )
    assert exact_vi in page
    assert "Vì sao không ai lái được kết quả" in page


def test_the_draw_page_of_an_archived_perk_links_to_no_page_its_reader_cannot_open(
    client, login_as
):
    """Entrants reach a made draw from their perks and their notifications after HR has
    archived its perk: its breadcrumb led them to the perk's page, a 404."""
    login_as(Role.EMPLOYEE)
    draw = draw_perk()
    draw.status = draws.DrawStatus.DRAWN
    draw.perk.status = PerkStatus.ARCHIVED
    db.session.commit()
    draw_id, perk_id = draw.id, draw.perk.id

    html = client.get(f"/draws/{draw_id}").get_data(as_text=True)

    assert client.get(f"/perks/{perk_id}").status_code == 404
    assert f'href="/perks/{perk_id}"' not in html


def test_entering_a_draw_once_then_seeing_the_result(client, login_as):
    person = login_as(Role.EMPLOYEE, name="Hoàng Minh Thư")
    draw = draw_perk(show_names=True)
    perk_id, draw_id, seed = draw.perk.id, draw.id, draw.seed

    entered = client.post(f"/perks/{perk_id}/enter")
    assert entered.status_code == 302
    detail = text_of(client.get(f"/perks/{perk_id}"))
    assert "You are in the draw" in detail
    assert draw.commitment in detail

    again = client.post(f"/perks/{perk_id}/enter")
    assert again.status_code == 409
    assert "You have already entered this draw." in text_of(again)

    entry = db.session.scalars(select(DrawEntry)).one()
    assert entry.user_id == person.id
    make_draw(draw_id, datetime.now(UTC) + timedelta(days=8))

    html = client.get(f"/draws/{draw_id}").get_data(as_text=True)
    assert seed in html
    data = json.loads(re.search(r'id="draw-data">(.*?)</script>', html, re.S)[1])
    made = draws.get_draw(draw_id)
    assert data == {
        "method": 2,
        "seed": seed,
        "commitment": draw.commitment,
        "keys": [entry.key],
        "deprioritised": [],
        "order": [entry.key],
        "seats": made.seats,
        "outcomes": [{"key": entry.key, "place": 1, "outcome": "won"}],
        "entries_hash": made.entries_hash,
        "public_value": PUBLIC_VALUE,
        "public_value_date": made.public_value_date.isoformat(),
        "closed_on": draws.company_date(made.entries_close_at).isoformat(),
        "frozen_on": draws.company_date(made.entries_frozen_at).isoformat(),
    }
    page = text_of(client.get(f"/draws/{draw_id}"))
    assert "Hoàng Minh Thư" in page  # the draw shows names
    assert "Typed in by HR " in page  # when, for anyone to compare with the source
    assert "Won" in page
    assert "Verify in my browser" in page
    mine = text_of(client.get("/my-perks"))
    assert "Won" in mine
    assert "Decline the seat" in mine


def test_draw_names_are_hidden_unless_the_draw_shows_them(client, login_as):
    login_as(Role.EMPLOYEE)
    draw = draw_perk(show_names=False)
    draws.enter_draw(draw.perk.id, factories.UserFactory(name="Tên Bí Mật"))

    page = text_of(client.get(f"/draws/{draw.id}"))

    assert "Tên Bí Mật" not in page
    assert "Entries 1" in page


def test_a_winner_who_declines_gives_the_seat_to_the_next(client, login_as):
    me = login_as(Role.EMPLOYEE)
    draw = draw_perk(perk__total_stock=1)
    other = factories.UserFactory()
    draws.enter_draw(draw.perk.id, me)
    draws.enter_draw(draw.perk.id, other)
    make_draw(draw.id, datetime.now(UTC) + timedelta(days=8))
    entries = {e.user_id: e for e in draws.draw_entries(draw.id)}
    winner, waiting = (me, other) if entries[me.id].outcome is EntryOutcome.WON else (other, me)
    if winner is not me:
        client.post("/logout")
        login(client, winner)
    winning_entry = entries[winner.id].id

    response = client.post(f"/draws/entries/{winning_entry}/decline")

    assert response.status_code == 302
    db.session.expire_all()
    entries = {e.user_id: e for e in draws.draw_entries(draw.id)}
    assert entries[winner.id].outcome is EntryOutcome.DECLINED
    assert entries[waiting.id].outcome is EntryOutcome.WON
    assert db.session.get(Claim, entries[waiting.id].claim_id).user_id == waiting.id
    again = client.post(f"/draws/entries/{winning_entry}/decline")
    assert again.status_code == 409
    assert "Only a winning entry can be declined." in text_of(again)
    # Someone else's entry is not found.
    assert client.post(f"/draws/entries/{entries[waiting.id].id}/decline").status_code == 404


def test_draws_of_draft_perks_are_not_found(client, login_as):
    login_as(Role.EMPLOYEE)
    draw = draw_perk(perk__status=PerkStatus.DRAFT)

    assert client.get(f"/draws/{draw.id}").status_code == 404
    assert client.get("/draws/999999").status_code == 404


# --- rules ----------------------------------------------------------------------------------


def test_rules_page_explains_every_published_perk_in_words(client, login_as):
    sales = factories.DepartmentFactory(name="Sales")
    login_as(Role.EMPLOYEE)
    factories.PerkFactory(
        title_en="Sales lunch",
        departments=[sales],
        locations=["Đà Nẵng"],
        employment_types=[EmploymentType.STAFF.value],
        min_tenure_days=90,
        per_person_limit=1,
        limit_period=LimitPeriod.YEAR,
        total_stock=20,
    )
    factories.PerkFactory(title_en="Free coffee", per_person_limit=None)
    draw_perk(perk__title_en="Resort trip", recent_winner_draws=2)
    factories.PerkFactory(title_en="Hidden", status=PerkStatus.DRAFT)

    response = client.get("/rules")

    assert response.status_code == 200
    page = text_of(response)
    assert "Only people in: Sales." in page
    assert "Only people working in: Đà Nẵng." in page
    assert "Only these employment types: Staff." in page
    assert "After 90 days with the company." in page
    assert "1 per person per calendar year." in page
    assert "20 in total, 20 left." in page
    assert "No limit per person." in page
    assert "Everyone at the company." in page
    assert "Resort trip" in page
    assert "Fair draw" in page
    assert "People who won this perk in the last 2 draws go after everyone else." in page
    assert "Hidden" not in page


def test_the_rules_say_a_reward_costs_points_and_is_not_claimed_first_come(client, login_as):
    login_as(Role.EMPLOYEE)
    perk = factories.PerkFactory(title_en="Spa day", points_price=1500, total_stock=3)

    for url in ("/rules", f"/perks/{perk.id}"):
        rules = text_of(client.get(url))
        assert "A reward: it costs 1,500 points of those colleagues gave you." in rules
        assert "Spend them on the Rewards page, while stock lasts." in rules
        assert "the first eligible people to claim get it" not in rules


def test_the_rules_say_a_gift_is_given_without_a_limit_per_person_or_a_race(client, login_as):
    """A gift is given by gift programmes and awards (``claims.grant_gift``): neither the
    first to claim nor the perk's limit per person decides who has it, or how often."""
    login_as(Role.EMPLOYEE)
    factories.PerkFactory(title_en="Birthday cake", kind=PerkKind.GIFT, per_person_limit=1)

    rules = text_of(client.get("/rules"))

    assert "Given by the company through its gift programmes and awards." in rules
    assert "Each gift programme or award decides how often." in rules
    assert "1 per person, ever." not in rules
    assert "the first eligible people to claim get it" not in rules


def test_a_rewards_page_says_why_the_person_cannot_buy_it(client, login_as):
    """As the Rewards page does: the reason in place of leading them there to find out."""
    sales = factories.DepartmentFactory(name="Sales")
    login_as(Role.EMPLOYEE)
    perk = factories.PerkFactory(title_en="Sales spa", points_price=100, departments=[sales])

    html = client.get(f"/perks/{perk.id}").get_data(as_text=True)

    assert 'data-reason="department"' in html
    assert "Only for Sales." in html


# --- languages ------------------------------------------------------------------------------


def test_pages_speak_vietnamese_to_vietnamese_speakers(client, login_as, vietnamese):
    person = login_as(Role.EMPLOYEE, Role.REDEEMER, locale="vi")
    perk = factories.PerkFactory(title_vi="Vé xem phim", title_en="Cinema", total_stock=0)
    mine = factories.PerkFactory(title_vi="Cà phê", title_en="Coffee")
    claim = claims.claim_perk(mine.id, person)
    draw = draw_perk()

    catalog = text_of(client.get("/perks"))
    assert "Vé xem phim" in catalog
    assert "Cinema" not in catalog
    assert vietnamese("Sold out.") in catalog
    assert vietnamese("I can claim this") in catalog
    assert vietnamese("Who can claim") in text_of(client.get(f"/perks/{perk.id}"))
    assert vietnamese("Everyone at the company.") in text_of(client.get("/rules"))
    assert vietnamese("Mark as used") in text_of(client.get(f"/my-perks/{claim.id}"))
    assert vietnamese("Claims") in text_of(client.get("/my-perks"))
    assert vietnamese("Perk counter: check a code") in text_of(client.get("/redeem"))
    assert vietnamese("How the winners are chosen") in text_of(client.get(f"/draws/{draw.id}"))


def test_pages_speak_english_to_english_speakers(client, login_as):
    login_as(Role.EMPLOYEE, locale="en")
    factories.PerkFactory(title_vi="Vé xem phim", title_en="Cinema", total_stock=0)

    catalog = text_of(client.get("/perks"))

    assert "Cinema" in catalog
    assert "Vé xem phim" not in catalog
    assert "Sold out." in catalog


def test_the_perk_counter_is_called_a_counter_as_the_menu_and_the_order_counter_call_it(
    client, login_as
):
    """The menu says "Counter" and the order counter sends a perk code to "the perk counter",
    but the home page's card and the perk counter's own page said "Front desk"."""
    login_as(Role.EMPLOYEE, Role.REDEEMER, locale="en")

    home = text_of(client.get("/"))
    counter = text_of(client.get("/redeem"))

    assert "Front desk" not in home + counter
    assert "Perk counter: check a code" in counter


# --- images ---------------------------------------------------------------------------------


def test_perk_images_are_served_for_published_perks_only(app, client, login_as):
    from perks import images
    from perks.db import transaction

    login_as(Role.EMPLOYEE)
    with transaction():
        names = [images.save_image(b"\x89PNG\r\n\x1a\nfake") for _ in range(2)]
    published = factories.PerkFactory(image_filename=names[0])
    draft = factories.PerkFactory(image_filename=names[1], status=PerkStatus.DRAFT)
    without = factories.PerkFactory()

    shown = client.get(f"/perks/{published.id}/image")
    assert shown.status_code == 200
    assert shown.data.startswith(b"\x89PNG")
    assert shown.mimetype == "image/png"
    assert shown.cache_control.no_cache  # the bare URL always shows the current image
    # Pages link to it by its name, which changes with the image: cached for a year, by the
    # signed-in person's browser only.
    named = f"/perks/{published.id}/image/{names[0]}"
    assert named in client.get("/perks").get_data(as_text=True)
    cached = client.get(named)
    assert cached.data == shown.data
    assert cached.cache_control.private
    assert cached.cache_control.immutable
    assert cached.cache_control.max_age == 31_536_000
    assert client.get(f"/perks/{published.id}/image/{names[1]}").status_code == 404
    assert client.get(f"/perks/{draft.id}/image").status_code == 404
    assert client.get(f"/perks/{draft.id}/image/{names[1]}").status_code == 404
    assert client.get(f"/perks/{without.id}/image").status_code == 404


def test_a_draw_says_its_winners_are_the_first_in_the_draws_order_not_the_entries(client, login_as):
    login_as(Role.EMPLOYEE, locale="en")
    draw_id = draw_perk(seats=2).id

    page = text_of(client.get(f"/draws/{draw_id}"))
    assert (
        "The first 2 entries in the order the draw gives (not the order people entered in) "
        "win seats" in page
    )
    assert "every line ends with a line break, the last one too" in page
    client.post("/language", data={"locale": "vi"})
    page = text_of(client.get(f"/draws/{draw_id}"))
    assert "2 lượt đứng đầu theo thứ tự do bốc thăm xếp (không phải thứ tự đăng ký)" in page
    assert "kể cả dòng cuối" in page


def test_once_entries_close_the_draw_pages_say_so_before_the_freeze(client, login_as):
    login_as(Role.HR, locale="en")
    draw = draw_perk(entries_close_at=datetime.now(UTC) + timedelta(hours=1))
    draw_id, perk_id = draw.id, draw.perk.id
    assert client.post(f"/perks/{perk_id}/enter").status_code == 302
    with force_locale("en"):
        value_day = format_date(draw.public_value_date)

    mine = text_of(client.get("/my-perks"))
    assert f"drawn once the public value of {value_day} is known" in mine
    assert "Open for entries" in text_of(client.get(f"/draws/{draw_id}"))

    draw.entries_close_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()  # closed; the scheduled run has not frozen the entries yet

    public = client.get(f"/draws/{draw_id}").get_data(as_text=True)
    assert 'data-testid="draw-status">Entries closed<' in public
    admin = client.get(f"/admin/perks/{perk_id}/draw").get_data(as_text=True)
    assert 'data-testid="draw-status-label">Entries closed<' in admin


def test_a_winner_past_the_deadline_is_not_asked_to_decline(client, login_as):
    me = login_as(Role.EMPLOYEE)
    draw = draw_perk(perk__total_stock=1)
    draws.enter_draw(draw.perk.id, me)
    make_draw(draw.id, datetime.now(UTC) + timedelta(days=8))
    entry = draws.draw_entries(draw.id)[0]
    assert entry.outcome is EntryOutcome.WON
    assert "Decline by" in text_of(client.get("/my-perks"))

    entry.decide_by = datetime.now(UTC) - timedelta(days=1)
    db.session.commit()
    mine = text_of(client.get("/my-perks"))
    assert "Won" in mine
    assert "Decline by" not in mine
    assert "Decline the seat" not in mine


def test_a_draw_perk_shows_the_seats_of_this_round_not_all_it_ever_had(client, login_as):
    login_as(Role.EMPLOYEE)
    # Twenty seats in all; last round's ten winners have theirs, this round offers ten.
    draw = draw_perk(perk__total_stock=20, perk__remaining_stock=10)
    assert draw.seats == 10

    for page in (f"/perks/{draw.perk_id}", "/perks"):
        text = text_of(client.get(page))
        assert "10 seats" in text, page
        assert "20 seats" not in text, page
    for page in (f"/perks/{draw.perk_id}", "/rules"):
        text = text_of(client.get(page))
        assert "20 in total, 10 left." in text, page
        assert "20 seats" not in text, page


def test_my_perks_says_entries_closed_once_they_have(client, login_as):
    me = login_as(Role.EMPLOYEE)
    draw = draw_perk()
    draws.enter_draw(draw.perk_id, me)
    assert "Entries close " in text_of(client.get("/my-perks"))

    draw.entries_close_at = datetime.now(UTC) - timedelta(minutes=5)
    db.session.commit()
    mine = text_of(client.get("/my-perks"))
    assert "Entries closed " in mine
    assert "Entries close " not in mine


def test_the_perk_page_says_entries_closed_once_they_have_before_the_freeze(client, login_as):
    """After entries closed, before the scheduled run froze the draw, the perk's page said
    "Entries close <a past time>" next to "You are in the draw"."""
    me = login_as(Role.EMPLOYEE, locale="en")
    draw = draw_perk()
    draws.enter_draw(draw.perk_id, me)
    with force_locale("en"):
        value_day = format_date(draw.public_value_date)
    open_page = text_of(client.get(f"/perks/{draw.perk_id}"))
    assert "Entries close " in open_page
    assert "drawn once the public value" not in open_page

    draw.entries_close_at = datetime.now(UTC) - timedelta(minutes=5)
    db.session.commit()  # closed; the scheduled run has not frozen the entries yet
    page = text_of(client.get(f"/perks/{draw.perk_id}"))
    assert "You are in the draw" in page
    assert "Entries close " not in page
    assert "Entries closed " in page
    assert f"drawn once the public value of {value_day} is known" in page

    client.post("/language", data={"locale": "vi"})
    assert "Đã đóng đăng ký" in text_of(client.get(f"/perks/{draw.perk_id}"))


def test_the_perk_page_of_an_old_method_draw_says_entries_closed_and_the_draw_is_coming(
    client, login_as
):
    me = login_as(Role.EMPLOYEE, locale="en")
    draw = draw_perk(method=1, public_value_source=None, public_value_date=None)
    draws.enter_draw(draw.perk_id, me)
    draw.entries_close_at = datetime.now(UTC) - timedelta(minutes=5)
    db.session.commit()
    page = text_of(client.get(f"/perks/{draw.perk_id}"))
    assert "You are in the draw" in page
    assert "the draw is coming." in page
    assert "Entries close " not in page


def test_a_draw_page_says_who_was_passed_over_and_why_in_both_languages(client, login_as):
    """An entry offered a seat that its person could not take reads "Passed over", with the
    reason (before, "Not reached": as if the waiting list had ended before its turn)."""
    login_as(Role.EMPLOYEE, locale="en")
    draw = draw_perk(seats=1)
    draw_id = draw.id
    for _ in range(2):
        draws.enter_draw(draw.perk.id, factories.UserFactory())
    close = datetime.now(UTC) + timedelta(days=8)
    frozen = draws.close_entries(draw_id, actor=None, now=close)
    keys = [e.key for e in draws.draw_entries(draw_id)]
    order = draws.final_order(frozen.seed, frozen.entries_hash, PUBLIC_VALUE, keys)
    first = next(e for e in draws.draw_entries(draw_id) if e.key == order[0])
    first.user.active = False  # whoever the draw puts first has left by the time it is made
    db.session.commit()
    first_key = first.key
    later = close + timedelta(days=1)
    draws.enter_public_value(
        draw_id, PUBLIC_VALUE, actor=factories.UserFactory(roles={Role.HR}), now=later
    )
    draws.run_draw(draw_id, actor=None, now=later)

    html = client.get(f"/draws/{draw_id}").get_data(as_text=True)
    row = re.search(rf'<tr data-key="{first_key}">(.*?)</tr>', html, re.S)[1]
    assert "Passed over" in row
    assert "No longer with the company." in row
    assert "is passed over only when its person has left the company" in text_of(
        client.get(f"/draws/{draw_id}")
    )
    client.post("/language", data={"locale": "vi"})
    html = client.get(f"/draws/{draw_id}").get_data(as_text=True)
    row = re.search(rf'<tr data-key="{first_key}">(.*?)</tr>', html, re.S)[1]
    assert "Bị bỏ qua" in row
    assert "Không còn làm việc tại công ty." in row
    assert "chỉ bị bỏ qua khi người đó đã nghỉ việc" in text_of(client.get(f"/draws/{draw_id}"))


def test_the_page_a_winner_is_sent_to_lets_them_decline_the_seat(client, login_as):
    """ "You won a seat: decline it by … so the next person gets it", says the notification,
    and it opens the claim's page: that page said nothing of the deadline and had no way to
    decline (only "My perks" had), a dead end for someone who cannot go."""
    me = login_as(Role.EMPLOYEE)
    draw = draw_perk(perk__total_stock=1)
    draws.enter_draw(draw.perk.id, me)
    make_draw(draw.id, datetime.now(UTC) + timedelta(days=8))
    entry = draws.draw_entries(draw.id)[0]
    assert entry.outcome is EntryOutcome.WON

    html = client.get(f"/my-perks/{entry.claim_id}").get_data(as_text=True)
    assert "Decline by" in text_of(client.get(f"/my-perks/{entry.claim_id}"))
    assert f'action="/draws/entries/{entry.id}/decline"' in html

    entry.decide_by = datetime.now(UTC) - timedelta(days=1)
    db.session.commit()
    late = client.get(f"/my-perks/{entry.claim_id}").get_data(as_text=True)
    assert f'action="/draws/entries/{entry.id}/decline"' not in late


def test_a_winner_who_used_the_seat_is_not_asked_to_decline_it(client, login_as):
    """Once the seat's code is used, "Decline by … if you cannot go" and its button are
    wrong: declining is refused ("This claim is used.")."""
    me = login_as(Role.EMPLOYEE)
    draw = draw_perk(perk__total_stock=1)
    draws.enter_draw(draw.perk.id, me)
    make_draw(draw.id, datetime.now(UTC) + timedelta(days=8))
    entry = draws.draw_entries(draw.id)[0]
    assert "Decline the seat" in text_of(client.get("/my-perks"))

    claims.mark_claim_used(entry.claim_id, me)

    mine = text_of(client.get("/my-perks"))
    assert "Won" in mine
    assert "Decline by" not in mine
    assert "Decline the seat" not in mine


def test_a_winner_on_the_perks_page_is_led_to_the_code(client, login_as):
    """The perk's page said "Your entry: Won." and nothing more: the code, and the way to
    decline, were only reachable through "My perks"."""
    me = login_as(Role.EMPLOYEE)
    draw = draw_perk(perk__total_stock=1)
    draws.enter_draw(draw.perk.id, me)
    make_draw(draw.id, datetime.now(UTC) + timedelta(days=8))
    entry = draws.draw_entries(draw.id)[0]

    html = client.get(f"/perks/{draw.perk.id}").get_data(as_text=True)

    assert "Your entry: Won." in text_of(client.get(f"/perks/{draw.perk.id}"))
    assert f'href="/my-perks/{entry.claim_id}"' in html


def test_a_large_draws_pages_list_a_page_of_entries_and_its_data_is_a_file(
    client, login_as, monkeypatch
):
    """With 10,000 entries the public draw page listed them all and carried all its data
    (3.6 MB, 4-8 s), and HR's page listed them all with names (3.3 MB, 7-14 s). Each now lists
    a page at a time; the data anyone checks the draw with is a file the page's check fetches,
    and each entrant sees their own entry whatever the page."""
    from perks.catalog import admin_views, views

    monkeypatch.setattr(views, "INLINE_DRAW_DATA", 3)
    monkeypatch.setattr(views, "DRAW_PAGE_SIZE", 2)
    monkeypatch.setattr(admin_views, "RESULT_PAGE_SIZE", 2)
    me = login_as(Role.EMPLOYEE)
    draw = draw_perk(show_names=True)
    draw_id, perk_id = draw.id, draw.perk.id
    people = [factories.UserFactory(name=f"Người thứ {n}") for n in range(4)]
    for person in [*people, me]:
        draws.enter_draw(perk_id, person)
    assert client.get(f"/draws/{draw_id}/data.json").status_code == 404  # the seed is secret
    make_draw(draw_id, datetime.now(UTC) + timedelta(days=8))
    mine = db.session.scalars(select(DrawEntry).where(DrawEntry.user_id == me.id)).one()

    pages = [client.get(f"/draws/{draw_id}?page={n}").get_data(as_text=True) for n in (1, 2, 3)]

    rows = [re.findall(r'<tr data-key="(\w+)"', html) for html in pages]
    assert [len(keys) for keys in rows] == [2, 2, 1]
    assert [key for keys in rows for key in keys] == draws.get_draw(draw_id).result
    for html in pages:
        assert 'data-testid="entry-count">5<' in html
        assert mine.key in html  # their own entry, on every page
        assert 'id="draw-data"' not in html  # too large for the page: fetched
        assert f'data-source="/draws/{draw_id}/data.json"' in html
    data = client.get(f"/draws/{draw_id}/data.json")
    assert data.status_code == 200
    assert "attachment" in data.headers["Content-Disposition"]
    made = draws.get_draw(draw_id)
    assert data.get_json() == draws.verification_data(made)
    assert sorted(data.get_json()["order"]) == data.get_json()["keys"]
    assert len(data.get_json()["outcomes"]) == 5

    client.post("/logout")
    login_as(Role.HR)
    hr_pages = [
        client.get(f"/admin/perks/{perk_id}/draw?page={n}").get_data(as_text=True) for n in (1, 3)
    ]
    assert [html.count('data-label="Position"') for html in hr_pages] == [2, 1]
    assert 'data-testid="entry-count">5<' in hr_pages[0]
    assert "Page 1 of 3" in hr_pages[0]
