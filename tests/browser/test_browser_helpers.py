"""The browser tests' own helpers can fail: a page wider than the screen is named, one that
fits once it has laid itself out passes."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.helpers import assert_fits_the_screen

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_a_page_wider_than_the_screen_fails_naming_what_sticks_out(page: Page):
    page.set_viewport_size(PHONE)
    page.set_content(
        '<body style="margin: 0"><main><div id="wide" style="width: 600px">Một dòng</div></main>'
    )
    with pytest.raises(AssertionError) as failure:
        assert_fits_the_screen(page, timeout_ms=300)
    message = str(failure.value)
    assert "600 px wide in a 390 px window" in message
    assert "main > div#wide (0..600 px)" in message


def test_a_page_that_fits_once_laid_out_passes(page: Page):
    page.set_viewport_size(PHONE)
    page.set_content(
        '<div id="wide" style="width: 600px">Một dòng</div>'
        "<script>setTimeout(() => { wide.style.width = '200px'; }, 200);</script>"
    )
    assert_fits_the_screen(page, timeout_ms=5_000)


def test_a_page_between_two_documents_is_measured_once_it_has_a_root(page: Page):
    # The instant of a navigation when the new document has no root element yet: the check
    # waits for one instead of failing on ``null`` (a clean-clone run once failed so, right
    # after a click on a link)
    page.set_viewport_size(PHONE)
    page.set_content("<p>Một dòng</p>")
    page.evaluate(
        """() => {
          document.documentElement.remove();
          setTimeout(() => document.appendChild(document.createElement('html')), 200);
        }"""
    )
    assert_fits_the_screen(page, timeout_ms=5_000)
