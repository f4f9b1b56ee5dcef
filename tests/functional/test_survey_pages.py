"""The survey pages: HR builds and opens a survey, people answer it once from their page,
HR reads results only once enough have answered, and the answering person is nowhere on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import insert, select

from perks.audit import AuditEvent
from perks.auth.models import UserSession
from perks.extensions import db
from perks.feedback import surveys, surveys_export
from perks.feedback.surveys import QuestionData, SurveyData
from perks.feedback.surveys_models import QuestionKind, Survey, SurveyResponse, SurveyState
from perks.people.models import Role
from tests.factories import PASSWORD, UserFactory
from tests.helpers import login


def test_a_survey_from_building_to_results(client, app):  # type: ignore[no-untyped-def]
    hr = UserFactory(roles={Role.HR}, locale="en")
    login(client, hr)
    page = client.post(
        "/manage/surveys/new",
        data={"title_vi": "Khảo sát quý", "title_en": "Quarterly survey", "min_tenure_days": "0"},
    )
    assert page.status_code == 303
    survey = db.session.scalars(select(Survey)).one()
    refused = client.post(
        f"/manage/surveys/{survey.id}/questions",
        data={"kind": "single", "text_vi": "Chọn", "text_en": "Pick", "options_vi": "Một"},
    )
    assert refused.status_code == 400
    uneven = client.post(
        f"/manage/surveys/{survey.id}/questions",
        data={
            "kind": "single",
            "text_vi": "Chọn",
            "text_en": "Pick",
            "options_vi": "Một\nHai\nBa",
            "options_en": "One\nTwo",
        },
    )
    assert uneven.status_code == 400
    # the counts differ (both languages were written)
    assert "3 options in Vietnamese but 2 in English" in uneven.get_data(as_text=True)
    assert (
        client.post(
            f"/manage/surveys/{survey.id}/questions",
            data={"kind": "nps", "text_vi": "Giới thiệu?", "text_en": "Recommend us?"},
        ).status_code
        == 303
    )
    assert (
        client.post(
            f"/manage/surveys/{survey.id}/questions",
            data={"kind": "text", "text_vi": "Góp ý", "text_en": "Comments"},
        ).status_code
        == 303
    )
    # opening, reminding and closing cannot be undone: each asks first
    draft_page = client.get(f"/manage/surveys/{survey.id}").get_data(as_text=True)
    assert "data-confirm=" in draft_page.split('data-testid="open"')[0].rsplit("<form", 1)[1]
    assert client.post(f"/manage/surveys/{survey.id}/open").status_code == 303
    open_page = client.get(f"/manage/surveys/{survey.id}").get_data(as_text=True)
    for button in ("remind", "close"):
        form = open_page.split(f'data-testid="{button}"')[0].rsplit("<form", 1)[1]
        assert "data-confirm=" in form
    db.session.refresh(survey)
    assert survey.state is SurveyState.OPEN
    nps, comments = (q.id for q in survey.questions)

    people = [UserFactory(locale="en", name=f"Respondent {n}") for n in range(5)]
    for n, person in enumerate(people):
        client.post("/logout")
        login(client, person)
        assert "Quarterly survey" in client.get("/surveys").get_data(as_text=True)
        form = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
        assert form.count(f'name="q{nps}"') == 11  # one radio button for each of 0-10
        answered = client.post(
            f"/surveys/{survey.id}", data={f"q{nps}": str(6 + n), f"q{comments}": f"note {n}"}
        )
        assert answered.status_code == 303
        again = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
        assert 'data-testid="answered"' in again
        assert client.post(f"/surveys/{survey.id}", data={f"q{nps}": "0"}).status_code == 303
        if n in (3, 4):  # too few, then enough but still open: nothing shows
            client.post("/logout")
            login(client, hr)
            too_few = client.get(f"/manage/surveys/{survey.id}/results").get_data(as_text=True)
            assert 'data-testid="too-few"' in too_few
            assert "note 0" not in too_few
    client.post("/logout")
    login(client, hr)
    assert client.post(f"/manage/surveys/{survey.id}/close").status_code == 303
    # a reminder's link, followed once it is closed, says so instead of "not found"
    client.post("/logout")
    login(client, people[0])
    late = client.get(f"/surveys/{survey.id}", follow_redirects=True)
    assert late.status_code == 200
    assert "This survey is closed" in late.get_data(as_text=True)
    client.post("/logout")
    login(client, hr)
    results = client.get(f"/manage/surveys/{survey.id}/results").get_data(as_text=True)
    # 6, 7, 8, 9, 10: 2 promoters, 1 detractor of 5 = 20
    assert "eNPS: 20" in results
    assert "Average: 8.0" in results
    client.post("/language", data={"locale": "vi"})
    in_vietnamese = client.get(f"/manage/surveys/{survey.id}/results").get_data(as_text=True)
    assert "Trung bình: 8,0" in in_vietnamese  # the reader's decimal comma
    client.post("/language", data={"locale": "en"})
    assert all(f"note {n}" in results for n in range(5))
    assert not any(person.name in results for person in people)
    trend = client.get("/manage/surveys").get_data(as_text=True)
    assert f'data-testid="enps-{survey.id}">20<' in trend


def test_a_scales_ends_say_what_they_mean_in_the_readers_language(client):  # type: ignore[no-untyped-def]
    hr = UserFactory(roles={Role.HR}, locale="en")
    login(client, hr)
    client.post(
        "/manage/surveys/new",
        data={"title_vi": "Khảo sát quý", "title_en": "Quarterly survey", "min_tenure_days": "0"},
    )
    survey = db.session.scalars(select(Survey)).one()
    for kind, vi, en in (("nps", "Giới thiệu?", "Recommend us?"), ("scale", "Bữa trưa?", "Lunch?")):
        added = client.post(
            f"/manage/surveys/{survey.id}/questions",
            data={"kind": kind, "text_vi": vi, "text_en": en},
        )
        assert added.status_code == 303
    assert client.post(f"/manage/surveys/{survey.id}/open").status_code == 303
    db.session.refresh(survey)
    nps, scale = (q.id for q in survey.questions)
    client.post("/logout")
    login(client, UserFactory(locale="en"))

    page = client.get(f"/surveys/{survey.id}").get_data(as_text=True)

    nps_part = page.split(f'data-testid="question-{nps}"')[1].split("</fieldset>")[0]
    scale_part = page.split(f'data-testid="question-{scale}"')[1].split("</fieldset>")[0]
    assert "0 = not at all likely" in nps_part
    assert "10 = extremely likely" in nps_part
    assert "1 = very poor" in scale_part
    assert "5 = very good" in scale_part
    # a screen reader entering the choices hears what the ends mean (the group's description)
    for question in (nps, scale):
        assert f'aria-describedby="scale-ends-{question}"' in page
        assert f'id="scale-ends-{question}"' in page
    client.post("/language", data={"locale": "vi"})
    page = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert "0 = hoàn toàn không" in page
    assert "10 = chắc chắn có" in page
    assert "1 = rất kém" in page
    assert "5 = rất tốt" in page


def test_a_drafts_questions_show_their_options_in_both_languages(client):  # type: ignore[no-untyped-def]
    """HR checks both languages' options, as both texts of a question (only Vietnamese's
    options showed)."""
    login(client, UserFactory(roles={Role.HR}, locale="en"))
    client.post(
        "/manage/surveys/new",
        data={"title_vi": "Nơi làm", "title_en": "Workplace", "min_tenure_days": "0"},
    )
    survey = db.session.scalars(select(Survey)).one()
    added = client.post(
        f"/manage/surveys/{survey.id}/questions",
        data={
            "kind": "single",
            "text_vi": "Làm ở đâu?",
            "text_en": "Where do you work?",
            "options_vi": "Văn phòng\nỞ nhà",
            "options_en": "Office\nHome",
        },
    )
    assert added.status_code == 303
    page = client.get(f"/manage/surveys/{survey.id}").get_data(as_text=True)
    options = page.split('data-testid="question-options">')[1].split("</div>")[0]
    assert "Văn phòng / Ở nhà" in options
    assert "Office / Home" in options


def _draft_survey(client):  # type: ignore[no-untyped-def]
    client.post(
        "/manage/surveys/new",
        data={"title_vi": "Khảo sát", "title_en": "Pulse", "min_tenure_days": "0"},
    )
    survey = db.session.scalars(select(Survey)).one()
    for vi, en in (("Một", "First question"), ("Hai", "Second question")):
        added = client.post(
            f"/manage/surveys/{survey.id}/questions",
            data={"kind": "scale", "text_vi": vi, "text_en": en},
        )
        assert added.status_code == 303
    db.session.refresh(survey)
    return survey


def test_hr_moves_a_drafts_question_and_the_page_shows_the_new_order(client):  # type: ignore[no-untyped-def]
    login(client, UserFactory(roles={Role.HR}, locale="en"))
    survey = _draft_survey(client)
    first, second = (q.id for q in survey.questions)
    page = client.get(f"/manage/surveys/{survey.id}").get_data(as_text=True)
    # the first cannot go up, the last cannot go down; each button is its own POST form
    assert f'data-testid="move-up-{first}" disabled' in page
    assert f'data-testid="move-down-{second}" disabled' in page
    up = page.split(f'data-testid="move-up-{second}"')[0].rsplit("<form", 1)[1]
    assert 'method="post"' in up

    moved = client.post(f"/manage/surveys/{survey.id}/questions/{second}/move/up")

    assert moved.status_code == 303
    assert moved.headers["Location"].endswith(f"/manage/surveys/{survey.id}#question-{second}")
    page = client.get(f"/manage/surveys/{survey.id}").get_data(as_text=True)
    assert page.index("Second question") < page.index("First question")
    assert "The question is moved." in page
    client.post("/language", data={"locale": "vi"})
    in_vietnamese = client.get(f"/manage/surveys/{survey.id}").get_data(as_text=True)
    assert "Chuyển lên" in in_vietnamese
    assert "Chuyển xuống" in in_vietnamese


def test_hr_deletes_a_draft_made_by_mistake_and_never_a_survey_once_opened(client):  # type: ignore[no-untyped-def]
    """A draft made by mistake (a second "Pulse") stayed in the list for good."""
    login(client, UserFactory(roles={Role.HR}, locale="en"))
    survey_id = _draft_survey(client).id
    page = client.get(f"/manage/surveys/{survey_id}").get_data(as_text=True)
    assert f'action="/manage/surveys/{survey_id}/delete" data-confirm=' in page

    assert client.get(f"/manage/surveys/{survey_id}/delete").status_code == 405
    deleted = client.post(f"/manage/surveys/{survey_id}/delete")

    assert deleted.status_code == 303
    assert deleted.headers["Location"] == "/manage/surveys"
    assert "The draft “Pulse” is deleted." in client.get("/manage/surveys").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalars(select(Survey)).all() == []
    assert client.get(f"/manage/surveys/{survey_id}").status_code == 404
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "survey.deleted"))
    assert event.one().details["title_en"] == "Pulse"

    opened = _draft_survey(client)
    assert client.post(f"/manage/surveys/{opened.id}/open").status_code == 303
    refused = client.post(f"/manage/surveys/{opened.id}/delete")
    assert refused.headers["Location"] == f"/manage/surveys/{opened.id}"
    assert "Only a draft survey can be changed." in client.get(refused.headers["Location"]).text
    assert db.session.get(Survey, opened.id) is not None


def test_a_question_moves_only_by_hr_and_only_by_post(client):  # type: ignore[no-untyped-def]
    hr = UserFactory(roles={Role.HR}, locale="en")
    login(client, hr)
    survey = _draft_survey(client)
    second = survey.questions[1].id
    url = f"/manage/surveys/{survey.id}/questions/{second}/move/up"
    assert client.get(url).status_code == 405
    sideways = f"/manage/surveys/{survey.id}/questions/{second}/move/sideways"
    assert client.post(sideways).status_code == 404
    client.post("/logout")
    login(client, UserFactory(roles={Role.MANAGER}, locale="en"))
    assert client.post(url).status_code == 403
    db.session.expire_all()
    assert [q.id for q in db.session.get(Survey, survey.id).questions][1] == second


def test_moving_a_question_needs_the_pages_csrf_token(app, app_factory):  # type: ignore[no-untyped-def]
    client = app_factory(WTF_CSRF_ENABLED=True).test_client()
    hr = UserFactory(roles={Role.HR}, locale="en")
    token = client.get("/login").get_data(as_text=True)
    token = token.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/login", data={"email": hr.email, "password": PASSWORD, "csrf_token": token})
    survey = surveys.create_survey(SurveyData("Khảo sát", "Pulse"), actor=hr)
    for text in ("First question", "Second question"):
        surveys.add_question(survey.id, QuestionData(QuestionKind.SCALE, text, text), actor=hr)
    second = survey.questions[1].id
    url = f"/manage/surveys/{survey.id}/questions/{second}/move/up"

    assert client.post(url).status_code == 400
    page = client.get(f"/manage/surveys/{survey.id}").get_data(as_text=True)
    form = page.split(f'data-testid="move-up-{second}"')[0].rsplit("<form", 1)[1]
    token = form.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post(url, data={"csrf_token": token}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Survey, survey.id).questions[0].id == second


def _open_survey_with_a_score_and_comments(hr):  # type: ignore[no-untyped-def]
    survey = surveys.create_survey(SurveyData("Khảo sát", "Pulse"), actor=hr)
    surveys.add_question(
        survey.id, QuestionData(QuestionKind.NPS, "Giới thiệu?", "Recommend?"), actor=hr
    )
    surveys.add_question(survey.id, QuestionData(QuestionKind.TEXT, "Góp ý", "Comments"), actor=hr)
    return surveys.open_survey(survey.id, actor=hr)


def _closed_survey_with_five_answers(hr):  # type: ignore[no-untyped-def]
    survey = _open_survey_with_a_score_and_comments(hr)
    nps, comments = (q.id for q in survey.questions)
    people = [UserFactory(name=f"Respondent {n}") for n in range(5)]
    for n, person in enumerate(people):
        surveys.answer(survey.id, {nps: 6 + n, comments: f"note {4 - n}"}, person)
    surveys.close_survey(survey.id, actor=hr)
    return survey, people


def test_hr_downloads_a_closed_surveys_results_from_its_page(client):  # type: ignore[no-untyped-def]
    hr = UserFactory(roles={Role.HR}, locale="en")
    survey, people = _closed_survey_with_five_answers(hr)
    login(client, hr)
    page = client.get(f"/manage/surveys/{survey.id}/results").get_data(as_text=True)
    link = page.split('data-testid="download-csv"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert link == f"/manage/surveys/{survey.id}/results.csv"
    assert f'href="/manage/surveys/{survey.id}/results.xlsx"' in page

    download = client.get(link)

    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    assert download.headers["Content-Disposition"] == (
        f'attachment; filename="survey-{survey.id}-results.csv"'
    )
    assert download.headers["Cache-Control"] == "no-store"
    text = download.get_data().decode("utf-8-sig")
    assert text.startswith("Group,Question number,Question,Figure,Answer,Value\r\n")
    assert "Everyone,1,Recommend?,eNPS,,20\r\n" in text
    notes = [line.split(",")[4] for line in text.splitlines() if ",Free text," in line]
    assert notes == [f"note {n}" for n in range(5)]
    assert not any(person.name in text for person in people)
    xlsx = client.get(f"/manage/surveys/{survey.id}/results.xlsx")
    assert xlsx.status_code == 200
    assert xlsx.mimetype == surveys_export.MIMETYPES["xlsx"]
    assert xlsx.get_data().startswith(b"PK")
    client.post("/language", data={"locale": "vi"})
    in_vietnamese = client.get(link).get_data().decode("utf-8-sig")
    assert in_vietnamese.startswith("Nhóm,Số thứ tự câu hỏi,Câu hỏi,Chỉ số,Trả lời,Giá trị\r\n")


def test_only_hr_downloads_survey_results(client):  # type: ignore[no-untyped-def]
    hr = UserFactory(roles={Role.HR}, locale="en")
    survey, people = _closed_survey_with_five_answers(hr)
    for role in (Role.MANAGER, Role.FINANCE, Role.EMPLOYEE):
        login(client, UserFactory(roles={role}))
        assert client.get(f"/manage/surveys/{survey.id}/results.csv").status_code == 403
        client.post("/logout")
    login(client, people[0])
    assert client.get(f"/manage/surveys/{survey.id}/results.xlsx").status_code == 403


def test_a_results_file_is_refused_where_the_page_shows_nothing(client):  # type: ignore[no-untyped-def]
    hr = UserFactory(roles={Role.HR}, locale="en")
    survey = surveys.create_survey(SurveyData("Khảo sát", "Pulse"), actor=hr)
    surveys.add_question(
        survey.id, QuestionData(QuestionKind.NPS, "Giới thiệu?", "Recommend?"), actor=hr
    )
    surveys.open_survey(survey.id, actor=hr)
    for score in range(5):
        surveys.answer(survey.id, {survey.questions[0].id: score}, UserFactory())
    login(client, hr)
    page = client.get(f"/manage/surveys/{survey.id}/results").get_data(as_text=True)
    assert 'data-testid="download-csv"' not in page
    assert client.get(f"/manage/surveys/{survey.id}/results.csv").status_code == 409
    assert client.get(f"/manage/surveys/{survey.id}/results.pdf").status_code == 404


def test_a_filtered_page_says_what_it_does_not_show_and_why(client):  # type: ignore[no-untyped-def]
    hr = UserFactory(roles={Role.HR}, locale="en")
    survey = _open_survey_with_a_score_and_comments(hr)
    nps, comments = (q.id for q in survey.questions)
    for n in range(10):  # two of the five detractors comment
        answers: dict[int, object] = {nps: 2 if n < 5 else 10}
        if n < 2:
            answers[comments] = f"note {n}"
        surveys.answer(survey.id, answers, UserFactory())
    surveys.close_survey(survey.id, actor=hr)
    login(client, hr)
    url = f"/manage/surveys/{survey.id}/results?segment={nps}:detractors"

    page = client.get(url).get_data(as_text=True)

    assert "5 answers" in page
    assert page.count('data-testid="withheld"') == 1
    assert "would describe fewer than 5 people" in page
    assert "note 0" not in page
    assert "note 1" not in page
    assert "2 answers" not in page
    client.post("/language", data={"locale": "vi"})
    hr.locale = "vi"
    db.session.commit()
    assert "Không hiện cho nhóm này" in client.get(url).get_data(as_text=True)


def test_answering_leaves_the_persons_session_unwritten(client):  # type: ignore[no-untyped-def]
    """Answering rewrites the survey's rows; a session due for its ``last_seen_at`` would be
    written in the next transaction, telling who answered last."""
    hr = UserFactory(roles={Role.HR})
    survey = surveys.create_survey(SurveyData("Khảo sát", "Pulse"), actor=hr)
    surveys.add_question(
        survey.id, QuestionData(QuestionKind.NPS, "Giới thiệu?", "Recommend?"), actor=hr
    )
    surveys.open_survey(survey.id, actor=hr)
    person = UserFactory()
    started = datetime(2026, 12, 3, 2, tzinfo=UTC)
    with time_machine.travel(started, tick=False):
        login(client, person)
    seen = db.session.scalar(select(UserSession.last_seen_at))
    with time_machine.travel(started + timedelta(minutes=20), tick=False):
        answered = client.post(f"/surveys/{survey.id}", data={f"q{survey.questions[0].id}": "8"})
    assert answered.status_code == 303
    assert surveys.answered_count(survey.id) == 1
    db.session.expire_all()
    assert db.session.scalar(select(UserSession.last_seen_at)) == seen


def test_an_average_on_the_results_page_rounds_half_away_from_zero_as_its_file_does(client):  # type: ignore[no-untyped-def]
    """Eight answers to a 1–5 question summing to 26 average 3.25: the page said 3.2 (a float
    rounded half to even), its file 3.25 and the perks' ratings round such a half up."""
    hr = UserFactory(roles={Role.HR}, locale="en")
    survey = surveys.create_survey(SurveyData("Khảo sát", "Pulse"), actor=hr)
    scale = surveys.add_question(
        survey.id, QuestionData(QuestionKind.SCALE, "Hài lòng?", "Happy?"), actor=hr
    )
    surveys.open_survey(survey.id, actor=hr)
    for score in (5, 4, 4, 3, 3, 3, 2, 2):
        surveys.answer(survey.id, {scale.id: score}, UserFactory())
    surveys.close_survey(survey.id, actor=hr)
    login(client, hr)
    page = client.get(f"/manage/surveys/{survey.id}/results").get_data(as_text=True)
    assert "Average: 3.3" in page
    download = client.get(f"/manage/surveys/{survey.id}/results.csv").get_data().decode()
    assert ",Average,,3.25\r\n" in download


