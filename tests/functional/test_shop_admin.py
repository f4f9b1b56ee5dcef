"""The shop's back office through its pages: products and categories (HR and finance), the
orders list and an order's page (finance), product images on the storefront."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from perks import images
from perks.audit import AuditEvent
from perks.db import transaction
from perks.extensions import db
from perks.images import StoredImage
from perks.payments.models import EventOutcome, StripeEvent
from perks.people.models import Role
from perks.shop import product_admin
from perks.shop.models import (
    DisputeStatus,
    Order,
    Product,
    ProductCategory,
    RedemptionMode,
)
from tests import factories
from tests.helpers import clean_database, counting_statements, login, png_bytes, text_of
from tests.submissions import product_form

# --- helpers --------------------------------------------------------------------------------


def products() -> list[Product]:
    return list(db.session.scalars(select(Product).order_by(Product.id)))


def product_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Product)) or 0


def audit_rows(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def reload(product_id: int) -> Product:
    db.session.expire_all()
    product = db.session.get(Product, product_id)
    assert product is not None
    return product


def stored_image_names() -> set[str]:
    """The names of every image in the database (``perks.images``)."""
    return set(db.session.scalars(select(StoredImage.name)))


@pytest.fixture
def hr(login_as):  # type: ignore[no-untyped-def]
    return login_as(Role.HR)


@pytest.fixture
def finance(login_as):  # type: ignore[no-untyped-def]
    return login_as(Role.FINANCE)


# --- products: creating and editing ---------------------------------------------------------


def test_hr_adds_a_product_in_vnd_with_a_generated_slug(client, hr):
    category = factories.ProductCategoryFactory(name_en="Tours")

    response = client.post("/manage/products/new", data=product_form(category_id=str(category.id)))

    assert response.status_code == 303
    (product,) = products()
    assert response.headers["Location"].endswith(f"/manage/products/{product.id}/edit")
    assert (product.price_amount, product.currency) == (2_400_000, "VND")
    assert product.slug == "ha-long-bay-2-days"
    assert product.category_id == category.id
    assert product.redemption_mode is RedemptionMode.COUNTER
    assert (product.max_quantity_per_order, product.active) == (5, True)
    assert (product.staff_price_amount, product.staff_discount_bps) == (None, 0)
    (row,) = audit_rows("shop.product_created")
    assert row.actor_id == hr.id
    assert row.details["values"]["price_amount"] == 2_400_000
    # The storefront shows it at once.
    assert client.get(f"/shop/p/{product.slug}").status_code == 200


def test_a_usd_price_of_12_50_is_1250_cents_end_to_end(client, hr):
    response = client.post(
        "/manage/products/new",
        data=product_form(currency="USD", price="12.50", staff_price="$10", slug="usd-tour"),
    )

    assert response.status_code == 303
    (product,) = products()
    assert (product.price_amount, product.currency, product.staff_price_amount) == (
        1250,
        "USD",
        1000,
    )
    edit_page = client.get(f"/manage/products/{product.id}/edit").get_data(as_text=True)
    assert 'value="12.50"' in edit_page
    assert 'value="10.00"' in edit_page
    storefront = client.get("/shop/p/usd-tour").get_data(as_text=True)
    assert "$12.50" in storefront
    listing = client.get("/manage/products?currency=USD").get_data(as_text=True)
    assert "$12.50" in listing


def test_a_staff_discount_is_typed_as_a_percentage_and_stored_in_basis_points(client, hr):
    response = client.post("/manage/products/new", data=product_form(staff_discount="12,5"))

    assert response.status_code == 303
    (product,) = products()
    assert product.staff_discount_bps == 1250
    assert product.staff_price is not None
    assert product.staff_price.amount == 2_100_000
    page = client.get(f"/manage/products/{product.id}/edit").get_data(as_text=True)
    assert 'value="12.5"' in page


@pytest.mark.parametrize(
    ("overrides", "field_message"),
    [
        ({"price": "12.50"}, "Amounts in VND have no decimal places."),
        ({"price": "abc"}, "Enter an amount such as"),
        ({"price": "-5"}, "Enter an amount that is not negative."),
        ({"price": ""}, "This field is required."),
        ({"currency": "USD", "price": "0.125"}, None),
        ({"currency": "EUR"}, "Not a valid choice."),
        (
            {"staff_price": "2.000.000", "staff_discount": "10"},
            "Give a staff price or a staff discount, not both.",
        ),
        ({"staff_price": "3.000.000"}, "The staff price cannot be more than the price."),
        ({"staff_price": "-1"}, "Enter an amount that is not negative."),
        ({"staff_discount": "150"}, "A discount is from 0 to 100%."),
        ({"staff_discount": "-10"}, "Enter a percentage such as 10 or 12.5."),
        ({"staff_discount": "ten"}, "Enter a percentage such as 10 or 12.5."),
        ({"max_quantity_per_order": "0"}, "Number must be between 1 and 1,000."),
        ({"name_vi": "", "name_en": ""}, "Give the name in Vietnamese, in English, or both."),
        ({"name_vi": "\u200b", "name_en": "\ufeff "}, "Give the name in Vietnamese, in English"),
        ({"slug": "Not A Slug!"}, "Use lower-case letters, digits and single hyphens"),
        ({"category_id": "999999"}, "Not a valid choice."),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_is_written(
    client, hr, overrides, field_message
):
    response = client.post("/manage/products/new", data=product_form(**overrides))

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "is-invalid" in page or "alert-danger" in page
    if field_message:
        assert field_message in page
    assert product_count() == 0
    assert audit_rows("shop.product_created") == []


def test_money_format_errors_say_how_to_write_the_amount(client, hr):
    page = client.post("/manage/products/new", data=product_form(price="1,2,3")).get_data(
        as_text=True
    )
    assert "Group thousands in threes, as in ₫1,250,000." in page
    assert product_count() == 0


def test_a_taken_slug_is_refused_on_the_slug_field(client, hr):
    factories.ProductFactory(slug="tour-ha-long")

    response = client.post("/manage/products/new", data=product_form(slug="tour-ha-long"))

    assert response.status_code == 400
    assert "already has the web address tour-ha-long" in response.get_data(as_text=True)
    assert product_count() == 1


def test_generated_slugs_stay_unique(client, hr):
    for _ in range(3):
        assert client.post("/manage/products/new", data=product_form()).status_code == 303
    assert [p.slug for p in products()] == [
        "ha-long-bay-2-days",
        "ha-long-bay-2-days-2",
        "ha-long-bay-2-days-3",
    ]


def test_names_pasted_with_invisible_ends_are_kept_without_them(client, hr):
    data = product_form(name_vi="\u200bTour Hạ Long ", name_en="\ufeff\u2060")
    assert client.post("/manage/products/new", data=data).status_code == 303
    assert (products()[0].name_vi, products()[0].name_en) == ("Tour Hạ Long", "")
    shelf = {"name_vi": " \u200b", "name_en": "\u2060Tours\u200b", "slug": ""}
    assert client.post("/manage/categories/new", data=shelf).status_code == 303
    category = db.session.scalar(select(ProductCategory))
    assert (category.name_vi, category.name_en, category.slug) == ("", "Tours", "tours")


def test_a_vietnamese_only_name_makes_an_ascii_slug(client, hr):
    client.post("/manage/products/new", data=product_form(name_en="", name_vi="Đà Nẵng 3 ngày"))
    assert products()[0].slug == "da-nang-3-ngay"


def test_editing_changes_the_product_and_audits_old_and_new_values(client, finance):
    product = factories.ProductFactory(price_amount=2_400_000, slug="tour")

    response = client.post(
        f"/manage/products/{product.id}/edit",
        data=product_form(
            slug="tour", price="2.200.000", redemption_mode="on_payment", row_version="1"
        ),
    )

    assert response.status_code == 303
    product = reload(product.id)
    assert product.price_amount == 2_200_000
    assert product.redemption_mode is RedemptionMode.ON_PAYMENT
    (row,) = audit_rows("shop.product_updated")
    assert row.details["changes"]["price_amount"] == [2_400_000, 2_200_000]
    assert row.details["changes"]["redemption_mode"] == ["counter", "on_payment"]


def test_the_audit_log_reads_a_price_change_in_the_products_currency(client, login_as):
    """A change's prices are written in their currency: 1250 cents is $12.50, not "1,250";
    a change of currency writes the old price in the old one and the new in the new."""
    login_as(Role.ADMIN, locale="en")
    dollars = factories.ProductFactory(price_amount=1250, currency="USD", slug="usd")
    dong = factories.ProductFactory(price_amount=2_400_000, currency="VND", slug="vnd")
    for product, price in ((dollars, "15.00"), (dong, "99.50")):
        response = client.post(
            f"/manage/products/{product.id}/edit",
            data=product_form(slug=product.slug, currency="USD", price=price, row_version="1"),
        )
        assert response.status_code == 303

    page = text_of(client.get("/admin/audit?action=shop."))
    assert "Price: $12.50 → $15.00" in page
    assert "Price: ₫2,400,000 → $99.50; Currency: VND → USD" in page
    assert "1,250" not in page


@pytest.mark.parametrize("locale", ["en", "vi"])
def test_the_audit_log_names_a_products_category(client, login_as, locale):
    """A product moved to another shelf reads as the shelves' names in the reader's language
    (the other one when a shelf has no name in theirs), not as their ids ("2 → none")."""
    login_as(Role.ADMIN, locale=locale)
    tours = factories.ProductCategoryFactory(name_vi="Tour trong nước", name_en="Tours")
    hotels = factories.ProductCategoryFactory(name_vi="Khách sạn", name_en="")
    product = factories.ProductFactory(category=tours, slug="tour")

    response = client.post(
        f"/manage/products/{product.id}/edit",
        data=product_form(slug="tour", category_id=str(hotels.id), row_version="1"),
    )

    assert response.status_code == 303
    page = text_of(client.get("/admin/audit?action=shop."))
    moved = ("Tours", "Khách sạn") if locale == "en" else ("Tour trong nước", "Khách sạn")
    assert "{} → {}".format(*moved) in page
    assert f"{tours.id} → {hotels.id}" not in page


def test_a_refused_edit_changes_nothing(client, hr):
    product = factories.ProductFactory(price_amount=2_400_000)

    response = client.post(
        f"/manage/products/{product.id}/edit",
        data=product_form(price="1.000.000", staff_price="2.000.000", row_version="1"),
    )

    assert response.status_code == 400
    assert reload(product.id).price_amount == 2_400_000
    assert audit_rows("shop.product_updated") == []


def test_the_form_ignores_fields_it_does_not_list(client, hr):
    sneaky = {"id": "4242", "image_filename": "../../etc/passwd", "created_at": "2000-01-01"}

    assert client.post("/manage/products/new", data=product_form(**sneaky)).status_code == 303

    (product,) = products()
    assert product.id != 4242
    assert product.image_filename is None


def test_deactivating_takes_the_product_off_the_storefront_and_back(client, hr):
    product = factories.ProductFactory()

    assert client.post(f"/manage/products/{product.id}/deactivate").status_code == 303
    assert reload(product.id).active is False
    assert client.get(f"/shop/p/{product.slug}").status_code == 404
    assert [r.action for r in audit_rows("shop.product_deactivated")] == [
        "shop.product_deactivated"
    ]

    assert client.post(f"/manage/products/{product.id}/reactivate").status_code == 303
    assert reload(product.id).active is True
    assert client.get(f"/shop/p/{product.slug}").status_code == 200
    assert len(audit_rows("shop.product_reactivated")) == 1


def test_the_product_list_filters_by_category_state_and_currency(client, hr):
    tours = factories.ProductCategoryFactory(name_en="Tours")
    kept = factories.ProductFactory(category=tours, name_en="Kept tour", name_vi="")
    factories.ProductFactory(name_en="Other shelf", name_vi="")
    factories.ProductFactory(category=tours, active=False, name_en="Old tour", name_vi="")
    factories.ProductFactory(
        category=tours, currency="USD", price_amount=1250, name_en="Dollar tour", name_vi=""
    )

    page = client.get(f"/manage/products?category={tours.id}&active=active&currency=VND").get_data(
        as_text=True
    )

    assert f'data-testid="product-row-{kept.id}"' in page
    assert page.count('data-testid="product-row-') == 1
    everything = client.get("/manage/products").get_data(as_text=True)
    assert everything.count('data-testid="product-row-') == 4
    bad = client.get("/manage/products?currency=EUR")
    assert bad.status_code == 400


def test_the_product_list_marks_each_name_with_its_own_language(client, hr):
    """A product named only in English is listed under its English name, marked as English
    (a screen reader reads it with English sounds, not as Vietnamese)."""
    english = factories.ProductFactory(name_vi="", name_en="Ha Long Bay cruise")
    both = factories.ProductFactory(name_vi="Du thuyền Hạ Long", name_en="Ha Long cruise")

    page = client.get("/manage/products").get_data(as_text=True)

    edit = '<a href="/manage/products/{}/edit" lang="{}">{}</a>'
    assert edit.format(english.id, "en", "Ha Long Bay cruise") in page
    assert edit.format(both.id, "vi", "Du thuyền Hạ Long") in page


# --- images ---------------------------------------------------------------------------------


def test_an_image_checked_by_content_is_served_on_the_storefront(client, hr):
    data = product_form(slug="with-image")
    data["image"] = (io.BytesIO(png_bytes()), "photo.PNG")

    response = client.post("/manage/products/new", data=data, content_type="multipart/form-data")

    assert response.status_code == 303
    (product,) = products()
    assert product.image_filename
    assert product.image_filename.endswith(".png")
    assert stored_image_names() == {product.image_filename}
    assert images.load_image(product.image_filename).data == png_bytes()  # type: ignore[union-attr]
    url = f"/shop/images/{product.image_filename}"
    for page in ("/shop/", "/shop/p/with-image"):
        assert url in client.get(page).get_data(as_text=True)
    # Public: a customer without an account sees it too.
    client.post("/logout")
    served = client.get(url)
    assert served.status_code == 200
    assert served.mimetype == "image/png"
    assert served.data == png_bytes()
    assert "immutable" in served.headers["Cache-Control"]
    assert served.cache_control.public
    assert served.cache_control.max_age == 31_536_000
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304
    assert again.data == b""


def test_a_new_image_replaces_the_old_file(client, hr):
    product = factories.ProductFactory(slug="tour")
    first = product_form(slug="tour", row_version="1")
    first["image"] = (io.BytesIO(png_bytes()), "a.png")
    client.post(
        f"/manage/products/{product.id}/edit", data=first, content_type="multipart/form-data"
    )
    old = reload(product.id).image_filename
    assert old is not None

    second = product_form(slug="tour", row_version="2")  # one more at each save
    second["image"] = (io.BytesIO(b"\xff\xd8\xff\xe0" + b"\x00" * 64), "b.jpg")
    client.post(
        f"/manage/products/{product.id}/edit", data=second, content_type="multipart/form-data"
    )

    new = reload(product.id).image_filename
    assert new is not None
    assert new.endswith(".jpg")
    assert images.load_image(old) is None
    assert stored_image_names() == {new}
    assert client.get(f"/shop/images/{old}").status_code == 404
    assert client.get(f"/shop/images/{new}").status_code == 200


@pytest.mark.parametrize("page", ["new", "edit"])
def test_an_image_chosen_on_a_refused_form_is_asked_for_again(client, hr, page):
    """A browser cannot fill a file input again: the refused page showed it empty and said
    nothing, so the save after the fix left the product without its new image."""
    if page == "new":
        url, data = "/manage/products/new", product_form(price="12.50")
    else:
        product = factories.ProductFactory(slug="tour")
        url = f"/manage/products/{product.id}/edit"
        data = product_form(slug="tour", price="12.50", row_version="1")
    data["image"] = (io.BytesIO(png_bytes()), "photo.png")

    response = client.post(url, data=data, content_type="multipart/form-data")

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Amounts in VND have no decimal places." in html
    assert "A new image: choose it again." in html
    assert stored_image_names() == set()


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("animation.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
        ("disguised.png", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
        ("notes.png", b"just some text, not an image\n"),
        ("huge.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 1024 * 1024)),
    ],
)
def test_a_bad_image_is_refused_and_nothing_is_saved(client, hr, filename, content):
    data = product_form()
    data["image"] = (io.BytesIO(content), filename)

    response = client.post("/manage/products/new", data=data, content_type="multipart/form-data")

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Upload a PNG or JPEG image." in page or "larger than 2 MB" in page
    assert product_count() == 0
    assert stored_image_names() == set()


@pytest.mark.parametrize("name", ["../secret.png", "nope.png", f"{'a' * 32}.gif"])
def test_only_stored_product_images_are_served(client, name):
    with transaction():
        unheld = images.save_image(png_bytes())  # stored, but no product holds it
    assert client.get(f"/shop/images/{name}").status_code == 404
    assert client.get(f"/shop/images/{unheld}").status_code == 404


# --- categories -----------------------------------------------------------------------------


def test_categories_are_created_edited_and_reordered(client, hr):
    for name_vi, name_en in [("Tour", "Tours"), ("Khách sạn", "Hotels"), ("Ẩm thực", "")]:
        response = client.post(
            "/manage/categories/new", data={"name_vi": name_vi, "name_en": name_en, "slug": ""}
        )
        assert response.status_code == 303
    shelves = list(db.session.scalars(select(ProductCategory).order_by(ProductCategory.id)))
    assert [c.slug for c in shelves] == ["tours", "hotels", "am-thuc"]
    assert [c.position for c in shelves] == [0, 1, 2]

    # The last one moves to the top.
    for _ in range(2):
        client.post(f"/manage/categories/{shelves[2].id}/move", data={"direction": "up"})
    db.session.expire_all()
    ordered = product_admin.categories_for_admin()
    assert [c.slug for c in ordered] == ["am-thuc", "tours", "hotels"]
    assert [c.position for c in ordered] == [0, 1, 2]

    edited = client.post(
        f"/manage/categories/{shelves[0].id}/edit",
        data={"name_vi": "Tour trong nước", "name_en": "Tours", "slug": "tours-vn"},
    )
    assert edited.status_code == 303
    db.session.expire_all()
    assert db.session.get(ProductCategory, shelves[0].id).slug == "tours-vn"  # type: ignore[union-attr]
    actions = [r.action for r in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions.count("shop.category_created") == 3
    assert actions.count("shop.category_moved") == 2
    assert actions.count("shop.category_updated") == 1


def test_a_category_needs_a_name_and_a_free_slug(client, hr):
    factories.ProductCategoryFactory(slug="tours")
    nameless = client.post("/manage/categories/new", data={"name_vi": "", "name_en": ""})
    assert nameless.status_code == 400
    assert "Give the name" in nameless.get_data(as_text=True)
    invisible = client.post(
        "/manage/categories/new", data={"name_vi": "\u200b", "name_en": "\ufeff"}
    )
    assert invisible.status_code == 400
    assert "Give the name" in invisible.get_data(as_text=True)
    taken = client.post(
        "/manage/categories/new", data={"name_vi": "Tour", "name_en": "", "slug": "tours"}
    )
    assert taken.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ProductCategory)) == 1


def test_a_bad_move_direction_is_a_400(client, hr):
    category = factories.ProductCategoryFactory()
    response = client.post(f"/manage/categories/{category.id}/move", data={"direction": "left"})
    assert response.status_code == 400


# --- who may see what ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "shelves", "orders"),
    [
        (Role.EMPLOYEE, 403, 403),
        (Role.REDEEMER, 403, 403),
        (Role.MANAGER, 403, 403),
        (Role.HR, 200, 403),
        (Role.FINANCE, 200, 200),
        (Role.ADMIN, 200, 200),
    ],
)
def test_the_back_office_answers_each_role(client, login_as, role, shelves, orders):
    order = paid_order()
    login_as(role)
    assert client.get("/manage/products").status_code == shelves
    assert client.get("/manage/categories").status_code == shelves
    assert client.get("/manage/orders").status_code == orders
    assert client.get(f"/manage/orders/{order.id}").status_code == orders


def test_the_navigation_shows_the_back_office_to_its_roles(client, login_as):
    login_as(Role.FINANCE)
    page = client.get("/").get_data(as_text=True)
    assert 'href="/manage/products"' in page
    assert 'href="/manage/orders"' in page
    assert 'href="/redeem-order"' not in page


# --- orders ---------------------------------------------------------------------------------


def paid_order(**fields: object) -> Order:
    order = factories.OrderFactory(**fields)
    order.paid_at = datetime.now(UTC)
    order.paid_amount = order.total_amount
    order.payment_intent_id = f"pi_test_{order.id:06d}"
    order.charge_id = f"ch_test_{order.id:06d}"
    order.refresh_status()
    db.session.commit()
    return order


def test_the_order_page_shows_lines_customer_attribution_stripe_and_events(client, finance):
    referrer = factories.UserFactory(name="Lê Văn Giới Thiệu")
    link = factories.ReferralLinkFactory(user=referrer)
    order = paid_order(
        customer_name="Nguyễn Thị Khách",
        customer_email="khach@example.com",
        customer_phone="+84 90 123 4567",
        referral_link_id=link.id,
        attribution_reason="cookie",
    )
    db.session.add(
        StripeEvent(
            event_id="evt_order_page",
            type="checkout.session.completed",
            stripe_created_at=datetime.now(UTC),
            payload={"id": "evt_order_page"},
            order_id=order.id,
            outcome=EventOutcome.APPLIED,
            detail="paid ₫2,400,000",
        )
    )
    db.session.commit()

    page = client.get(f"/manage/orders/{order.id}").get_data(as_text=True)

    for text in (
        order.number,
        "Nguyễn Thị Khách",
        "khach@example.com",
        "+84 90 123 4567",
        "Lê Văn Giới Thiệu",
        link.code,
        "Referral link clicked",
        order.payment_intent_id,
        order.charge_id,
        order.checkout_session_id,
        "checkout.session.completed",
        "paid ₫2,400,000",
        order.lines[0].product_name,
        'data-testid="refund-form"',
        '<dd class="col-sm-8" data-testid="order-language">Tiếng Việt</dd>',  # not "vi"
        'data-testid="event-description">The customer finished checkout<',
    ):
        assert text in page, text
    assert 'data-testid="mismatch-banner"' not in page


def test_a_vietnamese_reader_is_told_what_each_stripe_event_means(client, login_as):
    order = paid_order()
    db.session.add(
        StripeEvent(
            event_id="evt_vi",
            type="charge.refunded",
            stripe_created_at=datetime.now(UTC),
            payload={"id": "evt_vi"},
            order_id=order.id,
            outcome=EventOutcome.APPLIED,
            detail="refunded ₫100,000 in all (was ₫0)",
        )
    )
    db.session.commit()
    login_as(Role.FINANCE, locale="vi")

    page = client.get(f"/manage/orders/{order.id}").get_data(as_text=True)

    assert 'data-testid="event-description">Stripe đã hoàn tiền khoản thanh toán' in page
    assert 'lang="en">refunded ₫100,000 in all (was ₫0)</td>' in page  # the record, marked
    assert "bằng tiếng Anh" in page


def test_a_mismatched_order_shows_the_banner_and_cannot_be_refunded_here(client, finance):
    order = factories.OrderFactory(mismatch="Stripe reported a payment of $5.00")

    page = client.get(f"/manage/orders/{order.id}").get_data(as_text=True)

    assert 'data-testid="mismatch-banner"' in page
    assert "Stripe reported a payment of $5.00" in page
    assert 'data-testid="refund-form"' not in page
    assert "refund it from Stripe&#39;s dashboard" in page


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ("expired", "Its payment page expired unpaid"),
        ("payment_failed", "Its payment did not go through"),
        ("checkout_failed", "Its payment page could not be opened"),
        ("cancelled", "Cancelled"),
    ],
)
@pytest.mark.parametrize("locale", ["en", "vi"])
def test_a_closed_order_says_why_in_the_readers_words(
    client, login_as, vietnamese, reason, said, locale
):
    """Finance answers "why was my order cancelled?" from the page: the reason is words in
    the reader's language, never the code the app stores ("payment_failed")."""
    order = factories.OrderFactory()
    order.closed_at = datetime.now(UTC)
    order.closed_reason = reason
    order.refresh_status()
    db.session.commit()

    login_as(Role.FINANCE, locale=locale)
    page = text_of(client.get(f"/manage/orders/{order.id}"))
    assert f"({vietnamese(said) if locale == 'vi' else said})" in page
    assert f"({reason})" not in page


