"""The manager's team on the home page at phone width (390 px): one card per person,
stacked, nothing wider than the screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from perks.people.models import Role
from tests import factories
from tests.browser.helpers import assert_fits_the_screen, sign_in

pytestmark = pytest.mark.browser


def test_the_team_cards_stack_at_390_px(page: Page):
    manager = factories.UserFactory(roles={Role.EMPLOYEE, Role.MANAGER})
    for index in range(3):
        factories.UserFactory(name=f"Nguyễn Thị Phương Thảo Dài Tên {index}", manager=manager)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, manager.email)

    cards = page.get_by_test_id("team-member")
    expect(cards).to_have_count(3)
    first, second = cards.nth(0).bounding_box(), cards.nth(1).bounding_box()
    assert first is not None
    assert second is not None
    assert second["y"] >= first["y"] + first["height"]  # stacked, not side by side
    assert first["x"] >= 0
    assert first["x"] + first["width"] <= 390
    assert_fits_the_screen(page)


def test_the_team_stats_show_each_person_as_a_card_of_labelled_figures_at_390_px(page: Page):
    manager = factories.UserFactory(roles={Role.EMPLOYEE, Role.MANAGER})
    for index in range(2):
        person = factories.UserFactory(name=f"Trần Văn Tên Rất Dài {index}", manager=manager)
        factories.ReferralLinkFactory(user=person)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, manager.email)
    page.goto("/stats/team")

    table = page.get_by_test_id("team")
    # the figures table scrolled sideways on a phone: each row is now a card
    width = table.evaluate("t => t.scrollWidth - t.clientWidth")
    assert width <= 0, f"the team table is {width} px wider than itself"
    assert_fits_the_screen(page)
    rows = table.locator("tbody tr")
    first, second = rows.nth(0).bounding_box(), rows.nth(1).bounding_box()
    assert first is not None
    assert second is not None
    assert second["y"] >= first["y"] + first["height"]
    assert first["x"] + first["width"] <= 390
    # each figure says what it is, the team's total too
    clicks = page.get_by_test_id("team-total").get_by_test_id("clicks")
    label = clicks.evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"Clicks"', label
