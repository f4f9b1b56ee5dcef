"""The company's brand (perks.branding): HR and admins set it at /settings/brand; the storefront,
the sign-in page, the navigation bar and every e-mail show it; e-mails carry their images."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from flask import g
from sqlalchemy import func, select

from perks.audit import AuditEvent
from perks.auth import services as auth
from perks.branding import services as branding
from perks.branding.models import BrandSettings
from perks.db import transaction
from perks.errors import ValidationFailed
from perks.extensions import db
from perks.images import StoredImage, save_image
from perks.mail import OutboxMessage, send_due
from perks.people.models import Role
from perks.qr import qr_png_bytes
from perks.shop.events import order_paid
from tests import factories
from tests.helpers import login, png_bytes

STAFF_SLOGAN = "Perks for the people who make the company"
STAFF_SLOGAN_VI = "Phúc lợi dành cho những người làm nên công ty"


def shown_now() -> str:
    """What the brand page's form sends back when opened now (``shown``)."""
    db.session.expire_all()
    g.pop("brand", None)
    return branding.shown_fingerprint(branding.current_brand())


def brand_form(**changes: Any) -> dict[str, Any]:
    """A valid brand form, as HR would post it from the page opened just now."""
    form: dict[str, Any] = {
        "company_name": "Công ty Du lịch Sen Vàng",
        "primary_colour": "#0b6e4f",
        "accent_colour": "",
        "tagline_vi": "Những chuyến đi đáng nhớ",
        "tagline_en": "Trips worth remembering",
        "contact_email": "hotro@senvang.example",
        "contact_phone": "028 3822 0000",
        "contact_address": "12 Lê Lợi, Quận 1, TP. Hồ Chí Minh",
        "legal_footer_vi": "Mã số thuế 0301234567",
        "legal_footer_en": "Tax code 0301234567",
        "shown": shown_now(),
    }
    form.update(changes)
    return form


def save_brand(**changes: Any) -> branding.Brand:
    """Save a brand through the service, as an HR person."""
    hr = factories.UserFactory(roles={Role.HR})
    data = {k: v for k, v in brand_form(**changes).items() if k not in ("logo", "shown")}
    return branding.update_brand(branding.BrandData(**data), actor=hr, logo=changes.get("logo"))


def html_of(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def audit_events() -> list[AuditEvent]:
    """The brand's audit events, oldest first (PostgreSQL returns rows without an ``ORDER BY``
    where the table had room: after the clean-up between tests, in any order)."""
    query = select(AuditEvent).where(AuditEvent.action == "brand.updated").order_by(AuditEvent.id)
    return list(db.session.scalars(query))


# --- who may edit it -------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.MANAGER, Role.REDEEMER, Role.FINANCE])
def test_only_hr_and_admins_may_change_the_brand(client, role):
    login(client, factories.UserFactory(roles={role}))
    assert client.get("/settings/brand").status_code == 403
    assert client.post("/settings/brand", data=brand_form()).status_code == 403
    assert db.session.get(BrandSettings, 1) is None
    assert audit_events() == []


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.post("/settings/brand", data=brand_form())
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", [Role.HR, Role.ADMIN])
def test_hr_and_admins_save_the_brand_and_it_is_audited(client, role):
    person = factories.UserFactory(roles={role})
    login(client, person)
    page = html_of(client.get("/settings/brand"))
    assert 'value="Perks"' in page  # COMPANY_NAME until someone saves a brand

    response = client.post("/settings/brand", data=brand_form())

    assert response.status_code == 303
    row = db.session.get(BrandSettings, 1)
    assert row is not None
    assert row.company_name == "Công ty Du lịch Sen Vàng"
    assert row.updated_by_id == person.id
    [event] = audit_events()
    assert event.actor_id == person.id
    assert event.details["changes"]["company_name"] == ["Perks", "Công ty Du lịch Sen Vàng"]
    assert event.details["changes"]["legal_footer_en"] == ["", "Tax code 0301234567"]
    assert "primary_colour" not in event.details["changes"]  # unchanged: the default green
    assert "The brand is saved" in html_of(client.get("/settings/brand"))


def test_a_save_that_leaves_the_logo_alone_does_not_say_logo_none_in_the_log(client):
    """Every save's event read "Logo: none" ("Logo: không có") even when nobody touched the
    logo: an admin reading the log took it for the logo having been removed."""
    admin = factories.UserFactory(roles={Role.ADMIN}, locale="vi")
    save_brand(logo=png_bytes())
    save_brand(tagline_vi="Đi cùng Sen Vàng")
    replaced, untouched = sorted(audit_events(), key=lambda e: e.id)
    assert replaced.details["logo"] == "replaced"
    assert "logo" not in untouched.details
    login(client, admin)
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html_of(client.get("/admin/audit"))))
    assert "Logo: thay mới" in page
    assert "Logo: không có" not in page