def test_an_unknown_order_is_a_404(client, finance):
    assert client.get("/manage/orders/999999").status_code == 404


def test_the_orders_list_filters(client, finance):
    now = datetime.now(UTC)
    usd = factories.ProductFactory(currency="USD", price_amount=1250)
    paid = paid_order(customer_email="an@example.com")
    pending = factories.OrderFactory(customer_email="binh@example.com")
    dollars = factories.OrderFactory(product=usd, customer_email="chi@example.com")
    flagged = factories.OrderFactory(attribution_flagged=True)
    mismatch = factories.OrderFactory(mismatch="wrong amount")
    old = factories.OrderFactory(created_at=now - timedelta(days=40))
    disputed = paid_order(dispute_status=DisputeStatus.OPEN)

    def shown(query: str) -> set[int]:
        response = client.get(f"/manage/orders{query}")
        assert response.status_code == 200, query
        page = response.get_data(as_text=True)
        everyone = [paid, pending, dollars, flagged, mismatch, old, disputed]
        return {o.id for o in everyone if f'data-testid="order-row-{o.id}"' in page}

    assert shown("") == {o.id for o in [paid, pending, dollars, flagged, mismatch, old, disputed]}
    assert shown("?status=paid") == {paid.id}
    assert shown("?status=disputed") == {disputed.id}
    assert shown("?currency=USD") == {dollars.id}
    assert shown("?attention=y") == {flagged.id, mismatch.id}
    assert shown("?q=BINH@EXAMPLE") == {pending.id}
    assert shown(f"?q={paid.number.lower()}") == {paid.id}
    assert shown(f"?q={paid.redemption_code}") == {paid.id}
    assert shown("?q=%25") == set()  # a LIKE wildcard is searched for, not obeyed
    today = now.date().isoformat()
    assert old.id not in shown(f"?date_from={(now - timedelta(days=2)).date()}&date_to={today}")
    assert shown(
        f"?date_from={(now - timedelta(days=41)).date()}"
        f"&date_to={(now - timedelta(days=39)).date()}"
    ) == {old.id}


