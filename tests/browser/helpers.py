"""What the browser tests share besides fixtures: Debian's Chromium and its switches, the
screen size, timeouts, a fresh browser profile, a recorder of what goes wrong in a page, and
the steps several journeys take (signing in and out, a customer's way to Stripe Checkout)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Response,
    expect,
)
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import select

from perks.extensions import db
from perks.shop.models import Order
from tests import factories

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 800}
#: how long an action or an expectation may wait before the test fails (milliseconds)
TIMEOUT_MS = 10_000
#: an element no wider than its parent
FITS_ITS_PARENT = "t => t.parentElement.scrollWidth <= t.parentElement.clientWidth"
#: the document no wider than the window: no sideways scrolling (false, to be polled again,
#: in the instant of a navigation when the new document has no root element yet)
FITS_THE_SCREEN = """() => {
  const root = document.documentElement;
  return root !== null && root.scrollWidth <= root.clientWidth;
}"""

#: the outermost elements wider than the window or beyond its right edge, outside any
#: element that scrolls or clips horizontally (a table in a scrolling wrapper is fine)
STICKING_OUT = """() => {
  const width = document.documentElement.clientWidth;
  const clips = (element) => {
    for (let e = element.parentElement; e && e !== document.body; e = e.parentElement) {
      const overflow = getComputedStyle(e).overflowX;
      if (overflow !== 'visible') return true;
    }
    return false;
  };
  const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + [...e.classList].slice(0, 3).map((c) => '.' + c).join('');
  const out = [];
  for (const element of document.body.querySelectorAll('*')) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 || (box.right <= width + 1 && box.left >= -1)) continue;
    if (clips(element)) continue;
    const parent = element.parentElement.getBoundingClientRect();
    if (parent.right > width + 1 && element.parentElement !== document.body) continue;
    const path = [];
    for (let e = element; e && e !== document.body && path.length < 4; e = e.parentElement) {
      path.unshift(name(e));
    }
    out.push(`${path.join(' > ')} (${Math.round(box.left)}..${Math.round(box.right)} px)`);
  }
  return {scrollWidth: document.documentElement.scrollWidth, clientWidth: width, out};
}"""

#: the tables shown that scroll sideways in their wrapper (``.table-responsive``), by their
#: ``data-testid`` or else their place: a table's columns should fit, or on a phone its rows
#: be cards (``.table-stack``), so that nothing is out of sight to the right
TABLES_SCROLLING = """() => [...document.querySelectorAll('.table-responsive')]
  .filter((e) => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
  .map((e) => {
    const table = e.querySelector('table');
    const name = (table && table.dataset.testid)
      || [...e.parentElement.children].indexOf(e) + ' of ' + e.parentElement.tagName.toLowerCase()
        + (e.parentElement.id ? '#' + e.parentElement.id : '');
    return `${name} (${e.scrollWidth} px in ${e.clientWidth})`;
  })"""

#: the customer's phone; headless Chromium's own user agent is rightly counted as a bot by the
#: referral redirect, which would then set no attribution cookie
PHONE = (
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


#: axe-core (``node_modules/axe-core``, from the npm registry: ``make node-packages``): a
#: context's init script (``add_init_script(path=...)``), which the pages' CSP lets run
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
#: the impacts of axe-core's violations that fail a test: all of them, minor ones too (an empty
#: table header, a heading level skipped)
BLOCKING_IMPACTS = ["minor", "moderate", "serious", "critical"]
#: ``page.evaluate(AXE_RUN, BLOCKING_IMPACTS)``: the page's violations of those impacts
AXE_RUN = """async (impacts) => {
  const results = await axe.run(document, {resultTypes: ['violations']});
  return results.violations
    .filter((v) => impacts.includes(v.impact))
    .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                  targets: v.nodes.map((n) => n.target.join(' '))}));
}"""


class PageProblems:
    """What went wrong in the browser behind the test's back: script errors, CSP refusals,
    assets that failed to load. A page answering 4xx on purpose is the test's business."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def console(self, message: ConsoleMessage) -> None:
        # The document's own status (a 401 page, say) is checked by the test itself.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.items.append(f"console: {message.text} ({message.location.get('url')})")

    def page_error(self, error: PlaywrightError) -> None:
        self.items.append(f"script error: {error}")

    def response(self, response: Response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            self.items.append(
                f"{response.status} for {response.request.resource_type} {response.url}"
            )


def new_context(browser: Browser, base_url: str, locale: str = "en-US") -> BrowserContext:
    """A fresh browser profile (no cookies) at the screenshot size, asking for ``locale``."""
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT, locale=locale)
    context.set_default_timeout(TIMEOUT_MS)
    return context


