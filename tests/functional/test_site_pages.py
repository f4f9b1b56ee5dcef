"""The list of pages (tests/site_pages.py) holds every GET endpoint of the app: each is a
page with its URL and who sees it, or is said not to be a page, with the reason."""

from __future__ import annotations

from sqlalchemy import select

from perks.demo import DEMO_PASSWORD, demo_logins, seed_demo
from perks.extensions import db
from perks.people.models import User
from tests.helpers import login
from tests.site_pages import ANONYMOUS, NOT_PAGES, PAGES, ROLES, any_product_slug, pages_for


def test_every_get_endpoint_is_a_page_or_said_not_to_be_one(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    assert endpoints - set(PAGES) - set(NOT_PAGES) == set(), (
        "add these endpoints to PAGES (with their URL) or to NOT_PAGES (with the reason)"
    )
    assert (set(PAGES) | set(NOT_PAGES)) - endpoints == set(), "these endpoints are gone"
    assert set(PAGES) & set(NOT_PAGES) == set(), "a page cannot be both"


def test_every_page_is_seen_by_someone():
    assert all(page.roles and page.roles <= set(ROLES) for page in PAGES.values())
    assert {page.endpoint for role in ROLES for page in pages_for(role)} == set(PAGES)


def test_every_page_answers_each_demo_role_with_html(client):
    """The demo company: each person of the demo's logins gets each of their role's pages,
    and the pages of the route table's roles all have a URL for someone."""
    seed_demo()
    logins = dict(demo_logins())
    unreached = set(PAGES)
    for role in ROLES:
        user = None
        if role != ANONYMOUS:
            user = db.session.scalar(select(User).where(User.email == logins[role]))
            login(client, user, DEMO_PASSWORD)
        for page in pages_for(role):
            url = page.url(user)
            if url is None:
                continue
            if page.needs_cart:
                client.post("/shop/cart/add", data={"product": any_product_slug(), "quantity": 1})
            response = client.get(url)
            assert response.status_code == 200, (role, page.endpoint, url)
            assert response.mimetype == "text/html", (role, page.endpoint, url)
            unreached.discard(page.endpoint)
        client.post("/logout")
    assert unreached == set(), "the demo shows nobody these pages"