def test_an_introduction_and_a_free_text_keep_their_line_breaks(client):  # type: ignore[no-untyped-def]
    """HR writes the introduction in paragraphs and people write their comments in lines:
    the pages ran them together into one line ("Dear all, Deadline: Friday")."""
    hr = UserFactory(roles={Role.HR}, locale="en")
    survey = surveys.create_survey(
        SurveyData("Khảo sát", "Pulse", intro_vi="Chào,\nHạn: thứ Sáu", intro_en="Hi,\nBy Friday"),
        actor=hr,
    )
    comments = surveys.add_question(
        survey.id, QuestionData(QuestionKind.TEXT, "Góp ý", "Comments"), actor=hr
    )
    surveys.open_survey(survey.id, actor=hr)
    person = UserFactory(locale="en")
    login(client, person)
    form = client.get(f"/surveys/{survey.id}").get_data(as_text=True)
    assert '<p class="text-pre-line" data-testid="intro">Hi,\nBy Friday</p>' in form
    client.post("/logout")
    for n in range(5):
        surveys.answer(survey.id, {comments.id: f"first {n}\nsecond {n}"}, UserFactory())
    surveys.close_survey(survey.id, actor=hr)
    login(client, hr)
    detail = client.get(f"/manage/surveys/{survey.id}").get_data(as_text=True)
    assert '<p class="text-pre-line" data-testid="intro">Hi,\nBy Friday</p>' in detail

    results = client.get(f"/manage/surveys/{survey.id}/results").get_data(as_text=True)

    assert '<li class="text-pre-line">first 0\nsecond 0</li>' in results


