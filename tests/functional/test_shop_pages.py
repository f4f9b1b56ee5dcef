"""Customers browse the public storefront: home, category and product pages, in Vietnamese
and English, with no account; signed-in people of the company also see staff prices."""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale, get_domain, gettext

from perks.demo import seed_demo_shop
from perks.errors import NotFound
from perks.extensions import db
from perks.people.models import Role
from perks.shop import queries
from perks.shop.models import RedemptionMode
from tests import factories
from tests.helpers import (
    clean_database,
    counting_statements,
    ensure_catalogs_compiled,
    login,
    text_of,
)

VI = {"Accept-Language": "vi"}


def in_vietnamese(message: str, **variables: object) -> str:
    """``message`` as the Vietnamese pages show it, spaces collapsed like ``text_of``."""
    with force_locale("vi"):
        translated = gettext(message, **variables)
    assert translated != message % variables, f"not translated: {message!r}"
    return " ".join(translated.split())


@pytest.fixture(autouse=True)
def _compiled_catalogs(app) -> None:  # type: ignore[no-untyped-def]
    if ensure_catalogs_compiled():
        get_domain().cache.clear()


@pytest.fixture
def ha_long():  # type: ignore[no-untyped-def]
    """The demo's best seller: a tour in VND with a staff price."""
    tours = factories.ProductCategoryFactory(
        slug="tour-trong-nuoc", name_vi="Tour trong nước", name_en="Domestic tours"
    )
    return factories.ProductFactory(
        slug="tour-ha-long",
        category=tours,
        name_vi="Tour Hạ Long 2 ngày 1 đêm",
        name_en="Ha Long Bay 2-day cruise",
        description_vi="Du thuyền 4 sao, ngủ đêm trên vịnh.",
        description_en="A 4-star cruise with a night on the bay.",
        price_amount=2_400_000,
        staff_price_amount=1_500_000,
        max_quantity_per_order=8,
    )


@pytest.fixture
def mekong(ha_long):  # type: ignore[no-untyped-def]
    """A product for international guests, priced in US cents, on the same shelf."""
    return factories.ProductFactory(
        slug="mekong-delta-day-trip",
        category=ha_long.category,
        name_vi="Tour miền Tây 1 ngày",
        name_en="Mekong Delta day trip",
        price_amount=4_900,
        currency="USD",
    )


def pages(product) -> list[str]:  # type: ignore[no-untyped-def]
    return ["/shop/", f"/shop/c/{product.category.slug}", f"/shop/p/{product.slug}"]


# --- prices and names in the visitor's language ---------------------------------------------


def test_every_page_shows_vnd_prices_and_names_in_vietnamese(client, ha_long):
    for url in pages(ha_long):
        response = client.get(url, headers=VI)
        assert response.status_code == 200, url
        page = text_of(response)
        assert '<html lang="vi"' in response.get_data(as_text=True)
        assert "Tour Hạ Long 2 ngày 1 đêm" in page, url
        assert "2.400.000 ₫" in page, url
        assert "Tour trong nước" in page, url
        assert "Ha Long Bay" not in page


def test_every_page_shows_vnd_prices_and_names_in_english(client, ha_long):
    for url in pages(ha_long):
        page = text_of(client.get(url))
        assert "Ha Long Bay 2-day cruise" in page, url
        assert "₫2,400,000" in page, url
        assert "Domestic tours" in page, url


def test_a_usd_product_is_priced_in_dollars_and_cents(client, mekong):
    for url in pages(mekong):
        page = text_of(client.get(url))
        assert "$49.00" in page, url
        assert "Mekong Delta day trip" in page, url
    assert "49,00 US$" in text_of(client.get(f"/shop/p/{mekong.slug}", headers=VI))


def test_a_missing_name_in_one_language_falls_back_to_the_other(client):
    product = factories.ProductFactory(name_vi="Vé tham quan Bà Nà Hills", name_en="")
    assert "Vé tham quan Bà Nà Hills" in text_of(client.get(f"/shop/p/{product.slug}"))


# --- what is listed where -------------------------------------------------------------------


