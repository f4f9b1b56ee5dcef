"""A customer on the sandbox's hosted checkout page: declined, then paid; then a developer,
signed in as an admin, refunds part of the payment on the sandbox's control page. In
headless Chromium."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from perks.extensions import db
from perks.payments import stripe_gateway
from perks.people.models import Role
from tests import factories

pytestmark = pytest.mark.browser


def test_a_customer_is_declined_then_pays_and_a_developer_refunds(page: Page, live_sandbox):
    product = factories.ProductFactory(price_amount=1_250_000, name_en="Ha Long Bay cruise")
    order = factories.OrderFactory(product=product, quantity=2, locale="en")
    db.session.refresh(order)
    session = stripe_gateway.create_checkout_session(
        order,
        success_url=f"{live_sandbox.url}/shop/?paid={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{live_sandbox.url}/shop/",
        expires_in=timedelta(minutes=60),
    )

    page.goto(session.url)
    expect(page.get_by_test_id("sandbox-banner")).to_be_visible()
    expect(page.get_by_test_id("line-items")).to_contain_text("Sản phẩm")
    expect(page.get_by_test_id("total")).to_have_text("₫2,500,000")
    page.get_by_test_id("pay-declined").click()
    expect(page.get_by_test_id("declined")).to_be_visible()
    page.get_by_test_id("pay-card").click()
    expect(page).to_have_url(re.compile(rf"/shop/\?paid={session.id}$"))

    intent = stripe_gateway.retrieve_checkout_session(session.id).payment_intent
    developer = factories.UserFactory(roles={Role.ADMIN})
    page.goto("/stripe-sandbox/")  # the control page asks its visitor to sign in first
    expect(page).to_have_url(re.compile(r"/login\?next="))
    form = page.get_by_test_id("login-form")
    form.locator("input[name=email]").fill(developer.email)
    form.locator("input[name=password]").fill(factories.PASSWORD)
    form.locator("[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/stripe-sandbox/$"))
    row = page.get_by_test_id(f"payment-{intent}")
    row.get_by_label("Amount").fill("500,000")
    row.get_by_test_id("refund").click()
    expect(page.get_by_role("alert")).to_contain_text("Refund")
    expect(page.get_by_test_id(f"payment-{intent}")).to_contain_text("₫500,000")
