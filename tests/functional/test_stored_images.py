"""Uploaded images live in the database (perks.images): every host serves every image."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select, text

from perks import images
from perks.catalog.models import Perk
from perks.db import transaction
from perks.errors import ValidationFailed
from perks.extensions import db
from perks.images import StoredImage
from perks.people.models import Role
from perks.shop.models import Product
from tests import factories
from tests.helpers import login, png_bytes, png_of_size
from tests.submissions import perk_form, product_form

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def host(app_factory, instance: Path) -> Flask:  # type: ignore[no-untyped-def]
    """Another app on the same database, as on another machine: its own instance folder."""
    app = app_factory()
    app.instance_path = str(instance)
    instance.mkdir(parents=True, exist_ok=True)
    return app


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def test_an_image_uploaded_through_one_host_is_served_by_another(app, app_factory, tmp_path):
    host_a = host(app_factory, tmp_path / "host-a")
    host_b = host(app_factory, tmp_path / "host-b")
    hr = factories.UserFactory(roles={Role.HR})
    employee = factories.UserFactory(roles={Role.EMPLOYEE})
    uploader = host_a.test_client()
    login(uploader, hr)

    product = product_form(slug="tour")
    product["image"] = (io.BytesIO(png_bytes()), "tour.png")
    assert (
        uploader.post(
            "/manage/products/new", data=product, content_type="multipart/form-data"
        ).status_code
        == 303
    )
    perk = perk_form()
    perk["image"] = (io.BytesIO(JPEG), "perk.jpg")
    assert (
        uploader.post("/admin/perks/new", data=perk, content_type="multipart/form-data").status_code
        == 302
    )
    product_image = db.session.scalar(select(Product.image_filename))
    perk_id, perk_image = db.session.execute(select(Perk.id, Perk.image_filename)).one()
    db.session.execute(text("UPDATE perk SET status = 'published' WHERE id = :id"), {"id": perk_id})
    db.session.commit()

    # Host B never saw the upload: its instance folder is empty, yet it serves both images.
    assert files_under(tmp_path) == []
    visitor = host_b.test_client()
    served = visitor.get(f"/shop/images/{product_image}")
    assert served.status_code == 200
    assert served.data == png_bytes()
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert served.headers["ETag"]
    colleague = host_b.test_client()
    login(colleague, employee)
    page = colleague.get("/perks").get_data(as_text=True)
    assert f"/perks/{perk_id}/image/{perk_image}" in page
    shown = colleague.get(f"/perks/{perk_id}/image/{perk_image}")
    assert shown.status_code == 200
    assert shown.mimetype == "image/jpeg"
    assert shown.data == JPEG
    assert files_under(tmp_path) == []


def test_a_browser_revalidating_an_image_gets_a_304(app, client):
    product = factories.ProductFactory()
    with transaction():
        name = images.save_image(png_bytes())
        db.session.get(Product, product.id).image_filename = name  # type: ignore[union-attr]

    first = client.get(f"/shop/images/{name}")
    again = client.get(f"/shop/images/{name}", headers={"If-None-Match": first.headers["ETag"]})

    assert first.status_code == 200
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_a_rolled_back_upload_leaves_no_image(app):
    def refused_upload() -> None:
        with transaction():
            images.save_image(png_bytes())
            raise RuntimeError("the form was refused after the image was stored")

    with pytest.raises(RuntimeError):
        refused_upload()

    assert db.session.scalars(select(StoredImage)).all() == []


@pytest.mark.parametrize(
    ("data", "claimed", "message"),
    [
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", None, "Upload a PNG or JPEG image."),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml", "Upload a PNG"),
        (JPEG, "image/png", "Upload a PNG or JPEG image."),  # the content decides
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * images.MAX_IMAGE_BYTES, None, "larger than 2 MB"),
    ],
)
def test_only_png_and_jpeg_content_is_stored(app, data, claimed, message):
    with force_locale("en"), pytest.raises(ValidationFailed, match=message), transaction():
        images.save_image(data, claimed)

    assert db.session.scalars(select(StoredImage)).all() == []


def test_stored_images_record_their_type_and_size(app):
    with transaction():
        png = images.save_image(png_bytes(), "image/png")
        jpeg = images.save_image(JPEG, "image/jpg")

    rows = {row.name: row for row in db.session.scalars(select(StoredImage))}
    assert png.endswith(".png")
    assert jpeg.endswith(".jpg")
    assert (rows[png].content_type, rows[png].size) == ("image/png", len(png_bytes()))
    assert (rows[jpeg].content_type, rows[jpeg].size) == ("image/jpeg", len(JPEG))
    assert images.load_image("../" + png) is None
    assert images.load_image("0" * 32 + ".png") is None


def test_the_migration_copies_the_images_a_host_kept_on_disk(app, app_factory, tmp_path):
    """An upgrade from 0011 reads instance/uploads/{perks,products}/ into stored_image."""
    from flask_migrate import downgrade, upgrade

    old_host = host(app_factory, tmp_path / "old-host")
    perk_file = "a" * 32 + ".png"
    product_file = "b" * 32 + ".jpg"
    (tmp_path / "old-host/uploads/perks").mkdir(parents=True)
    (tmp_path / "old-host/uploads/products").mkdir(parents=True)
    (tmp_path / "old-host/uploads/perks" / perk_file).write_bytes(png_bytes())
    (tmp_path / "old-host/uploads/products" / product_file).write_bytes(JPEG)
    factories.PerkFactory(image_filename=perk_file)
    factories.ProductFactory(image_filename=product_file)
    factories.PerkFactory(image_filename="c" * 32 + ".png")  # its file is on no disk here
    db.session.commit()
    db.session.remove()
    try:
        with old_host.app_context():
            downgrade(revision="0011")
            upgrade()
            db.session.remove()
    finally:
        with old_host.app_context():
            upgrade()  # whatever happened, the schema is whole for the next test
            db.session.remove()

    stored = {row.name: row for row in db.session.scalars(select(StoredImage))}
    assert set(stored) == {perk_file, product_file}
    assert stored[perk_file].data == png_bytes()
    assert stored[product_file].content_type == "image/jpeg"


def jpeg_of_size(width: int, height: int) -> bytes:
    """The start of a baseline JPEG announcing ``width`` by ``height`` pixels (its SOF0)."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\x00" * 64