def test_home_lists_active_products_by_category_and_links_to_each(client, ha_long):
    stays = factories.ProductCategoryFactory(name_en="Hotels & resorts", position=2)
    resort = factories.ProductFactory(category=stays, name_en="A night at Sen Vàng Resort")
    gift_card = factories.ProductFactory(category=None, name_en="Gift card")
    hidden = factories.ProductFactory(category=stays, name_en="Con Dao tour", active=False)
    empty = factories.ProductCategoryFactory(name_en="Spa days")

    response = client.get("/shop/")
    html = response.get_data(as_text=True)
    page = text_of(response)

    assert response.status_code == 200
    for product in (ha_long, resort, gift_card):
        assert f'href="/shop/p/{product.slug}"' in html
    assert "Con Dao tour" not in page
    assert hidden.slug not in html
    # shelves in order, the uncategorized last; a shelf with nothing on sale is left out
    assert page.index("Domestic tours") < page.index("Hotels & resorts") < page.index("Gift card")
    assert f'href="/shop/c/{ha_long.category.slug}"' in html
    assert f'href="/shop/c/{empty.slug}"' not in html


def test_a_category_page_lists_only_its_active_products(client, ha_long):
    other = factories.ProductFactory(name_en="Ba Na Hills admission")
    hidden = factories.ProductFactory(category=ha_long.category, name_en="Con Dao", active=False)

    page = text_of(client.get(f"/shop/c/{ha_long.category.slug}"))

    assert "Ha Long Bay 2-day cruise" in page
    assert "Ba Na Hills admission" not in page
    assert other.category.name_en in page
    assert hidden.name_en not in page


def test_a_category_with_nothing_on_sale_says_so(client):
    category = factories.ProductCategoryFactory(name_en="Spa days")
    response = client.get(f"/shop/c/{category.slug}")
    assert response.status_code == 200
    assert "Nothing in this category is on sale right now." in text_of(response)


def test_an_empty_storefront_says_nothing_is_on_sale(client):
    response = client.get("/shop/", headers=VI)
    assert response.status_code == 200
    assert 'data-testid="no-products"' in response.get_data(as_text=True)


def test_the_product_page_says_how_it_is_used_and_how_many_per_order(client, ha_long):
    gift_card = factories.ProductFactory(
        name_en="Gift card", redemption_mode=RedemptionMode.ON_PAYMENT, max_quantity_per_order=1
    )

    tour = text_of(client.get(f"/shop/p/{ha_long.slug}"))
    card = text_of(client.get(f"/shop/p/{gift_card.slug}"))

    assert "A 4-star cruise with a night on the bay." in tour
    assert "Redeemed at the counter" in tour
    assert "Up to 8 per order." in tour
    assert "Redeemed on payment" in card
    assert "Up to 1 per order." in card


def test_the_product_page_offers_to_add_it_to_the_cart_by_post(client, ha_long):
    html = client.get(f"/shop/p/{ha_long.slug}").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/shop/cart/add".*?</form>', html, re.S)
    assert form is not None
    assert f'name="product" value="{ha_long.slug}"' in form.group(0)
    assert re.search(r'name="quantity"[^>]*max="8"|max="8"[^>]*name="quantity"', form.group(0))
    assert "Add to cart" in form.group(0)
    assert "ordering-soon" not in html  # the marker of the days before the cart is gone


