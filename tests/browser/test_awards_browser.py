"""Awards on a phone (390 px): a manager nominates a person of their team from the team card
on their home, HR approves it in the queue, the winner sees it on their home; HR's fairness
report fits the screen. Nothing wider than the screen on the way."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from perks.extensions import db
from perks.i18n import company_today
from perks.people.models import Role
from perks.recognition import kudos
from perks.recognition.models import Award
from tests import factories
from tests.browser.helpers import assert_fits_the_screen, sign_in, sign_out

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_a_nomination_from_the_team_card_to_the_winners_home_on_a_phone(page: Page):
    department = factories.DepartmentFactory(name="Phòng Kinh doanh và Phát triển Thị trường")
    manager = factories.UserFactory(roles={Role.EMPLOYEE, Role.MANAGER}, locale="vi")
    hr = factories.UserFactory(roles={Role.HR}, locale="vi")
    winner = factories.UserFactory(
        name="Nguyễn Thị Phương Thảo Dài Tên", manager=manager, department=department, locale="vi"
    )
    value = factories.CompanyValueFactory()
    for _ in range(5):  # five who received something: the report shows their groups
        colleague = factories.UserFactory(department=department)
        kudos.give_kudos(hr, colleague.id, 5, value.id, "Cảm ơn!", today=company_today())
    db.session.add(
        Award(
            name_vi="Nhân viên xuất sắc tháng",
            name_en="Employee of the month",
            description_vi="Đóng góp nổi bật nhất tháng.",
            description_en="The month's outstanding contribution.",
            points=100,
        )
    )
    db.session.commit()
    page.set_viewport_size(PHONE)

    sign_in(page, manager.email)
    page.get_by_test_id("team-nominate").first.click()
    # the nomination page, not the home page the click leaves
    expect(page.get_by_test_id("nomination-form")).to_be_visible()
    assert_fits_the_screen(page)
    form = page.get_by_test_id("nomination-form")
    form.locator("textarea[name=reason]").fill("Hoàn thành hợp đồng lớn nhất năm.")
    form.locator("[type=submit]").click()
    expect(page.get_by_test_id("nominations")).to_contain_text(winner.name)
    assert_fits_the_screen(page)
    sign_out(page)

    sign_in(page, hr.email)
    page.goto("/manage/nominations")
    assert_fits_the_screen(page)
    # Approving grants the award at once: HR confirms first, the person and points named
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("[data-testid^=approve-]").first.click()
    expect(page.get_by_test_id("decided")).to_contain_text(winner.name)
    page.goto("/manage/fairness")
    assert_fits_the_screen(page)
    expect(page.get_by_test_id("dimension-department")).to_be_visible()
    sign_out(page)

    sign_in(page, winner.email)
    expect(page.get_by_test_id("my-award")).to_contain_text("Nhân viên xuất sắc tháng")
    assert_fits_the_screen(page)
