"""A Vietnamese customer's whole purchase on a 390 px phone, as they see it: an employee's
referral link, the product, the cart, checkout, Stripe's (the sandbox's) page left with its
cancel button, the cart kept, checkout again, paid, and the order page with its code. Every
page fits the screen and speaks the browser's language, with amounts in đồng as Vietnamese
writes them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from perks.referrals.models import Destination
from perks.shop.models import Order, OrderStatus
from tests import factories
from tests.browser.helpers import TIMEOUT_MS, assert_fits_the_screen, customer_page
from tests.stripe_sandbox import LiveSandbox, wait_for

pytestmark = pytest.mark.browser

PHONE_SCREEN = {"width": 390, "height": 844}


@pytest.fixture
def vietnamese_phone(browser: Browser, live_sandbox: LiveSandbox) -> Iterator[Page]:
    with customer_page(
        browser, live_sandbox.app_url, locale="vi-VN", viewport=PHONE_SCREEN
    ) as page:
        yield page


def _orders() -> list[Order]:
    from sqlalchemy import select

    from perks.extensions import db

    db.session.rollback()
    return list(db.session.scalars(select(Order).order_by(Order.id)))


def test_a_vietnamese_customer_buys_on_a_phone_from_link_to_code(
    vietnamese_phone: Page, live_sandbox: LiveSandbox, tour
):
    shopper = vietnamese_phone
    link = factories.ReferralLinkFactory(
        user=factories.UserFactory(name="Phạm Thu Trang"),
        destination=Destination.PRODUCT,
        destination_id=tour.id,
    )

    shopper.goto(f"/r/{link.code}")
    expect(shopper.locator("main h1")).to_have_text("Tour Hạ Long 2 ngày 1 đêm")
    assert_fits_the_screen(shopper)
    shopper.get_by_label("Số lượng").fill("2")
    shopper.get_by_test_id("add-to-cart-button").click()
    expect(shopper.get_by_test_id("total")).to_contain_text("4.560.000 ₫")
    assert_fits_the_screen(shopper)

    shopper.get_by_test_id("checkout-link").click()
    expect(shopper.get_by_test_id("discount")).to_contain_text("240.000 ₫")
    assert_fits_the_screen(shopper)
    form = shopper.get_by_test_id("checkout-form")
    form.get_by_label("Họ và tên").fill("Lê Thị Hoa")
    form.get_by_label("Email").fill("hoa.le@gmail.com")
    form.get_by_label("Điện thoại").fill("0912 345 678")
    form.get_by_test_id("pay").click()

    expect(shopper).to_have_url(re.compile(r"/pay/cs_test_\w+$"))
    expect(shopper.get_by_test_id("total")).to_contain_text("4.560.000")
    assert_fits_the_screen(shopper)
    shopper.get_by_test_id("cancel").click()

    expect(shopper).to_have_url(re.compile(r"/shop/orders/[\w-]+/cancelled$"))
    expect(shopper.get_by_test_id("payment-cancelled")).to_contain_text("chưa bị trừ tiền")
    assert_fits_the_screen(shopper)
    shopper.get_by_test_id("back-to-cart").click()
    expect(shopper.get_by_test_id("total")).to_contain_text("4.560.000 ₫")
    shopper.get_by_test_id("checkout-link").click()
    form = shopper.get_by_test_id("checkout-form")
    form.get_by_label("Họ và tên").fill("Lê Thị Hoa")
    form.get_by_label("Email").fill("hoa.le@gmail.com")
    form.get_by_label("Điện thoại").fill("0912 345 678")
    form.get_by_test_id("pay").click()

    expect(shopper).to_have_url(re.compile(r"/pay/cs_test_\w+$"))
    shopper.get_by_test_id("pay-card").click()
    expect(shopper).to_have_url(re.compile(r"/shop/orders/[\w-]+\?from=checkout$"))
    first, second = wait_for(
        lambda: found if len(found := _orders()) == 2 and found[1].paid_at else None,
        TIMEOUT_MS / 1000,
    )
    expect(shopper.get_by_test_id("redemption-code")).to_have_text(second.redemption_code)
    expect(shopper.get_by_test_id("total")).to_have_text("4.560.000 ₫")
    assert_fits_the_screen(shopper)
    wait_for(lambda: _orders()[0].status is OrderStatus.EXPIRED, TIMEOUT_MS / 1000)

    shopper.goto(f"/shop/orders/{first.token}")  # the first order, left on Stripe's page
    expect(shopper.get_by_test_id("order-closed")).to_contain_text("chưa bị trừ tiền")
    assert_fits_the_screen(shopper)
