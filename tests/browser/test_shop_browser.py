"""A customer's purchase in headless Chromium against the live server and its Stripe sandbox:
an employee's referral link → product → cart → checkout → the sandbox's payment page → back
on the order page, "being confirmed" until the webhook arrives, then the code and its QR,
which a redeemer redeems at the counter. Also the cancel and declined-card paths."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from perks.people.models import Role
from perks.referrals.models import Destination
from perks.shop.models import Order, OrderStatus
from tests import factories
from tests.browser.helpers import TIMEOUT_MS, sign_in, the_order, to_checkout
from tests.stripe_sandbox import LiveSandbox, wait_for

pytestmark = pytest.mark.browser


def paid_order() -> Order | None:
    order = the_order()
    return order if order.paid_at is not None else None


def test_a_referred_customer_buys_pays_sees_the_code_and_a_redeemer_redeems_it(
    page: Page, shopper: Page, live_sandbox: LiveSandbox, tour, screenshots
):
    employee = factories.UserFactory(name="Phạm Thu Trang")
    link = factories.ReferralLinkFactory(
        user=employee, destination=Destination.PRODUCT, destination_id=tour.id
    )
    redeemer = factories.UserFactory(name="Lễ Tân", roles={Role.REDEEMER})
    live_sandbox.pause_deliveries()  # the webhook waits, so the page is seen before it

    # The customer follows the employee's link to the product and buys two.
    shopper.goto(f"/r/{link.code}")
    expect(shopper).to_have_url(re.compile(r"/shop/p/tour-ha-long$"))
    expect(shopper.locator("main h1")).to_have_text("Ha Long Bay 2-day cruise")
    shopper.get_by_label("Quantity").fill("2")
    shopper.get_by_test_id("add-to-cart-button").click()
    expect(shopper.get_by_test_id("total")).to_have_text(re.compile(r"₫4,560,000"))
    screenshots(shopper, "shop-cart")
    shopper.get_by_test_id("checkout-link").click()
    expect(shopper.get_by_test_id("discount")).to_contain_text("₫240,000")
    form = shopper.get_by_test_id("checkout-form")
    expect(form.get_by_label("Referral code (optional)")).to_have_value("")
    form.get_by_label("Full name").fill("Lê Thị Hoa")
    form.get_by_label("E-mail").fill("hoa.le@gmail.com")
    form.get_by_label("Phone").fill("0912 345 678")
    screenshots(shopper, "shop-checkout")
    form.get_by_test_id("pay").click()

    # Stripe's (the sandbox's) payment page charges the discounted total.
    expect(shopper).to_have_url(re.compile(r"^http://127\.0\.0\.1:\d+/pay/cs_test_\w+$"))
    expect(shopper.get_by_test_id("total")).to_contain_text("₫4,560,000")
    screenshots(shopper, "stripe-sandbox-pay")
    shopper.get_by_test_id("pay-card").click()

    # Back on the shop: being confirmed, then (webhook delivered) the code and its QR.
    expect(shopper).to_have_url(re.compile(r"/shop/orders/[\w-]+\?from=checkout$"))
    expect(shopper.get_by_test_id("payment-pending")).to_contain_text(
        "Your payment is being confirmed."
    )
    expect(shopper.get_by_test_id("redemption-code")).to_have_count(0)
    live_sandbox.pause_deliveries(False)
    live_sandbox.deliver_pending()
    order = wait_for(paid_order, TIMEOUT_MS / 1000)
    assert order.referral_link_id == link.id
    code = shopper.get_by_test_id("redemption-code")
    expect(code).to_have_text(order.redemption_code)  # the page polled and reloaded itself
    expect(shopper.get_by_test_id("order-qr").locator("svg")).to_be_visible()
    expect(shopper.get_by_test_id("order-status")).to_have_text("Paid")
    screenshots(shopper, "shop-order-paid")

    # A redeemer at the counter types the code and marks the order redeemed.
    sign_in(page, redeemer.email)
    page.goto("/redeem-order")
    page.get_by_test_id("order-code").fill(order.redemption_code)
    page.get_by_test_id("order-lookup-submit").click()
    # her given name: "Lê" is her family name, read first in an English order before
    expect(page.get_by_test_id("redeem-customer")).to_have_text("Hoa")
    screenshots(page, "redeem-order")
    page.get_by_test_id("mark-redeemed").click()
    expect(page.get_by_test_id("redeemed-info")).to_contain_text("Lễ Tân")
    assert the_order().status is OrderStatus.REDEEMED

    shopper.reload()
    expect(shopper.get_by_test_id("redeemed-info")).to_contain_text("Redeemed on")


def test_a_customer_who_cancels_on_the_payment_page_finds_their_cart(
    shopper: Page, live_sandbox: LiveSandbox, tour
):
    shopper.goto(f"/shop/p/{tour.slug}")
    to_checkout(shopper, quantity=2)

    shopper.get_by_test_id("cancel").click()

    expect(shopper).to_have_url(re.compile(r"/shop/orders/[\w-]+/cancelled$"))
    expect(shopper.get_by_test_id("payment-cancelled")).to_contain_text("Nothing was charged.")
    shopper.get_by_test_id("back-to-cart").click()
    expect(shopper.get_by_test_id("cart-line")).to_have_count(1)
    expect(shopper.get_by_test_id("quantity")).to_have_value("2")
    assert the_order().status is OrderStatus.PENDING


def test_a_declined_card_can_be_followed_by_one_that_works(
    shopper: Page, live_sandbox: LiveSandbox, tour
):
    shopper.goto(f"/shop/p/{tour.slug}")
    to_checkout(shopper)

    shopper.get_by_test_id("pay-declined").click()
    expect(shopper.get_by_test_id("declined")).to_contain_text("Your card was declined")
    assert the_order().status is OrderStatus.PENDING

    shopper.get_by_test_id("pay-card").click()
    expect(shopper).to_have_url(re.compile(r"/shop/orders/[\w-]+\?from=checkout$"))
    expect(shopper.get_by_test_id("redemption-code")).to_have_text(the_order().redemption_code)


def test_while_the_payment_page_opens_the_form_says_so_and_takes_no_second_click(
    shopper: Page, live_sandbox: LiveSandbox, tour
):
    shopper.goto(f"/shop/p/{tour.slug}")
    shopper.get_by_test_id("add-to-cart-button").click()
    shopper.get_by_test_id("checkout-link").click()
    form = shopper.get_by_test_id("checkout-form")
    form.get_by_label("Full name").fill("Lê Thị Hoa")
    form.get_by_label("E-mail").fill("hoa.le@gmail.com")
    status = form.get_by_role("status")
    expect(status).to_have_text("")
    # Stripe is slow: the page stays as it is once the form is sent (the browser keeps it)
    form.evaluate("form => form.addEventListener('submit', event => event.preventDefault())")

    form.get_by_test_id("pay").click()

    expect(status).to_have_text("Opening the payment page…")
    expect(form.get_by_test_id("pay")).to_be_disabled()
