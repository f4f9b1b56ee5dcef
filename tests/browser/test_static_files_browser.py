"""On a phone, the style sheets, scripts and icons come over the network once: the next pages
take them from the browser's cache without asking the server again (perks.static_files)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from perks.extensions import db
from tests import factories
from tests.browser.helpers import sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}

#: each static file the page loaded: its path, the bytes that came over the network (a 304
#: counts its headers) and whether the browser's cache delivered it. Not the page's icon:
#: Chromium's icon loader asks for it again now and then whatever its headers say.
RESOURCES = """() => performance.getEntriesByType('resource')
  .filter((e) => new URL(e.name).pathname.includes('/static/'))
  .filter((e) => !new URL(e.name).pathname.endsWith('/favicon.svg'))
  .map((e) => ({path: new URL(e.name).pathname, bytes: e.transferSize, from: e.deliveryType}))"""


def test_the_next_pages_ask_the_server_for_no_style_sheet_script_or_icon(page: Page):
    person = factories.UserFactory(locale="vi")
    db.session.commit()
    page.set_viewport_size(PHONE)
    sign_in(page, person.email)  # the first page: everything comes over the network
    for path in ("/perks", "/"):
        page.goto(path)
        resources = page.evaluate(RESOURCES)
        paths = {resource["path"] for resource in resources}
        assert {"/static/css/app.css", "/static/js/app.js"} <= paths, paths
        assert any(p.startswith("/bootstrap/static/") for p in paths), paths
        asked_again = [r for r in resources if r["bytes"] or r["from"] != "cache"]
        assert not asked_again, f"{path} asked the server again for {asked_again}"