# --- what is refused -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "english", "vietnamese"),
    [
        (
            {"primary_colour": "#808080"},
            "Text would be hard to read on this colour",
            "Chữ sẽ khó đọc trên màu này",
        ),
        (
            {"accent_colour": "green"},
            "Give a colour as # and six hex digits",
            "Hãy nhập màu dạng # và sáu chữ số hệ mười sáu",
        ),
        ({"company_name": "  "}, "This field is required.", "Trường này là bắt buộc."),
        # zero-width space, word joiner, no-break space, byte order mark: an invisible name
        (
            {"company_name": "\u200b\u2060\u00a0\ufeff"},
            "This field is required.",
            "Trường này là bắt buộc.",
        ),
        (
            {"contact_email": "not an address"},
            "Invalid email address.",
            "Địa chỉ email không hợp lệ.",
        ),
        (
            {"contact_phone": "abc"},
            "Write a phone number, such as 028 3822 0000 or 1900 1234.",
            "Hãy nhập số điện thoại, ví dụ 028 3822 0000 hoặc 1900 1234.",
        ),
    ],
)
def test_bad_input_is_refused_in_the_persons_language(client, changes, english, vietnamese):
    login(client, factories.UserFactory(roles={Role.HR}))
    response = client.post("/settings/brand", data=brand_form(**changes))
    assert response.status_code == 400
    assert english in html_of(response)

    client.post("/language", data={"locale": "vi"})
    response = client.post("/settings/brand", data=brand_form(**changes))
    assert response.status_code == 400
    assert vietnamese in html_of(response)
    assert english not in html_of(response)
    assert db.session.get(BrandSettings, 1) is None
    assert audit_events() == []


@pytest.mark.parametrize("phone", ["", "028 3822 0000", "1900 1234", "+84 (28) 3822-0000"])
def test_a_contact_phone_is_any_number_as_people_write_it_or_none(client, phone):
    login(client, factories.UserFactory(roles={Role.HR}))
    response = client.post("/settings/brand", data=brand_form(contact_phone=phone))
    assert response.status_code == 303, html_of(response)[:300]
    assert db.session.get(BrandSettings, 1).contact_phone == phone


def test_a_contact_email_pasted_with_spaces_around_it_is_kept_without_them(client):
    login(client, factories.UserFactory(roles={Role.HR}))
    response = client.post(
        "/settings/brand", data=brand_form(contact_email=" \u200bhotro@senvang.example \t")
    )
    assert response.status_code == 303, html_of(response)[:300]
    assert db.session.get(BrandSettings, 1).contact_email == "hotro@senvang.example"


def test_a_company_name_keeps_its_letters_and_loses_the_invisible_ends(client):
    login(client, factories.UserFactory(roles={Role.HR}))
    response = client.post("/settings/brand", data=brand_form(company_name="\u200b Sen Vàng\ufeff"))
    assert response.status_code == 303, html_of(response)[:300]
    assert db.session.get(BrandSettings, 1).company_name == "Sen Vàng"


