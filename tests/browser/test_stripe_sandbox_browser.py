"""A customer on the sandbox's hosted checkout page: declined, then paid; then a developer
signs in to the sandbox's control page with its secret key and refunds part of the payment.
In headless Chromium, against this worker's sandbox server (its own app, on its own port)."""

from __future__ import annotations

import re

import pytest
import stripe
from playwright.sync_api import Page, expect

from stripe_sandbox.settings import DEFAULT_SECRET_KEY
from tests.stripe_sandbox import LiveSandbox

pytestmark = pytest.mark.browser


def test_a_customer_is_declined_then_pays_and_a_developer_refunds(
    page: Page, live_sandbox: LiveSandbox, screenshots
):
    client = stripe.StripeClient(DEFAULT_SECRET_KEY, base_addresses={"api": live_sandbox.url})
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "locale": "en",
            "line_items": [
                {
                    "quantity": 2,
                    "price_data": {
                        "currency": "vnd",
                        "unit_amount": 1_250_000,
                        "product_data": {"name": "Tour Hạ Long 2 ngày 1 đêm"},
                    },
                }
            ],
            "success_url": f"{live_sandbox.app_url}/shop/?paid={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{live_sandbox.app_url}/shop/",
        }
    )

    page.goto(session.url)
    expect(page.get_by_test_id("sandbox-banner")).to_be_visible()
    expect(page.get_by_test_id("line-items")).to_contain_text("Tour Hạ Long")
    expect(page.get_by_test_id("total")).to_have_text("₫2,500,000")
    page.get_by_test_id("pay-declined").click()
    expect(page.get_by_test_id("declined")).to_be_visible()
    page.get_by_test_id("pay-card").click()
    expect(page).to_have_url(re.compile(rf"/shop/\?paid={session.id}$"))

    intent = client.v1.checkout.sessions.retrieve(session.id).payment_intent
    page.goto(f"{live_sandbox.url}/")  # the control page asks for the secret key first
    expect(page).to_have_url(re.compile(r"/signin\?next=/$"))
    form = page.get_by_test_id("signin-form")
    form.get_by_label("Secret key").fill(DEFAULT_SECRET_KEY)
    form.locator("[type=submit]").click()
    expect(page).to_have_url(f"{live_sandbox.url}/")
    row = page.get_by_test_id(f"payment-{intent}")
    row.get_by_label("Amount").fill("500,000")
    row.get_by_test_id("refund").click()
    expect(page.get_by_role("alert")).to_contain_text("Refund")
    expect(page.get_by_test_id(f"payment-{intent}")).to_contain_text("₫500,000")
    screenshots(page, "stripe-sandbox-control")


def test_the_checkout_page_fits_a_phone_in_vietnamese(page: Page, live_sandbox: LiveSandbox):
    """At 390 px the order summary's Vietnamese headings and amounts in đồng scrolled the page
    sideways (394 px)."""
    client = stripe.StripeClient(DEFAULT_SECRET_KEY, base_addresses={"api": live_sandbox.url})
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "locale": "vi",
            "line_items": [
                {
                    "quantity": 12,
                    "price_data": {
                        "currency": "vnd",
                        "unit_amount": 24_800_000,
                        "product_data": {"name": "Nghỉ dưỡng Phú Quốc 3 ngày 2 đêm"},
                    },
                }
            ],
            "success_url": f"{live_sandbox.app_url}/shop/",
            "cancel_url": f"{live_sandbox.app_url}/shop/",
        }
    )
    page.set_viewport_size({"width": 390, "height": 844})

    page.goto(session.url)

    expect(page.get_by_test_id("line-items")).to_contain_text("297.600.000")
    expect(page.get_by_text("12 × 24.800.000")).to_be_visible()  # instead of two columns
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
