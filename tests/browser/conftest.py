"""Browser fixtures: the app served live on the test database, driven by headless Chromium.

The browser is Debian's ``chromium`` (``make test`` installs it) driven through Playwright's
sync API; Playwright's own browser downloads are never used. The live server
(``live_server``, in tests/conftest.py) is a second app on the same database as the ``app``
fixture, with CSRF protection on as in production, so the tests seed data with the
factories and the server sees it. Every browser test starts and ends on an empty database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests import factories
from tests.browser.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    PageProblems,
    customer_page,
    new_context,
)
from tests.helpers import clean_database
from tests.stripe_sandbox import LiveSandbox


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = (
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
            "(`make test` installs it; or: apt-get install -y chromium)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(autouse=True)
def _empty_database(_app_context, app: Flask) -> None:  # type: ignore[no-untyped-def]
    """Start on an empty database (the shared autouse fixture empties it afterwards)."""
    clean_database()


@pytest.fixture
def context(browser: Browser, live_server: str) -> Iterator[BrowserContext]:
    context = new_context(browser, live_server)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page in a fresh context; the test fails if the browser saw a script or asset error."""

    expect.set_options(timeout=TIMEOUT_MS)
    problems = PageProblems()
    page = context.new_page()
    page.on("console", problems.console)
    page.on("pageerror", problems.page_error)
    page.on("response", problems.response)
    yield page
    assert not problems.items, "the browser reported problems:\n" + "\n".join(problems.items)


@pytest.fixture
def screenshots(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``shoot(page, name)``: a screenshot into PERKS_SCREENSHOTS_DIR (``make screenshots``:
    docs/screenshots, shown in the README), else into a temporary folder."""
    folder = Path(os.environ.get("PERKS_SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)

    def shoot(page: Page, name: str) -> Path:
        page.wait_for_load_state("networkidle")
        path = folder / f"{name}.png"
        page.screenshot(path=path)
        return path

    return shoot


@pytest.fixture
def tour():  # type: ignore[no-untyped-def]
    return factories.ProductFactory(
        slug="tour-ha-long",
        name_en="Ha Long Bay 2-day cruise",
        name_vi="Tour Hạ Long 2 ngày 1 đêm",
        price_amount=2_400_000,
        max_quantity_per_order=4,
    )


@pytest.fixture
def shopper(browser: Browser, live_sandbox: LiveSandbox) -> Iterator[Page]:
    """A customer's fresh browser (no cookies, nobody signed in) on their phone."""
    with customer_page(browser, live_sandbox.app_url) as page:
        yield page
