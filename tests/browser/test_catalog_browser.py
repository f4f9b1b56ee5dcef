"""An employee's perk journey in headless Chromium: find, claim, show the code, use; and a
draw checked in the browser (which proves the verifier runs under the CSP)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect

from perks.catalog import draws
from perks.catalog.models import CodeMode, PerkCategory
from perks.people.models import Role
from tests import factories
from tests.browser.helpers import TABLES_SCROLLING, sign_in
from tests.helpers import make_draw

pytestmark = pytest.mark.browser


def test_employee_finds_an_eligible_perk_claims_it_and_marks_it_used(page: Page, screenshots):
    sales = factories.DepartmentFactory(name="Kinh doanh")
    support = factories.DepartmentFactory(name="Chăm sóc khách hàng")
    factories.PerkFactory(
        title_en="Cinema tickets: 2 for 1",
        partner_name="CGV Cinemas",
        category=PerkCategory.ENTERTAINMENT,
        value_en="2 tickets for the price of 1",
        description_en="Any 2D film, any day.",
        terms_en="Show the code at the ticket desk.",
        code_mode=CodeMode.POOL,
        codes=["CGV-2026-0001", "CGV-2026-0002"],
    )
    factories.PerkFactory(
        title_en="Cinema night for the sales team", partner_name="CGV Cinemas", departments=[sales]
    )
    factories.PerkFactory(title_en="Yoga classes", category=PerkCategory.WELLNESS, total_stock=0)
    person = factories.UserFactory(name="Phạm Thu Trang", department=support)
    sign_in(page, person.email)

    page.goto("/perks")
    cards = page.get_by_test_id("perk-card")
    expect(cards).to_have_count(3)
    expect(page.get_by_text("Only for Kinh doanh.")).to_be_visible()
    expect(page.get_by_text("Sold out.")).to_be_visible()
    search = page.get_by_test_id("catalog-search")
    search.locator("input[name=q]").fill("cinema")
    search.locator("input[name=claimable]").check()
    search.locator("button").click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("You can claim this")
    screenshots(page, "catalog")

    cards.first.get_by_test_id("perk-link").click()
    expect(page.locator("main h1")).to_have_text("Cinema tickets: 2 for 1")
    page.get_by_test_id("claim").click()

    expect(page).to_have_url(re.compile(r"/my-perks/\d+$"))
    expect(page.get_by_test_id("claim-code")).to_have_text("CGV-2026-0001")
    expect(page.get_by_test_id("claim-qr").locator("svg")).to_be_visible()
    expect(page.get_by_test_id("claim-status")).to_have_text("Claimed")
    screenshots(page, "claim")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("mark-used").click()

    expect(page.get_by_test_id("claim-status")).to_have_text("Used")
    expect(page.get_by_test_id("used-info")).to_contain_text("Phạm Thu Trang")
    expect(page.get_by_test_id("mark-used")).to_have_count(0)
    page.goto("/my-perks")
    expect(page.get_by_test_id("claims").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("claims")).to_contain_text("Used")

    # On a phone each cell reads "label: value"; the code's label is in the page's font too.
    page.set_viewport_size({"width": 390, "height": 844})
    label_fonts = page.evaluate(
        """[...document.querySelectorAll('[data-testid=claims] td[data-label]')].map(
            cell => getComputedStyle(cell, '::before').fontFamily)"""
    )
    assert len(label_fonts) > 1
    assert len(set(label_fonts)) == 1, label_fonts


def test_anyone_verifies_a_made_draw_in_the_browser(page: Page, screenshots):
    draw = factories.DrawFactory(
        perk__title_en="Weekend at a Phú Quốc resort",
        seats=2,
        recent_winner_draws=1,
        show_names=True,
    )
    names = ["Nguyễn Văn An", "Trần Thị Bích", "Lê Hoàng Cường", "Phạm Minh Dũng", "Võ Thu Hà"]
    people = [factories.UserFactory(name=name) for name in names]
    for person in people:
        draws.enter_draw(draw.perk.id, person)
    make_draw(draw.id, datetime.now(UTC) + timedelta(days=8))
    sign_in(page, people[0].email)

    page.goto(f"/draws/{draw.id}")
    expect(page.get_by_test_id("seed")).to_be_visible()
    expect(page.get_by_test_id("draw-entries").locator("tbody tr")).to_have_count(5)
    page.get_by_test_id("verify-draw").click()

    result = page.get_by_test_id("verify-result").locator("li")
    expect(result).to_have_count(6)
    expect(result.nth(0)).to_contain_text("✓ SHA-256 of the seed equals the commitment")
    expect(result.nth(1)).to_contain_text("✓ The entry keys are those of entries 1 to 5")
    expect(result.nth(2)).to_contain_text("✓ SHA-256 of the entries list equals the entries hash")
    expect(result.nth(3)).to_contain_text("✓ The public value is of a day after entries closed")
    expect(result.nth(4)).to_contain_text("✓ Recomputing the order")
    expect(result.nth(5)).to_contain_text("✓ Places and outcomes follow the order")
    expect(page.locator("#draw-verify-result li[data-ok=false]")).to_have_count(0)
    screenshots(page, "draw")


def _a_made_draw_of_three() -> tuple[int, str]:
    """A one-seat draw three people entered, made: its id, and the first entrant's e-mail."""
    draw = factories.DrawFactory(seats=1)
    people = [factories.UserFactory() for _ in range(3)]
    for person in people:
        draws.enter_draw(draw.perk.id, person)
    make_draw(draw.id, datetime.now(UTC) + timedelta(days=8))
    return draw.id, people[0].email


