"""People answering one survey at the same time (PostgreSQL): every answer rewrites the
survey's rows, so answers must queue on the survey's row. None is lost, and one person
answering from several tabs at once is counted once. Each thread has its own app context,
so its own session and connection."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from perks.extensions import db
from perks.feedback import surveys
from perks.feedback.surveys import QuestionData, SurveyData
from perks.feedback.surveys_models import QuestionKind, SurveyParticipation, SurveyResponse
from perks.people.models import Role, User
from tests.factories import UserFactory
from tests.helpers import is_postgres
from tests.racing import all_at_once

pytestmark = pytest.mark.postgres_only

OTHERS = 6
TABS = 4


def test_racing_answers_are_all_kept_and_one_person_counts_once(app):
    if not is_postgres(app):
        pytest.skip("racing answers need PostgreSQL (row locks); set TEST_DATABASE_URL")
    hr = UserFactory(roles={Role.HR})
    survey = surveys.create_survey(SurveyData("Khảo sát", "Pulse"), actor=hr)
    question = surveys.add_question(
        survey.id, QuestionData(QuestionKind.SCALE, "Tuần này?", "This week?"), actor=hr
    ).id
    surveys.open_survey(survey.id, actor=hr)
    survey_id = survey.id
    twice = UserFactory().id
    people = [UserFactory().id for _ in range(OTHERS)] + [twice] * TABS
    db.session.remove()
    outcome = all_at_once(
        app,
        people,
        lambda person: surveys.answer(survey_id, {question: 3}, person),
        prepare=lambda user_id: db.session.get(User, user_id),
    )

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=OTHERS + 1, Conflict=TABS - 1)
    count = select(func.count()).where(SurveyResponse.survey_id == survey_id)
    assert db.session.scalar(count) == OTHERS + 1
    answered = select(func.count()).where(SurveyParticipation.survey_id == survey_id)
    assert db.session.scalar(answered) == OTHERS + 1