def test_a_step_the_survey_refuses_sends_hr_back_to_it_saying_why(client):  # type: ignore[no-untyped-def]
    """Opening a survey without a question, reminding twice in a day (a double click) or
    closing it twice left HR on a bare error page, away from the survey; the survey's page
    now says why, as the perks' publishing does."""
    hr = UserFactory(roles={Role.HR}, locale="en")
    survey = surveys.create_survey(SurveyData("Khảo sát", "Pulse"), actor=hr)
    login(client, hr)
    page = f"/manage/surveys/{survey.id}"

    refused = client.post(f"{page}/open")

    assert refused.status_code == 303
    assert refused.headers["Location"] == page
    assert "Add a question first." in client.get(page).get_data(as_text=True)
    surveys.add_question(
        survey.id, QuestionData(QuestionKind.NPS, "Giới thiệu?", "Recommend?"), actor=hr
    )
    assert client.post(f"{page}/open").status_code == 303
    assert client.post(f"{page}/remind").status_code == 303
    client.get(page)
    twice = client.post(f"{page}/remind")
    assert twice.status_code == 303
    assert "reminded today" in client.get(page).get_data(as_text=True)
    question = db.session.get(Survey, survey.id).questions[0].id
    for step in (f"questions/{question}/remove", f"questions/{question}/move/down"):
        assert client.post(f"{page}/{step}").status_code == 303
        assert "Only a draft survey can be changed." in client.get(page).get_data(as_text=True)
    assert client.post(f"{page}/close").status_code == 303
    client.get(page)
    again = client.post(f"{page}/close")
    assert again.status_code == 303
    assert "Only an open survey can be closed." in client.get(page).get_data(as_text=True)


