"""The main journeys of each role, in headless Chromium against the live server."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from babel.support import Translations
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select, update

from perks.demo import DEMO_PASSWORD, demo_logins
from perks.extensions import db
from perks.people.models import Role, User
from tests import factories
from tests.browser.helpers import new_context, sign_in

pytestmark = pytest.mark.browser

TRANSLATIONS_DIR = Path(__file__).resolve().parents[2] / "perks" / "translations"
WRONG_CREDENTIALS = "The e-mail or password is not correct."


def vietnamese(message: str) -> str:
    """The compiled Vietnamese catalog's translation of ``message``."""
    catalog = Translations.load(str(TRANSLATIONS_DIR), ["vi"])
    if not isinstance(catalog, Translations):
        pytest.fail(
            f"no compiled Vietnamese catalog in {TRANSLATIONS_DIR}: run `make translations`",
            pytrace=False,
        )
    translated = catalog.gettext(message)
    assert translated != message, f"the Vietnamese catalog does not translate {message!r}"
    return translated


ROLE_LOGINS = [
    pytest.param({Role.EMPLOYEE}, Role.EMPLOYEE, id="employee"),
    pytest.param({Role.EMPLOYEE, Role.MANAGER}, Role.MANAGER, id="manager"),
    pytest.param({Role.EMPLOYEE, Role.REDEEMER}, Role.REDEEMER, id="redeemer"),
    pytest.param({Role.EMPLOYEE, Role.HR}, Role.HR, id="hr"),
    pytest.param({Role.EMPLOYEE, Role.FINANCE}, Role.FINANCE, id="finance"),
    pytest.param({Role.EMPLOYEE, Role.ADMIN}, Role.ADMIN, id="admin"),
]


@pytest.mark.parametrize(("roles", "role"), ROLE_LOGINS)
def test_each_role_signs_in_to_its_own_home_page(page: Page, roles: set[Role], role: Role):
    person = factories.UserFactory(roles=roles, name="Phạm Thu Trang")
    email = person.email

    sign_in(page, email)

    expect(page.get_by_test_id("home-heading")).to_contain_text("Trang")
    expect(page.get_by_test_id(f"home-{role}")).to_be_visible()
    # Administrators hold every role implicitly, so they see every card.
    shown = set(Role) if Role.ADMIN in roles else roles
    for card in Role:
        if card in shown:
            expect(page.get_by_test_id(f"home-{card}")).to_be_visible()
        else:
            expect(page.get_by_test_id(f"home-{card}")).to_have_count(0)
    expect(page.get_by_test_id("user-menu")).to_contain_text("Phạm Thu Trang")


def test_visitor_switches_the_login_page_between_vietnamese_and_english(page: Page):
    page.goto("/login")
    heading = page.locator("main h1")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(heading).to_have_text("Sign in")

    page.get_by_test_id("lang-vi").click()

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(heading).to_have_text(vietnamese("Sign in"))

    page.get_by_test_id("lang-en").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(heading).to_have_text("Sign in")


def test_signed_in_person_switches_language_and_keeps_it(
    page: Page, browser: Browser, live_server: str
):
    person = factories.UserFactory(locale="vi", name="Lê Văn Nam")
    email = person.email
    sign_in(page, email)
    expect(page.locator("html")).to_have_attribute("lang", "vi")

    page.get_by_test_id("lang-en").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("home-heading")).to_have_text("Hello, Nam")
    db.session.expire_all()
    assert db.session.scalar(select(User.locale).where(User.email == email)) == "en"
    db.session.commit()  # end the read, so the server is free to write

    # Another device, whose browser asks for Vietnamese, gets the saved preference.
    other = new_context(browser, live_server, locale="vi-VN")
    try:
        other_page = other.new_page()
        sign_in(other_page, email)
        expect(other_page.locator("html")).to_have_attribute("lang", "en")
    finally:
        other.close()


