"""HR sets the company's brand in Chromium; the storefront then wears it: the navigation bar in
the chosen colour (through /brand.css: pages allow no inline style), the logo, the company's
name and tagline, its contact and legal footer, at phone width without sideways scrolling."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from perks.people.models import Role
from tests import factories
from tests.browser.helpers import assert_fits_the_screen, sign_in
from tests.helpers import png_bytes

pytestmark = pytest.mark.browser


def test_hr_brands_the_storefront(page: Page, tmp_path):
    hr = factories.UserFactory(roles={Role.HR})
    logo = tmp_path / "logo.png"
    logo.write_bytes(png_bytes())
    sign_in(page, hr.email)

    page.goto("/settings/brand")
    form = page.get_by_test_id("brand-form")
    form.get_by_label("Company name").fill("Công ty Du lịch Sen Vàng")
    form.get_by_label("Logo").set_input_files(str(logo))
    form.get_by_label("Main colour").fill("#1a237e")
    form.get_by_label("Storefront tagline (English)").fill("Trips worth remembering")
    form.get_by_label("Contact e-mail").fill("hotro@senvang.example")
    form.get_by_label("Legal footer (English)").fill("Tax code 0301234567")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The brand is saved")).to_be_visible()
    expect(page.get_by_test_id("current-logo")).to_be_visible()

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/shop/")
    navbar = page.locator("nav.navbar")
    expect(navbar).to_have_css("background-color", "rgb(26, 35, 126)")
    brand = page.get_by_test_id("navbar-brand")
    expect(brand).to_contain_text("Công ty Du lịch Sen Vàng")
    expect(brand).to_have_css("color", "rgb(255, 255, 255)")
    expect(brand.locator("img")).to_be_visible()
    expect(page.get_by_test_id("tagline")).to_have_text("Trips worth remembering")
    footer = page.get_by_test_id("storefront-footer")
    expect(footer).to_contain_text("Tax code 0301234567")
    expect(footer.get_by_role("link", name="hotro@senvang.example")).to_be_visible()
    expect(page.get_by_text("Perks for the people who make the company")).to_have_count(0)
    assert_fits_the_screen(page)

    page.goto("/")
    page.get_by_test_id("home-storefront-link").click()
    expect(page).to_have_url(re.compile(r"/shop/$"))
