"""A closed survey's results read on a phone (390 px): each answer's count sits beside the
answer it counts, and each department's eNPS beside its department."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from perks.extensions import db
from perks.feedback import surveys
from perks.feedback.surveys import QuestionData, SurveyData
from perks.feedback.surveys_models import QuestionKind
from perks.people.models import Role
from tests.browser.helpers import assert_fits_the_screen, sign_in
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}

#: for each row of the tables of the results: the top of each of its cells, and whether its
#: last cell (the figure) is to the right of its first (what it counts)
ROWS = """() => [...document.querySelectorAll('main table tbody tr')].map((row) => {
  const cells = [...row.children].map((cell) => cell.getBoundingClientRect());
  return {
    text: row.textContent.trim().replace(/\\s+/g, ' '),
    tops: cells.map((box) => Math.round(box.top)),
    beside: cells[cells.length - 1].left >= cells[0].right,
  };
})"""


def test_a_count_on_a_phone_sits_beside_what_it_counts(page: Page) -> None:
    """The counts' tables were stacked as cards of bare lines ("0" over "2", "10" over "1"):
    nothing told the score from how many gave it."""
    hr = UserFactory(roles={Role.HR}, locale="vi", email="hr@example.com")
    survey = surveys.create_survey(SurveyData("Khảo sát", "Pulse"), actor=hr)
    score = surveys.add_question(
        survey.id, QuestionData(QuestionKind.NPS, "Giới thiệu?", "Recommend?"), actor=hr
    )
    remote = surveys.add_question(
        survey.id,
        QuestionData(
            QuestionKind.SINGLE, "Làm từ xa?", "Remote?", (("Có", "Yes"), ("Không", "No"))
        ),
        actor=hr,
    )
    surveys.open_survey(survey.id, actor=hr)
    sales, ops = DepartmentFactory(name="Kinh doanh"), DepartmentFactory(name="Vận hành")
    for n in range(12):
        person = UserFactory(department=sales if n < 6 else ops)
        surveys.answer(survey.id, {score.id: n % 11, remote.id: n % 2}, person)
    surveys.close_survey(survey.id, actor=hr)
    db.session.commit()
    page.set_viewport_size(PHONE)
    sign_in(page, hr.email)

    page.goto(f"/manage/surveys/{survey.id}/results")

    rows = page.evaluate(ROWS)
    assert len(rows) == 2 + 11 + 2  # two departments' eNPS, 0-10, yes and no
    apart = [row["text"] for row in rows if len(set(row["tops"])) > 1 or not row["beside"]]
    assert apart == []
    assert_fits_the_screen(page)
