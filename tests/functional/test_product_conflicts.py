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
from sqlalchemy import select

from perks.extensions import db
from perks.people.models import Role, User
from perks.shop.models import Product
from tests import factories
from tests.helpers import is_postgres, png_bytes, signed_in
from tests.stale_saves import GuardedForm, audit_events
from tests.submissions import product_form


def staff(role: Role = Role.FINANCE, **fields: object) -> User:
    return factories.UserFactory(roles={role}, **fields)


def listed(client: FlaskClient) -> Product:
    """A product put on the shelf through the page, as ``product_form`` fills it in."""
    assert client.post("/manage/products/new", data=product_form(slug="tour")).status_code == 303
    return db.session.scalars(select(Product)).one()


def edit_page(product_id: int) -> GuardedForm:
    return GuardedForm(
        f"/manage/products/{product_id}/edit",
        field="row_version",
        audited=("shop.product_updated",),
        saved_status=303,
    )


def form(seen: str | None = None, **changes: object) -> dict[str, object]:
    """The form as ``product_form`` fills it in, sending back the row version ``seen``."""
    if seen is None:
        return product_form(slug="tour", **changes)
    return product_form(slug="tour", row_version=seen, **changes)


def product_changes() -> int:
    return audit_events("shop.product_updated")


def reload(product_id: int) -> Product:
    db.session.expire_all()
    product = db.session.get(Product, product_id)
    assert product is not None
    return product


def test_a_save_from_a_page_opened_before_anothers_change_is_refused_and_writes_nothing(app):
    first = signed_in(app, staff(name="Phạm Thu Hà"))
    second = signed_in(app, staff(Role.HR, locale="vi"))
    product = listed(first)
    edit = edit_page(product.id)
    opened = edit.opened(first, second)
    assert opened == "1"

    edit.saves(first, form(opened, price="2.200.000"))
    refused = edit.refuses(second, form(opened, staff_price="2.000.000"))

    assert "Phạm Thu Hà đã thay đổi sản phẩm này sau khi bạn mở trang" in refused.text
    saved = reload(product.id)
    assert (saved.price_amount, saved.staff_price_amount, saved.row_version) == (2_200_000, None, 2)
    # the form shows the product as it is now, and what was entered that differs from it
    assert re.search(r'name="price"[^>]*value="2200000"', refused.html)
    assert re.search(r'name="staff_price"[^>]*value=""', refused.html)
    assert re.search(r"<dd[^>]*>2.400.000</dd>", refused.entered)  # the price the page showed
    assert re.search(r"<dd[^>]*>2.000.000</dd>", refused.entered)  # the staff price entered
    assert refused.version == "2"

    # Saved again from the form as it is now, it is saved.
    edit.saves(
        second,
        form(edit.version_shown(second), price="2.200.000", staff_price="2.000.000"),
    )
    saved = reload(product.id)
    assert (saved.price_amount, saved.staff_price_amount) == (2_200_000, 2_000_000)
    assert product_changes() == 2


def test_a_product_taken_off_sale_after_the_page_opened_is_not_put_back_unseen(app):
    first, second = signed_in(app, staff(Role.HR)), signed_in(app, staff())
    product = listed(first)
    edit = edit_page(product.id)
    stale = edit.version_shown(second)

    taken_off = first.post(f"/manage/products/{product.id}/deactivate", data={"confirm": "y"})
    assert taken_off.status_code == 303
    refused = edit.refuses(second, form(stale, price="2.300.000"))  # "On sale" still ticked

    assert "changed this product after you opened it" in refused.text
    saved = reload(product.id)
    assert (saved.active, saved.price_amount) == (False, 2_400_000)


def test_a_save_without_the_row_version_its_page_showed_is_refused(app):
    client = signed_in(app, staff())
    product = listed(client)

    response = edit_page(product.id).refuses_without_version(client, form(price="1.000.000"))

    assert "This page is out of date: open the product again." in response.text
    assert reload(product.id).price_amount == 2_400_000


def test_two_saves_of_a_product_at_once_save_one_and_refuse_the_other(app):
    """PostgreSQL: without the lock both would read row version 1 and the last would win."""
    if not is_postgres(app):
        pytest.skip("racing saves need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    emails = [staff().email, staff(Role.HR).email]
    product_id = listed(signed_in(app, staff())).id
    edit = edit_page(product_id)

    saved = edit.raced(
        app, emails, lambda n, client: form(edit.version_shown(client), price=f"2.{n + 1}00.000")
    )

    with app.app_context():
        product = db.session.get(Product, product_id)
        assert (product.price_amount, product.row_version) == (
            int(str(saved["price"]).replace(".", "")),
            2,
        )
        assert product_changes() == 1


def test_a_refused_save_with_a_new_image_says_to_choose_it_again(app):
    """The refused save stored nothing, the image included, and a file input cannot be
    filled again: the page says so beside what was entered."""
    first, second = signed_in(app, staff()), signed_in(app, staff(Role.HR, locale="vi"))
    product = listed(first)
    edit = edit_page(product.id)
    opened = edit.opened(first, second)
    edit.saves(first, form(opened, price="2.200.000"))

    data = form(opened)
    data["image"] = (io.BytesIO(png_bytes()), "tour.png")
    refused = edit.refuses(second, data)

    assert "Một hình ảnh mới: hãy chọn lại." in refused.entered
    assert reload(product.id).image_filename is None
