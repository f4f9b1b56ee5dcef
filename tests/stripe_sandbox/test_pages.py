"""The sandbox's pages: the hosted checkout page a customer pays on (fetched and posted over
HTTP like a browser, CSRF tokens and all), and the control page a developer refunds,
disputes and resends on (the sandbox's own test client, signed in with the secret key)."""

from __future__ import annotations

import requests

from stripe_sandbox import store
from tests.stripe_sandbox.helpers import (
    CANCEL_URL,
    SUCCESS_URL,
    charge_of,
    csrf_token,
    open_session,
    raw_client,
    sign_in,
)

# --- the hosted page ------------------------------------------------------------------------


def press(browser: requests.Session, url: str, page: str, method: str) -> requests.Response:
    """Press the hosted page's button for ``method``, with the page's CSRF token."""
    data = {"method": method, "csrf_token": csrf_token(page)}
    return browser.post(url, data=data, allow_redirects=False, timeout=10)


def test_the_hosted_page_shows_the_order_and_pays(sandbox, receiver):
    session = open_session(sandbox, price=1_250_000, quantity=2)
    browser = requests.Session()

    page = browser.get(session.url, timeout=10)
    assert page.status_code == 200
    assert 'data-testid="sandbox-banner"' in page.text
    assert "2.500.000\xa0₫" in page.text  # the session's language: Vietnamese
    assert 'lang="vi"' in page.text
    assert "Thanh toán" in page.text  # from the sandbox's own catalog
    assert "stripe_sandbox_session" in browser.cookies  # never the product's "session"

    refused = browser.post(session.url, data={"method": "card"}, allow_redirects=False, timeout=10)
    assert refused.status_code == 400  # no CSRF token
    paid = press(browser, session.url, page.text, "card")

    assert paid.status_code == 303
    assert paid.headers["Location"] == SUCCESS_URL.replace("{CHECKOUT_SESSION_ID}", session.id)
    assert raw_client(sandbox).v1.checkout.sessions.retrieve(session.id).payment_status == "paid"
    again = browser.get(session.url, timeout=10)
    assert 'data-testid="session-complete"' in again.text
    assert press(browser, session.url, page.text, "card").status_code == 409
    receiver.wait_for_event("checkout.session.completed")


def test_the_hosted_page_declines_the_declined_card_and_stays(sandbox):
    session = raw_client(sandbox).v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "locale": "en",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": 1250,
                        "product_data": {"name": "Mekong Delta day trip"},
                    },
                }
            ],
            "success_url": SUCCESS_URL,
            "cancel_url": CANCEL_URL,
        }
    )
    browser = requests.Session()
    page = browser.get(session.url, timeout=10)
    assert "$12.50" in page.text
    assert 'lang="en"' in page.text

    declined = press(browser, session.url, page.text, "declined")

    assert declined.status_code == 402
    assert "Your card was declined" in declined.text
    assert raw_client(sandbox).v1.checkout.sessions.retrieve(session.id).status == "open"
    assert f'href="{CANCEL_URL}"' in page.text


def test_the_hosted_page_of_an_unknown_session_is_a_404(sandbox):
    response = requests.get(f"{sandbox.url}/pay/cs_test_nope", timeout=10)
    assert response.status_code == 404
    assert 'data-testid="sandbox-banner"' in response.text  # the sandbox's own error page


def test_the_pages_carry_their_own_stylesheet_and_a_strict_policy(sandbox):
    page = requests.get(f"{sandbox.url}/signin", timeout=10)

    assert 'href="/static/sandbox.css"' in page.text
    assert requests.get(f"{sandbox.url}/static/sandbox.css", timeout=10).status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"


# --- the control page -----------------------------------------------------------------------


def test_the_control_page_refunds_disputes_and_resends(sandbox, control):
    client, token = control
    intent = sandbox.pay(open_session(sandbox, price=900_000, quantity=1).id)["payment_intent"]

    page = client.get("/", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert intent in page.get_data(as_text=True)

    def post(url: str, **data: str):  # type: ignore[no-untyped-def]
        return client.post(url, data={"csrf_token": token, **data})

    assert post(f"/payments/{intent}/refund", amount="100.000").status_code == 303
    assert charge_of(sandbox, intent).amount_refunded == 100_000
    for amount, refusal in [("5.000.000", "greater than unrefunded amount"), ("a lot", "Invalid")]:
        shown = client.post(
            f"/payments/{intent}/refund",
            data={"csrf_token": token, "amount": amount},
            follow_redirects=True,
            headers={"Accept-Language": "en"},
        )
        assert refusal in shown.get_data(as_text=True), amount
    assert post(f"/payments/{intent}/dispute").status_code == 303
    stripe_client = raw_client(sandbox)
    dispute = stripe_client.v1.disputes.list(params={"payment_intent": intent}).data[0]
    assert post(f"/disputes/{dispute.id}/close", outcome="lost").status_code == 303
    assert stripe_client.v1.disputes.retrieve(dispute.id).status == "lost"
    [closed] = sandbox.events("charge.dispute.closed")
    sandbox.forward_webhooks("http://127.0.0.1:9/hooks")
    before = len(sandbox.deliveries())
    assert post(f"/events/{closed['id']}/resend", deliver_twice="y").status_code == 303
    assert len(sandbox.deliveries()) == before + 2
    assert post("/options", paused="y").status_code == 303
    with store.get_store(sandbox.settings.database_url).read() as conn:
        assert store.get_options(conn) == {"deliver_twice": False, "paused": True}
    assert post(f"/payments/{intent}/refund").status_code == 303  # everything left
    assert charge_of(sandbox, intent).amount_refunded == 100_000  # lost: nothing to refund


def test_the_control_page_forms_need_a_csrf_token(sandbox):
    browser = requests.Session()
    signin = browser.get(f"{sandbox.url}/signin", timeout=10).text
    signed_in = browser.post(
        f"{sandbox.url}/signin",
        data={"key": sandbox.settings.secret_key, "csrf_token": csrf_token(signin)},
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 303
    assert browser.get(f"{sandbox.url}/", timeout=10).status_code == 200

    response = browser.post(f"{sandbox.url}/options", data={"paused": "y"}, timeout=10)

    assert response.status_code == 400


def test_the_control_page_shows_where_webhooks_go(sandbox, receiver):
    client = sandbox.app.test_client()
    sign_in(client)

    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)

    assert f"Webhook endpoint: {receiver.url}" in html