def test_the_footer_links_to_the_storefront(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'href="/shop/"' in html


# --- not found ------------------------------------------------------------------------------


def test_an_inactive_product_is_not_found(client, ha_long):
    ha_long.active = False
    db.session.commit()
    response = client.get(f"/shop/p/{ha_long.slug}", headers=VI)
    assert response.status_code == 404
    assert '<html lang="vi"' in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/shop/p/no-such-product", "/shop/c/no-such-category"])
def test_an_unknown_slug_is_not_found(client, ha_long, url):
    assert client.get(url).status_code == 404


def test_product_by_slug_refuses_inactive_and_unknown_products(ha_long):
    assert queries.product_by_slug(ha_long.slug) == ha_long
    ha_long.active = False
    db.session.commit()
    with pytest.raises(NotFound):
        queries.product_by_slug(ha_long.slug)
    with pytest.raises(NotFound):
        queries.category_by_slug("no-such-category")


# --- staff prices ---------------------------------------------------------------------------


def test_visitors_do_not_see_staff_prices(client, ha_long):
    for url in pages(ha_long):
        page = text_of(client.get(url))
        assert "₫1,500,000" not in page, url
        assert "Staff price" not in page, url


def test_a_signed_in_employee_sees_staff_prices_in_their_language(client, login_as, ha_long):
    login_as(Role.EMPLOYEE, locale="vi")
    label = in_vietnamese("Staff price %(price)s", price="1.500.000 ₫")
    for url in pages(ha_long):
        page = text_of(client.get(url))
        assert "2.400.000 ₫" in page, url
        assert label in page, url


def test_a_product_without_a_staff_price_shows_none(client, login_as):
    login_as(Role.EMPLOYEE)
    product = factories.ProductFactory(staff_price_amount=None)
    assert 'data-testid="staff-price"' not in client.get(f"/shop/p/{product.slug}").get_data(
        as_text=True
    )


def test_a_deactivated_employee_no_longer_sees_staff_prices(client, login_as, ha_long):
    person = login_as(Role.EMPLOYEE)
    assert "Staff price ₫1,500,000" in text_of(client.get(f"/shop/p/{ha_long.slug}"))
    person.active = False
    db.session.commit()
    response = client.get(f"/shop/p/{ha_long.slug}")
    assert response.status_code == 200  # still a public page
    assert "₫1,500,000" not in text_of(response)


# --- choices for other forms ----------------------------------------------------------------


def test_choices_are_named_in_the_page_language_and_leave_out_inactive_products(ha_long):
    stays = factories.ProductCategoryFactory(name_vi="Khách sạn", name_en="Hotels", position=2)
    resort = factories.ProductFactory(category=stays, name_vi="Đêm nghỉ", name_en="A night")
    factories.ProductFactory(category=stays, active=False, name_en="Hidden")

    assert queries.product_choices(locale="en") == [
        (resort.id, "A night"),
        (ha_long.id, "Ha Long Bay 2-day cruise"),
    ]
    assert queries.product_choices(locale="vi") == [
        (resort.id, "Đêm nghỉ"),
        (ha_long.id, "Tour Hạ Long 2 ngày 1 đêm"),
    ]
    assert queries.category_choices(locale="en") == [
        (ha_long.category_id, "Domestic tours"),
        (stays.id, "Hotels"),
    ]


# --- the demo -------------------------------------------------------------------------------


def test_the_demo_storefront_has_tours_stays_experiences_and_a_usd_trip(client):
    seed_demo_shop()
    seed_demo_shop()  # a second run adds nothing

    home = text_of(client.get("/shop/", headers=VI))
    english = text_of(client.get("/shop/"))

    assert len(queries.product_choices(locale="vi")) == 8
    for shelf in ("Tour trong nước", "Khách sạn & resort", "Trải nghiệm"):
        assert shelf in home
    assert "Tour Hạ Long 2 ngày 1 đêm" in home
    assert "2.400.000 ₫" in home
    assert "Mekong Delta day trip" in english
    assert "$49.00" in english
    assert "Tour Côn Đảo" not in home  # inactive


# --- a fixed number of SQL statements per page ----------------------------------------------


def seed_storefront(products: int) -> dict[str, str]:
    shelves = [factories.ProductCategoryFactory(position=n) for n in range(3)]
    made = [
        factories.ProductFactory(
            category=shelves[n % 3] if n % 7 else None,
            staff_price_amount=1_000_000 if n % 2 else None,
            currency="USD" if n % 5 == 0 else "VND",
            active=n % 4 != 3,
        )
        for n in range(products)
    ]
    return {"category": shelves[0].slug, "product": made[1].slug}


STOREFRONT = {
    "home": lambda s: "/shop/",
    "category": lambda s: f"/shop/c/{s['category']}",
    "product": lambda s: f"/shop/p/{s['product']}",
}


def statements_per_page(client, products: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    samples = seed_storefront(products)
    counts = {}
    for signed_in in (False, True):
        if signed_in:
            login(client, factories.UserFactory(roles={Role.EMPLOYEE}))
        for name, url in STOREFRONT.items():
            with counting_statements() as statements:
                response = client.get(url(samples))
            assert response.status_code == 200, (name, response.status_code)
            counts[f"{name}, signed in" if signed_in else name] = len(statements)
    client.post("/logout")
    return counts


def test_statements_per_storefront_page_do_not_grow_with_the_products(client):
    small = statements_per_page(client, products=10)
    db.session.remove()
    clean_database()
    large = statements_per_page(client, products=100)

    assert large == small
    # the signed-in person is loaded once per request on top of these; each page reads the
    # company's brand once (perks.branding)
    assert small["home"] == 3, small
    assert small["category"] == 4, small
    assert small["product"] == 4, small  # the product and its ratings: figures, comments