def _checked_in_the_browser(page: Page, draw_id: int, email: str) -> Locator:
    """The lines "Verify in my browser" writes on the draw's page, signed in as ``email``."""
    sign_in(page, email)
    page.goto(f"/draws/{draw_id}")
    page.get_by_test_id("verify-draw").click()
    result = page.get_by_test_id("verify-result").locator("li")
    expect(result).to_have_count(6)
    return result


def test_a_tampered_result_fails_the_browser_check(page: Page):
    """The check really recomputes: a published order that was changed is caught."""
    from perks.extensions import db

    draw_id, email = _a_made_draw_of_three()
    made = draws.get_draw(draw_id)
    made.result = list(reversed(made.result))
    db.session.commit()

    result = _checked_in_the_browser(page, draw_id, email)
    for check in range(4):
        expect(result.nth(check)).to_contain_text("✓")
    expect(result.nth(4)).to_contain_text("✗ The recomputed order differs")


def test_a_winner_changed_after_the_draw_fails_the_browser_check(page: Page):
    """The order still recomputes, but the page says the last entry won and the first waits:
    the browser checked only the order, so it said everything was right."""
    from sqlalchemy import update

    from perks.catalog.models import DrawEntry, EntryOutcome
    from perks.extensions import db

    draw_id, email = _a_made_draw_of_three()
    first, *_between, last = draws.draw_entries(draw_id)
    for entry, outcome in ((first, EntryOutcome.WAITING), (last, EntryOutcome.WON)):
        db.session.execute(
            update(DrawEntry).where(DrawEntry.id == entry.id).values(outcome=outcome)
        )
    db.session.commit()

    result = _checked_in_the_browser(page, draw_id, email)
    for check in range(5):
        expect(result.nth(check)).to_contain_text("✓")
    expect(result.nth(5)).to_contain_text("✗ Places or outcomes do not follow the order")


def test_hr_reads_a_made_draw_on_a_phone_without_scrolling_sideways(page: Page):
    """The result table of the admin draw page (position, person, key, outcome, decide-by) is
    cards on a phone, as the demo's tour cannot show: its draw for the perk is not made yet.
    The draw's public page, with the names, fits too."""
    draw = factories.DrawFactory(seats=2, recent_winner_draws=1, show_names=True, decline_days=3)
    names = ["Nguyễn Thị Phương Thảo", "Trần Thị Bích Ngọc", "Lê Hoàng Cường"]
    for name in names:
        draws.enter_draw(draw.perk.id, factories.UserFactory(name=name))
    make_draw(draw.id, datetime.now(UTC) + timedelta(days=8))
    hr = factories.UserFactory(roles={Role.HR}, locale="vi")
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, hr.email)

    page.goto(f"/admin/perks/{draw.perk.id}/draw")

    expect(page.get_by_test_id("draw-result").locator("tbody tr")).to_have_count(3)
    assert page.evaluate(TABLES_SCROLLING) == []
    # and the public page of the same draw, names shown
    page.goto(f"/draws/{draw.id}")
    expect(page.get_by_test_id("draw-entries").locator("tbody tr")).to_have_count(3)
    assert page.evaluate(TABLES_SCROLLING) == []


def test_a_draw_too_large_for_its_page_is_verified_from_its_data_file(page: Page, monkeypatch):
    """A draw of 10,000 entries put every entry and all its data in its page (3.6 MB, seconds
    to render); the page now lists a page of entries and the browser fetches the data it
    checks the draw with, the file anyone may download."""
    from perks.catalog import views

    monkeypatch.setattr(views, "INLINE_DRAW_DATA", 2)
    monkeypatch.setattr(views, "DRAW_PAGE_SIZE", 2)
    draw_id, email = _a_made_draw_of_three()

    sign_in(page, email)
    page.goto(f"/draws/{draw_id}")
    expect(page.get_by_test_id("draw-entries").locator("tbody tr")).to_have_count(2)
    expect(page.locator("#draw-data")).to_have_count(0)
    expect(page.get_by_test_id("my-entry")).to_be_visible()
    page.get_by_test_id("verify-draw").click()

    result = page.get_by_test_id("verify-result").locator("li")
    expect(result).to_have_count(6)
    expect(result.nth(1)).to_contain_text("✓ The entry keys are those of entries 1 to 3")
    expect(page.locator("#draw-verify-result li[data-ok=false]")).to_have_count(0)
