"""An employee follows a commission on their earnings page: pending when the customer has
paid, earned once the order is used, voided (with the reason) after a full refund. The facts
come through the shop's real services, as the webhooks and the redeemer's counter record
them; the page is read in headless Chromium against the live server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.helpers import assert_fits_its_parent, assert_fits_the_screen, sign_in
from tests.unit.commissions.helpers import pay, redeem, referred_order, refund_to

pytestmark = pytest.mark.browser


def commission_row(page: Page, number: str):  # type: ignore[no-untyped-def]
    return page.get_by_test_id("commission").filter(has_text=number)


def test_an_employee_follows_a_commission_from_pending_to_earned_to_voided(page: Page):
    factories.CommissionRuleFactory(rate_bps=1000)
    employee = factories.UserFactory(name="Phạm Thu Trang")
    email = employee.email
    product = factories.ProductFactory(
        name_vi="Tour Hạ Long", name_en="Ha Long tour", price_amount=2_400_000
    )
    order = referred_order(product, employee=employee, customer_name="Nguyễn Văn Bình")
    number = order.number
    sign_in(page, email)

    # the referral pages are the Referrals menu

    navigation = page.get_by_role("navigation", name="Main navigation")

    navigation.get_by_role("button", name="Referrals").click()

    navigation.get_by_role("link", name="My earnings").click()
    expect(page).to_have_url(re.compile(r"/earnings$"))
    expect(page.get_by_test_id("no-commissions")).to_be_visible()

    pay(order)
    page.reload()
    row = commission_row(page, number)
    expect(row).to_have_attribute("data-state", "pending")
    expect(row).to_contain_text("Ha Long tour")  # the product in the reader's language
    expect(row).to_contain_text("Bình")
    expect(row).not_to_contain_text("Nguyễn Văn Bình")
    expect(row).to_contain_text("₫240,000")
    expect(row.get_by_test_id("why")).to_have_text("Waiting for the customer to use the order.")
    expect(page.get_by_test_id("total-pending")).to_contain_text("₫240,000")

    redeem(order)
    page.reload()
    expect(row).to_have_attribute("data-state", "earned")
    expect(row.get_by_test_id("why")).to_contain_text("payable from")
    expect(page.get_by_test_id("total-earned")).to_contain_text("₫240,000")
    expect(page.get_by_test_id("balance")).to_contain_text("₫240,000")
    expect(page.get_by_test_id("earnings-chart")).to_be_visible()

    refund_to(order, 2_400_000)
    page.reload()
    expect(row).to_have_attribute("data-state", "voided")
    expect(row.get_by_test_id("why")).to_have_text(
        re.compile(r"^Voided: order refunded on \d+ \w+ \d{4}\.$")
    )
    expect(page.get_by_test_id("total-earned")).to_contain_text("₫0")

    page.get_by_role("link", name="How commissions work").click()
    expect(page.get_by_test_id("commission-rule")).to_contain_text("₫200,000")


#: how many lines an element's text takes
LINES = """e => {
  const range = document.createRange();
  range.selectNodeContents(e);
  return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
}"""


def test_earnings_of_a_billion_dong_stay_whole_in_their_cards_on_a_phone(page: Page):
    # The totals are two cards a row on a phone: a ten-digit amount (a good seller's year, paid)
    # in large type was wider than its card on a 390 px screen, and a nine-digit one on a 360
    # px one, so the card (Bootstrap's breaks a long word anywhere) cut it in two lines, in the
    # middle of a group of digits: "1.234.567." over "890 ₫", "123.456.7" over "89 ₫".
    factories.CommissionRuleFactory(rate_bps=1000)
    employee = factories.UserFactory(locale="vi")
    email = employee.email
    product = factories.ProductFactory(price_amount=1_234_567_890)
    pay(referred_order(product, employee=employee))
    used = referred_order(product, employee=employee, quantity=10)
    pay(used)
    redeem(used)
    sign_in(page, email)
    page.goto("/earnings")
    pending = page.get_by_test_id("total-pending").get_by_text("123.456.789\xa0₫")
    earned = page.get_by_test_id("total-earned").get_by_text("1.234.567.890\xa0₫")
    for width in (390, 360):
        page.set_viewport_size({"width": width, "height": 844})
        for figure in (pending, earned):
            expect(figure).to_be_visible()
            assert_fits_its_parent(figure)
            assert figure.evaluate(LINES) == 1, f"{figure.inner_text()!r} at {width} px"
        assert_fits_the_screen(page)
