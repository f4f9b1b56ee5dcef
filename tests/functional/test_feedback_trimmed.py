"""Feedback and survey forms take subjects, texts, titles, questions and options without the
spaces and invisible characters (zero-width space, byte order mark, word joiner) around them:
one made only of them is refused as empty (400, the field marked), one with them around is
saved without them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from perks.extensions import db
from perks.feedback import items, surveys
from perks.feedback.models import FeedbackItem, FeedbackMessage, Topic
from perks.feedback.surveys_models import Survey, SurveyQuestion
from perks.people.models import Role, User
from tests.factories import UserFactory
from tests.helpers import login

INVISIBLE = "\u200b\ufeff\u2060"


def _me() -> User:
    return db.session.scalars(select(User).where(User.email == "me@example.com")).one()


def _item() -> int:
    sender = UserFactory()
    return items.send_feedback(sender, None, Topic.TOOL, "Wi-Fi", "It drops at noon.").item.id


def _new_survey() -> tuple[str, dict[str, object]]:
    return "/manage/surveys/new", {"title_vi": "Khảo sát", "title_en": "Survey"}


def _question() -> tuple[str, dict[str, object]]:
    survey = surveys.create_survey(surveys.SurveyData("Khảo sát", "Survey"), actor=_me())
    return f"/manage/surveys/{survey.id}/questions", {
        "kind": "nps",
        "text_vi": "Giới thiệu?",
        "text_en": "Recommend us?",
    }


def _feedback() -> tuple[str, dict[str, object]]:
    return "/feedback/new", {
        "department": "0",
        "topic": "tool",
        "subject": "Máy in",
        "text": "Kẹt giấy.",
    }


def _decline() -> tuple[str, dict[str, object]]:
    return f"/feedback/inbox/{_item()}/decline", {"reason": "Không thuộc phạm vi."}


#: (who posts, the page and its form, the field, what is saved: that field's values)
CASES: list[
    tuple[set[Role], Callable[[], tuple[str, dict[str, object]]], str, Callable[[], Any]]
] = [
    ({Role.HR}, _new_survey, "title_vi", lambda: db.session.scalars(select(Survey.title_vi)).all()),
    ({Role.HR}, _new_survey, "title_en", lambda: db.session.scalars(select(Survey.title_en)).all()),
    (
        {Role.HR},
        _question,
        "text_vi",
        lambda: db.session.scalars(select(SurveyQuestion.text_vi)).all(),
    ),
    (
        {Role.HR},
        _question,
        "text_en",
        lambda: db.session.scalars(select(SurveyQuestion.text_en)).all(),
    ),
    (
        {Role.EMPLOYEE},
        _feedback,
        "subject",
        lambda: db.session.scalars(select(FeedbackItem.subject)).all(),
    ),
    (
        {Role.EMPLOYEE},
        _feedback,
        "text",
        lambda: db.session.scalars(select(FeedbackItem.text)).all(),
    ),
]


@pytest.mark.parametrize(
    ("roles", "page", "field", "saved"), CASES, ids=[f"{c[1].__name__}:{c[2]}" for c in CASES]
)
def test_an_invisible_value_is_refused_and_invisible_ends_are_not_kept(
    client, roles, page, field, saved
):
    login(client, UserFactory(roles=roles, email="me@example.com", locale="en"))
    url, data = page()
    before = saved()

    refused = client.post(url, data={**data, field: INVISIBLE})

    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert f'name="{field}"' in text
    assert "is-invalid" in text
    assert saved() == before

    response = client.post(url, data={**data, field: f" {INVISIBLE}Góp ý\u200b "})

    assert response.status_code in (302, 303), response.get_data(as_text=True)[:3000]
    assert saved() == [*before, "Góp ý"]


def test_an_invisible_answer_or_decline_reason_is_refused(client):
    hr = UserFactory(roles={Role.HR}, email="me@example.com", locale="en")
    login(client, hr)
    declined, answered = _item(), _item()
    items.acknowledge(answered, hr)
    items.start_work(answered, hr)
    for item_id, step, field in ((declined, "decline", "reason"), (answered, "answer", "text")):
        refused = client.post(f"/feedback/inbox/{item_id}/{step}", data={field: INVISIBLE})
        assert refused.status_code == 400, step
        assert "This field is required." in refused.get_data(as_text=True)
    client.post(f"/feedback/inbox/{declined}/decline", data={"reason": "\u200bNot ours. "})
    assert db.session.get(FeedbackItem, declined).decline_reason == "Not ours."


def test_an_invisible_reply_is_refused_and_invisible_option_lines_are_blank_ones(client):
    login(client, UserFactory(roles={Role.HR}, email="me@example.com", locale="en"))
    item_id = _item()
    messages = db.session.scalars(select(FeedbackMessage.text)).all()
    client.post(f"/feedback/{item_id}/reply", data={"text": INVISIBLE})
    assert db.session.scalars(select(FeedbackMessage.text)).all() == messages

    url, _ = _question()
    response = client.post(
        url,
        data={
            "kind": "single",
            "text_vi": "Chọn",
            "text_en": "Pick",
            "options_vi": "Một\n\u200b\n Hai\ufeff",
            "options_en": "One\nTwo",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    question = db.session.scalars(select(SurveyQuestion)).one()
    assert question.options == [["Một", "One"], ["Hai", "Two"]]