def test_a_logo_that_is_not_an_image_is_refused(client):
    login(client, factories.UserFactory(roles={Role.HR}))
    form = brand_form(logo=(io.BytesIO(b"<svg onload=alert(1)>"), "logo.png"))
    response = client.post("/settings/brand", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Upload a PNG or JPEG image." in html_of(response)
    assert db.session.scalar(select(func.count()).select_from(StoredImage)) == 0
    assert db.session.get(BrandSettings, 1) is None


def test_the_service_refuses_what_the_form_would(app):
    with pytest.raises(ValidationFailed) as refused:
        save_brand(primary_colour="#777777")
    assert refused.value.details["field"] == "primary_colour"
    with pytest.raises(ValidationFailed) as refused:
        save_brand(logo=b"\x89PNG\r\n\x1a\n" + b"\x00" * (branding.MAX_LOGO_BYTES + 1))
    assert refused.value.details["field"] == "logo"
    with pytest.raises(ValidationFailed) as refused:
        save_brand(company_name="\u200b\u200b")
    assert refused.value.details["field"] == "company_name"
    assert db.session.get(BrandSettings, 1) is None


# --- the logo --------------------------------------------------------------------------------


def test_a_new_logo_replaces_the_old_one_and_can_be_removed(client):
    login(client, factories.UserFactory(roles={Role.HR}))
    first = brand_form(logo=(io.BytesIO(png_bytes()), "logo.png"))
    assert client.post("/settings/brand", data=first).status_code == 303
    old = db.session.get(BrandSettings, 1).logo_image
    logo = client.get(f"/brand/logo/{old}")
    assert logo.status_code == 200
    assert logo.data == png_bytes()
    assert logo.mimetype == "image/png"

    second = brand_form(logo=(io.BytesIO(qr_png_bytes("new logo")), "logo.png"))
    assert client.post("/settings/brand", data=second).status_code == 303
    db.session.expire_all()
    new = db.session.get(BrandSettings, 1).logo_image
    assert new != old
    assert client.get(f"/brand/logo/{old}").status_code == 404
    assert client.get(f"/brand/logo/{new}").data == qr_png_bytes("new logo")
    assert audit_events()[-1].details["logo"] == "replaced"

    assert client.post("/settings/brand", data=brand_form(remove_logo="y")).status_code == 303
    db.session.expire_all()
    assert db.session.get(BrandSettings, 1).logo_image is None
    assert client.get(f"/brand/logo/{new}").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(StoredImage)) == 0
    assert audit_events()[-1].details["logo"] == "removed"


def test_another_stored_image_is_not_served_as_the_logo(client):
    save_brand(logo=png_bytes())
    with transaction():
        other = save_image(png_bytes())
    assert client.get(f"/brand/logo/{other}").status_code == 404


# --- where it shows --------------------------------------------------------------------------


def test_the_storefront_shows_the_company_and_not_the_staff_slogan(client):
    save_brand()
    page = html_of(client.get("/shop/"))
    assert "<title>Storefront · Công ty Du lịch Sen Vàng</title>" in page
    assert "Công ty Du lịch Sen Vàng" in page
    assert "Trips worth remembering" in page
    assert "hotro@senvang.example" in page
    assert 'href="tel:02838220000"' in page
    assert "Tax code 0301234567" in page
    assert STAFF_SLOGAN not in page

    client.post("/language", data={"locale": "vi"})
    page = html_of(client.get("/shop/"))
    assert "Những chuyến đi đáng nhớ" in page
    assert "Mã số thuế 0301234567" in page
    assert STAFF_SLOGAN_VI not in page


def test_every_storefront_page_keeps_the_staff_slogan_off(client):
    product = factories.ProductFactory()
    for url in ("/shop/", f"/shop/p/{product.slug}", "/shop/cart"):
        page = html_of(client.get(url))
        assert 'data-testid="storefront-footer"' in page, url
        assert STAFF_SLOGAN not in page, url


def test_staff_pages_keep_the_slogan_and_show_the_company(client, login_as):
    save_brand()
    login_as(Role.EMPLOYEE)
    page = html_of(client.get("/"))
    assert STAFF_SLOGAN in page
    assert "Công ty Du lịch Sen Vàng" in page
    assert "<title>Home · Công ty Du lịch Sen Vàng</title>" in page


def test_before_anyone_saves_a_brand_the_pages_say_company_name(client, app):
    assert "Products and services from Perks" in html_of(client.get("/shop/"))
    assert "<title>Sign in · Perks</title>" in html_of(client.get("/login"))


def test_the_sign_in_page_shows_the_company_and_its_logo(client):
    brand = save_brand(logo=png_bytes())
    page = html_of(client.get("/login"))
    assert "Công ty Du lịch Sen Vàng" in page
    assert f'src="/brand/logo/{brand.logo_image}" alt="Công ty Du lịch Sen Vàng"' in page


def test_the_staff_home_is_one_click_from_the_storefront(client, login_as):
    login_as(Role.EMPLOYEE)
    page = html_of(client.get("/"))
    assert re.search(r'href="/shop/"[^>]*data-testid="home-storefront-link"', page)


def test_the_navigation_bar_takes_the_brand_colour_through_the_stylesheet(client):
    brand = save_brand(primary_colour="#FFCC00", accent_colour="#c0392b")
    assert brand.primary_colour == "#ffcc00"
    page = html_of(client.get("/shop/"))
    assert f'href="/brand.css?v={brand.version}"' in page
    assert "navbar-dark" not in page  # a light brand colour: dark text, dark buttons
    assert "btn-outline-dark" in page
    assert "style=" not in page  # the page's policy allows no inline style

    css = client.get(f"/brand.css?v={brand.version}")
    assert css.mimetype == "text/css"
    assert "--perks-brand: #ffcc00;" in css.get_data(as_text=True)
    assert "--perks-brand-text: #212529;" in css.get_data(as_text=True)
    assert "--bs-btn-bg: #c0392b;" in css.get_data(as_text=True)
    assert "immutable" in css.headers["Cache-Control"]
    assert client.get("/brand.css?v=old").headers["Cache-Control"] == "no-cache"