def test_wrong_password_shows_the_error_and_signs_nobody_in(page: Page):
    person = factories.UserFactory(roles={Role.HR})
    email = person.email
    page.goto("/login")
    form = page.get_by_test_id("login-form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill("not the password at all")

    with page.expect_response(
        lambda r: r.url.endswith("/login") and r.request.method == "POST"
    ) as answer:
        form.locator("[type=submit]").click()

    assert answer.value.status == 401
    expect(page.locator(".invalid-feedback")).to_have_text(WRONG_CREDENTIALS)
    expect(form.locator("input[name=password]")).to_have_value("")
    expect(page.get_by_test_id("user-menu")).to_have_count(0)
    assert not [c for c in page.context.cookies() if c["name"] == "remember_token"]

    page.goto("/people/")

    expect(page).to_have_url(re.compile(r"/login(\?|$)"))


def test_hr_searches_the_directory_and_opens_a_person(page: Page):
    sales = factories.DepartmentFactory(name="Kinh doanh")
    factories.UserFactory(name="Trần Thị Lan", email="lan.tran@example.com", department=sales)
    factories.UserFactory(name="Nguyễn Văn Bình", email="binh@example.com", department=sales)
    hr = factories.UserFactory(roles={Role.EMPLOYEE, Role.HR}, name="Lê Thị Hồng Nhung")
    email = hr.email
    sign_in(page, email)

    page.get_by_test_id("home-hr").locator("a[href='/people/']").click()
    expect(page).to_have_url(re.compile(r"/people/$"))
    expect(page.locator("tbody tr")).to_have_count(3)
    search = page.get_by_role("search")
    search.locator("input[name=q]").fill("Lan")
    search.locator("button").click()

    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("lan.tran@example.com")
    rows.first.get_by_role("link", name="Trần Thị Lan").click()

    expect(page).to_have_url(re.compile(r"/people/\d+$"))
    expect(page.locator("main h1")).to_contain_text("Trần Thị Lan")
    expect(page.locator("main dl")).to_contain_text("lan.tran@example.com")
    expect(page.locator("main dl")).to_contain_text("Kinh doanh")


def test_screenshots_of_the_main_pages(
    browser: Browser, live_server: str, demo_company: None, tmp_path: Path
):
    """The main pages with the demo company, at 1280x800.

    They go to a temporary folder, unless PERKS_SCREENSHOTS_DIR names one (``make
    screenshots`` writes docs/screenshots/). PERKS_SCREENSHOTS_LOCALE picks the language.
    """
    folder = Path(os.environ.get("PERKS_SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    locale = os.environ.get("PERKS_SCREENSHOTS_LOCALE", "en")
    logins = dict(demo_logins())
    db.session.execute(update(User).where(User.email.in_(logins.values())).values(locale=locale))
    db.session.commit()

    def shoot(page: Page, name: str) -> None:
        page.wait_for_load_state("networkidle")
        page.screenshot(path=folder / f"{name}.png")

    def signed_in(role: str) -> Page:
        context = new_context(browser, live_server, locale=locale)
        page = context.new_page()
        sign_in(page, logins[role], DEMO_PASSWORD)
        return page

    visitor = new_context(browser, live_server, locale=locale).new_page()
    visitor.goto("/login")
    expect(visitor.get_by_test_id("login-form")).to_be_visible()
    shoot(visitor, "login")
    visitor.context.close()

    employee = signed_in("employee")
    expect(employee.get_by_test_id("home-employee")).to_be_visible()
    shoot(employee, "home-employee")
    employee.context.close()

    # HR does some real work first, so the audit log has something to show.
    hr = signed_in("hr")
    hr.goto("/people/departments")
    hr.locator("main form input[name=name]").fill("Đào tạo")
    hr.locator("main form [type=submit]").click()
    expect(hr.locator(".alert-success")).to_be_visible()
    hr.goto("/people/")
    expect(hr.locator("tbody tr").first).to_be_visible()
    shoot(hr, "people-directory")
    hr.locator("tbody tr").get_by_role("link", name="Nguyễn Đức Hải").click()
    expect(hr.locator("main h1")).to_contain_text("Nguyễn Đức Hải")
    hr.get_by_test_id("invite").click()
    expect(hr.locator(".alert-success")).to_be_visible()
    hr.reload()
    shoot(hr, "person")
    hr.context.close()

    admin = signed_in("admin")
    expect(admin.get_by_test_id("home-admin")).to_be_visible()
    shoot(admin, "home-admin")
    admin.get_by_test_id("home-admin").get_by_role("link").click()
    expect(admin).to_have_url(re.compile(r"/admin/audit"))
    # HR's two actions are the newest rows, above what the demo itself recorded.
    expect(admin.locator("tbody tr").first).to_contain_text("auth.invitation_sent")
    expect(admin.locator("tbody tr").nth(1)).to_contain_text("people.department_created")
    shoot(admin, "audit-log")
    admin.context.close()

    # The storefront the demo company's customers see: its name, logo and tagline.
    customer = new_context(browser, live_server, locale=locale).new_page()
    customer.goto("/shop/")
    expect(customer.get_by_text("Du lịch Sen Vàng").first).to_be_visible()
    shoot(customer, "storefront")
    customer.context.close()

    # On a phone (390 x 844): the storefront, a cart with two lines, an employee's earnings.
    phone = new_context(browser, live_server, locale=locale)
    shopper = phone.new_page()
    shopper.set_viewport_size(PHONE_SIZE)
    shopper.goto("/shop/")
    shoot(shopper, "phone-storefront")
    products = shopper.locator("main a[href^='/shop/p/']")
    hrefs = list(dict.fromkeys(link.get_attribute("href") for link in products.all()))[:2]
    for href in hrefs:
        shopper.goto(href or "/shop/")
        shopper.get_by_test_id("add-to-cart-button").click()
    shopper.goto("/shop/cart")
    expect(shopper.get_by_test_id("total")).to_be_visible()
    assert _fits(shopper), "the cart is wider than the phone"
    shoot(shopper, "phone-cart")
    phone.close()

    earner = signed_in("employee")
    earner.set_viewport_size(PHONE_SIZE)
    earner.goto("/earnings")
    expect(earner.get_by_test_id("earnings-chart-phone")).to_be_visible()
    assert _fits(earner), "the earnings page is wider than the phone"
    shoot(earner, "phone-earnings")
    earner.goto("/")
    shoot(earner, "phone-home-employee")
    earner.context.close()

    names = {p.name for p in folder.glob("*.png")}
    expected = [
        "audit-log",
        "home-admin",
        "home-employee",
        "login",
        "people-directory",
        "person",
        "storefront",
        "phone-storefront",
        "phone-cart",
        "phone-earnings",
        "phone-home-employee",
    ]
    assert {f"{n}.png" for n in expected} <= names


PHONE_SIZE = {"width": 390, "height": 844}


def _fits(page: Page) -> bool:
    """No sideways scrolling: the page is no wider than the window."""
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )
