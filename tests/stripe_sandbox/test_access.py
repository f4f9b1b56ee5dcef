"""The control page refunds and disputes the product's orders: only a visitor who signed in
with the sandbox's secret key may use it. The hosted payment page stays public, like
Stripe's own, and the API takes the key in its Authorization header."""

from __future__ import annotations

import pytest

from stripe_sandbox import create_app
from stripe_sandbox.settings import DEFAULT_SECRET_KEY
from tests.stripe_sandbox import SANDBOX_TEST_SETTINGS
from tests.stripe_sandbox.helpers import csrf_token, sign_in

CONTROL_FORMS = [
    "/sessions/cs_test_none/expire",
    "/payments/pi_none/refund",
    "/payments/pi_none/dispute",
    "/disputes/dp_none/close",
    "/events/evt_none/resend",
    "/options",
    "/deliveries/retry",
]


@pytest.fixture
def visitor(sandbox):  # type: ignore[no-untyped-def]
    """A browser on the sandbox's own test client: nobody signed in."""
    return sandbox.app.test_client()


def test_a_visitor_without_the_key_is_sent_to_sign_in(visitor):
    response = visitor.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/signin?next=/"
    token = csrf_token(visitor.get("/signin").get_data(as_text=True))
    for url in CONTROL_FORMS:
        posted = visitor.post(url, data={"outcome": "won", "paused": "y", "csrf_token": token})
        assert posted.status_code == 302, url
        assert posted.headers["Location"].startswith("/signin"), url
        assert visitor.post(url, data={"outcome": "won"}).status_code == 400  # no CSRF token


def test_the_secret_key_opens_the_control_page_and_signing_out_closes_it(visitor):
    page = visitor.get("/signin?next=/", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="key"' in html
    assert f"Development default: {DEFAULT_SECRET_KEY}" in html  # the README's own key

    token = sign_in(visitor)

    response = visitor.get("/", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert 'action="/options"' in response.get_data(as_text=True)
    assert visitor.post("/deliveries/retry", data={"csrf_token": token}).status_code == 303
    assert visitor.post("/signout", data={"csrf_token": token}).status_code == 303
    assert visitor.get("/").status_code == 302


def test_a_wrong_key_is_refused(visitor):
    token = csrf_token(visitor.get("/signin").get_data(as_text=True))

    response = visitor.post(
        "/signin",
        data={"key": "sk_test_guess", "csrf_token": token},
        headers={"Accept-Language": "en"},
    )

    assert response.status_code == 401
    assert "not the sandbox&#39;s secret key" in response.get_data(as_text=True)
    assert visitor.get("/").status_code == 302


def test_signing_in_goes_back_only_to_a_page_of_the_sandbox(visitor):
    for target, landing in [("/?x=1", "/?x=1"), ("//evil.example/", "/"), ("https://x.y/", "/")]:
        token = csrf_token(visitor.get("/signin").get_data(as_text=True))
        response = visitor.post(
            "/signin", data={"key": DEFAULT_SECRET_KEY, "csrf_token": token, "next": target}
        )
        assert response.headers["Location"] == landing, target


def test_a_new_secret_key_signs_everyone_out(sandbox, visitor):
    sign_in(visitor)
    other = create_app(
        {
            **SANDBOX_TEST_SETTINGS,
            "STRIPE_SANDBOX_DATABASE_URL": sandbox.settings.database_url,
            "STRIPE_SECRET_KEY": "sk_test_another_key",
        }
    )
    cookie = visitor.get_cookie("stripe_sandbox_session")
    assert cookie is not None
    same_browser = other.test_client()
    same_browser.set_cookie("stripe_sandbox_session", cookie.value)

    assert same_browser.get("/").status_code == 302


def test_the_hosted_payment_page_needs_no_key(visitor):
    # An unknown session is a 404, not a trip to the sign-in page.
    assert visitor.get("/pay/cs_test_none").status_code == 404
    token = csrf_token(visitor.get("/signin").get_data(as_text=True))
    paid = visitor.post("/pay/cs_test_none", data={"method": "card", "csrf_token": token})
    assert paid.status_code == 404


def test_the_api_answers_401_without_the_key(visitor):
    for method, url in [
        ("POST", "/v1/checkout/sessions"),
        ("GET", "/v1/checkout/sessions/cs_test_none"),
        ("POST", "/v1/refunds"),
        ("GET", "/v1/events"),
        ("POST", "/v1/test_helpers/checkout/sessions/cs_test_none/pay"),
        ("POST", "/v1/test_helpers/webhooks/deliver"),
        ("GET", "/v1/customers"),
    ]:
        response = visitor.open(url, method=method)
        assert response.status_code == 401, url
        assert response.get_json()["error"]["type"] == "invalid_request_error"