def test_a_dark_brand_colour_keeps_the_light_navigation_bar(client):
    save_brand(primary_colour="#1a237e")
    page = html_of(client.get("/shop/"))
    assert "navbar-dark" in page
    assert "--bs-btn-bg" not in html_of(client.get("/brand.css"))  # no accent: Bootstrap's


# --- e-mails ---------------------------------------------------------------------------------


def test_every_email_carries_the_brand_and_its_logo_inside(app):
    brand = save_brand(logo=png_bytes())
    person = factories.UserFactory(name="Trần Văn Bình", locale="en")
    with app.test_request_context():
        auth.send_invitation(person, actor=factories.UserFactory(roles={Role.HR}))

    message = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == person.email)
    ).one()
    [logo] = message.attachments
    assert logo.data == png_bytes()
    assert logo.content_type == "image/png"
    assert f'<img src="cid:{logo.content_id}" alt="{brand.company_name}"' in message.body_html
    assert "Công ty Du lịch Sen Vàng has invited you to Perks" in message.body_text
    assert "Tax code 0301234567" in message.body_html
    assert "Tax code 0301234567" in message.body_text
    assert "hotro@senvang.example" in message.body_text
    assert not re.search(r"<img[^>]+src=\"https?:", message.body_html)


def test_an_email_without_a_logo_names_the_company_in_its_header(app):
    save_brand()
    person = factories.UserFactory()
    with app.test_request_context():
        auth.send_invitation(person, actor=factories.UserFactory(roles={Role.HR}))
    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.attachments == []
    assert "<img" not in message.body_html
    assert "Công ty Du lịch Sen Vàng" in message.body_html


def _parts(email: EmailMessage) -> list[str]:
    return [part.get_content_type() for part in email.walk()]


def test_the_order_email_is_text_and_html_with_its_images_inside(smtp_app, smtp_server):
    save_brand(logo=png_bytes())
    order = factories.OrderFactory(customer_email="hoa.le@gmail.com", locale="en")
    with smtp_app.test_request_context(), transaction():
        order.paid_at = datetime.now(UTC)
        order.paid_amount = order.total_amount
        order.refresh_status()
        db.session.flush()
        order_paid.send(order)

    [email] = smtp_server.to("hoa.le@gmail.com")
    assert _parts(email) == [
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
        "image/png",
    ]
    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    assert order.redemption_code in text  # readable with no image at all
    assert "Công ty Du lịch Sen Vàng" in text
    images = {
        part["Content-ID"].strip("<>"): part
        for part in email.walk()
        if part.get_content_maintype() == "image"
    }
    assert len(images) == 2
    for content_id, part in images.items():
        assert f'src="cid:{content_id}"' in html
        assert part.get_content_disposition() == "inline"
    assert qr_png_bytes(order.redemption_code) in [p.get_content() for p in images.values()]
    assert png_bytes() in [p.get_content() for p in images.values()]
    assert not re.search(r"<img[^>]+src=\"https?:", html)
    for img in re.findall(r"<img[^>]*>", html):
        assert re.search(r'alt="[^"]+"', img), img  # every image says what it shows
    assert f'alt="QR code of the code {order.redemption_code}"' in html


def test_a_queued_email_keeps_the_logo_it_was_written_with(smtp_app, smtp_server):
    """The attachments are the row's own: a logo changed before sending changes nothing."""
    save_brand(logo=png_bytes())
    smtp_server.refusing = True
    person = factories.UserFactory(email="an@example.com")
    with smtp_app.test_request_context():
        auth.send_invitation(person, actor=factories.UserFactory(roles={Role.HR}))
    assert smtp_server.to("an@example.com") == []

    save_brand(logo=qr_png_bytes("another logo"))
    smtp_server.refusing = False
    db.session.execute(OutboxMessage.__table__.update().values(next_attempt_at=datetime.now(UTC)))
    db.session.commit()

    assert send_due() == 1
    [email] = smtp_server.to("an@example.com")
    [logo] = [p for p in email.walk() if p.get_content_maintype() == "image"]
    assert logo.get_content() == png_bytes()