@pytest.mark.parametrize(
    "data",
    [png_of_size(20_000, 20_000), jpeg_of_size(30_000, 30_000), jpeg_of_size(65_000, 1)],
    ids=["png-20000", "jpeg-30000", "jpeg-a-line"],
)
def test_an_image_of_too_many_pixels_is_refused_however_small_its_file(app, data):
    """A few kB that unpack to gigabytes would hang every browser showing the storefront
    and every mail reader opening an e-mail with the logo."""
    assert len(data) < images.MAX_IMAGE_BYTES
    with force_locale("en"), pytest.raises(ValidationFailed, match="pixels"), transaction():
        images.save_image(data)

    assert db.session.scalars(select(StoredImage)).all() == []


def test_large_but_reasonable_images_are_stored(app):
    with transaction():
        images.save_image(png_of_size(4000, 3000), "image/png")
        images.save_image(jpeg_of_size(images.MAX_IMAGE_SIDE, 4000), "image/jpeg")


def test_a_pixel_bomb_is_refused_by_the_product_and_brand_forms(client, login_as):
    login_as(Role.HR)
    bomb = png_of_size(20_000, 20_000)
    product = product_form()
    product["image"] = (io.BytesIO(bomb), "tour.png")
    response = client.post("/manage/products/new", data=product, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "pixels" in response.get_data(as_text=True)

    brand = {"company_name": "Sen Vàng", "primary_colour": "#0b6e4f"}
    brand["logo"] = (io.BytesIO(bomb), "logo.png")  # type: ignore[assignment]
    response = client.post("/settings/brand", data=brand, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "pixels" in response.get_data(as_text=True)
    assert db.session.scalars(select(StoredImage)).all() == []
