"""The whole purchase over real HTTP: a customer follows an employee's referral link, fills a
cart, checks out (CSRF on, as in production), is sent to the Stripe sandbox's payment page
(the sandbox's own server, on another port), pays, and comes back to an order page that says
"being confirmed" until the sandbox's signed webhook has marked the order paid, then shows the
code. Staff buy at staff prices through the same checkout; declined cards and Stripe's cancel
button leave the order unpaid and the cart in place. Nothing is mocked: the real ``stripe``
library, the sandbox, the webhook endpoint.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import requests
from sqlalchemy import func, select

from perks.extensions import db
from perks.mail import OutboxMessage
from perks.payments import stripe_gateway
from perks.referrals.attribution import REFERRAL_COOKIE
from perks.referrals.models import Destination
from perks.shop.models import DiscountKind, Order, OrderStatus
from tests import factories
from tests.stripe_sandbox import LiveSandbox, wait_for

#: a phone's browser: the referral redirect rightly treats python-requests as a bot
PHONE = (
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
CUSTOMER = {"name": "Lê Thị Hoa", "email": "hoa.le@gmail.com", "phone": "0912 345 678"}
TIMEOUT = 15


class Browser:
    """A customer's browser, as far as these tests need one: cookies, CSRF tokens, forms."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.http = requests.Session()
        self.http.headers.update({"User-Agent": PHONE, "Accept-Language": "en"})
        self.token = ""

    def get(self, path: str, **kwargs: object) -> requests.Response:
        url = path if path.startswith("http") else self.base + path
        response = self.http.get(url, timeout=TIMEOUT, **kwargs)  # type: ignore[arg-type]
        found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', response.text)
        if found:
            self.token = found.group(1)
        return response

    def post(self, path: str, data: dict[str, object]) -> requests.Response:
        url = path if path.startswith("http") else self.base + path
        return self.http.post(
            url, data={**data, "csrf_token": self.token}, allow_redirects=False, timeout=TIMEOUT
        )

    def sign_in(self, email: str) -> None:
        self.get("/login")
        response = self.post("/login", {"email": email, "password": factories.PASSWORD})
        assert response.status_code == 302, response.text[:300]

    def add_to_cart(self, product, quantity: int = 1) -> None:  # type: ignore[no-untyped-def]
        self.get(f"/shop/p/{product.slug}")
        response = self.post("/shop/cart/add", {"product": product.slug, "quantity": quantity})
        assert response.status_code == 303, response.text[:300]

    def check_out(self, **details: str) -> requests.Response:
        """The checkout form sent as a browser sends it: with the total the page showed."""
        page = self.get("/shop/checkout")
        return self.post("/shop/checkout", {**CUSTOMER, **quoted_total(page), **details})

    def pay(self, session_url: str, method: str = "card") -> requests.Response:
        page = self.get(session_url)
        assert page.status_code == 200
        return self.post(session_url, {"method": method})


def quoted_total(page: requests.Response) -> dict[str, str]:
    """The checkout page's hidden total (what the customer was shown)."""
    found = re.search(r'name="quoted_total" value="([0-9]+)"', page.text)
    assert found is not None, page.text[:500]
    return {"quoted_total": found.group(1)}


def text(response: requests.Response) -> str:
    body = re.sub(r"<script\b.*?</script>", " ", response.text, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", body)))


def the_order() -> Order:
    db.session.rollback()  # a fresh look: the live server writes in other transactions
    return db.session.scalars(select(Order)).one()


def order_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Order)) or 0


def order_by_id(order_id: int) -> Order:
    db.session.rollback()
    return db.session.get_one(Order, order_id)


def sessions_in_sandbox() -> list[object]:
    now = datetime.now(UTC)
    return list(
        stripe_gateway.list_checkout_sessions(now - timedelta(days=1), now + timedelta(days=1))
    )


def paid_order() -> Order:
    def probe() -> Order | None:
        order = the_order()
        return order if order.paid_at is not None else None

    return wait_for(probe, TIMEOUT)