def test_a_closed_surveys_audience_is_the_one_it_closed_with(client):  # type: ignore[no-untyped-def]
    """A survey's page counted its audience among the people of today: a survey closed last
    quarter showed this quarter's new hires as people it had asked, and its answers as a
    smaller share of them with every hire."""
    hr = UserFactory(roles={Role.HR}, locale="en")
    survey = _open_survey_with_a_score_and_comments(hr)
    person = UserFactory()
    surveys.answer(survey.id, {survey.questions[0].id: 9}, person)
    login(client, hr)
    page = f"/manage/surveys/{survey.id}"
    assert "Audience: 2 people. Answered: 1." in client.get(page).get_data(as_text=True)
    surveys.close_survey(survey.id, actor=hr)
    for _n in range(3):
        UserFactory()

    closed = client.get(page).get_data(as_text=True)

    assert "Audience: 2 people. Answered: 1." in closed


def test_answers_sent_again_from_a_second_tab_are_said_not_recorded(client):  # type: ignore[no-untyped-def]
    """A person who had answered in one tab and sent other answers from a second tab was
    shown "You have answered this survey. Thank you.", as if the new answers were taken."""
    hr = UserFactory(roles={Role.HR}, locale="en")
    survey = _open_survey_with_a_score_and_comments(hr)
    nps = survey.questions[0].id
    person = UserFactory(locale="en")
    login(client, person)
    assert client.post(f"/surveys/{survey.id}", data={f"q{nps}": "9"}).status_code == 303

    again = client.post(f"/surveys/{survey.id}", data={f"q{nps}": "2"})

    assert again.status_code == 303
    assert again.headers["Location"] == "/surveys"
    page = client.get("/surveys").get_data(as_text=True)
    assert "the answers you just sent are not recorded" in page
    client.post("/language", data={"locale": "vi"})
    assert client.post(f"/surveys/{survey.id}", data={f"q{nps}": "2"}).status_code == 303
    assert "các câu trả lời vừa gửi không được ghi nhận" in client.get("/surveys").get_data(
        as_text=True
    )
    assert client.get(f"/surveys/{survey.id}").status_code == 200


