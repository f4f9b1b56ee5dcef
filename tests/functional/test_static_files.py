"""Static files (perks.static_files): a page names its style sheets and scripts by their
content (``?v=<digest>``), and those addresses are cacheable for a year; a changed file gets a
new address; any other address of a static file is asked again each time, as before."""

from __future__ import annotations

import os
import re

import pytest

from perks.static_files import MAX_AGE_SECONDS, digest_of
from tests import factories
from tests.helpers import login

#: the addresses of a page's static files (Bootstrap-Flask's and ours)
STATIC = re.compile(r'(?:href|src)="(/(?:bootstrap/)?static/[^"]+)"')


def static_addresses(html: str) -> list[str]:
    return [address.replace("&amp;", "&") for address in STATIC.findall(html)]


@pytest.mark.parametrize("signed_in", [False, True], ids=["sign-in page", "home"])
def test_every_static_file_of_a_page_is_named_by_its_content_and_kept_a_year(client, signed_in):
    if signed_in:
        login(client, factories.UserFactory())
    page = client.get("/" if signed_in else "/login")
    assert page.status_code == 200
    addresses = static_addresses(page.get_data(as_text=True))
    # Bootstrap's style sheet and scripts, ours, and the icon
    assert any(a.startswith("/bootstrap/static/") for a in addresses), addresses
    assert any(a.startswith("/static/css/app.css?") for a in addresses), addresses
    assert any(a.startswith("/static/js/app.js?") for a in addresses), addresses
    for address in addresses:
        assert re.search(r"\?v=[0-9a-f]{12}$", address), address
        response = client.get(address)
        assert response.status_code == 200, address
        cache = response.cache_control
        assert cache.public, (address, response.headers["Cache-Control"])
        assert cache.immutable, (address, response.headers["Cache-Control"])
        assert cache.max_age == MAX_AGE_SECONDS
        assert not cache.no_cache
        response.close()


@pytest.mark.parametrize(
    "address",
    [
        "/static/css/app.css",
        "/static/css/app.css?v=000000000000",
        "/static/css/app.css?v=",
        "/bootstrap/static/js/bootstrap.min.js?v=not-its-digest",
    ],
    ids=["no version", "another version", "empty version", "bootstrap, another version"],
)
def test_a_static_file_asked_for_without_its_digest_is_asked_again_each_time(client, address):
    response = client.get(address)
    assert response.status_code == 200
    assert response.cache_control.no_cache, response.headers["Cache-Control"]
    assert not response.cache_control.immutable
    assert response.cache_control.max_age is None
    response.close()


def test_a_missing_static_file_is_a_404_whatever_its_version(client):
    assert client.get("/static/css/nothing.css?v=000000000000").status_code == 404
    assert client.get("/static/../perks/config.py?v=000000000000").status_code == 404


def test_a_changed_file_gets_a_new_address_and_a_missing_or_outside_one_none(tmp_path):
    sheet = tmp_path / "a.css"
    sheet.write_text("body { color: black }")
    first = digest_of(str(tmp_path), "a.css")
    assert first is not None
    assert re.fullmatch(r"[0-9a-f]{12}", first)
    assert digest_of(str(tmp_path), "a.css") == first
    sheet.write_text("body { color: navy }")
    stat = sheet.stat()
    # a later modification time, whatever the file system's clock resolution
    os.utime(sheet, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = digest_of(str(tmp_path), "a.css")
    assert second is not None
    assert second != first
    assert digest_of(str(tmp_path), "missing.css") is None
    assert digest_of(str(tmp_path), "../a.css") is None