@pytest.fixture
def tour():  # type: ignore[no-untyped-def]
    return factories.ProductFactory(
        slug="tour-ha-long",
        name_en="Ha Long Bay 2-day cruise",
        name_vi="Tour Hạ Long 2 ngày 1 đêm",
        price_amount=2_400_000,
        staff_price_amount=1_500_000,
    )


@pytest.fixture
def customer(live_sandbox: LiveSandbox) -> Browser:
    return Browser(live_sandbox.app_url)


# --- the customer's path --------------------------------------------------------------------


def test_a_referred_customer_pays_and_gets_the_code_once_the_webhook_confirms(
    live_sandbox, customer, tour
):
    link = factories.ReferralLinkFactory(
        user=factories.UserFactory(name="Phạm Thu Trang"),
        destination=Destination.PRODUCT,
        destination_id=tour.id,
    )
    followed = customer.get(f"/r/{link.code}")
    assert followed.url == f"{live_sandbox.app_url}/shop/p/tour-ha-long"
    assert REFERRAL_COOKIE in customer.http.cookies

    customer.add_to_cart(tour, 2)
    form = customer.get("/shop/checkout")
    assert "Friends discount (5%) −₫240,000" in text(form)
    assert order_count() == 0
    assert sessions_in_sandbox() == []  # a GET never opens a Checkout Session

    live_sandbox.pause_deliveries()  # to see the page before the webhook arrives
    response = customer.post("/shop/checkout", CUSTOMER)

    assert response.status_code == 303
    order = the_order()
    assert response.headers["Location"] == order.checkout_url
    assert order.checkout_url == f"{live_sandbox.url}/pay/{order.checkout_session_id}"
    assert order.status is OrderStatus.PENDING
    assert (order.customer_name, order.customer_email, order.customer_phone) == (
        "Lê Thị Hoa",
        "hoa.le@gmail.com",
        "+84912345678",
    )
    assert order.referral_link_id == link.id
    assert order.referral_click_id is not None
    assert order.attribution_reason == "cookie"
    assert order.attribution_flagged is False
    assert order.buyer_id is None
    assert order.discount_kind is DiscountKind.FRIENDS
    assert (order.subtotal_amount, order.discount_amount, order.total_amount) == (
        4_800_000,
        240_000,
        4_560_000,
    )
    (line,) = order.lines
    assert (line.quantity, line.unit_list_amount, line.unit_amount, line.line_total_amount) == (
        2,
        2_400_000,
        2_280_000,
        4_560_000,
    )
    assert order.locale == "en"
    expires_in = order.checkout_expires_at.replace(tzinfo=UTC) - datetime.now(UTC)
    assert timedelta(minutes=58) < expires_in <= timedelta(minutes=60)

    session = stripe_gateway.retrieve_checkout_session(order.checkout_session_id)
    assert session.amount_total == 4_560_000
    assert session.currency == "vnd"
    assert session.client_reference_id == str(order.id)
    assert session.metadata["order_id"] == str(order.id)
    assert session.success_url == f"{live_sandbox.app_url}/shop/orders/{order.token}?from=checkout"
    assert session.cancel_url == f"{live_sandbox.app_url}/shop/orders/{order.token}/cancelled"

    paid = customer.pay(order.checkout_url)
    assert paid.status_code == 303
    assert paid.headers["Location"] == session.success_url

    # Back on the shop before the webhook: the payment is being confirmed, no code yet.
    success = customer.get(paid.headers["Location"])
    assert success.status_code == 200
    assert "Your payment is being confirmed." in text(success)
    assert order.redemption_code not in success.text
    assert success.headers["Referrer-Policy"] == "no-referrer"
    assert customer.get(f"/shop/orders/{order.token}/status").json()["status"] == "pending"

    live_sandbox.pause_deliveries(False)
    live_sandbox.deliver_pending()
    order = paid_order()
    assert order.status is OrderStatus.PAID
    assert customer.get(f"/shop/orders/{order.token}/status").json()["status"] == "paid"

    success = customer.get(paid.headers["Location"])
    assert re.search(rf'data-testid="redemption-code">{order.redemption_code}<', success.text)
    assert 'data-testid="order-qr"' in success.text
    assert customer.get(f"/shop/orders/{order.token}/qr.png").status_code == 200
    assert "Your cart is empty." in text(customer.get("/shop/cart"))  # it became this order

    mail = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == "hoa.le@gmail.com")
    ).one()
    assert order.redemption_code in mail.body_text
    assert f"{live_sandbox.app_url}/shop/orders/{order.token}" in mail.body_text


