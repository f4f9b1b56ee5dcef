"""Referral links end to end: the employee's pages (links, new link, share, QR downloads,
pause) and the public redirect (where it lands, what it counts, the cookie, no open redirect,
no session, rate limits), in both click write modes."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from http.cookies import SimpleCookie
from urllib.parse import unquote, urlsplit

import pytest
from sqlalchemy import func, select

from perks.db import utcnow
from perks.errors import ValidationFailed
from perks.extensions import db, limiter
from perks.people.models import Role, User
from perks.referrals import clicks
from perks.referrals.attribution import (
    REFERRAL_COOKIE,
    AttributionReason,
    attribute_order,
    load_referral_cookie,
)
from perks.referrals.models import Click, Destination, ReferralLink
from perks.referrals.services import create_link, ensure_default_link
from tests import factories
from tests.helpers import clean_database, counting_statements, is_postgres, login
from tests.racing import all_at_once

CHROME = (
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
ZALO_APP = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 Zalo iOS/502 ZaloTheme/light ZaloLanguage/vn"
)
FACEBOOK_PREVIEW = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
BROWSER = {"User-Agent": CHROME}


def visit(client, code: str, user_agent: str = CHROME, **headers: str):  # type: ignore[no-untyped-def]
    return client.get(f"/r/{code}", headers={"User-Agent": user_agent, **headers})


def set_cookies(response) -> dict[str, SimpleCookie]:  # type: ignore[no-untyped-def]
    """The cookies a response sets, by name, with their attributes."""
    found = {}
    for header in response.headers.getlist("Set-Cookie"):
        jar = SimpleCookie()
        jar.load(header)
        for name in jar:
            found[name] = jar
    return found


def referral_cookie(response):  # type: ignore[no-untyped-def]
    jar = set_cookies(response).get(REFERRAL_COOKIE)
    return load_referral_cookie(jar[REFERRAL_COOKIE].value) if jar else None


def human_clicks(link_id: int | None = None) -> int:
    query = select(func.count()).select_from(Click).where(Click.is_bot.is_(False))
    if link_id is not None:
        query = query.where(Click.link_id == link_id)
    return db.session.scalar(query) or 0


def all_clicks() -> list[Click]:
    db.session.expire_all()
    return list(db.session.scalars(select(Click).order_by(Click.id)))


@pytest.fixture
def product():  # type: ignore[no-untyped-def]
    return factories.ProductFactory(slug="tour-ha-long", name_en="Ha Long Bay 2-day cruise")


@pytest.fixture
def product_link(product):  # type: ignore[no-untyped-def]
    return factories.ReferralLinkFactory(
        label="Zalo group", destination=Destination.PRODUCT, destination_id=product.id
    )


# --- where the redirect lands ----------------------------------------------------------------


def test_a_link_leads_to_its_product_page(client, product_link):
    response = visit(client, product_link.code)
    assert response.status_code == 302
    assert response.headers["Location"] == "/shop/p/tour-ha-long"


def test_links_lead_to_their_category_or_the_storefront(client, product):
    to_category = factories.ReferralLinkFactory(
        destination=Destination.CATEGORY, destination_id=product.category_id
    )
    to_storefront = factories.ReferralLinkFactory()
    assert visit(client, to_category.code).headers["Location"] == (
        f"/shop/c/{product.category.slug}"
    )
    assert visit(client, to_storefront.code).headers["Location"] == "/shop/"


def test_a_code_is_found_in_capitals_too(client, product_link):
    assert visit(client, product_link.code.upper()).headers["Location"] == "/shop/p/tour-ha-long"


def test_a_product_taken_off_sale_sends_its_links_to_the_storefront(client, product_link, product):
    product.active = False
    db.session.commit()
    response = visit(client, product_link.code)
    assert response.headers["Location"] == "/shop/"
    assert referral_cookie(response) is not None  # still the employee's customer


def test_an_unknown_code_lands_on_the_storefront_without_attribution(client):
    response = visit(client, "zzzzzzz")
    assert (response.status_code, response.headers["Location"]) == (302, "/shop/")
    assert REFERRAL_COOKIE not in set_cookies(response)
    assert all_clicks() == []


def test_a_paused_link_lands_on_the_storefront_and_counts_nothing(client, product_link):
    product_link.paused = True
    db.session.commit()
    response = visit(client, product_link.code)
    assert response.headers["Location"] == "/shop/"
    assert REFERRAL_COOKIE not in set_cookies(response)
    assert all_clicks() == []


def test_a_deactivated_persons_link_still_lands_but_counts_nothing(client, product_link):
    product_link.user.active = False
    db.session.commit()
    response = visit(client, product_link.code)
    assert response.headers["Location"] == "/shop/p/tour-ha-long"
    assert REFERRAL_COOKIE not in set_cookies(response)
    assert all_clicks() == []


EVIL_CODES = [
    "//evil.com",
    "///evil.com",
    "https://evil.com",
    "https:%2F%2Fevil.com",
    "https:/evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "%2F%2Fevil.com",
    "%2f%2fevil.com",
    "%5C%5Cevil.com",
    "..%2F..",
    "../../evil.com",
    "%2e%2e%2f%2e%2e%2fevil.com",
    "javascript:alert(1)",
    "evil.com",
    "@evil.com",
    "a" * 5000,
    "mã-khuyến-mãi",
    "%E2%80%AE%2F%2Fevil.com",
    "ab3k9mq?next=https://evil.com",
    "ab3k9mq#https://evil.com",
    "",
]


@pytest.mark.parametrize("code", EVIL_CODES, ids=range(len(EVIL_CODES)))
def test_no_code_can_send_anyone_to_another_site(client, code):
    factories.ReferralLinkFactory(code="ab3k9mq")
    response = client.get("/r/" + code, headers=BROWSER)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(("/shop", "http://localhost/shop")), location
    target = urlsplit(location)
    assert target.netloc in ("", "localhost")
    assert "evil" not in unquote(location)


def test_the_redirect_ignores_redirect_hints_in_the_request(client, product_link):
    response = client.get(
        f"/r/{product_link.code}?next=//evil.com&url=https://evil.com",
        headers={**BROWSER, "Referer": "https://evil.com/", "X-Forwarded-Host": "evil.com"},
    )
    assert response.headers["Location"] == "/shop/p/tour-ha-long"


# --- what a click records and the cookie ------------------------------------------------------


def test_a_human_click_is_recorded_and_sets_the_attribution_cookie(client, product_link):
    response = visit(
        client,
        product_link.code,
        Referer="https://l.facebook.com/l.php?u=x",
        **{"X-Real-Ip": "ignored"},
    )
    [click] = all_clicks()
    assert (click.link_id, click.is_bot, click.user_agent_family) == (
        product_link.id,
        False,
        "Chrome",
    )
    assert click.referrer_domain == "l.facebook.com"
    assert re.fullmatch(r"[0-9a-f]{64}", click.ip_hash)
    assert "127.0.0.1" not in click.ip_hash

    jar = set_cookies(response)[REFERRAL_COOKIE]
    morsel = jar[REFERRAL_COOKIE]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert morsel["path"] == "/"
    assert int(morsel["max-age"]) == 30 * 24 * 3600
    content = load_referral_cookie(morsel.value)
    assert content is not None
    assert (content.link_id, content.click_id) == (product_link.id, click.id)
    assert abs(content.clicked_at - utcnow()) < timedelta(minutes=1)


def test_the_same_ip_gives_the_same_hash(client, product_link):
    visit(client, product_link.code)
    for _ in range(2):
        client.get(
            f"/r/{product_link.code}", headers=BROWSER, environ_base={"REMOTE_ADDR": "10.1.2.3"}
        )
    hashes = [click.ip_hash for click in all_clicks()]
    assert hashes[1] == hashes[2] != hashes[0]


def test_the_cookie_is_secure_when_cookies_are(app, app_factory, product_link):
    app = app_factory(SESSION_COOKIE_SECURE=True)
    response = visit(app.test_client(), product_link.code)
    assert set_cookies(response)[REFERRAL_COOKIE][REFERRAL_COOKIE]["secure"] is True


def test_the_last_click_wins(client, product):
    first = factories.ReferralLinkFactory()
    last = factories.ReferralLinkFactory(destination=Destination.PRODUCT, destination_id=product.id)
    visit(client, first.code)
    visit(client, last.code)
    cookie = client.get_cookie(REFERRAL_COOKIE)
    assert cookie is not None
    result = attribute_order(cookie.value, None, "khach@gmail.com", None, utcnow())
    assert (result.link, result.reason) == (last, AttributionReason.COOKIE)


def test_a_typed_code_beats_the_cookie_at_checkout(client):
    clicked, typed = factories.ReferralLinkFactory(), factories.ReferralLinkFactory()
    visit(client, clicked.code)
    cookie = client.get_cookie(REFERRAL_COOKIE)
    result = attribute_order(cookie.value, typed.code.upper(), "khach@gmail.com", None, utcnow())
    assert (result.link, result.reason) == (typed, AttributionReason.TYPED_CODE)


@pytest.mark.parametrize(
    "user_agent",
    [
        FACEBOOK_PREVIEW,
        "Mozilla/5.0 (compatible; ZaloBot/1.0; +https://zalo.me)",
        "WhatsApp/2.23.20.0 A",
        "TelegramBot (like TwitterBot)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "curl/8.5.0",
        "",
    ],
)
def test_a_bot_is_redirected_but_neither_counted_nor_attributed(client, product_link, user_agent):
    response = visit(client, product_link.code, user_agent=user_agent)
    assert response.headers["Location"] == "/shop/p/tour-ha-long"
    assert REFERRAL_COOKIE not in set_cookies(response)
    [click] = all_clicks()  # kept, flagged, for the record
    assert click.is_bot
    assert human_clicks() == 0


def test_a_head_request_checks_the_link_without_counting(client, product_link):
    response = client.head(f"/r/{product_link.code}", headers=BROWSER)
    assert (response.status_code, response.headers["Location"]) == (302, "/shop/p/tour-ha-long")
    assert REFERRAL_COOKIE not in set_cookies(response)
    assert human_clicks() == 0


def test_the_zalo_in_app_browser_is_a_person(client, product_link):
    response = visit(client, product_link.code, user_agent=ZALO_APP)
    assert referral_cookie(response) is not None
    [click] = all_clicks()
    assert (click.is_bot, click.user_agent_family) == (False, "Zalo")


def test_an_employee_clicking_their_own_link_is_not_counted(client, product_link):
    login(client, product_link.user)
    response = visit(client, product_link.code)
    assert response.headers["Location"] == "/shop/p/tour-ha-long"
    assert REFERRAL_COOKIE not in set_cookies(response)
    assert all_clicks() == []


def test_a_colleague_clicking_a_link_is_counted(client, product_link):
    login(client, factories.UserFactory())
    response = visit(client, product_link.code)
    assert referral_cookie(response) is not None
    assert human_clicks(product_link.id) == 1


def test_the_redirect_sets_no_session_cookie_for_visitors(client, product_link):
    response = visit(client, product_link.code)
    assert set(set_cookies(response)) == {REFERRAL_COOKIE}
    assert client.get_cookie("session") is None
    response = visit(client, "zzzzzzz")
    assert set_cookies(response) == {}


def test_a_get_on_the_redirect_creates_no_link_and_changes_no_link(client, product_link):
    visit(client, product_link.code)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ReferralLink)) == 1
    assert not product_link.paused


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
def test_other_methods_on_the_redirect_get_the_405_page_and_count_nothing(
    client, product_link, method
):
    response = client.open(f"/r/{product_link.code}", method=method, headers=BROWSER)
    assert response.status_code == 405
    assert response.headers["Content-Security-Policy"]
    assert set_cookies(response) == {}
    assert human_clicks(product_link.id) == 0


def test_behind_a_proxy_the_redirect_counts_the_visitors_own_address(
    app, app_factory, product_link
):
    """``PROXY_COUNT`` applies to the redirect too: ProxyFix wraps it with the Flask app."""
    proxied = app_factory(PROXY_COUNT=1)
    response = proxied.test_client().get(
        f"/r/{product_link.code}",
        headers={**BROWSER, "X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )
    assert response.status_code == 302
    stored = db.session.scalars(select(Click.ip_hash)).one()
    assert stored == clicks.hash_ip("203.0.113.9", proxied.secret_key or "")


def test_the_redirect_runs_none_of_the_apps_request_hooks(app, app_factory, product_link):
    """The redirect is its own WSGI app (``redirect_app.py``): a hook added to Flask later
    does not slow it down, nor change its answer."""
    calls: list[str] = []
    fresh = app_factory()  # hooks can only be added before an app's first request
    fresh.before_request(lambda: calls.append("before"))
    fresh.after_request(lambda response: calls.append("after") or response)
    response = fresh.test_client().get(f"/r/{product_link.code}", headers=BROWSER)
    assert response.status_code == 302
    assert calls == []
    assert fresh.test_client().get("/healthz").status_code == 200
    assert calls == ["before", "after"]


# --- batched click writes --------------------------------------------------------------------


@pytest.fixture
def batched_app(app, app_factory):  # type: ignore[no-untyped-def]
    batched = app_factory(CLICK_WRITE_MODE="batched", CLICK_FLUSH_SECONDS=3600)
    yield batched
    with batched.app_context():
        clicks.click_recorder().close()


def test_in_batched_mode_clicks_are_queued_then_written_all(batched_app, product_link):
    db.session.commit()
    client = batched_app.test_client()
    responses = [visit(client, product_link.code) for _ in range(25)]
    assert all(r.status_code == 302 for r in responses)
    # The click id is not known yet: the cookie carries the link and the time.
    content = referral_cookie(responses[-1])
    assert content is not None
    assert (content.link_id, content.click_id) == (product_link.id, None)

    with batched_app.app_context():
        recorder = clicks.click_recorder()
        assert recorder.pending == 25
        assert recorder.flush() == 25
    db.session.commit()
    assert human_clicks(product_link.id) == 25


def test_in_batched_mode_a_clean_stop_writes_the_queue(batched_app, product_link):
    db.session.commit()
    client = batched_app.test_client()
    for _ in range(3):
        visit(client, product_link.code)
    clicks.close_all_recorders()  # what atexit and gunicorn's worker_exit do
    db.session.commit()
    assert human_clicks(product_link.id) == 3


def test_with_the_code_cache_pausing_takes_effect_at_once_in_this_worker(
    app, app_factory, product_link
):
    cached = app_factory(REDIRECT_CACHE_SECONDS=60)
    client = cached.test_client()
    assert referral_cookie(visit(client, product_link.code)) is not None
    login(client, product_link.user)
    client.post(f"/links/{product_link.id}/pause")
    client.post("/logout")
    response = visit(client, product_link.code)
    assert response.headers["Location"] == "/shop/"
    assert REFERRAL_COOKIE not in set_cookies(response)


# --- rate limit ------------------------------------------------------------------------------


@pytest.fixture
def limited_app(app, app_factory):  # type: ignore[no-untyped-def]
    limited = app_factory(RATELIMIT_ENABLED=True, REDIRECT_RATE_LIMIT="3 per minute")
    with limited.app_context():
        limiter.reset()
    yield limited
    with limited.app_context():
        limiter.reset()


def test_the_redirect_is_rate_limited_per_ip(limited_app, product_link):
    db.session.commit()
    client = limited_app.test_client()
    statuses = [visit(client, product_link.code).status_code for _ in range(5)]
    assert statuses == [302, 302, 302, 429, 429]
    other_ip = client.get(
        f"/r/{product_link.code}", headers=BROWSER, environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert other_ip.status_code == 302
    db.session.commit()
    assert human_clicks(product_link.id) == 4  # refused requests record nothing


# --- the employee's pages --------------------------------------------------------------------


def test_the_links_page_lists_every_link_and_writes_nothing(client, product_link):
    person = product_link.user
    default = factories.ReferralLinkFactory(user=person, is_default=True)
    login(client, person)
    for _ in range(2):
        factories.ClickFactory(link_id=product_link.id)
    factories.ClickFactory(link_id=product_link.id, is_bot=True)

    with counting_statements() as statements:
        page = client.get("/links").get_data(as_text=True)

    assert not [s for s in statements if not s.lstrip().upper().startswith("SELECT")]
    assert f"http://localhost/r/{default.code}" in page
    assert f"http://localhost/r/{product_link.code}" in page
    assert "Zalo group" in page
    assert "Ha Long Bay 2-day cruise" in page
    assert 'data-testid="make-default-link"' not in page
    row = page[page.index(f'data-link-id="{product_link.id}"') :]
    assert re.search(r'data-testid="link-clicks">2<', row)


def test_a_link_to_a_product_taken_off_sale_says_so_on_its_owners_pages(
    client, product_link, product
):
    product.active = False
    db.session.commit()
    login(client, product_link.user)
    for page in (client.get("/links"), client.get(f"/links/{product_link.id}")):
        text = page.get_data(as_text=True)
        assert "Ha Long Bay 2-day cruise (no longer on sale)" in text
    share = client.get(f"/links/{product_link.id}").get_data(as_text=True)
    assert 'href="/shop/" data-testid="landing"' in share


def test_someone_without_a_default_link_is_offered_to_make_it(client):
    person = factories.UserFactory()  # made outside the people services: no link yet
    login(client, person)

    page = client.get("/links").get_data(as_text=True)
    assert 'data-testid="make-default-link"' in page
    assert db.session.scalar(select(func.count()).select_from(ReferralLink)) == 0

    response = client.post("/links/default")
    [link] = db.session.scalars(select(ReferralLink).where(ReferralLink.user_id == person.id))
    assert link.is_default
    assert response.headers["Location"] == f"/links/{link.id}"
    client.post("/links/default")  # twice: still one
    assert db.session.scalar(select(func.count()).select_from(ReferralLink)) == 1
    assert 'data-testid="make-default-link"' not in client.get("/links").get_data(as_text=True)


def test_an_employee_makes_a_link_to_a_product(client, product):
    login(client, factories.UserFactory())
    form = client.get("/links/new").get_data(as_text=True)
    assert f'value="product:{product.id}"' in form
    assert f'value="category:{product.category_id}"' in form

    response = client.post(
        "/links/new", data={"label": "Facebook post", "target": f"product:{product.id}"}
    )

    assert response.status_code == 302
    link = db.session.scalar(select(ReferralLink).where(ReferralLink.label == "Facebook post"))
    assert (link.destination, link.destination_id) == (Destination.PRODUCT, product.id)
    assert response.headers["Location"] == f"/links/{link.id}"


def test_the_new_link_form_can_start_on_a_product(client, product):
    login(client, factories.UserFactory())
    page = client.get(f"/links/new?target=product:{product.id}").get_data(as_text=True)
    assert re.search(rf'<option selected value="product:{product.id}"', page) or re.search(
        rf'<option value="product:{product.id}" selected', page
    )


@pytest.mark.parametrize(
    "data",
    [
        {"label": "", "target": "storefront"},
        {"label": "x" * 81, "target": "storefront"},
        {"label": "Zalo", "target": "product:999999"},
        {"label": "Zalo", "target": "https://evil.com"},
        {"label": "Zalo", "target": ""},
    ],
    ids=["no-label", "long-label", "unknown-product", "url", "no-target"],
)
def test_a_bad_new_link_is_refused_with_a_reason(client, product, data):
    login(client, factories.UserFactory())
    response = client.post("/links/new", data=data)
    assert response.status_code == 400
    assert "invalid-feedback" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ReferralLink)) == 0


def test_an_invisible_label_is_refused_in_the_persons_language(client, product):
    """Zero-width space, byte order mark, word joiner: a label made only of them is empty."""
    login(client, factories.UserFactory(locale="vi"))
    response = client.post(
        "/links/new", data={"label": "\u200b\ufeff\u2060", "target": "storefront"}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Trường này là bắt buộc." in page
    assert "is-invalid" in page
    assert db.session.scalar(select(func.count()).select_from(ReferralLink)) == 0


def test_a_vietnamese_label_typed_decomposed_fits_at_the_length_limit(client, product):
    """Unikey's "Unicode tổ hợp" types Vietnamese decomposed (a letter, then its marks): a
    label of 80 characters on the screen is more code points than that. It is kept composed."""
    label = ("Nhóm Zalo gia đình 🎉 " * 4)[:80]
    assert len(label) == 80
    decomposed = unicodedata.normalize("NFD", label)
    assert len(decomposed) > 80
    person = factories.UserFactory()
    login(client, person)
    response = client.post("/links/new", data={"label": decomposed, "target": "storefront"})
    assert response.status_code == 302
    stored = db.session.scalar(select(ReferralLink.label).where(ReferralLink.user_id == person.id))
    assert stored == label.strip()
    assert (
        create_link(
            person, label=decomposed, destination=Destination.STOREFRONT, destination_id=None
        ).label
        == label.strip()
    )


def test_a_label_is_kept_without_its_invisible_ends(client, product):
    person = factories.UserFactory()
    login(client, person)
    response = client.post(
        "/links/new", data={"label": " \u200bNhóm Zalo\ufeff ", "target": "storefront"}
    )
    assert response.status_code == 302
    labels = db.session.scalars(
        select(ReferralLink.label).where(ReferralLink.user_id == person.id)
    ).all()
    assert labels == ["Nhóm Zalo"]


def test_the_service_refuses_an_invisible_label(app):
    with pytest.raises(ValidationFailed):
        create_link(
            factories.UserFactory(),
            label="\u200b\u2060",
            destination=Destination.STOREFRONT,
            destination_id=None,
        )
    assert db.session.scalar(select(func.count()).select_from(ReferralLink)) == 0


def test_the_form_cannot_set_the_code_owner_or_state(client, product):
    person = factories.UserFactory()
    other = factories.UserFactory()
    login(client, person)
    client.post(
        "/links/new",
        data={
            "label": "Zalo",
            "target": "storefront",
            "code": "mine123",
            "user_id": str(other.id),
            "paused": "y",
            "is_default": "y",
        },
    )
    link = db.session.scalar(select(ReferralLink))
    assert link.user_id == person.id
    assert link.code != "mine123"
    assert not link.paused
    assert not link.is_default


def test_the_share_page_shows_the_url_qr_and_share_targets(client, product_link):
    login(client, product_link.user)
    page = client.get(f"/links/{product_link.id}").get_data(as_text=True)
    url = f"http://localhost/r/{product_link.code}"
    encoded = "http%3A%2F%2Flocalhost%2Fr%2F" + product_link.code
    assert f'value="{url}"' in page
    assert 'data-testid="copy-link"' in page
    assert "<svg" in page
    assert f"https://www.facebook.com/sharer/sharer.php?u={encoded}" in page
    assert f"fb-messenger://share?link={encoded}" in page
    assert "mailto:?subject=" in page
    assert f"body=Have%20a%20look%20at%20this%3A%20{encoded}" in page
    assert f"sms:?&amp;body=Have%20a%20look%20at%20this%3A%20{encoded}" in page
    assert 'data-testid="copy-zalo"' in page
    assert "/static/js/share.js" in page
    assert "<script>" not in page  # no inline script (CSP)


def test_qr_codes_download_as_png_and_svg(client, product_link):
    login(client, product_link.user)
    png = client.get(f"/links/{product_link.id}/qr.png")
    svg = client.get(f"/links/{product_link.id}/qr.svg")

    assert png.status_code == svg.status_code == 200
    assert png.mimetype == "image/png"
    assert png.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert svg.mimetype == "image/svg+xml"
    assert svg.data.startswith(b"<?xml")
    assert b"<svg" in svg.data
    for response, extension in ((png, "png"), (svg, "svg")):
        disposition = response.headers["Content-Disposition"]
        assert disposition == f'attachment; filename="referral-{product_link.code}.{extension}"'


def test_another_persons_link_is_not_found_anywhere(client, product_link):
    login(client, factories.UserFactory(roles={Role.EMPLOYEE, Role.ADMIN}))
    for url in ("", "/qr.png", "/qr.svg"):
        assert client.get(f"/links/{product_link.id}{url}").status_code == 404
    for action in ("pause", "resume"):
        assert client.post(f"/links/{product_link.id}/{action}").status_code == 404
    db.session.expire_all()
    assert not product_link.paused


def test_pausing_and_resuming_from_the_links_page(client, product_link):
    login(client, product_link.user)
    response = client.post(f"/links/{product_link.id}/pause", data={"next": "/links"})
    assert response.headers["Location"] == "/links"
    db.session.expire_all()
    assert product_link.paused
    assert "Paused" in client.get("/links").get_data(as_text=True)

    response = client.post(f"/links/{product_link.id}/resume", data={"next": "https://evil.com/"})
    assert response.headers["Location"] == f"/links/{product_link.id}"
    db.session.expire_all()
    assert not product_link.paused


def test_pausing_needs_the_csrf_token(app, app_factory, product_link):
    protected = app_factory(WTF_CSRF_ENABLED=True)
    client = protected.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page)
    assert token is not None
    client.post(
        "/login",
        data={
            "email": product_link.user.email,
            "password": factories.PASSWORD,
            "csrf_token": token.group(1),
        },
    )
    assert client.post(f"/links/{product_link.id}/pause").status_code == 400
    db.session.expire_all()
    assert not product_link.paused


def test_the_links_page_runs_as_many_statements_with_many_links_and_clicks(client):
    def statements_for(links: int, clicks_each: int) -> int:
        clean_database()
        person = factories.UserFactory()
        products = [factories.ProductFactory() for _ in range(3)]
        for n in range(links):
            product = products[n % 3]
            link = factories.ReferralLinkFactory(
                user=person,
                destination=Destination.PRODUCT if n % 2 else Destination.CATEGORY,
                destination_id=product.id if n % 2 else product.category_id,
            )
            db.session.add_all(factories.ClickFactory.build_batch(clicks_each, link_id=link.id))
        db.session.commit()
        login(client, person)
        client.get("/links")  # the first visit loads what every page loads once
        with counting_statements() as statements:
            assert client.get("/links").status_code == 200
        client.post("/logout")
        return len(statements)

    assert statements_for(2, 1) == statements_for(20, 10)


@pytest.mark.postgres_only
def test_simultaneous_first_visits_make_one_default_link(app, app_factory):
    """Ten first visits of the links page at once: one default link, ten answers with it."""
    if not is_postgres(app):
        pytest.skip("concurrent writers need PostgreSQL; set TEST_DATABASE_URL to run this")
    person_id = factories.UserFactory().id
    db.session.commit()
    racing = app_factory()
    outcome = all_at_once(
        racing,
        range(10),
        lambda person: ensure_default_link(person).code,
        prepare=lambda _visit: db.session.get(User, person_id),
    )

    assert outcome.errors == []
    assert len(outcome.results) == 10
    assert len(set(outcome.results)) == 1
    db.session.expire_all()
    count = select(func.count()).select_from(ReferralLink).where(ReferralLink.is_default)
    assert db.session.scalar(count) == 1
