"""Checkout without a payment: the form, what it previews, what it refuses, and that nothing is
written until a valid POST with its CSRF token (a GET never creates an order or a session).
When Stripe cannot be reached the order closes, the customer is told and keeps their cart.

The full path through the Stripe sandbox is in test_checkout_live.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask_babel import force_locale, get_domain, gettext
from sqlalchemy import func, select

from perks.errors import ValidationFailed
from perks.extensions import db
from perks.i18n import company_today
from perks.people.models import Role
from perks.referrals.attribution import REFERRAL_COOKIE, dump_referral_cookie
from perks.shop.checkout import CHECKOUT_FAILED, clean_customer, normalize_phone
from perks.shop.models import Order, OrderStatus
from tests import factories
from tests.helpers import ensure_catalogs_compiled, spare_port, text_of

VI = {"Accept-Language": "vi"}
CUSTOMER = {"name": "Lê Thị Hoa", "email": "hoa.le@gmail.com", "phone": "0912 345 678"}


@pytest.fixture
def tour():
    return factories.ProductFactory(
        slug="tour-ha-long",
        name_en="Ha Long Bay 2-day cruise",
        name_vi="Tour Hạ Long 2 ngày 1 đêm",
        price_amount=2_400_000,
        staff_price_amount=1_500_000,
    )


def order_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Order)) or 0


def fill_cart(client, product, quantity: int = 1) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/shop/cart/add", data={"product": product.slug, "quantity": quantity})
    assert response.status_code == 303


def refer(client, link) -> None:  # type: ignore[no-untyped-def]
    value = dump_referral_cookie(link.id, None, datetime.now(UTC))
    client.set_cookie(REFERRAL_COOKIE, value, domain="localhost")


def unreachable_url() -> str:
    """A URL nothing listens on (a port just freed): a real connection refusal."""
    return f"http://127.0.0.1:{spare_port()}"


# --- the form -------------------------------------------------------------------------------


def test_checkout_with_an_empty_cart_sends_the_customer_to_the_cart(client):
    response = client.get("/shop/checkout")
    assert response.status_code == 303
    assert response.headers["Location"] == "/shop/cart"


def test_the_checkout_form_asks_for_name_email_phone_and_an_empty_referral_code(client, tour):
    fill_cart(client, tour, 2)

    response = client.get("/shop/checkout")
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    for name in ("name", "email", "phone", "referral_code"):
        assert f'name="{name}"' in html, name
    assert re.search(r'name="referral_code"[^>]*value=""|name="referral_code"(?![^>]*value=)', html)
    page = text_of(response)
    assert "2 × Ha Long Bay 2-day cruise" in page
    assert "Total ₫4,800,000" in page
    assert "Friends discount" not in page


def test_a_get_never_creates_an_order(client, tour):
    fill_cart(client, tour)
    for _ in range(3):
        assert client.get("/shop/checkout").status_code == 200
    assert order_count() == 0


def test_a_referred_customer_sees_the_friends_discount_before_paying(client, tour):
    refer(client, factories.ReferralLinkFactory())
    fill_cart(client, tour, 2)

    page = text_of(client.get("/shop/checkout"))

    assert "Friends discount (5%) −₫240,000" in page
    assert "Total ₫4,560,000" in page
    assert "You came through a link from a member of our team: you get 5% off." in page


def test_an_altered_or_expired_referral_cookie_gives_no_discount(client, tour):
    client.set_cookie(REFERRAL_COOKIE, "not-a-signed-value", domain="localhost")
    fill_cart(client, tour)
    assert "Friends discount" not in text_of(client.get("/shop/checkout"))


def test_signed_in_staff_find_the_form_prefilled_and_staff_prices(client, login_as, tour):
    person = login_as(Role.EMPLOYEE, name="Phạm Thu Trang")
    refer(client, factories.ReferralLinkFactory())  # a colleague's link: never stacks
    fill_cart(client, tour, 2)

    response = client.get("/shop/checkout")
    html = response.get_data(as_text=True)
    page = text_of(response)

    assert 'value="Phạm Thu Trang"' in html
    assert f'value="{person.email}"' in html
    assert "Staff price −₫1,800,000" in page
    assert "Total ₫3,000,000" in page
    assert "Friends discount" not in page


def test_back_from_stripes_cancel_the_form_holds_what_the_customer_typed_and_their_code(
    client, tour
):
    """Stripe's cancel button, then checkout again: the typed referral code is not lost (the
    cookie would have carried a clicked link; a typed code lives only in the form)."""
    link = factories.ReferralLinkFactory()
    left = factories.OrderFactory(
        product=tour,
        customer_name=CUSTOMER["name"],
        customer_email=CUSTOMER["email"],
        customer_phone="+84912345678",
        referral_link=link,
        attribution_reason="typed_code",
    )
    db.session.commit()
    fill_cart(client, tour, 2)
    with client.session_transaction() as browser:
        browser["checkout_order"] = left.token

    response = client.get("/shop/checkout")
    html = response.get_data(as_text=True)

    assert re.search(rf'name="referral_code"[^>]*value="{link.code}"', html)
    assert re.search(r'name="name"[^>]*value="Lê Thị Hoa"', html)
    assert re.search(r'name="email"[^>]*value="hoa.le@gmail.com"', html)
    assert re.search(r'name="phone"[^>]*value="\+84912345678"', html)
    assert "Friends discount (5%) −₫240,000" in text_of(response)


def test_a_code_the_order_did_not_take_from_the_form_is_not_put_back(client, tour):
    """A clicked link (the cookie) attributed the order: the code field stays empty."""
    left = factories.OrderFactory(
        product=tour, referral_link=factories.ReferralLinkFactory(), attribution_reason="cookie"
    )
    db.session.commit()
    fill_cart(client, tour)
    with client.session_transaction() as browser:
        browser["checkout_order"] = left.token

    html = client.get("/shop/checkout").get_data(as_text=True)

    assert re.search(r'name="referral_code"[^>]*value=""|name="referral_code"(?![^>]*value=)', html)
    assert re.search(r'name="name"[^>]*value="Nguyễn Thị Khách"', html)


def test_from_their_leaving_date_a_signed_in_leaver_pays_the_list_price(client, login_as, tour):
    """The daily task deactivates a leaver some time after midnight (and never the last
    administrator): until then they were still given the staff price on their leaving day."""
    login_as(Role.EMPLOYEE, leaving_date=company_today())
    fill_cart(client, tour, 2)

    page = text_of(client.get("/shop/checkout"))

    assert "Staff price" not in page
    assert "Total ₫4,800,000" in page


def test_the_checkout_page_lets_its_form_go_to_stripes_own_page(client, tour):
    fill_cart(client, tour)
    policy = client.get("/shop/checkout").headers["Content-Security-Policy"]
    assert "form-action 'self' https://checkout.stripe.com" in policy
    assert "script-src 'self'" in policy


# --- refused posts: nothing written ---------------------------------------------------------


def test_the_checkout_post_needs_the_csrf_token(app, app_factory, tour):
    client = app_factory(WTF_CSRF_ENABLED=True).test_client()
    page = client.get(f"/shop/p/{tour.slug}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    client.post(
        "/shop/cart/add", data={"product": tour.slug, "quantity": 1, "csrf_token": token.group(1)}
    )

    response = client.post("/shop/checkout", data=CUSTOMER)

    assert response.status_code == 400
    assert order_count() == 0
    assert client.get("/shop/checkout").status_code == 200  # the cart is still there


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "This field is required."),
        ("email", "", "This field is required."),
        ("email", "hoa.le@", "Invalid email address."),
        ("phone", "", "This field is required."),
        ("phone", "12345", "Enter a phone number such as 0912 345 678 or +84 912 345 678."),
        ("phone", "0112 345 678", "Enter a phone number such as 0912 345 678 or +84 912 345 678."),
        (
            "phone",
            "+84 912 abc 678",
            "Enter a phone number such as 0912 345 678 or +84 912 345 678.",
        ),
    ],
)
def test_invalid_details_are_refused_with_the_reason_and_nothing_is_written(
    client, tour, field, value, message
):
    fill_cart(client, tour)

    response = client.post("/shop/checkout", data={**CUSTOMER, field: value})

    assert response.status_code == 400
    assert message in text_of(response)
    assert 'data-testid="checkout-form"' in response.get_data(as_text=True)
    assert order_count() == 0


def test_validation_messages_are_in_the_customers_language(client, tour):
    if ensure_catalogs_compiled():
        get_domain().cache.clear()
    fill_cart(client, tour)

    response = client.post("/shop/checkout", data={**CUSTOMER, "name": ""}, headers=VI)

    with force_locale("vi"):
        required = gettext("This field is required.")
    assert required != "This field is required."
    assert response.status_code == 400
    assert '<html lang="vi"' in response.get_data(as_text=True)
    assert " ".join(required.split()) in text_of(response)
    assert order_count() == 0


@pytest.mark.parametrize("field", ["name", "email"])
def test_an_invisible_name_or_email_is_refused_in_the_customers_language(client, tour, field):
    """Zero-width space, byte order mark, word joiner: a value made only of them is empty."""
    if ensure_catalogs_compiled():
        get_domain().cache.clear()
    fill_cart(client, tour)

    response = client.post(
        "/shop/checkout", data={**CUSTOMER, field: "\u200b\ufeff\u2060"}, headers=VI
    )

    assert response.status_code == 400
    assert "Trường này là bắt buộc." in text_of(response)
    assert re.search(rf'<input[^>]*is-invalid[^>]*name="{field}"', response.get_data(as_text=True))
    assert order_count() == 0


def test_a_name_and_email_pasted_with_spaces_around_them_are_stored_without_them(
    client, tour, live_sandbox
):
    fill_cart(client, tour)

    response = client.post(
        "/shop/checkout",
        data={**CUSTOMER, "name": "\u200b Lê Thị Hoa\ufeff", "email": " \u200bhoa.le@gmail.com \t"},
    )

    assert response.status_code == 303, text_of(response)[:2000]
    order = db.session.scalars(select(Order)).one()
    assert (order.customer_name, order.customer_email) == ("Lê Thị Hoa", "hoa.le@gmail.com")


def test_the_service_refuses_an_invisible_name_or_email_and_trims_the_rest(app):
    with pytest.raises(ValidationFailed) as name:
        clean_customer("\u200b\u2060", "hoa.le@gmail.com", "0912 345 678")
    assert name.value.details["field"] == "name"
    with pytest.raises(ValidationFailed) as email:
        clean_customer("Hoa", "\ufeff\u200b", "0912 345 678")
    assert email.value.details["field"] == "email"
    customer = clean_customer("\u200bHoa ", "\u200bHoa.Le@gmail.com\ufeff", "0912 345 678")
    assert (customer.name, customer.email) == ("Hoa", "hoa.le@gmail.com")


def test_an_unknown_typed_referral_code_is_refused_before_anything_is_written(client, tour):
    fill_cart(client, tour)
    response = client.post("/shop/checkout", data={**CUSTOMER, "referral_code": "zzzzzzz"})
    assert response.status_code == 400
    assert "We do not know the referral code zzzzzzz. Check it, or leave it empty." in text_of(
        response
    )
    assert order_count() == 0


def test_a_paused_links_code_is_refused_with_the_reason(client, tour):
    link = factories.ReferralLinkFactory(paused=True)
    fill_cart(client, tour)
    response = client.post("/shop/checkout", data={**CUSTOMER, "referral_code": link.code})
    assert response.status_code == 400
    assert f"The referral code {link.code} is no longer in use." in text_of(response)
    assert order_count() == 0


def test_a_whole_referral_link_pasted_as_the_code_is_accepted(client, tour):
    # What a friend sends is the link, not its code (the share page copies the full URL),
    # and the company's address is often longer than the code field's 32 characters.
    link = factories.ReferralLinkFactory()
    fill_cart(client, tour)
    pasted = f"https://uudai.dulichsenvang.com.vn/r/{link.code}?utm_source=zalo"

    response = client.post("/shop/checkout", data={**CUSTOMER, "referral_code": pasted})

    assert response.status_code == 303, text_of(response)
    order = db.session.scalars(select(Order)).one()
    assert order.referral_link_id == link.id
    assert order.attribution_reason == "typed_code"
    assert order.total_amount == 2_280_000  # the friends discount


@pytest.mark.parametrize("invisible", ["\u200b", "\ufeff", "\u2060"])
def test_a_code_pasted_with_invisible_characters_is_accepted(client, tour, invisible):
    # Copied out of a chat (Zalo, Messenger): zero-width spaces, a byte order mark or a word
    # joiner come along, invisible on the phone's screen.
    link = factories.ReferralLinkFactory()
    fill_cart(client, tour)
    pasted = f"{invisible}{link.code[:3]}{invisible}{link.code[3:]}{invisible}"

    response = client.post("/shop/checkout", data={**CUSTOMER, "referral_code": pasted})

    assert response.status_code == 303, text_of(response)
    order = db.session.scalars(select(Order)).one()
    assert order.referral_link_id == link.id
    assert order.attribution_reason == "typed_code"


def test_a_code_field_holding_only_invisible_characters_is_no_code(client, tour):
    fill_cart(client, tour)
    response = client.post("/shop/checkout", data={**CUSTOMER, "referral_code": "\u200b\ufeff"})
    assert response.status_code == 303, text_of(response)
    assert db.session.scalars(select(Order)).one().attribution_reason == "none"


def test_an_empty_cart_cannot_be_checked_out(client):
    response = client.post("/shop/checkout", data=CUSTOMER)
    assert response.status_code == 303
    assert response.headers["Location"] == "/shop/cart"
    assert order_count() == 0


def test_a_product_taken_off_sale_during_checkout_stops_the_order_with_the_new_total(client, tour):
    spa = factories.ProductFactory(name_en="Spa day", price_amount=890_000)
    fill_cart(client, tour)
    fill_cart(client, spa)
    spa.active = False
    db.session.commit()

    response = client.post("/shop/checkout", data=CUSTOMER)

    assert response.status_code == 409
    page = text_of(response)
    assert "Spa day is no longer on sale: it was removed from your cart." in page
    assert "Total ₫2,400,000" in page
    assert order_count() == 0


def test_a_discount_the_details_take_away_stops_the_order_with_the_new_total(client, tour):
    # A staff address typed without signing in: no staff price, and no friends discount.
    colleague = factories.UserFactory(email="trang.pham@senvang.example")
    refer(client, factories.ReferralLinkFactory())
    fill_cart(client, tour)
    shown = client.get("/shop/checkout").get_data(as_text=True)
    assert 'name="quoted_total" value="2280000"' in shown  # 5 % off ₫2,400,000

    response = client.post(
        "/shop/checkout",
        data={**CUSTOMER, "email": colleague.email, "quoted_total": "2280000"},
        headers=VI,
    )

    assert response.status_code == 409
    page = text_of(response)
    assert "Tổng tiền bây giờ là 2.400.000 ₫. Địa chỉ email này là của một nhân viên" in page, page
    assert "Tổng cộng 2.400.000 ₫" in page
    # sent again from this page, with the total it shows, the order goes on to payment
    assert 'name="quoted_total" value="2400000"' in response.get_data(as_text=True)
    assert order_count() == 0


def test_a_price_raised_while_the_customer_fills_the_form_stops_the_order_and_says_so(client, tour):
    fill_cart(client, tour)
    shown = client.get("/shop/checkout").get_data(as_text=True)
    assert 'name="quoted_total" value="2400000"' in shown
    tour.price_amount = 2_600_000  # finance changes the price meanwhile
    db.session.commit()

    response = client.post("/shop/checkout", data={**CUSTOMER, "quoted_total": "2400000"})

    assert response.status_code == 409
    page = text_of(response)
    assert "The total is now ₫2,600,000. Our prices or discounts changed since this page " in page
    assert "details you gave" not in page  # the customer typed nothing that changes a price
    assert order_count() == 0


def test_a_lower_total_or_no_total_sent_does_not_stop_the_order(app):
    from perks.shop.attribution import NO_REFERRAL
    from perks.shop.checkout import CheckoutPreview, total_rose
    from perks.shop.pricing import DiscountKind, Quote

    quote = Quote("VND", (), DiscountKind.NONE)  # ₫0: every total shown is at least that
    estimate = CheckoutPreview(quote, NO_REFERRAL, False)
    assert total_rose("2280000", estimate) is None
    assert total_rose("", estimate) is None
    assert total_rose(None, estimate) is None
    assert total_rose("١٢", estimate) is None  # not the page's digits: nothing to compare
    assert total_rose("-1", estimate) is None


def test_checkout_is_only_get_and_post(client):
    assert client.put("/shop/checkout").status_code == 405


# --- Stripe unreachable: the order closes, the cart stays -----------------------------------


def test_when_stripe_cannot_be_reached_the_order_closes_and_the_cart_is_kept(
    app, app_factory, tour
):
    client = app_factory(STRIPE_API_BASE=unreachable_url()).test_client()
    fill_cart(client, tour, 2)

    response = client.post("/shop/checkout", data=CUSTOMER)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert (
        "Payments are not answering right now, so nothing was charged. Your cart is kept: "
        "please try again in a minute." in text_of(response)
    )
    order = db.session.scalars(select(Order)).one()
    assert order.status is OrderStatus.CANCELLED
    assert order.closed_reason == CHECKOUT_FAILED
    assert order.checkout_session_id is None
    assert order.total_amount == 4_800_000
    # the customer's details are kept in the form, and the cart is untouched
    assert 'value="Lê Thị Hoa"' in response.get_data(as_text=True)
    assert "Total ₫4,800,000" in text_of(client.get("/shop/cart"))


# --- phone numbers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0912 345 678", "+84912345678"),
        ("0912.345.678", "+84912345678"),
        ("091-234-5678", "+84912345678"),
        ("+84 912 345 678", "+84912345678"),
        ("+84 (0) 912 345 678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("0084 912 345 678", "+84912345678"),
        ("0398 765 432", "+84398765432"),
        ("024 3825 1234", "+842438251234"),
        ("+1 415 555 0100", "+14155550100"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phone_numbers_are_stored_in_international_form(app, typed, stored):
    assert normalize_phone(typed) == stored


@pytest.mark.parametrize(
    "typed", ["", "12345", "0912 345 67", "0912 345 6789", "0112 345 678", "+84 112 345 678", "abc"]
)
def test_phone_numbers_that_cannot_be_called_are_refused(app, typed):
    from perks.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        normalize_phone(typed)