def test_a_usd_order_is_charged_to_the_cent(live_sandbox, customer):
    trip = factories.ProductFactory(
        name_en="Mekong Delta day trip", price_amount=4_999, currency="USD"
    )
    link = factories.ReferralLinkFactory()
    customer.add_to_cart(trip, 3)

    response = customer.check_out(referral_code=link.code)

    assert response.status_code == 303
    order = the_order()
    # 5 % of 4,999 cents is 249.95 → 250 off each unit
    assert (order.total_amount, order.discount_amount) == (4_749 * 3, 250 * 3)
    assert order.attribution_reason == "typed_code"
    session = stripe_gateway.retrieve_checkout_session(order.checkout_session_id)
    assert (session.amount_total, session.currency) == (14_247, "usd")

    customer.pay(order.checkout_url)
    assert paid_order().paid_amount == 14_247


def test_signed_in_staff_buy_at_staff_price_with_no_referral(live_sandbox, customer, tour):
    colleague_link = factories.ReferralLinkFactory()
    person = factories.UserFactory(name="Phạm Thu Trang", email="trang.pham@senvang.example")
    customer.get(f"/r/{colleague_link.code}")  # a colleague's link: still no commission
    customer.sign_in(person.email)
    customer.add_to_cart(tour, 2)

    form = customer.get("/shop/checkout")
    assert 'value="trang.pham@senvang.example"' in form.text
    assert 'value="Phạm Thu Trang"' in form.text
    response = customer.post(
        "/shop/checkout",
        {"name": "Phạm Thu Trang", "email": person.email, "phone": "+84 912 345 678"},
    )

    assert response.status_code == 303
    order = the_order()
    assert order.buyer_id == person.id
    assert order.discount_kind is DiscountKind.STAFF
    assert order.total_amount == 3_000_000
    assert order.referral_link_id is None
    assert order.attribution_reason == "employee_buyer"
    assert order.attribution_flagged is True
    customer.pay(order.checkout_url)
    assert paid_order().is_staff_purchase


def test_a_staff_email_without_signing_in_pays_list_price_and_earns_nobody_anything(
    live_sandbox, customer, tour
):
    # Anyone can type a colleague's address: staff prices need a signed-in person.
    employee = factories.UserFactory(email="an.nguyen@senvang.example")
    link = factories.ReferralLinkFactory(user=employee)
    customer.get(f"/r/{link.code}")  # their own link
    customer.add_to_cart(tour)

    stopped = customer.check_out(email="An.Nguyen@senvang.example")
    # the page showed the friends discount (a link's click, no e-mail yet): the customer sees
    # the list price before paying it, not first on the payment page
    assert stopped.status_code == 409
    assert (
        "The total is now ₫2,400,000. Nobody gets the friends discount through their own "
        "referral link." in text(stopped)
    )
    assert order_count() == 0
    customer.post(
        "/shop/checkout",
        {**CUSTOMER, "email": "An.Nguyen@senvang.example", **quoted_total(stopped)},
    )

    order = the_order()
    assert order.discount_kind is DiscountKind.NONE
    assert order.total_amount == tour.price_amount
    assert order.attribution_reason == "self_referral"
    assert order.attribution_flagged is True
    assert order.referral_link_id is None
    assert order.buyer_id is None


# --- not paid -------------------------------------------------------------------------------


def test_a_declined_card_leaves_the_order_pending_and_payable(live_sandbox, customer, tour):
    customer.add_to_cart(tour)
    customer.check_out()
    order = the_order()

    declined = customer.pay(order.checkout_url, "declined")

    assert declined.status_code == 402
    assert "Your card was declined" in text(declined)
    assert the_order().status is OrderStatus.PENDING
    customer.pay(order.checkout_url, "card")
    assert paid_order().status is OrderStatus.PAID