@contextmanager
def customer_page(
    browser: Browser,
    base_url: str,
    *,
    locale: str = "en-US",
    viewport: dict[str, int] | None = None,
) -> Iterator[Page]:
    """A customer's fresh browser on their phone (no cookies, nobody signed in), asking for
    ``locale``, at ``viewport`` (the screenshot size unless given).

    Raises:
        AssertionError: on leaving, the browser reported problems (console errors, page
            errors, failed responses), listed.
    """
    context: BrowserContext = browser.new_context(
        base_url=base_url, viewport=viewport or VIEWPORT, locale=locale, user_agent=PHONE
    )
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    problems = PageProblems()
    page = context.new_page()
    page.on("console", problems.console)
    page.on("pageerror", problems.page_error)
    page.on("response", problems.response)
    try:
        yield page
    finally:
        context.close()
    assert not problems.items, "the browser reported problems:\n" + "\n".join(problems.items)


def assert_fits_its_parent(locator: Locator) -> None:
    """``locator``'s element is no wider than its parent (nothing scrolled away sideways),
    once the page has laid itself out (a viewport just made smaller applies on the page's next
    frame, a busy machine's later).

    Raises:
        AssertionError: still wider after ``TIMEOUT_MS``, with both widths.
    """
    try:
        locator.page.wait_for_function(
            FITS_ITS_PARENT, arg=locator.element_handle(), timeout=TIMEOUT_MS
        )
    except PlaywrightTimeoutError:
        wide, window = locator.evaluate(
            "t => [t.parentElement.scrollWidth, t.parentElement.clientWidth]"
        )
        raise AssertionError(f"{wide} px wide in a {window} px parent") from None


def assert_fits_the_screen(page: Page, timeout_ms: int = TIMEOUT_MS) -> None:
    """The page is no wider than the window (nothing to scroll sideways to), once it has laid
    itself out (a page just loaded or a viewport just made smaller settles on a later frame,
    a busy machine's later still).

    Raises:
        AssertionError: still wider after ``timeout_ms``, with both widths and the elements
            that stick out.
    """
    try:
        page.wait_for_function(FITS_THE_SCREEN, timeout=timeout_ms)
    except PlaywrightTimeoutError:
        width = page.evaluate(STICKING_OUT)
        sticking = "; ".join(width["out"][:8]) or "no single element found"
        raise AssertionError(
            f"{page.url} is {width['scrollWidth']} px wide in a {width['clientWidth']} px "
            f"window: {sticking}"
        ) from None


def sign_in(page: Page, email: str, password: str = factories.PASSWORD) -> None:
    """Fill in and send the login form, and wait for the home page."""
    page.goto("/login")
    form = page.get_by_test_id("login-form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/$"))


def sign_out(page: Page) -> None:
    """Forget the signed-in person: wait until the page has finished loading, then drop the
    cookies. A response still on its way (the redirect after a form, a late asset) would set
    the session cookie again after ``clear_cookies`` and the next sign-in would land on the
    home page instead of the form (seen once in a few dozen runs)."""
    page.wait_for_load_state("networkidle")
    page.context.clear_cookies()


def the_order() -> Order:
    """The one order in the database, as the live server last wrote it."""
    db.session.rollback()  # the live server writes in its own transactions
    return db.session.scalars(select(Order)).one()


def to_checkout(shopper: Page, quantity: int = 1) -> None:
    """From a product page: add to the cart, go to checkout, fill in the form, and send it."""
    shopper.get_by_label("Quantity").fill(str(quantity))
    shopper.get_by_test_id("add-to-cart-button").click()
    expect(shopper).to_have_url(re.compile(r"/shop/cart$"))
    expect(shopper.get_by_test_id("quantity")).to_have_value(str(quantity))
    shopper.get_by_test_id("checkout-link").click()
    expect(shopper).to_have_url(re.compile(r"/shop/checkout$"))
    form = shopper.get_by_test_id("checkout-form")
    form.get_by_label("Full name").fill("Lê Thị Hoa")
    form.get_by_label("E-mail").fill("hoa.le@gmail.com")
    form.get_by_label("Phone").fill("0912 345 678")
    form.get_by_test_id("pay").click()
    expect(shopper).to_have_url(re.compile(r"^http://127\.0\.0\.1:\d+/pay/cs_test_\w+$"))
