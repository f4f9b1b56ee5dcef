"""Feedback that gets an answer, on a phone (390 px), issue 15's journey: an employee rates a
perk they used 2 stars; the rating opens a feedback item to HR, who acknowledges and answers
it (publishing the answer); the employee reads the answer and rates it; the public answer
times page shows HR's times and the published answer. Nothing wider than the screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from perks.catalog import claims
from perks.extensions import db
from perks.people.models import Role
from tests import factories
from tests.browser.helpers import assert_fits_the_screen, sign_in, sign_out

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
ANSWER = "Chúng tôi đã đổi rạp đối tác từ tháng sau. Cảm ơn bạn đã góp ý!"


def test_a_low_rating_is_answered_and_the_answer_times_are_public(page: Page, screenshots):  # type: ignore[no-untyped-def]
    employee = factories.UserFactory(name="Nguyễn Văn An", locale="vi")
    hr = factories.UserFactory(name="Lê Thu Hà", roles={Role.HR}, locale="vi")
    perk = factories.PerkFactory(title_vi="Vé xem phim", title_en="Cinema ticket")
    claim = claims.claim_perk(perk.id, employee)
    claims.mark_claim_used(claim.id, employee)
    db.session.commit()
    page.set_viewport_size(PHONE)

    # Two stars for a used perk, with a comment and the name shown.
    sign_in(page, employee.email)
    page.goto(f"/my-perks/{claim.id}/rate")
    form = page.get_by_test_id("rating-form")
    form.locator("input[name=stars][value='2']").check()
    form.locator("textarea[name=comment]").fill("Rạp xa, phòng chiếu lạnh.")
    assert_fits_the_screen(page)
    form.locator("[type=submit]").click()
    page.goto("/feedback")
    item = page.get_by_test_id("feedback-item")
    expect(item).to_contain_text("2 sao cho Vé xem phim")
    assert_fits_the_screen(page)
    sign_out(page)

    # HR, the owner: acknowledges, then answers and publishes the answer.
    sign_in(page, hr.email)
    page.goto("/feedback/inbox")
    page.get_by_test_id("feedback-item").get_by_role("link").click()
    expect(page.get_by_test_id("feedback-text")).to_contain_text("Rạp xa, phòng chiếu lạnh.")
    page.get_by_test_id("acknowledge").click()
    answer = page.get_by_test_id("answer-form")
    answer.locator("textarea[name=text]").fill(ANSWER)
    answer.locator("input[name=publish]").check()
    assert_fits_the_screen(page)
    screenshots(page, "phone-feedback-answer")
    answer.locator("[type=submit]").click()
    expect(page.get_by_test_id("feedback-messages")).to_contain_text(ANSWER)
    sign_out(page)

    # The employee reads the answer (and the bell says so) and rates it.
    sign_in(page, employee.email)
    expect(page.get_by_test_id("unread-count")).to_be_visible()
    page.goto("/feedback")
    page.get_by_test_id("feedback-item").get_by_role("link").click()
    expect(page.get_by_test_id("feedback-messages")).to_contain_text(ANSWER)
    rating = page.get_by_test_id("rating-form")
    expect(rating.locator("input[name=rating]:checked")).to_have_count(0)  # none preselected
    rating.get_by_label("4 sao", exact=True).check()
    assert_fits_the_screen(page)
    rating.locator("[type=submit]").click()
    expect(page.get_by_test_id("feedback-rating")).to_contain_text("4 sao")

    # Everyone's page of answer times: HR received one, answered within target, published.
    page.goto("/feedback/answer-times")
    times = page.get_by_test_id("department-times")
    expect(times).to_have_count(1)
    expect(times).to_contain_text("100")
    expect(page.get_by_test_id("published-answer")).to_contain_text(ANSWER)
    expect(page.locator("main")).not_to_contain_text(employee.name)
    assert_fits_the_screen(page)
    screenshots(page, "phone-answer-times")