def test_the_enps_trend_counts_answers_in_the_readers_digit_grouping(client):  # type: ignore[no-untyped-def]
    """The trend wrote a survey's 1,200 answers "1200", where every other count of the
    survey pages reads "1,200" (English) or "1.200" (Vietnamese)."""
    hr = UserFactory(roles={Role.HR}, locale="en")
    survey = _open_survey_with_a_score_and_comments(hr)
    nps = str(survey.questions[0].id)
    db.session.execute(
        insert(SurveyResponse),
        [
            {"id": f"{n:032x}", "survey_id": survey.id, "answers": {nps: n % 11}}
            for n in range(1200)
        ],
    )
    db.session.commit()
    surveys.close_survey(survey.id, actor=hr)
    login(client, hr)

    trend = client.get("/manage/surveys").get_data(as_text=True)

    assert 'class="text-end">1,200</td>' in trend
    client.post("/language", data={"locale": "vi"})
    assert 'class="text-end">1.200</td>' in client.get("/manage/surveys").get_data(as_text=True)


def test_a_question_added_or_an_edit_of_a_survey_opened_meanwhile_sends_hr_back_to_it(client):  # type: ignore[no-untyped-def]
    """A question added, or the survey edited, from a page shown before a colleague opened
    the survey left HR on a bare 409 error page; the survey's page now says why."""
    hr = UserFactory(roles={Role.HR}, locale="en")
    survey = _open_survey_with_a_score_and_comments(hr)
    login(client, hr)
    page = f"/manage/surveys/{survey.id}"

    added = client.post(
        f"{page}/questions", data={"kind": "text", "text_vi": "Thêm", "text_en": "More"}
    )
    edited = client.get(f"{page}/edit")

    for refused in (added, edited):
        assert refused.status_code == 303
        assert refused.headers["Location"] == page
    assert "Only a draft survey can be changed." in client.get(page).get_data(as_text=True)
    db.session.expire_all()
    assert len(db.session.get(Survey, survey.id).questions) == 2


