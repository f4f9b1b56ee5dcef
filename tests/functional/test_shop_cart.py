"""Customers fill a cart in their session: add from a product page, change quantities, remove,
empty; one currency per cart; products that stop being on sale leave it, with a word why."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from perks.extensions import db
from perks.people.models import Role
from perks.referrals.attribution import REFERRAL_COOKIE, dump_referral_cookie
from perks.shop.cart import MAX_LINES
from perks.shop.models import Order
from tests import factories
from tests.helpers import counting_statements, text_of

VI = {"Accept-Language": "vi"}


@pytest.fixture
def tour():
    return factories.ProductFactory(
        slug="tour-ha-long",
        name_en="Ha Long Bay 2-day cruise",
        name_vi="Tour Hạ Long 2 ngày 1 đêm",
        price_amount=2_400_000,
        staff_price_amount=1_500_000,
        max_quantity_per_order=4,
    )


@pytest.fixture
def spa():
    return factories.ProductFactory(slug="spa-day", name_en="Spa day", price_amount=890_000)


@pytest.fixture
def mekong():
    return factories.ProductFactory(
        slug="mekong-delta-day-trip",
        name_en="Mekong Delta day trip",
        price_amount=4_900,
        currency="USD",
    )


def add(client, product, quantity: int | str = 1, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/shop/cart/add", data={"product": product.slug, "quantity": quantity}, headers=headers
    )


def cart_lines(client) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """``{product id: quantity}`` as the cart page shows them."""
    html = client.get("/shop/cart").get_data(as_text=True)
    rows = re.findall(
        r'data-testid="cart-line" data-product-id="(\d+)".*?value="(\d+)" data-testid="quantity"',
        html,
        re.S,
    )
    return {product_id: int(quantity) for product_id, quantity in rows}


def badge(client, url: str = "/shop/") -> int:  # type: ignore[no-untyped-def]
    html = client.get(url).get_data(as_text=True)
    found = re.search(r'data-testid="cart-count">(\d+)<', html)
    assert found is not None, "no cart badge"
    return int(found.group(1))


# --- adding ---------------------------------------------------------------------------------


def test_adding_a_product_puts_it_in_the_cart_with_its_total(client, tour):
    response = add(client, tour, 2)

    assert response.status_code == 303
    assert response.headers["Location"] == "/shop/cart"
    page = text_of(client.get("/shop/cart"))
    assert "Added to your cart: 2 × Ha Long Bay 2-day cruise (₫4,800,000)." in page
    assert cart_lines(client) == {str(tour.id): 2}
    assert "Subtotal ₫4,800,000" in page
    assert "Total ₫4,800,000" in page


def test_the_storefront_header_shows_how_many_items_the_cart_holds(client, tour, spa):
    assert badge(client) == 0
    add(client, tour, 2)
    add(client, spa, 1)
    for url in ("/shop/", f"/shop/c/{tour.category.slug}", f"/shop/p/{spa.slug}"):
        assert badge(client, url) == 3, url


def test_adding_the_same_product_again_adds_to_its_quantity(client, tour):
    add(client, tour, 1)
    add(client, tour, 2)
    assert cart_lines(client) == {str(tour.id): 3}


def test_more_than_one_order_allows_is_refused_and_says_how_many_are_in_the_cart(client, tour):
    add(client, tour, 3)

    response = add(client, tour, 2)

    assert response.status_code == 400
    assert (
        "At most 4 of Ha Long Bay 2-day cruise can be ordered at once, and your cart already "
        "has 3." in text_of(response)
    )
    assert cart_lines(client) == {str(tour.id): 3}


@pytest.mark.parametrize("quantity", [0, -1, 5, "two", ""])
def test_a_quantity_outside_1_to_the_products_limit_is_refused(client, tour, quantity):
    response = add(client, tour, quantity)
    assert response.status_code == 400
    assert 'data-testid="add-to-cart"' in response.get_data(as_text=True)  # the product page
    assert cart_lines(client) == {}


@pytest.mark.parametrize("quantity", [0, -1, 1001, "two", ""])
def test_a_refused_quantity_says_the_products_own_limit_once(client, tour, quantity):
    # Not the form's "between 1 and 1000": the tour allows 4, and the customer reads one reason.
    response = add(client, tour, quantity)

    page = text_of(response)
    assert "Choose a quantity from 1 to 4 for Ha Long Bay 2-day cruise." in page
    assert "1000" not in page
    assert "Not a valid integer" not in page
    assert "Hãy chọn số lượng từ 1 đến 4 cho Tour Hạ Long 2 ngày 1 đêm." in text_of(
        add(client, tour, quantity, **VI)
    )


def test_an_unknown_or_inactive_product_cannot_be_added(client, tour):
    hidden = factories.ProductFactory(active=False)
    assert client.post("/shop/cart/add", data={"product": "nope", "quantity": 1}).status_code == 404
    assert add(client, hidden).status_code == 404
    assert client.post("/shop/cart/add", data={"quantity": 1}).status_code == 404
    assert cart_lines(client) == {}


def test_a_product_in_another_currency_is_refused_with_the_reason(client, tour, mekong):
    add(client, tour)

    response = add(client, mekong)

    assert response.status_code == 409
    assert (
        "Your cart is priced in VND and Mekong Delta day trip in USD: one order is paid in one "
        "currency. Pay for your cart or empty it first." in text_of(response)
    )
    assert cart_lines(client) == {str(tour.id): 1}


def test_a_usd_cart_is_priced_in_dollars_and_cents(client, mekong):
    add(client, mekong, 3)
    page = text_of(client.get("/shop/cart"))
    assert "$49.00" in page
    assert "Total $147.00" in page
    assert "147,00 US$" in text_of(client.get("/shop/cart", headers=VI))


def test_a_cart_holds_a_limited_number_of_different_products(client):
    products = [factories.ProductFactory() for _ in range(MAX_LINES + 1)]
    for product in products[:MAX_LINES]:
        assert add(client, product).status_code == 303
    response = add(client, products[-1])
    assert response.status_code == 409
    assert f"Your cart is full ({MAX_LINES} different products)." in text_of(response)


# --- changing -------------------------------------------------------------------------------


def test_changing_a_quantity(client, tour, spa):
    add(client, tour)
    add(client, spa)

    response = client.post(f"/shop/cart/{tour.id}/quantity", data={"quantity": 4})

    assert response.status_code == 303
    assert cart_lines(client) == {str(tour.id): 4, str(spa.id): 1}
    assert "Total ₫10,490,000" in text_of(client.get("/shop/cart"))


@pytest.mark.parametrize("quantity", [0, 5, "x"])
def test_a_bad_new_quantity_is_refused_and_changes_nothing(client, tour, quantity):
    add(client, tour, 2)
    response = client.post(f"/shop/cart/{tour.id}/quantity", data={"quantity": quantity})
    assert response.status_code == 400
    assert 'data-testid="cart-error"' in response.get_data(as_text=True)
    assert cart_lines(client) == {str(tour.id): 2}


@pytest.mark.parametrize("quantity", [0, 1001, "x"])
def test_a_bad_new_quantity_says_the_products_own_limit(client, tour, quantity):
    add(client, tour, 2)
    response = client.post(f"/shop/cart/{tour.id}/quantity", data={"quantity": quantity})
    assert "Choose a quantity from 1 to 4 for Ha Long Bay 2-day cruise." in text_of(response)


def test_changing_a_product_that_is_not_in_the_cart_is_not_found(client, tour, spa):
    add(client, tour)
    response = client.post(f"/shop/cart/{spa.id}/quantity", data={"quantity": 1})
    assert response.status_code == 404
    assert "This product is not in your cart." in text_of(response)


def test_removing_a_product_and_emptying_the_cart(client, tour, spa):
    add(client, tour)
    add(client, spa)

    assert client.post(f"/shop/cart/{tour.id}/remove").status_code == 303
    assert cart_lines(client) == {str(spa.id): 1}

    assert client.post("/shop/cart/clear").status_code == 303
    page = client.get("/shop/cart")
    assert page.status_code == 200
    assert "Your cart is empty." in text_of(page)
    assert badge(client) == 0


@pytest.mark.parametrize(
    "url", ["/shop/cart/add", "/shop/cart/1/quantity", "/shop/cart/1/remove", "/shop/cart/clear"]
)
def test_the_cart_changes_only_by_post(client, url):
    assert client.get(url).status_code == 405


# --- the cart follows the products ----------------------------------------------------------


def test_a_product_taken_off_sale_leaves_the_cart_with_a_message(client, tour, spa):
    add(client, tour)
    add(client, spa)
    spa.active = False
    db.session.commit()

    page = text_of(client.get("/shop/cart"))

    assert "Spa day is no longer on sale: it was removed from your cart." in page
    assert cart_lines(client) == {str(tour.id): 1}
    assert badge(client) == 1


def test_a_deleted_product_leaves_the_cart_with_a_message(client, tour, spa):
    add(client, tour)
    add(client, spa)
    db.session.delete(spa)
    db.session.commit()
    page = text_of(client.get("/shop/cart"))
    assert "A product in your cart is no longer on sale: it was removed." in page
    assert cart_lines(client) == {str(tour.id): 1}


def test_a_lowered_limit_lowers_the_quantity_in_the_cart(client, tour):
    add(client, tour, 4)
    tour.max_quantity_per_order = 2
    db.session.commit()
    page = text_of(client.get("/shop/cart"))
    assert (
        "At most 2 of Ha Long Bay 2-day cruise can be ordered at once: your cart now has 2." in page
    )
    assert cart_lines(client) == {str(tour.id): 2}


def test_a_product_whose_currency_changed_leaves_the_cart(client, tour, spa):
    add(client, tour)
    add(client, spa)
    spa.currency = "USD"
    db.session.commit()
    page = text_of(client.get("/shop/cart"))
    assert "Spa day is now priced in USD, unlike the rest of your cart: it was removed." in page
    assert cart_lines(client) == {str(tour.id): 1}


# --- discounts shown in the cart ------------------------------------------------------------


def test_a_referred_customer_sees_the_friends_discount_in_the_cart(client, tour):
    link = factories.ReferralLinkFactory()
    client.set_cookie(
        REFERRAL_COOKIE, dump_referral_cookie(link.id, None, datetime.now(UTC)), domain="localhost"
    )
    add(client, tour, 2)
    page = text_of(client.get("/shop/cart"))
    assert "Friends discount (5%) −₫240,000" in page
    assert "Total ₫4,560,000" in page


def test_a_signed_in_employee_sees_staff_prices_in_the_cart(client, login_as, tour):
    login_as(Role.EMPLOYEE)
    add(client, tour, 2)
    page = text_of(client.get("/shop/cart"))
    assert "Staff price −₫1,800,000" in page
    assert "Total ₫3,000,000" in page
    assert "You buy at staff prices as a member of staff." in page


def test_the_cart_writes_nothing(client, tour):
    add(client, tour)
    client.get("/shop/cart")
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


# --- protection -----------------------------------------------------------------------------


def test_every_cart_change_needs_the_csrf_token(app, app_factory, tour):
    client = app_factory(WTF_CSRF_ENABLED=True).test_client()
    product_page = client.get(f"/shop/p/{tour.slug}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', product_page)
    assert token is not None

    refused = client.post("/shop/cart/add", data={"product": tour.slug, "quantity": 1})
    assert refused.status_code == 400
    assert cart_lines(client) == {}

    accepted = client.post(
        "/shop/cart/add",
        data={"product": tour.slug, "quantity": 1, "csrf_token": token.group(1)},
    )
    assert accepted.status_code == 303
    for url, data in (
        (f"/shop/cart/{tour.id}/quantity", {"quantity": 3}),
        (f"/shop/cart/{tour.id}/remove", {}),
        ("/shop/cart/clear", {}),
    ):
        assert client.post(url, data=data).status_code == 400, url
    assert cart_lines(client) == {str(tour.id): 1}


def test_the_cart_page_in_vietnamese(client, tour):
    add(client, tour, 2)
    response = client.get("/shop/cart", headers=VI)
    assert '<html lang="vi"' in response.get_data(as_text=True)
    assert "4.800.000 ₫" in text_of(response)


def test_the_cart_page_runs_as_many_statements_with_many_products(client):
    def statements(count: int) -> int:
        client.post("/shop/cart/clear")
        for _ in range(count):
            add(client, factories.ProductFactory(staff_price_amount=1_000))
        with counting_statements() as seen:
            assert client.get("/shop/cart").status_code == 200
        return len(seen)

    assert statements(2) == statements(12)


def test_a_refused_new_quantity_stays_in_its_field_marked_and_described(client, tour):
    """The refusal was only an alert at the top of the cart: the line's field went back to the
    old quantity, not marked refused, so the customer (a screen reader's too) could not tell
    which line, nor what they had typed."""
    add(client, tour, 2)
    response = client.post(f"/shop/cart/{tour.id}/quantity", data={"quantity": 9})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    field = re.search(rf'<input[^>]*id="quantity-{tour.id}"[^>]*>', html, re.S)
    assert field is not None
    assert 'value="9"' in field.group(0)
    assert 'aria-invalid="true"' in field.group(0)
    described = re.search(r'aria-describedby="([^"]+)"', field.group(0))
    assert described is not None
    assert f'id="{described.group(1)}"' in html
    assert cart_lines(client) == {str(tour.id): 2}
