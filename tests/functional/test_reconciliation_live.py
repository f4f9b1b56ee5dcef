"""Reconciliation against the Stripe sandbox served live: orders paid (or not) through the
real ``stripe`` library and the sandbox's signed webhooks, then the reconciliation page."""

from __future__ import annotations

import re

from perks.i18n import company_date
from perks.people.models import Role
from tests import factories
from tests.helpers import open_checkout_session, wait_for_order


def findings(client, day: str, stripe: str = "0") -> list[str]:  # type: ignore[no-untyped-def]
    page = client.get(
        f"/finance/reconciliation?start={day}&end={day}&stripe={stripe}",
        headers={"Accept-Language": "en"},
    )
    assert page.status_code == 200
    return re.findall(r'data-kind="([a-z_]+)"', page.get_data(as_text=True))


def test_an_async_payment_that_failed_is_no_payment_not_received(client, login_as, live_sandbox):
    """A bank transfer's Checkout Session completes unpaid (``checkout.session.completed``
    with ``payment_status`` "unpaid"), then its payment fails and the order closes unpaid:
    reconciliation took the stored "completed" event for a payment and said "Payment not
    received" for the order, for ever, with or without Stripe's list."""
    order = factories.OrderFactory()
    live_sandbox.pay(open_checkout_session(order), "async_failure")
    wait_for_order(order.id, lambda o: o.closed_at is not None)
    login_as(Role.FINANCE)
    day = company_date(order.created_at).isoformat()

    assert findings(client, day) == []
    assert findings(client, day, stripe="1") == []
