"""Two HR people editing a draft survey: a save from a page opened before the other's save
is refused in the person's language, with nothing of it written, and the form shows the
survey as it is now with what they had entered; a save from the survey as it is now works.
On PostgreSQL, two saves from the same page version racing: one is saved, the other
refused."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from perks.extensions import db
from perks.feedback import surveys
from perks.feedback.surveys import SurveyData
from perks.feedback.surveys_models import Survey
from perks.people.models import Role
from tests import factories
from tests.helpers import is_postgres, signed_in
from tests.stale_saves import FINGERPRINT, GuardedForm, audit_events

SAVED = "survey.changed"


def survey_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "title_vi": "Khảo sát quý",
        "title_en": "Quarterly pulse",
        "intro_vi": "",
        "intro_en": "",
        "min_tenure_days": "0",
    }
    form.update(changes)
    return form


def hr(**fields: Any):  # type: ignore[no-untyped-def]
    return factories.UserFactory(roles={Role.HR}, **fields)


def a_survey() -> tuple[Survey, GuardedForm]:
    survey = surveys.create_survey(SurveyData("Khảo sát quý", "Quarterly pulse"), actor=hr())
    page = GuardedForm(
        f"/manage/surveys/{survey.id}/edit",
        field="shown",
        audited=(SAVED,),
        version_pattern=FINGERPRINT,
        saved_status=303,
    )
    return survey, page


def stored(survey_id: int) -> Survey:
    db.session.expire_all()
    survey = db.session.get(Survey, survey_id)
    assert survey is not None
    return survey


def test_a_save_from_a_page_opened_before_anothers_save_is_refused_and_writes_nothing(app):
    survey, page = a_survey()
    first = signed_in(app, hr(name="Phạm Thu Hà"))
    second = signed_in(app, hr(locale="vi"))
    opened = page.opened(first, second)

    page.saves(first, survey_form(intro_en="Five minutes, anonymous.", shown=opened))
    refused = page.refuses(second, survey_form(title_en="Spring pulse", shown=opened))

    assert "Phạm Thu Hà đã thay đổi mục này sau khi bạn mở trang" in refused.text
    row = stored(survey.id)
    assert (row.intro_en, row.title_en) == ("Five minutes, anonymous.", "Quarterly pulse")
    # the form shows the survey as it is now, and what was entered that differs from it
    assert "Five minutes, anonymous." in refused.html
    assert "Spring pulse" in refused.entered

    page.saves(
        second,
        survey_form(
            intro_en="Five minutes, anonymous.", title_en="Spring pulse", shown=refused.version
        ),
    )
    row = stored(survey.id)
    assert (row.intro_en, row.title_en) == ("Five minutes, anonymous.", "Spring pulse")


def test_a_save_without_the_version_its_page_showed_is_refused(app):
    survey, page = a_survey()
    refused = page.refuses_without_version(signed_in(app, hr()), survey_form(title_en="Stale"))
    assert "open the survey again" in refused.text
    assert stored(survey.id).title_en == "Quarterly pulse"


def test_two_saves_from_the_same_page_at_once_save_one_and_refuse_the_other(app):
    """PostgreSQL: both pages showed the same survey and are sent at the same moment."""
    if not is_postgres(app):
        pytest.skip("racing saves need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    survey, page = a_survey()
    survey_id = survey.id
    emails = [hr().email, hr().email]

    def with_title(n: int, client: FlaskClient) -> dict[str, object]:
        return survey_form(title_en=f"Pulse {n}", shown=page.version_shown(client))

    saved = page.raced(app, emails, with_title)

    with app.app_context():
        assert db.session.get(Survey, survey_id).title_en == saved["title_en"]  # type: ignore[union-attr]
        assert audit_events(SAVED) == 1
