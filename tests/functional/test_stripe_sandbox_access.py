"""The Stripe sandbox's control page refunds and disputes this app's orders: only a signed-in
admin may use it. The hosted payment page stays public, like Stripe's own."""

from __future__ import annotations

import pytest

from perks.people.models import Role

CONTROL_FORMS = [
    "/stripe-sandbox/sessions/cs_test_none/expire",
    "/stripe-sandbox/payments/pi_none/refund",
    "/stripe-sandbox/payments/pi_none/dispute",
    "/stripe-sandbox/disputes/dp_none/close",
    "/stripe-sandbox/events/evt_none/resend",
    "/stripe-sandbox/options",
    "/stripe-sandbox/deliveries/retry",
]


def test_an_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/stripe-sandbox/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    for url in CONTROL_FORMS:
        posted = client.post(url, data={"outcome": "won", "paused": "y"})
        assert posted.status_code == 302, url
        assert posted.headers["Location"].startswith("/login"), url


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_people_without_the_admin_role_are_refused(client, login_as, role):
    login_as(role)
    assert client.get("/stripe-sandbox/").status_code == 403
    for url in CONTROL_FORMS:
        assert client.post(url, data={"outcome": "won", "paused": "y"}).status_code == 403, url


def test_an_admin_sees_the_control_page(client, login_as):
    login_as(Role.ADMIN)
    response = client.get("/stripe-sandbox/")
    assert response.status_code == 200
    assert 'action="/stripe-sandbox/options"' in response.get_data(as_text=True)
    assert client.post("/stripe-sandbox/deliveries/retry").status_code == 303


def test_the_hosted_payment_page_needs_no_account(client):
    # An unknown session is a 404, not a trip to the sign-in page.
    assert client.get("/stripe-sandbox/pay/cs_test_none").status_code == 404
    assert client.post("/stripe-sandbox/pay/cs_test_none", data={"method": "card"}).status_code == (
        404
    )
