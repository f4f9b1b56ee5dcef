"""Two people changing one storefront product: a save from a page opened before the other's
change (a price, or taking it off sale) is refused in the person's language, with nothing of
it written, and the form shows the product as it is now with what they had entered; a save
from the product as it is works. On PostgreSQL, two saves from the same page racing: one is
saved, the other refused."""

from __future__ import annotations

import io
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from perks.audit import AuditEvent
from perks.extensions import db
from perks.people.models import Role, User
from perks.shop.models import Product
from tests import factories
from tests.factories import PASSWORD
from tests.helpers import is_postgres, login, png_bytes, text_of
from tests.racing import all_at_once
from tests.submissions import product_form

ROW_VERSION = re.compile(r'<input[^>]*name="row_version"[^>]*value="(\d+)"')


def staff(role: Role = Role.FINANCE, **fields: object) -> User:
    return factories.UserFactory(roles={role}, **fields)


def signed_in(app, person: User) -> FlaskClient:  # type: ignore[no-untyped-def]
    client = app.test_client()
    login(client, person)
    return client


def listed(client: FlaskClient) -> Product:
    """A product put on the shelf through the page, as ``product_form`` fills it in."""
    assert client.post("/manage/products/new", data=product_form(slug="tour")).status_code == 303
    return db.session.scalars(select(Product)).one()


def shown_row_version(client: FlaskClient, product_id: int) -> str:
    """Open the product's edit page; the row version its form will send back."""
    page = client.get(f"/manage/products/{product_id}/edit").get_data(as_text=True)
    found = ROW_VERSION.search(page)
    assert found is not None, "the form carries the row version it shows"
    return found.group(1)


def save(client: FlaskClient, product_id: int, seen: str, **changes: object):  # type: ignore[no-untyped-def]
    form = product_form(slug="tour", row_version=seen, **changes)
    return client.post(f"/manage/products/{product_id}/edit", data=form)


def product_changes() -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "shop.product_updated")
        )
        or 0
    )


def reload(product_id: int) -> Product:
    db.session.expire_all()
    product = db.session.get(Product, product_id)
    assert product is not None
    return product


def test_a_save_from_a_page_opened_before_anothers_change_is_refused_and_writes_nothing(app):
    first = signed_in(app, staff(name="Phạm Thu Hà"))
    second = signed_in(app, staff(Role.HR, locale="vi"))
    product = listed(first)
    opened, stale = shown_row_version(first, product.id), shown_row_version(second, product.id)
    assert opened == stale == "1"

    assert save(first, product.id, opened, price="2.200.000").status_code == 303
    refused = save(second, product.id, stale, staff_price="2.000.000")

    assert refused.status_code == 409
    assert "Phạm Thu Hà đã thay đổi sản phẩm này sau khi bạn mở trang" in text_of(refused)
    saved = reload(product.id)
    assert (saved.price_amount, saved.staff_price_amount, saved.row_version) == (2_200_000, None, 2)
    assert product_changes() == 1  # the first save alone
    # the form shows the product as it is now, and what was entered that differs from it
    page = refused.get_data(as_text=True)
    assert re.search(r'name="price"[^>]*value="2200000"', page)
    assert re.search(r'name="staff_price"[^>]*value=""', page)
    entered = page[page.index('data-testid="entered-values"') :]
    assert re.search(r"<dd[^>]*>2.400.000</dd>", entered)  # the price the page showed
    assert re.search(r"<dd[^>]*>2.000.000</dd>", entered)  # the staff price entered
    assert ROW_VERSION.search(page).group(1) == "2"  # type: ignore[union-attr]

    # Saved again from the form as it is now, it is saved.
    again = save(
        second,
        product.id,
        shown_row_version(second, product.id),
        price="2.200.000",
        staff_price="2.000.000",
    )
    assert again.status_code == 303
    saved = reload(product.id)
    assert (saved.price_amount, saved.staff_price_amount) == (2_200_000, 2_000_000)
    assert product_changes() == 2


def test_a_product_taken_off_sale_after_the_page_opened_is_not_put_back_unseen(app):
    first, second = signed_in(app, staff(Role.HR)), signed_in(app, staff())
    product = listed(first)
    stale = shown_row_version(second, product.id)

    taken_off = first.post(f"/manage/products/{product.id}/deactivate", data={"confirm": "y"})
    assert taken_off.status_code == 303
    refused = save(second, product.id, stale, price="2.300.000")  # "On sale" still ticked

    assert refused.status_code == 409
    assert "changed this product after you opened it" in text_of(refused)
    saved = reload(product.id)
    assert (saved.active, saved.price_amount) == (False, 2_400_000)


def test_a_save_without_the_row_version_its_page_showed_is_refused(app):
    client = signed_in(app, staff())
    product = listed(client)
    form = product_form(slug="tour", price="1.000.000")

    response = client.post(f"/manage/products/{product.id}/edit", data=form)

    assert response.status_code == 400
    assert "This page is out of date: open the product again." in text_of(response)
    assert reload(product.id).price_amount == 2_400_000


def test_two_saves_of_a_product_at_once_save_one_and_refuse_the_other(app):
    """PostgreSQL: without the lock both would read row version 1 and the last would win."""
    if not is_postgres(app):
        pytest.skip("racing saves need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    emails = [staff().email, staff(Role.HR).email]
    product_id = listed(signed_in(app, staff())).id
    db.session.commit()
    db.session.remove()

    def opened(n: int) -> tuple[FlaskClient, str, str]:
        client = app.test_client()
        signing_in = client.post("/login", data={"email": emails[n], "password": PASSWORD})
        assert signing_in.status_code == 302
        return client, shown_row_version(client, product_id), f"2.{n + 1}00.000"

    def act(tab: tuple[FlaskClient, str, str]) -> tuple[int, str]:
        client, seen, price = tab
        return save(client, product_id, seen, price=price).status_code, price

    outcome = all_at_once(app, range(2), act, prepare=opened, requests=True)

    assert outcome.errors == []
    assert sorted(status for status, _ in outcome.results) == [303, 409]
    saved_price = next(price for status, price in outcome.results if status == 303)
    with app.app_context():
        product = db.session.get(Product, product_id)
        assert (product.price_amount, product.row_version) == (
            int(saved_price.replace(".", "")),
            2,
        )
        assert product_changes() == 1


def test_a_refused_save_with_a_new_image_says_to_choose_it_again(app):
    """The refused save stored nothing, the image included, and a file input cannot be
    filled again: the page says so beside what was entered."""
    first, second = signed_in(app, staff()), signed_in(app, staff(Role.HR, locale="vi"))
    product = listed(first)
    opened = shown_row_version(second, product.id)
    assert save(first, product.id, opened, price="2.200.000").status_code == 303

    form = product_form(slug="tour", row_version=opened)
    form["image"] = (io.BytesIO(png_bytes()), "tour.png")
    refused = second.post(
        f"/manage/products/{product.id}/edit", data=form, content_type="multipart/form-data"
    )

    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    entered = page[page.index('data-testid="entered-values"') :]
    assert "Một hình ảnh mới: hãy chọn lại." in entered
    assert reload(product.id).image_filename is None
