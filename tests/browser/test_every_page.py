"""Every page of every role, on a phone and on a laptop: nothing wider than the screen, and
no accessibility violation found by axe-core.

The demo company is seeded (once per test worker, then written back for each test); each of
its logins (and an anonymous visitor, for the public pages) opens every page of their role
(tests/site_pages.py) at 390 × 844 in Vietnamese and at 1280 × 800 in English, and their
home page at 1280 × 800 in Vietnamese, where the main menu must also fit on one line. At each visit:

- the page answers 200 in the reader's language (``<html lang>``), its title (the tab's
  words) is words (not empty, no markup), and no two of its elements share an id;
- the document is no wider than the window (``scrollWidth > clientWidth`` is horizontal
  scrolling), and the elements that stick out are named;
- no table scrolls sideways in its wrapper: on the phone its rows are cards
  (``.table-stack``) or its columns fit, and on the laptop its columns fit;
- axe-core (``node_modules/axe-core``, from the npm registry: ``make node-packages``) reports
  no violation at all, of any impact; on the API docs, whose markup Swagger UI writes in the
  browser, none that is serious or critical.

Every problem of a role's visits is collected and its test fails once, listing them all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page
from sqlalchemy import select, update

from perks.demo import DEMO_PASSWORD, demo_logins
from perks.extensions import db
from perks.people.models import User
from tests.browser.helpers import (
    AXE,
    AXE_RUN,
    BLOCKING_IMPACTS,
    STICKING_OUT,
    TABLES_SCROLLING,
    TIMEOUT_MS,
    sign_in,
)
from tests.site_pages import ANONYMOUS, ROLES, any_product_slug, pages_for

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}

#: the page's language, its title, and the ids more than one of its elements has (a label,
#: a description or a script then finds the first). Not hidden inputs: each form's CSRF token
#: is one (Flask-WTF's ``csrf_token``), and nothing finds them by id.
DOCUMENT = """() => {
  const seen = new Map();
  for (const e of document.querySelectorAll('[id]:not(input[type=hidden])')) {
    seen.set(e.id, (seen.get(e.id) || 0) + 1);
  }
  const repeated = [...seen].filter(([, count]) => count > 1).map(([id]) => id);
  return [document.documentElement.lang, document.title, repeated];
}"""

#: the main menu's links, when it is a bar (not folded): on how many lines they lie, and
#: which of them break onto two lines of text
MENU_LINES = """() => {
  const links = [...document.querySelectorAll('nav .navbar-collapse .navbar-nav > * > .nav-link')]
    .filter((e) => e.offsetParent !== null);
  const rows = new Set(links.map((e) => Math.round(e.getBoundingClientRect().top))).size;
  const wrapped = links
    .filter((e) => e.clientHeight > 1.8 * parseFloat(getComputedStyle(e).lineHeight))
    .map((e) => e.textContent.trim());
  return {rows, wrapped};
}"""


#: pages whose markup another project writes in the browser, and the impacts that fail them:
#: Swagger UI (the API docs) leaves its information block outside any landmark and puts its
#: operation groups at h3 under its own h2
RENDERED_BY_OTHERS = {"api_tokens.docs": ["serious", "critical"]}


@dataclass(frozen=True)
class Screen:
    name: str
    viewport: dict[str, int]
    locale: str
    home_only: bool = False


SCREENS = [
    Screen("390 px, vi", PHONE, "vi"),
    Screen("1280 px, en", LAPTOP, "en"),
    Screen("1280 px, vi", LAPTOP, "vi", home_only=True),
]


@dataclass
class Tour:
    problems: list[str]
    visits: int = 0
    seconds: float = 0.0


#: the screens in two tours (phone, laptop); each role's visits of a tour are a test of their
#: own, so that the browser tests' workers (pytest-xdist) share the visits
TOURS = {"phone": SCREENS[:1], "laptop": SCREENS[1:]}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("tour_name", sorted(TOURS))
def test_every_page_fits_the_screen_and_passes_axe(
    browser: Browser, live_server: str, demo_company: None, tour_name: str, role: str
):
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make node-packages`", pytrace=False)
    logins = dict(demo_logins())
    tour = Tour(problems=[])
    for screen in TOURS[tour_name]:
        user = None
        if role != ANONYMOUS:
            user = db.session.scalar(select(User).where(User.email == logins[role]))
            assert user is not None
            user.locale = screen.locale
            db.session.commit()
        else:
            # the invitation and reset pages are in the language of the person their link
            # names (its e-mail's), whoever that is among the demo's people
            db.session.execute(update(User).values(locale=screen.locale))
            db.session.commit()
        _visit_pages(browser, live_server, screen, role, user, tour)
    summary = f"{tour.visits} visits (page, screen) in {tour.seconds:.0f} s"
    print(summary)
    assert not tour.problems, f"{len(tour.problems)} problems; {summary}:\n" + "\n".join(
        tour.problems
    )


def _visit_pages(
    browser: Browser, base_url: str, screen: Screen, role: str, user: User | None, tour: Tour
) -> None:
    context: BrowserContext = browser.new_context(
        base_url=base_url,
        viewport=screen.viewport,
        locale="vi-VN" if screen.locale == "vi" else "en-US",
    )
    context.set_default_timeout(TIMEOUT_MS)
    # in every document before its own scripts; the page's CSP does not apply to it
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    started = time.monotonic()
    try:
        if user is not None:
            sign_in(page, user.email, DEMO_PASSWORD)
        pages = pages_for(role)
        if screen.home_only:
            pages = [p for p in pages if p.endpoint in {"main.home", "shop.index"}][:1]
        for site_page in pages:
            url = site_page.url(user)
            if url is None:
                continue
            if site_page.needs_cart:
                _put_in_cart(page)
            where = f"{site_page.endpoint} ({url}) as {role} at {screen.name}"
            problems = _check(page, url, screen, site_page.endpoint)
            tour.problems.extend(f"{where}: {p}" for p in problems)
            tour.visits += 1
    finally:
        tour.seconds += time.monotonic() - started
        context.close()


def _put_in_cart(page: Page) -> None:
    page.goto(f"/shop/p/{any_product_slug()}")
    page.get_by_test_id("add-to-cart").locator("[type=submit]").click()
    page.wait_for_url("**/shop/cart")


def _check(page: Page, url: str, screen: Screen, endpoint: str) -> list[str]:
    """What is wrong with the page at ``url``: its status, its language, its title, repeated
    ids, what sticks out of the screen, axe-core's violations."""
    response = page.goto(url)
    problems: list[str] = []
    if response is None or response.status != 200:
        return [f"answered {response and response.status} at {page.url}"]
    lang, title, repeated = page.evaluate(DOCUMENT)
    if lang != screen.locale:
        problems.append(f'<html lang="{lang}">, not {screen.locale}')
    if not title.strip() or "<" in title or ">" in title:
        problems.append(f"its title reads {title!r}")
    if repeated:
        problems.append(f"ids on more than one element: {', '.join(repeated)}")
    width: dict[str, Any] = page.evaluate(STICKING_OUT)
    if width["scrollWidth"] > width["clientWidth"]:
        sticking = "; ".join(width["out"][:8]) or "no single element found"
        problems.append(
            f"{width['scrollWidth']} px wide in a {width['clientWidth']} px window: {sticking}"
        )
    tables = page.evaluate(TABLES_SCROLLING)
    if tables:
        problems.append("tables that scroll sideways: " + "; ".join(tables))
    if screen.viewport["width"] >= LAPTOP["width"]:
        menu = page.evaluate(MENU_LINES)
        if menu["rows"] > 1 or menu["wrapped"]:
            problems.append(
                f"the main menu takes {menu['rows']} lines, these links two or more: "
                + ", ".join(menu["wrapped"])
            )
    impacts = RENDERED_BY_OTHERS.get(endpoint, BLOCKING_IMPACTS)
    for violation in page.evaluate(AXE_RUN, impacts):
        targets = ", ".join(violation["targets"][:6])
        more = len(violation["targets"]) - 6
        problems.append(
            f"axe {violation['impact']} {violation['id']} ({violation['help']}): {targets}"
            + (f" and {more} more" if more > 0 else "")
        )
    return problems
