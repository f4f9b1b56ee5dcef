"""A draw winner on a phone (390 px), in Vietnamese: the page the "You won" notification
opens says until when the seat can be declined and declines it; on a claim refused (sold
out), the language switcher shows the perk again in English. Nothing wider than the screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from perks.catalog import claims, draws
from perks.extensions import db
from tests import factories
from tests.browser.helpers import assert_fits_the_screen, sign_in
from tests.helpers import make_draw

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_a_winner_declines_from_the_claim_page_and_switches_language_on_a_refusal(page: Page):
    winner = factories.UserFactory(name="Nguyễn Văn An", locale="vi")
    draw = factories.DrawFactory(seats=1, decline_days=3, perk__total_stock=1)
    draws.enter_draw(draw.perk.id, winner)
    make_draw(draw.id, datetime.now(UTC) + timedelta(days=8))
    entry = draws.draw_entries(draw.id)[0]
    last_one = factories.PerkFactory(
        title_vi="Vé xem phim", title_en="Cinema ticket", total_stock=1
    )
    db.session.commit()
    page.set_viewport_size(PHONE)
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, winner.email)

    page.goto(f"/my-perks/{entry.claim_id}")
    expect(page.get_by_test_id("seat")).to_contain_text("hãy từ chối trước")
    assert_fits_the_screen(page)
    page.get_by_test_id("seat").get_by_test_id("decline").click()
    expect(page.get_by_test_id("entries")).to_contain_text("Đã từ chối")
    assert_fits_the_screen(page)

    # the last ticket goes to a colleague while the page is open
    page.goto(f"/perks/{last_one.id}")
    claims.claim_perk(last_one.id, factories.UserFactory())
    page.get_by_test_id("claim").click()
    expect(page.get_by_test_id("action-error")).to_contain_text("Đã hết")
    page.locator(".navbar-toggler").click()  # the phone's menu holds the switcher
    page.get_by_test_id("lang-en").click()
    expect(page.locator("h1")).to_have_text("Cinema ticket")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert_fits_the_screen(page)
