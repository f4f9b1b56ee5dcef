"""An employee shares a product through a referral link; a customer follows it in another
browser, lands on the product with the attribution cookie, and the click shows on the
employee's links page. In headless Chromium against the live server."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from perks.extensions import db
from perks.referrals.attribution import REFERRAL_COOKIE
from perks.shop.models import OrderStatus
from tests import factories
from tests.browser.helpers import (
    TIMEOUT_MS,
    VIEWPORT,
    assert_fits_its_parent,
    assert_fits_the_screen,
    sign_in,
)

pytestmark = pytest.mark.browser

#: the customer's phone; headless Chromium's own user agent says "HeadlessChrome", which the
#: redirect rightly counts as a bot
CUSTOMER_BROWSER = (
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


def customer_context(browser: Browser, base_url: str) -> BrowserContext:
    """A fresh browser profile (no cookies, nobody signed in) with a phone's user agent."""
    context = browser.new_context(
        base_url=base_url, viewport=VIEWPORT, locale="vi-VN", user_agent=CUSTOMER_BROWSER
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


def test_employee_shares_a_product_link_and_a_customer_follows_it(
    page: Page, browser: Browser, live_server: str, tmp_path: Path
):
    product = factories.ProductFactory(
        slug="tour-ha-long",
        name_en="Ha Long Bay 2-day cruise",
        name_vi="Tour Hạ Long 2 ngày 1 đêm",
    )
    product_id = product.id
    employee = factories.UserFactory(name="Phạm Thu Trang")
    email = employee.email
    db.session.commit()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    sign_in(page, email)

    # The employee makes a link to the product.
    # the referral pages are the Referrals menu
    navigation = page.get_by_role("navigation", name="Main navigation")
    navigation.get_by_role("button", name="Referrals").click()
    navigation.get_by_role("link", name="My links").click()
    # Made by a factory, not by HR: no default link yet, so the page offers to make it.
    expect(page.get_by_test_id("link-row")).to_have_count(0)
    page.get_by_test_id("make-default-link").click()
    expect(page).to_have_url(re.compile(r"/links/\d+$"))
    # the referral pages are the Referrals menu
    navigation = page.get_by_role("navigation", name="Main navigation")
    navigation.get_by_role("button", name="Referrals").click()
    navigation.get_by_role("link", name="My links").click()
    expect(page.get_by_test_id("link-row")).to_have_count(1)
    expect(page.get_by_test_id("make-default-link")).to_have_count(0)
    page.get_by_test_id("new-link").click()
    form = page.get_by_test_id("link-form")
    form.locator("input[name=label]").fill("Zalo group")
    form.locator("select[name=target]").select_option(f"product:{product_id}")
    form.locator("[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/links/\d+$"))
    expect(page.locator("main h1")).to_have_text("Zalo group")
    url_input = page.get_by_test_id("share-url")
    expect(url_input).to_have_value(re.compile(rf"^{re.escape(live_server)}/r/[a-z0-9]{{7}}$"))
    url = url_input.input_value()
    expect(page.get_by_test_id("landing")).to_contain_text("Ha Long Bay 2-day cruise")
    expect(page.get_by_test_id("share-qr").locator("svg")).to_be_visible()

    # the button copies once share.js listens: after the page's load event (on a busy
    # machine a click before it did nothing)
    page.wait_for_load_state("load")
    copy = page.get_by_test_id("copy-link")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == url

    folder = Path(os.environ.get("PERKS_SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=folder / "referral-link.png")

    # A customer opens it in their own browser.
    customer = customer_context(browser, live_server)
    try:
        visitor = customer.new_page()
        visitor.goto(url)
        expect(visitor).to_have_url(f"{live_server}/shop/p/tour-ha-long")
        expect(visitor.locator("main h1")).to_have_text("Tour Hạ Long 2 ngày 1 đêm")
        cookies = {cookie["name"]: cookie for cookie in customer.cookies()}
        assert REFERRAL_COOKIE in cookies
        assert cookies[REFERRAL_COOKIE]["httpOnly"] is True
        assert cookies[REFERRAL_COOKIE]["sameSite"] == "Lax"
    finally:
        customer.close()

    # The employee sees the click.
    # the referral pages are the Referrals menu
    navigation = page.get_by_role("navigation", name="Main navigation")
    navigation.get_by_role("button", name="Referrals").click()
    navigation.get_by_role("link", name="My links").click()
    row = page.get_by_test_id("link-row").filter(has_text="Zalo group")
    expect(row.get_by_test_id("link-clicks")).to_have_text("1")
    expect(
        page.get_by_test_id("link-row")
        .filter(has_text="My storefront link")
        .get_by_test_id("link-clicks")
    ).to_have_text("0")
    # On a phone each link is a card: Share and Pause in sight, not scrolled off the table.
    page.set_viewport_size({"width": 390, "height": 844})
    links = page.get_by_test_id("links")
    assert_fits_its_parent(links)
    share = row.get_by_test_id("share-link").bounding_box()
    assert share is not None
    assert share["x"] + share["width"] <= 390
    page.set_viewport_size({"width": 1280, "height": 800})


def test_a_long_link_label_stays_on_a_phones_screen(page: Page, live_server: str):
    # A label of the longest length, as people paste it: an address with no space to wrap at.
    label = "facebook.com/groups/dulichsenvang-khachhangthanthiet-2026/posts/8812345" + "x" * 8
    link = factories.ReferralLinkFactory(label=label)
    email, link_id = link.user.email, link.id
    db.session.commit()
    sign_in(page, email)
    page.set_viewport_size({"width": 390, "height": 844})
    for path in (f"/links/{link_id}", "/stats/links", f"/stats/links/{link_id}"):
        page.goto(path)
        expect(page.get_by_text(label).first).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide"


def test_a_revenue_of_a_billion_dong_stays_in_its_card_on_a_phone(page: Page, live_server: str):
    # The summary's figures are two cards a row on a phone; the revenue, a ten-digit figure in
    # large type, ran past its card (and, in the right-hand column, past the screen's edge).
    link = factories.ReferralLinkFactory(user=factories.UserFactory(locale="vi"))
    product = factories.ProductFactory(price_amount=1_250_000_000)
    factories.OrderFactory(
        product=product,
        referral_link_id=link.id,
        attribution_reason="cookie",
        status=OrderStatus.PAID,
        paid_at=datetime.now(UTC) - timedelta(hours=1),
        paid_amount=product.price_amount,
    )
    email, link_id = link.user.email, link.id
    db.session.commit()
    sign_in(page, email)
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/stats/links", f"/stats/links/{link_id}"):
        page.goto(path)
        revenue = page.get_by_test_id("total-revenue")
        expect(revenue).to_have_text("1.250.000.000\xa0₫")
        assert_fits_the_screen(page)
        assert_fits_its_parent(revenue.locator("div").first)
    # on a laptop the five figures stay side by side, in their order
    page.set_viewport_size(VIEWPORT)
    cards = page.get_by_test_id("summary").locator(":scope > .col")
    boxes = [cards.nth(i).bounding_box() for i in range(cards.count())]
    assert len({round(box["y"]) for box in boxes if box}) == 1, boxes
    assert [box["x"] for box in boxes if box] == sorted(box["x"] for box in boxes if box)