def test_a_reminder_followed_after_moving_out_of_the_audience_says_so(client):  # type: ignore[no-untyped-def]
    """A person reminded of their department's survey, moved to another department before
    opening the reminder, met "not found" from it."""
    from perks.notifications.models import Notification
    from tests.factories import DepartmentFactory

    sales, support = DepartmentFactory(), DepartmentFactory()
    hr = UserFactory(roles={Role.HR})
    person = UserFactory(department=sales, locale="en")
    survey = surveys.create_survey(
        SurveyData("Khảo sát", "Pulse", department_ids=(sales.id,)), actor=hr
    )
    surveys.add_question(survey.id, QuestionData(QuestionKind.TEXT, "Góp ý", "Comments"), actor=hr)
    surveys.open_survey(survey.id, actor=hr)
    assert surveys.remind(survey.id, actor=hr) == 1
    reminder = db.session.scalars(
        select(Notification).where(Notification.user_id == person.id)
    ).one()
    person.department_id = support.id
    db.session.commit()
    login(client, person)
    client.post("/language", data={"locale": "en"})
    page = client.post(f"/notifications/{reminder.id}/open", follow_redirects=True)
    assert page.status_code == 200
    assert "This survey is no longer for you" in page.get_data(as_text=True)
    # someone never asked learns nothing of it
    client.post("/logout")
    login(client, UserFactory(department=support))
    assert client.get(f"/surveys/{survey.id}").status_code == 404