@pytest.mark.parametrize(
    "query",
    [
        "?status=nope",
        "?currency=EUR",
        "?date_from=yesterday",
        "?date_from=2026-02-02&date_to=2026-01-01",
    ],
)
def test_bad_order_filters_are_a_400_with_a_message(client, finance, query):
    response = client.get(f"/manage/orders{query}")
    assert response.status_code == 400
    assert 'data-testid="bad-filters"' in response.get_data(as_text=True)


def test_the_orders_list_is_paginated(client, finance):
    for _ in range(55):
        factories.OrderFactory()
    first = client.get("/manage/orders").get_data(as_text=True)
    second = client.get("/manage/orders?page=2").get_data(as_text=True)
    assert first.count('data-testid="order-row-') == 50
    assert second.count('data-testid="order-row-') == 5
    assert "Page 1 of 2" in first


# --- no N+1 ---------------------------------------------------------------------------------


def seed_orders(n: int) -> None:
    link = factories.ReferralLinkFactory()
    staff = factories.UserFactory()
    for i in range(n):
        order = factories.OrderFactory(
            referral_link_id=link.id if i % 2 else None,
            buyer_id=staff.id if i % 5 == 0 else None,
            attribution_flagged=i % 7 == 0,
        )
        factories.OrderLineFactory(order=order)
        if i % 3 == 0:
            paid_order()
        db.session.add(
            StripeEvent(
                event_id=f"evt_seed_{n}_{i}",
                type="checkout.session.completed",
                stripe_created_at=datetime.now(UTC),
                payload={},
                order_id=order.id,
                outcome=EventOutcome.APPLIED,
            )
        )
    db.session.commit()


