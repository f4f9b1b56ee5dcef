"""Every route, for every role and for anonymous visitors: the expected status.

A route missing from ``ROUTES`` fails ``test_every_route_is_in_the_table``: each new page
must say who may see it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from perks.auth.models import Role
from perks.catalog import claims, draws
from perks.catalog.models import CodeMode, PerkStatus
from perks.extensions import db
from perks.mail import OutboxMessage
from perks.people import imports
from tests import factories
from tests.conftest import login

ANONYMOUS = "anonymous"
ROLES = [ANONYMOUS, *[r.value for r in Role]]
IGNORED_ENDPOINTS = {"static", "bootstrap.static"}


def only(*allowed: Role, ok: int = 200, anonymous: int = 302) -> dict[str, int]:
    """Status per role: ``ok`` for the allowed roles (admins always), 403 for the rest."""
    statuses = {ANONYMOUS: anonymous}
    for role in Role:
        permitted = not allowed or role in allowed or role is Role.ADMIN
        statuses[role.value] = ok if permitted else 403
    return statuses


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


#: routes that redirect anonymous visitors somewhere other than the sign-in page
PUBLIC_REDIRECTS = {"main.set_language", "referrals.redirect"}

SIGNED_IN = only()
HR = only(Role.HR)
HR_POST = only(Role.HR, ok=302)
ADMIN = only(Role.ADMIN)


@dataclass(frozen=True)
class Route:
    method: str
    url: Callable[[dict], str]
    expected: dict[str, int]
    data: dict[str, str] | None = None


ROUTES: dict[str, Route] = {
    "main.home": Route("GET", lambda s: "/", SIGNED_IN),
    "main.health": Route("GET", lambda s: "/healthz", everyone(200)),
    "main.set_language": Route("POST", lambda s: "/language", everyone(302), {"locale": "en"}),
    "auth.login": Route("GET", lambda s: "/login", {**everyone(302), ANONYMOUS: 200}),
    "auth.logout": Route("POST", lambda s: "/logout", only(ok=302)),
    "auth.logout_everywhere": Route("POST", lambda s: "/logout-everywhere", only(ok=302)),
    "auth.account": Route("GET", lambda s: "/account", SIGNED_IN),
    "auth.forgot_password": Route("GET", lambda s: "/password/forgot", everyone(200)),
    "auth.accept_invitation": Route("GET", lambda s: "/invitation/not-a-token", everyone(400)),
    "auth.reset_password": Route("GET", lambda s: "/password/reset/not-a-token", everyone(400)),
    "people.directory": Route("GET", lambda s: "/people/", HR),
    "people.create": Route("GET", lambda s: "/people/new", HR),
    "people.detail": Route("GET", lambda s: f"/people/{s['person']}", HR),
    "people.edit": Route("GET", lambda s: f"/people/{s['person']}/edit", HR),
    "people.deactivate": Route("POST", lambda s: f"/people/{s['person']}/deactivate", HR_POST),
    "people.reactivate": Route("POST", lambda s: f"/people/{s['person']}/reactivate", HR_POST),
    "people.invite": Route("POST", lambda s: f"/people/{s['person']}/invite", HR_POST),
    "people.departments": Route("GET", lambda s: "/people/departments", HR),
    "people_import.upload": Route("GET", lambda s: "/people/import/", HR),
    "people_import.example": Route("GET", lambda s: "/people/import/example.csv", HR),
    # Uploads belong to the HR person who made them: anyone else's id answers 404.
    "people_import.review": Route(
        "GET", lambda s: f"/people/import/{s['import']}", only(Role.HR, ok=404)
    ),
    "people_import.confirm": Route(
        "POST", lambda s: f"/people/import/{s['import']}/confirm", only(Role.HR, ok=404)
    ),
    # Catalog: employees
    "catalog.index": Route("GET", lambda s: "/perks", SIGNED_IN),
    "catalog.detail": Route("GET", lambda s: f"/perks/{s['perk']}", SIGNED_IN),
    "catalog.perk_image": Route("GET", lambda s: f"/perks/{s['perk']}/image", only(ok=404)),
    "catalog.claim_perk": Route("POST", lambda s: f"/perks/{s['perk']}/claim", only(ok=302)),
    "catalog.enter_draw": Route("POST", lambda s: f"/perks/{s['draw_perk']}/enter", only(ok=302)),
    "catalog.my_perks": Route("GET", lambda s: "/my-perks", SIGNED_IN),
    # Claims and entries belong to someone else: 404 for everybody, admins included.
    "catalog.my_claim": Route("GET", lambda s: f"/my-perks/{s['claim']}", only(ok=404)),
    "catalog.mark_used": Route("POST", lambda s: f"/my-perks/{s['claim']}/used", only(ok=404)),
    "catalog.decline_seat": Route(
        "POST", lambda s: f"/draws/entries/{s['entry']}/decline", only(ok=404)
    ),
    "catalog.redeem": Route("GET", lambda s: "/redeem", only(Role.REDEEMER)),
    "catalog.redeem_use": Route(
        "POST", lambda s: "/redeem/use", only(Role.REDEEMER, ok=404), {"code": "PK-NONE-NONE"}
    ),
    "catalog.draw": Route("GET", lambda s: f"/draws/{s['draw']}", SIGNED_IN),
    "catalog.rules": Route("GET", lambda s: "/rules", SIGNED_IN),
    # Catalog: HR
    "catalog_admin.index": Route("GET", lambda s: "/admin/perks/", HR),
    "catalog_admin.create": Route("GET", lambda s: "/admin/perks/new", HR),
    "catalog_admin.edit": Route("GET", lambda s: f"/admin/perks/{s['perk']}/edit", HR),
    "catalog_admin.publish": Route(
        "POST", lambda s: f"/admin/perks/{s['draft_perk']}/publish", HR_POST
    ),
    "catalog_admin.archive": Route(
        "POST", lambda s: f"/admin/perks/{s['draft_perk']}/archive", HR_POST
    ),
    "catalog_admin.codes": Route("GET", lambda s: f"/admin/perks/{s['pool_perk']}/codes", HR),
    "catalog_admin.draw": Route("GET", lambda s: f"/admin/perks/{s['draw_perk']}/draw", HR),
    "catalog_admin.run_draw": Route(
        "POST", lambda s: f"/admin/perks/{s['draw_perk']}/draw/run", HR_POST
    ),
    "admin.audit_log": Route("GET", lambda s: "/admin/audit", ADMIN),
    "admin.outbox": Route("GET", lambda s: "/dev/outbox", ADMIN),
    "admin.outbox_message": Route("GET", lambda s: f"/dev/outbox/{s['message']}", ADMIN),
    # Storefront: public; a missing slug is a 404 for everybody
    "shop.index": Route("GET", lambda s: "/shop/", everyone(200)),
    "shop.category": Route("GET", lambda s: f"/shop/c/{s['category']}", everyone(200)),
    "shop.product": Route("GET", lambda s: f"/shop/p/{s['product']}", everyone(200)),
    # Referral stats: everyone's own links; another person's link is a 404 for everybody
    "referral_stats.my_links": Route("GET", lambda s: "/stats/links", SIGNED_IN),
    "referral_stats.link": Route("GET", lambda s: f"/stats/links/{s['link']}", only(ok=404)),
    "referral_stats.team": Route("GET", lambda s: "/stats/team", only(Role.MANAGER)),
    "referral_stats.company": Route("GET", lambda s: "/stats/company", only(Role.FINANCE)),
    "referral_stats.fraud": Route("GET", lambda s: "/finance/fraud", only(Role.FINANCE)),
    # Referral links: everyone's own; another person's link is a 404 for everybody
    "referrals.my_links": Route("GET", lambda s: "/links", SIGNED_IN),
    "referrals.new_link": Route("GET", lambda s: "/links/new", SIGNED_IN),
    "referrals.share": Route("GET", lambda s: f"/links/{s['link']}", only(ok=404)),
    "referrals.qr_png": Route("GET", lambda s: f"/links/{s['link']}/qr.png", only(ok=404)),
    "referrals.qr_svg": Route("GET", lambda s: f"/links/{s['link']}/qr.svg", only(ok=404)),
    "referrals.pause": Route("POST", lambda s: f"/links/{s['link']}/pause", only(ok=404)),
    "referrals.resume": Route("POST", lambda s: f"/links/{s['link']}/resume", only(ok=404)),
    # The public redirect: the link's page for everyone, signed in or not
    "referrals.redirect": Route("GET", lambda s: f"/r/{s['link_code']}", everyone(302)),
}


@pytest.fixture
def samples() -> dict[str, int]:
    person = factories.UserFactory(name="Trần Thị Mục Tiêu")
    message = OutboxMessage(recipient="a@example.com", subject="Hi", body_text="x", body_html="x")
    db.session.add(message)
    db.session.commit()
    upload = imports.store_upload(
        b"email,name\nx@example.com,X\n",
        filename="people.csv",
        actor=factories.UserFactory(roles={Role.HR}),
    )
    perk = factories.PerkFactory()
    draw = factories.DrawFactory()
    product = factories.ProductFactory()
    link = factories.ReferralLinkFactory(user=person)
    return {
        "person": person.id,
        "message": message.id,
        "import": upload.id,
        "perk": perk.id,
        "draft_perk": factories.PerkFactory(status=PerkStatus.DRAFT).id,
        "pool_perk": factories.PerkFactory(code_mode=CodeMode.POOL, codes=["P1"]).id,
        "draw_perk": draw.perk_id,
        "draw": draw.id,
        "claim": claims.claim_perk(perk.id, person).id,
        "entry": draws.enter_draw(draw.perk_id, person).id,
        "product": product.slug,
        "category": product.category.slug,
        "link": link.id,
        "link_code": link.code,
    }


def test_every_route_is_in_the_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - IGNORED_ENDPOINTS
    assert endpoints - set(ROUTES) == set(), "add these routes to ROUTES"
    assert set(ROUTES) - endpoints == set(), "these routes no longer exist"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_route_answers_each_role_as_expected(client, samples, endpoint, role):
    route = ROUTES[endpoint]
    if role != ANONYMOUS:
        login(client, factories.UserFactory(roles={Role(role)}))
    url = route.url(samples)
    response = client.open(url, method=route.method, data=route.data or {})
    assert response.status_code == route.expected[role], (endpoint, role, url)
    if response.status_code == 302 and role == ANONYMOUS and endpoint not in PUBLIC_REDIRECTS:
        assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [("shop.category", "/shop/c/no-such-shelf"), ("shop.product", "/shop/p/nope")],
)
def test_a_missing_storefront_slug_is_not_found_for_everyone(client, endpoint, url):
    assert client.get(url).status_code == 404
    login(client, factories.UserFactory(roles={Role.ADMIN}))
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("endpoint", sorted(e for e, r in ROUTES.items() if r.method == "GET"))
def test_every_page_renders_in_vietnamese_and_english_on_an_empty_database(client, endpoint):
    """Signed in as an admin (who may see everything), with nothing else in the database."""
    login(client, factories.UserFactory(roles={Role.ADMIN}))
    route = ROUTES[endpoint]
    missing = defaultdict(lambda: 999_999)
    for locale in ("vi", "en"):
        client.post("/language", data={"locale": locale})
        response = client.get(route.url(missing))
        assert response.status_code < 500, (endpoint, locale)
        if response.status_code == 200 and response.mimetype == "text/html":
            assert f'<html lang="{locale}"' in response.get_data(as_text=True)
