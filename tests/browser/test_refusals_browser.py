"""What a person meets when something is refused, on a phone (390 px), in Vietnamese and
English, with a keyboard and a screen reader: a refused form hands the focus to its first
refused field, which says why; what they typed is kept."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from perks.people.models import Role
from tests import factories
from tests.browser.helpers import (
    AXE,
    AXE_RUN,
    BLOCKING_IMPACTS,
    assert_fits_the_screen,
    customer_page,
    sign_in,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize(
    ("locale", "required", "wrong"),
    [
        ("vi-VN", "Trường này là bắt buộc.", "Email hoặc mật khẩu không đúng."),
        ("en-US", "This field is required.", "The e-mail or password is not correct."),
    ],
)
def test_a_refused_form_hands_the_focus_to_its_first_refused_field(
    browser: Browser, live_server: str, locale: str, required: str, wrong: str
):
    person = factories.UserFactory(email="thanh.huong@example.com", locale=locale[:2])
    with customer_page(browser, live_server, locale=locale, viewport=PHONE) as page:
        page.goto("/login")
        form = page.get_by_test_id("login-form")
        form.locator("[type=submit]").click()
        email = form.locator("input[name=email]")
        expect(email).to_be_focused()
        expect(email).to_have_attribute("aria-invalid", "true")
        expect(email).to_have_accessible_description(required)

        email.fill(person.email)
        form.locator("input[name=password]").fill("not the password")
        form.locator("[type=submit]").click()
        password = form.locator("input[name=password]")
        expect(password).to_be_focused()
        expect(password).to_have_accessible_description(wrong)
        expect(email).to_have_value(person.email)


def _axe_violations(page: Page) -> list[str]:
    return [
        f"{v['id']} ({v['help']}): {', '.join(v['targets'])}"
        for v in page.evaluate(AXE_RUN, BLOCKING_IMPACTS)
    ]


def test_what_hr_is_refused_passes_axe_on_a_phone(browser: Browser, live_server: str):
    """HR's forms sent empty, where a warning with a link says what is missing first (no
    gift perk to give yet): every refusal readable, its link too."""
    hr = factories.UserFactory(roles={Role.HR}, locale="vi")
    problems = []
    with customer_page(browser, live_server, locale="vi-VN", viewport=PHONE) as page:
        page.context.add_init_script(path=str(AXE))
        sign_in(page, hr.email)
        for url in ["/manage/gifts/new", "/manage/occasions/new", "/people/new"]:
            page.goto(url)
            page.locator("main form[method=post] [type=submit]").last.click()
            expect(page.locator("main [aria-invalid=true]").first).to_be_focused()
            problems += [f"{url}: {p}" for p in _axe_violations(page)]
            assert_fits_the_screen(page)
    assert not problems, "\n".join(problems)


def test_an_unknown_long_code_at_the_counters_stays_within_a_phone(
    browser: Browser, live_server: str
):
    """A scanner that read something else (a long web address, a barcode) types a long code
    without spaces, which the refusal repeats: it breaks, and the page does not scroll
    sideways."""
    redeemer = factories.UserFactory(roles={Role.REDEEMER}, locale="vi")
    with customer_page(browser, live_server, locale="vi-VN", viewport=PHONE) as page:
        sign_in(page, redeemer.email)
        for counter, length in [("/redeem", 64), ("/redeem-order", 512)]:
            page.goto(f"{counter}?code={'HTTPSEXAMPLECOMQR' * 40}"[: len(counter) + 6 + length])
            expect(page.get_by_role("alert").first).to_contain_text("HTTPSEXAMPLECOMQR")
            assert_fits_the_screen(page)
