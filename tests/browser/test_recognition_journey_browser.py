"""A birthday, kudos and a reward on a phone (390 px), issue 14's journey: an employee opens
their home on their birthday and finds the greeting card and the gift's code, gives kudos to
a colleague from the kudos form; the colleague signs in, sees the points and the news in the
bell, spends them on a reward and finds the reward's code among their perks. Pages are
reached by their links or their addresses, not the menu. Nothing wider than the screen on
the way; ``make screenshots`` keeps three of them for the README."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from perks.catalog.models import CodeMode, PerkKind
from perks.extensions import db
from perks.i18n import company_today
from perks.money import Money
from perks.people.models import Role
from perks.recognition import gifts, services
from perks.recognition.models import Occasion
from tests import factories
from tests.browser.helpers import assert_fits_the_screen, sign_in, sign_out

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
#: the bakery's code every birthday gift carries
CAKE_CODE = "SENVANG-HPBD"
#: what the kudos gives, and what the reward costs
KUDOS_POINTS = 40


def _birthday_programme(hr: factories.User) -> None:
    """HR's birthday programme (a cake, the bakery's shared code), granted today."""
    services.add_vietnamese_calendar(actor=None)
    birthday = db.session.scalars(select(Occasion).where(Occasion.key == "birthday")).one()
    cake = factories.PerkFactory(
        kind=PerkKind.GIFT,
        title_vi="Bánh sinh nhật ABC Bakery",
        title_en="ABC Bakery birthday cake",
        code_mode=CodeMode.SHARED,
        shared_code=CAKE_CODE,
        per_person_limit=None,
    )
    gifts.create_programme(
        gifts.ProgrammeData(
            name_vi="Quà sinh nhật",
            name_en="Birthday gift",
            occasion_id=birthday.id,
            perk_id=cake.id,
            days_ahead=0,
            message_vi="Chúc mừng sinh nhật! Cảm ơn bạn đã đồng hành cùng Sen Vàng.",
            message_en="Happy birthday! Thank you for being part of Sen Vàng.",
            unit_cost=Money(350_000, "VND"),
            budget=None,
        ),
        actor=hr,
    )
    assert gifts.grant_due_gifts(company_today()) == 1


def test_a_birthday_kudos_and_a_reward_on_a_phone(page: Page, screenshots):  # type: ignore[no-untyped-def]
    today = company_today()
    hr = factories.UserFactory(roles={Role.HR})
    employee = factories.UserFactory(
        name="Nguyễn Văn An", locale="vi", birth_month=today.month, birth_day=today.day
    )
    colleague = factories.UserFactory(name="Trần Thị Bích Ngọc", locale="vi")
    value = factories.CompanyValueFactory(name_vi="Đồng đội", name_en="Teamwork")
    reward = factories.PerkFactory(
        title_vi="Cà phê cho cả nhóm",
        title_en="Coffee for the team",
        value_vi="Phiếu 200.000 ₫",
        value_en="A 200,000 ₫ voucher",
        points_price=KUDOS_POINTS,
        per_person_limit=None,
    )
    _birthday_programme(hr)
    db.session.commit()
    page.set_viewport_size(PHONE)

    # The birthday: the card on the home page, and the cake's code behind it.
    sign_in(page, employee.email)
    card = page.get_by_test_id("greeting-card")
    expect(card).to_contain_text("Chúc mừng sinh nhật!")
    assert_fits_the_screen(page)
    screenshots(page, "phone-birthday-card")
    card.get_by_test_id("greeting-gift").click()
    expect(page.get_by_test_id("claim-code")).to_have_text(CAKE_CODE)
    expect(page.get_by_test_id("claim-qr")).to_be_visible()
    assert_fits_the_screen(page)

    # Kudos to a colleague, from the allowance of the month.
    page.goto("/kudos/new")
    form = page.get_by_test_id("kudos-form")
    form.locator("input[name=colleague]").fill("bich ngoc")
    form.locator("input[name=points]").fill(str(KUDOS_POINTS))
    form.locator("select[name=value]").select_option(str(value.id))
    form.locator("textarea[name=message]").fill("Cảm ơn chị đã trực thay ca cuối tuần!")
    assert_fits_the_screen(page)
    screenshots(page, "phone-kudos")
    form.locator("[type=submit]").click()
    expect(page.get_by_test_id("allowance-left")).to_have_text("60")
    expect(page.get_by_test_id("points-entry").first).to_contain_text(colleague.name)
    assert_fits_the_screen(page)
    sign_out(page)

    # The colleague: the news in the bell, the points, a reward bought with them.
    sign_in(page, colleague.email)
    expect(page.get_by_test_id("unread-count")).to_have_text("1")
    page.get_by_test_id("notification-bell").click()
    expect(page.locator("main")).to_contain_text(employee.name)
    assert_fits_the_screen(page)
    page.goto("/points")
    expect(page.get_by_test_id("received-balance")).to_have_text(str(KUDOS_POINTS))
    assert_fits_the_screen(page)
    page.goto("/rewards")
    offer = page.locator(f"[data-testid=reward][data-perk-id='{reward.id}']")
    expect(offer).to_contain_text("Cà phê cho cả nhóm")
    assert_fits_the_screen(page)
    screenshots(page, "phone-rewards")
    page.once("dialog", lambda dialog: dialog.accept())
    offer.get_by_test_id("spend").click()
    expect(page).to_have_url(re.compile(r"/my-perks/\d+$"))
    code = page.get_by_test_id("claim-code").inner_text()
    assert code
    assert_fits_the_screen(page)

    # Among their perks, with its code; nothing left to spend.
    page.goto("/my-perks")
    row = page.get_by_test_id("claims").locator("tr", has_text="Cà phê cho cả nhóm")
    expect(row).to_contain_text(code)
    assert_fits_the_screen(page)
    page.goto("/rewards")
    expect(page.get_by_test_id("received-balance")).to_contain_text("0")
