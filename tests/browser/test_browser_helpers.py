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
