"""The list of pages (tests/site_pages.py) holds every GET endpoint of the app: each is a
page with its URL and who sees it, or is said not to be a page, with the reason."""

from __future__ import annotations

from tests.site_pages import NOT_PAGES, PAGES, ROLES, pages_for


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


# Each demo person getting each page of their role as HTML, and every page reached by
# someone: tests/functional/test_every_page_translated.py, which renders them all anyway.