def test_stripes_cancel_button_leads_back_to_the_kept_cart(live_sandbox, customer, tour):
    customer.add_to_cart(tour, 2)
    customer.check_out()
    order = the_order()
    session = stripe_gateway.retrieve_checkout_session(order.checkout_session_id)

    cancelled = customer.get(session.cancel_url)

    assert cancelled.status_code == 200
    assert "Nothing was charged." in text(cancelled)
    assert cancelled.headers["Cache-Control"] == "no-store"
    assert f'href="{order.checkout_url}"' in cancelled.text  # may still pay after all
    cart = customer.get("/shop/cart")
    assert "Total ₫4,800,000" in text(cart)
    assert the_order().status is OrderStatus.PENDING


def test_checking_out_the_cart_again_closes_the_first_payment_page(live_sandbox, customer, tour):
    """Two tabs, or Stripe's cancel and checkout again: the same cart is never payable twice."""
    customer.add_to_cart(tour)
    customer.check_out()
    first = the_order()
    second_tab = customer.check_out()
    assert second_tab.status_code == 303

    db.session.rollback()
    first, second = db.session.scalars(select(Order).order_by(Order.id)).all()
    assert second_tab.headers["Location"] == second.checkout_url
    stale = customer.pay(first.checkout_url)  # the first tab, still on Stripe's page

    assert stale.status_code != 303  # not paid: its session was expired
    assert stripe_gateway.retrieve_checkout_session(first.checkout_session_id).status == "expired"
    wait_for(lambda: order_by_id(first.id).status is OrderStatus.EXPIRED, TIMEOUT)
    customer.pay(second.checkout_url)
    wait_for(lambda: order_by_id(second.id).paid_at is not None, TIMEOUT)


def test_a_cart_being_paid_in_another_tab_is_not_ordered_again(live_sandbox, customer, tour):
    customer.add_to_cart(tour)
    customer.check_out()
    first = the_order()
    live_sandbox.pause_deliveries()
    assert customer.pay(first.checkout_url).status_code == 303  # paid, not yet confirmed

    again = customer.check_out()

    assert again.status_code == 303
    assert again.headers["Location"].endswith(f"/shop/orders/{first.token}?from=checkout")
    assert order_count() == 1


def test_an_expired_session_closes_the_order_and_its_page_says_so(live_sandbox, customer, tour):
    customer.add_to_cart(tour)
    customer.check_out()
    order = the_order()

    stripe_gateway.expire_checkout_session(order.checkout_session_id)

    wait_for(lambda: the_order().status is OrderStatus.EXPIRED, TIMEOUT)
    page = customer.get(f"/shop/orders/{order.token}")
    assert "This order expired before it was paid. Nothing was charged." in text(page)
    assert order.redemption_code not in page.text


def test_the_checkout_post_without_its_csrf_token_creates_nothing(live_sandbox, customer, tour):
    customer.add_to_cart(tour)
    response = customer.http.post(
        live_sandbox.app_url + "/shop/checkout",
        data=CUSTOMER,
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    assert order_count() == 0
    assert sessions_in_sandbox() == []


def test_an_order_with_nothing_to_pay_is_refused_with_the_reason_before_stripe_is_asked(
    live_sandbox, customer
):
    # A staff price of 0 (or a 100 % staff discount) is allowed on a product, but Stripe opens
    # no Checkout Session for a total of 0: the customer was told "We could not reach our
    # payment provider ... try again in a moment", which never helps.
    gift = factories.ProductFactory(slug="qua-tang", price_amount=500_000, staff_price_amount=0)
    person = factories.UserFactory(email="trang.pham@senvang.example")
    customer.sign_in(person.email)
    customer.add_to_cart(gift)

    response = customer.post(
        "/shop/checkout", {"name": "Phạm Thu Trang", "email": person.email, "phone": "0912345678"}
    )

    assert response.status_code == 400
    page = text(response)
    assert "This order comes to nothing to pay" in page
    assert "could not reach" not in page
    assert order_count() == 0
    assert sessions_in_sandbox() == []