def statements_for(client, url: str) -> int:  # type: ignore[no-untyped-def]
    client.get(url)  # warm up (session, caches)
    with counting_statements() as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements)


@pytest.mark.parametrize("url", ["/manage/orders", "/manage/products", "/manage/categories"])
def test_back_office_pages_run_as_many_statements_with_many_rows_as_with_few(client, url):
    admin = factories.UserFactory(roles={Role.ADMIN})
    seed_orders(3)
    login(client, admin)
    few = statements_for(client, url)

    clean_database()
    admin = factories.UserFactory(roles={Role.ADMIN})
    seed_orders(30)
    login(client, admin)
    many = statements_for(client, url)

    assert many == few


def test_an_order_page_runs_as_many_statements_with_many_lines_and_events(client):
    def seed(lines: int) -> int:
        order = paid_order()
        for _ in range(lines):
            factories.OrderLineFactory(order=order)
        for i in range(lines):
            db.session.add(
                StripeEvent(
                    event_id=f"evt_{order.id}_{i}",
                    type="charge.refunded",
                    stripe_created_at=datetime.now(UTC),
                    payload={},
                    order_id=order.id,
                    outcome=EventOutcome.NO_CHANGE,
                )
            )
        db.session.commit()
        return order.id

    login(client, factories.UserFactory(roles={Role.FINANCE}))
    few = statements_for(client, f"/manage/orders/{seed(1)}")
    many = statements_for(client, f"/manage/orders/{seed(20)}")
    assert many == few


def test_every_event_type_the_app_acts_on_is_described():
    from perks.payments.models import EVENT_DESCRIPTIONS
    from perks.shop.payment_events import APPLIERS

    assert set(EVENT_DESCRIPTIONS) == set(APPLIERS)


@pytest.mark.parametrize(
    "typed", ["pk qrrq7q6z", "PKQRRQ7Q6Z", "pk-qrrq7q6z", "568S-DWTY-Q8", "568s dwty q8"]
)
def test_the_order_list_finds_an_order_by_its_number_or_code_however_typed(client, finance, typed):
    """The counter takes a code in any case, with spaces or dashes; the order list compared
    what was typed, spaces aside, with the stored number and code: a code read out with
    dashes, or a number typed without its dash, found nothing."""
    order = factories.OrderFactory(
        number="PK-QRRQ7Q6Z", redemption_code="568SDWTYQ8", customer_email="khach@example.com"
    )
    factories.OrderFactory(number="PK-AAAA2222", customer_email="other@example.com")

    html = client.get("/manage/orders", query_string={"q": typed}).get_data(as_text=True)
    assert f"/manage/orders/{order.id}" in html, typed
    assert "other@example.com" not in html
