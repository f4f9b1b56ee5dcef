"""The whole story, each person in their own browser against the live server and its Stripe
sandbox: a customer follows an employee's link and pays; the employee sees the commission
pending; the counter redeems the order and the employee sees it earned; finance refunds the
order and the employee sees it voided. Every fact arrives as it will in production: through
the sandbox's payment page and its signed webhooks."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from perks.people.models import Role
from perks.referrals.models import Destination
from perks.shop.models import Order
from tests import factories
from tests.browser.helpers import TIMEOUT_MS, new_context, sign_in, the_order, to_checkout
from tests.stripe_sandbox import LiveSandbox, wait_for

pytestmark = pytest.mark.browser


def signed_in(browser: Browser, base_url: str, email: str) -> Page:
    context = new_context(browser, base_url)
    page = context.new_page()
    sign_in(page, email)
    return page


def test_from_a_referral_click_to_a_commission_earned_then_voided_by_a_refund(
    browser: Browser, shopper: Page, live_sandbox: LiveSandbox, tour, screenshots
):
    factories.CommissionRuleFactory(rate_bps=1000)
    employee = factories.UserFactory(name="Phạm Thu Trang")
    link = factories.ReferralLinkFactory(
        user=employee, destination=Destination.PRODUCT, destination_id=tour.id
    )
    redeemer = factories.UserFactory(name="Lễ Tân", roles={Role.REDEEMER})
    finance = factories.UserFactory(name="Kế Toán", roles={Role.FINANCE})
    emails = employee.email, redeemer.email, finance.email

    # The customer: link → product → cart → checkout → pays on the sandbox page.
    shopper.goto(f"/r/{link.code}")
    expect(shopper).to_have_url(re.compile(r"/shop/p/tour-ha-long$"))
    to_checkout(shopper)
    shopper.get_by_test_id("pay-card").click()

    def paid() -> Order | None:
        order = the_order()
        return order if order.paid_at is not None else None

    order = wait_for(paid, TIMEOUT_MS / 1000)
    number, code, order_id = order.number, order.redemption_code, order.id
    expect(shopper.get_by_test_id("redemption-code")).to_have_text(code)

    # The employee: pending, 10 % of what the customer paid after the friends discount.
    mine = signed_in(browser, live_sandbox.app_url, emails[0])
    mine.goto("/earnings")
    row = mine.get_by_test_id("commission").filter(has_text=number)
    expect(row).to_have_attribute("data-state", "pending")
    expect(row).to_contain_text("₫228,000")

    # The counter redeems it: earned.
    counter = signed_in(browser, live_sandbox.app_url, emails[1])
    counter.goto(f"/redeem-order?code={code}")
    counter.get_by_test_id("mark-redeemed").click()
    expect(counter.get_by_test_id("redeemed-info")).to_contain_text("Lễ Tân")
    mine.reload()
    expect(row).to_have_attribute("data-state", "earned")
    expect(mine.get_by_test_id("total-earned")).to_contain_text("₫228,000")
    screenshots(mine, "earnings")

    # Finance refunds the whole order; Stripe's webhook voids the commission.
    desk = signed_in(browser, live_sandbox.app_url, emails[2])
    desk.goto(f"/manage/orders/{order_id}")
    form = desk.get_by_test_id("refund-form")
    form.get_by_label("Reason").fill("Khách hủy chuyến")
    desk.once("dialog", lambda dialog: dialog.accept())
    form.get_by_test_id("refund-submit").click()
    expect(desk.get_by_test_id("refund-requests")).to_contain_text("Khách hủy chuyến")
    live_sandbox.deliver_pending()

    def voided() -> bool:
        mine.reload()
        return row.get_attribute("data-state") == "voided"

    assert wait_for(voided, TIMEOUT_MS / 1000)
    expect(row.get_by_test_id("why")).to_contain_text("Voided: order refunded on")
    expect(mine.get_by_test_id("total-earned")).to_contain_text("₫0")
