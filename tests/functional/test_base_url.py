"""Every absolute URL comes from ``BASE_URL``, never from the request's Host header
(SECURITY.md, "Requests and responses"): e-mails, share links, QR codes, Stripe's return URLs.

The requests here forge their Host (``evil.example``) on an app with ``TRUSTED_HOSTS``
empty, the setting that used to let the Host header choose the links."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from perks.auth import tokens
from perks.config import ConfigurationError, load_settings
from perks.extensions import db
from perks.mail import OutboxMessage
from perks.payments import stripe_gateway
from perks.people.models import Role, User
from perks.qr import qr_png_bytes, qr_svg_bytes
from perks.shop.models import Order
from perks.shop.notifications import send_order_confirmation
from perks.urls import absolute_url
from tests import factories
from tests.helpers import PRODUCTION_SETTINGS

BASE = "https://perks.example"
FORGED = "http://evil.example"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def site(app, app_factory) -> Flask:  # type: ignore[no-untyped-def]
    """The app on its configured address, answering any Host (``TRUSTED_HOSTS`` empty)."""
    return app_factory(BASE_URL=BASE, TRUSTED_HOSTS=None)


def signed_in(site: Flask, *roles: Role, **fields: object):  # type: ignore[no-untyped-def]
    """A browser of a new person with ``roles``, signed in through the forged host."""
    person = factories.UserFactory(roles=set(roles) or {Role.EMPLOYEE}, **fields)
    browser = site.test_client()
    response = browser.post(
        "/login",
        data={"email": person.email, "password": factories.PASSWORD},
        base_url=FORGED,
    )
    assert response.status_code == 302
    return person, browser


def last_mail_to(recipient: str) -> OutboxMessage:
    message = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.recipient == recipient)
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert message is not None, f"no e-mail to {recipient}"
    return message


def links_in(message: OutboxMessage) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>]+", message.body_text + message.body_html)


def assert_only_base_links(links: list[str]) -> None:
    assert links, "no links at all"
    assert all(link.startswith(BASE + "/") for link in links), links
    assert not any("evil.example" in link for link in links)


# --- the setting ----------------------------------------------------------------------------


def test_development_and_tests_default_to_the_local_server():
    assert load_settings({})["BASE_URL"] == "http://127.0.0.1:5000"
    assert load_settings({"PERKS_ENV": "testing"})["BASE_URL"] == "http://127.0.0.1:5000"
    assert load_settings({"BASE_URL": BASE})["BASE_URL"] == BASE


def test_production_refuses_to_start_without_a_base_url(app_factory):
    assert load_settings({"PERKS_ENV": "production"})["BASE_URL"] == ""
    with pytest.raises(ConfigurationError, match="BASE_URL"):
        app_factory(**{**PRODUCTION_SETTINGS, "BASE_URL": ""})


@pytest.mark.parametrize(
    "url",
    [
        "perks.example",
        "ftp://perks.example",
        "https://",
        "https:///path",
        "https://perks.example/?x=1",
        "https://perks.example/#top",
        "https://user:pw@perks.example",
        "https://perks.example:port",
        " https://perks.example",
        "javascript:alert(1)",
    ],
)
def test_a_base_url_that_is_not_an_http_address_is_refused(app_factory, url):
    with pytest.raises(ConfigurationError, match="BASE_URL"):
        app_factory(**{**PRODUCTION_SETTINGS, "BASE_URL": url})
    with pytest.raises(ConfigurationError, match="BASE_URL"):
        app_factory(BASE_URL=url)


def test_production_refuses_an_http_base_url_while_its_cookies_are_for_https_only(app_factory):
    # every link in e-mails and QR codes would open the site where the browser sends no
    # session cookie: signed out at each link
    with pytest.raises(ConfigurationError, match=r"BASE_URL.*https"):
        app_factory(**{**PRODUCTION_SETTINGS, "BASE_URL": "http://perks.example"})
    # a site served over plain http on a closed network says so with its cookies
    app = app_factory(
        **{
            **PRODUCTION_SETTINGS,
            "BASE_URL": "http://perks.lan",
            "TRUSTED_HOSTS": ["perks.lan"],
            "SESSION_COOKIE_SECURE": False,
        }
    )
    assert app.config["BASE_URL"] == "http://perks.lan"


def test_production_starts_with_a_base_url(app_factory):
    app = app_factory(**{**PRODUCTION_SETTINGS, "BASE_URL": "https://perks.example/"})
    assert app.config["BASE_URL"] == "https://perks.example/"


# --- the helper -----------------------------------------------------------------------------


def test_absolute_urls_are_built_outside_a_request_as_inside_one(site):
    with site.app_context():  # a Celery task, the command line
        outside = absolute_url("shop.order", token="abc", **{"from": "checkout"})
    with site.test_request_context("/", base_url=FORGED):
        inside = absolute_url("shop.order", token="abc", **{"from": "checkout"})
    assert outside == inside == f"{BASE}/shop/orders/abc?from=checkout"


def test_a_base_url_with_a_path_prefixes_every_link(app_factory, app):
    mounted = app_factory(BASE_URL="https://example.com/perks/")
    with mounted.test_request_context("/", base_url=FORGED):
        assert absolute_url("auth.login", _anchor="top") == "https://example.com/perks/login#top"


def test_no_absolute_url_is_built_from_the_request_anywhere_else():
    """The one helper, and nothing that reads the request's host, in the app's own code. (The
    Stripe sandbox, a stand-in for Stripe and an application of its own in
    ``stripe_sandbox/``, answers on the host it is called at, like Stripe.)"""
    pattern = re.compile(r"_external\s*=\s*True|host_url|url_root|request\.host\b")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "perks").rglob("*.py"))
        if path.name != "urls.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    offenders += [
        f"{path.relative_to(ROOT)}"
        for path in sorted((ROOT / "templates").rglob("*"))
        if path.is_file() and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


# --- e-mails --------------------------------------------------------------------------------


def test_a_password_reset_link_ignores_a_forged_host(site):
    factories.UserFactory(email="quen@example.com")
    browser = site.test_client()

    response = browser.post("/password/forgot", data={"email": "quen@example.com"}, base_url=FORGED)

    assert response.status_code == 302
    links = links_in(last_mail_to("quen@example.com"))
    assert_only_base_links(links)
    assert any(link.startswith(f"{BASE}/password/reset/") for link in links)


def test_an_invitation_link_ignores_a_forged_host(site):
    invitee = factories.UserFactory(password_hash=None, email="moi@example.com")
    _hr, browser = signed_in(site, Role.HR)

    assert browser.post(f"/people/{invitee.id}/invite", base_url=FORGED).status_code == 302

    links = links_in(last_mail_to("moi@example.com"))
    assert_only_base_links(links)
    assert any(link.startswith(f"{BASE}/invitation/") for link in links)


def test_the_order_confirmation_links_ignore_a_forged_host(site):
    order = factories.OrderFactory(customer_email="khach@example.com", locale="en")
    order.paid_at = datetime.now(UTC)
    order.paid_amount = order.total_amount
    order.payment_intent_id = "pi_test_forged"
    order.refresh_status()
    db.session.commit()

    with site.test_request_context("/stripe/webhook", method="POST", base_url=FORGED):
        send_order_confirmation(db.session.get(Order, order.id))
        db.session.commit()

    links = links_in(last_mail_to("khach@example.com"))
    assert_only_base_links(links)
    assert f"{BASE}/shop/orders/{order.token}" in links


# --- share links and QR codes ---------------------------------------------------------------


def test_share_links_and_their_qr_codes_ignore_a_forged_host(site):
    person, browser = signed_in(site)
    link = factories.ReferralLinkFactory(user=db.session.get(User, person.id))
    expected = f"{BASE}/r/{link.code}"

    page = browser.get(f"/links/{link.id}", base_url=FORGED).get_data(as_text=True)
    listing = browser.get("/links", base_url=FORGED).get_data(as_text=True)
    png = browser.get(f"/links/{link.id}/qr.png", base_url=FORGED)
    svg = browser.get(f"/links/{link.id}/qr.svg", base_url=FORGED)

    assert expected in page
    assert expected in listing
    assert "evil.example" not in page + listing
    # The QR codes carry exactly the link on the configured address.
    assert png.data == qr_png_bytes(expected)
    assert svg.data == qr_svg_bytes(expected)


# --- Stripe ---------------------------------------------------------------------------------


def test_stripes_return_urls_ignore_a_forged_host(app_factory, live_sandbox):
    site = app_factory(BASE_URL=BASE, TRUSTED_HOSTS=None, STRIPE_API_BASE=live_sandbox.api_base)
    product = factories.ProductFactory(slug="tour-ha-long", price_amount=2_400_000)
    customer = site.test_client()
    added = customer.post(
        "/shop/cart/add", data={"product": product.slug, "quantity": 1}, base_url=FORGED
    )
    assert added.status_code == 303

    checkout = customer.post(
        "/shop/checkout",
        data={"name": "Lê Thị Hoa", "email": "hoa.le@gmail.com", "phone": "0912 345 678"},
        base_url=FORGED,
    )

    assert checkout.status_code == 303, checkout.get_data(as_text=True)[:500]
    order = db.session.scalars(select(Order)).one()
    session = stripe_gateway.retrieve_checkout_session(order.checkout_session_id)
    assert session.success_url == f"{BASE}/shop/orders/{order.token}?from=checkout"
    assert session.cancel_url == f"{BASE}/shop/orders/{order.token}/cancelled"


def test_stripe_is_reached_at_its_setting_never_at_a_forged_host(app_factory, app):
    sandbox = app_factory(BASE_URL=BASE, TRUSTED_HOSTS=None, STRIPE_API_BASE="http://sbx:5002/")
    with sandbox.test_request_context("/shop/checkout", base_url=FORGED):
        assert stripe_gateway.api_base() == "http://sbx:5002"
    with sandbox.app_context():  # and from a background task too
        assert stripe_gateway.api_base() == "http://sbx:5002"
    stripe_itself = app_factory(BASE_URL=BASE, TRUSTED_HOSTS=None, STRIPE_API_BASE="")
    with stripe_itself.test_request_context("/shop/checkout", base_url=FORGED):
        assert stripe_gateway.api_base() == "https://api.stripe.com"


def test_tokens_in_links_still_work_when_followed(site):
    """The links are not only on the right host: they open the right page."""
    invitee = factories.UserFactory(password_hash=None)
    with site.test_request_context():
        token = tokens.make_token(db.session.get(User, invitee.id), tokens.INVITATION)
        link = absolute_url("auth.accept_invitation", token=token)
    assert link.startswith(f"{BASE}/invitation/")
    assert site.test_client().get(link.removeprefix(BASE)).status_code == 200


# --- the router's own redirects -------------------------------------------------------------


def test_a_missing_slash_redirects_on_the_base_url_not_the_forged_host(site):
    response = site.test_client().get("/shop?page=2", base_url=FORGED)

    assert response.status_code == 308
    assert response.location == f"{BASE}/shop/?page=2"


def test_a_missing_slash_redirect_keeps_the_base_urls_path(app_factory, app):
    mounted = app_factory(BASE_URL="https://example.com/perks/", TRUSTED_HOSTS=None)
    browser = mounted.test_client()

    # behind a proxy that strips the prefix, and one that passes it on as the script root
    stripped = browser.get("/shop", base_url=FORGED)
    passed_on = browser.get("/shop", base_url=FORGED + "/perks")

    assert stripped.location == passed_on.location == "https://example.com/perks/shop/"
