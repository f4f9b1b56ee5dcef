"""Surveys (perks.feedback.surveys): answers cannot be traced to their sender from the
database (every table inspected); results below the threshold never show, also through
filters; eNPS exact; one answer per person; reminders only to those who have not answered."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from fractions import Fraction

import pytest
from flask_babel import force_locale
from sqlalchemy import func, inspect, select, text, update

from perks.audit import AuditEvent
from perks.db import utcnow
from perks.errors import Conflict, NotFound, ValidationFailed
from perks.extensions import db
from perks.feedback import surveys, surveys_export
from perks.feedback.surveys import NotEnoughAnswers, QuestionData, SurveyData
from perks.feedback.surveys_models import (
    QuestionKind,
    SurveyParticipation,
    SurveyQuestion,
    SurveyResponse,
)
from perks.notifications.models import Notification
from perks.people.models import Role, User
from tests.factories import DepartmentFactory, UserFactory


@pytest.fixture(autouse=True)
def _in_english(app):  # type: ignore[no-untyped-def]
    with force_locale("en"):
        yield


@pytest.fixture
def hr():  # type: ignore[no-untyped-def]
    return UserFactory(roles={Role.HR})


def open_survey(hr, **audience):  # type: ignore[no-untyped-def]
    survey = surveys.create_survey(SurveyData("Khảo sát", "Pulse", **audience), actor=hr)
    surveys.add_question(
        survey.id, QuestionData(QuestionKind.NPS, "Giới thiệu?", "Recommend us?"), actor=hr
    )
    surveys.add_question(
        survey.id,
        QuestionData(
            QuestionKind.SINGLE, "Làm từ xa?", "Remote?", (("Có", "Yes"), ("Không", "No"))
        ),
        actor=hr,
    )
    surveys.add_question(survey.id, QuestionData(QuestionKind.TEXT, "Góp ý", "Comments"), actor=hr)
    return surveys.open_survey(survey.id, actor=hr)


def nps_id(survey) -> int:  # type: ignore[no-untyped-def]
    return survey.questions[0].id


def close(survey, hr):  # type: ignore[no-untyped-def]
    """Close ``survey``: its results show only then."""
    return surveys.close_survey(survey.id, actor=hr)


def test_enps_is_promoters_minus_detractors_exactly() -> None:
    # 3 promoters, 2 passives, 2 detractors of 7: (3 - 2) / 7 = 100/7 %
    assert surveys.enps([10, 9, 9, 8, 7, 6, 0]) == Fraction(100, 7)
    assert surveys.enps([6, 6, 9]) == Fraction(-100, 3)
    assert surveys.enps([]) is None
    assert surveys.rounded(Fraction(100, 7)) == 14
    assert surveys.rounded(Fraction(-5, 2)) == -3
    assert surveys.rounded(Fraction(5, 2)) == 3


def test_a_person_answers_once(hr) -> None:  # type: ignore[no-untyped-def]
    survey = open_survey(hr)
    person = UserFactory()
    surveys.answer(survey.id, {nps_id(survey): 9}, person)
    with pytest.raises(Conflict):
        surveys.answer(survey.id, {nps_id(survey): 3}, person)
    assert db.session.scalar(select(db.func.count()).select_from(SurveyResponse)) == 1
    with pytest.raises(ValidationFailed):
        surveys.answer(survey.id, {nps_id(survey): 11}, UserFactory())
    with pytest.raises(ValidationFailed):
        surveys.answer(survey.id, {}, UserFactory())


def test_only_the_audience_answers_an_open_survey(hr) -> None:  # type: ignore[no-untyped-def]
    sales = DepartmentFactory(name="Sales")
    UserFactory(department=sales)
    survey = open_survey(hr, department_ids=(sales.id,))
    with pytest.raises(NotFound):
        surveys.answer(survey.id, {nps_id(survey): 9}, UserFactory())
    surveys.answer(survey.id, {nps_id(survey): 9}, UserFactory(department=sales))
    surveys.close_survey(survey.id, actor=hr)
    # closed: its audience is told so (a reminder's link outlives it); others still NotFound
    with pytest.raises(surveys.SurveyClosed):
        surveys.answer(survey.id, {nps_id(survey): 9}, UserFactory(department=sales))
    with pytest.raises(NotFound):
        surveys.answer(survey.id, {nps_id(survey): 9}, UserFactory())


def _every_row() -> dict[str, list[dict[str, object]]]:
    tables = inspect(db.engine).get_table_names()
    return {
        name: [dict(row._mapping) for row in db.session.execute(text(f'SELECT * FROM "{name}"'))]
        for name in tables
    }


def test_a_response_cannot_be_traced_to_its_sender_from_the_database(hr) -> None:  # type: ignore[no-untyped-def]
    """Every table, every column: nothing written while answering holds the person's id, a
    time, or anything that appears in their response's row."""
    survey = open_survey(hr)
    people = [UserFactory() for _ in range(6)]
    before = _every_row()
    secret = "the canteen rice is cold"
    for n, person in enumerate(people):
        surveys.answer(
            survey.id, {nps_id(survey): n, survey.questions[2].id: f"{secret} {n}"}, person
        )
    after = _every_row()
    changed = {
        name: [row for row in rows if row not in before.get(name, [])]
        for name, rows in after.items()
    }
    changed = {name: rows for name, rows in changed.items() if rows}
    # answering wrote only these two tables: no audit event, no notification, no mail
    assert set(changed) == {"survey_response", "survey_participation"}
    assert [set(r) for r in changed["survey_participation"]] == [{"survey_id", "user_id"}] * 6
    responses = changed["survey_response"]
    assert {frozenset(r) for r in responses} == {
        frozenset({"id", "survey_id", "department_id", "sealed_department", "answers"})
    }
    ids = {p.id for p in people}
    for row in responses:
        assert row["department_id"] is None  # 6 people without a department
        assert len(str(row["id"])) == 32
        assert str(row["id"]) not in {str(i) for i in ids}
    # sealed like everyone's (no seal would set them apart), each seal different
    seals = [str(row["sealed_department"]) for row in after["survey_response"]]
    assert len(set(seals)) == 6
    assert len({len(seal) for seal in seals}) == 1
    # the text answers are nowhere else in the database
    for name, rows in after.items():
        if name != "survey_response":
            assert secret not in repr(rows)


def test_insert_order_is_not_kept(hr, app) -> None:  # type: ignore[no-untyped-def]
    """The responses' order in the table (and their writing transaction on PostgreSQL) is not
    the order of the answers: every answer rewrites the survey's rows, shuffled."""
    survey = open_survey(hr)
    orders = set()
    for n in range(8):
        surveys.answer(survey.id, {nps_id(survey): n}, UserFactory())
    for _ in range(3):
        rows = db.session.execute(text("SELECT answers FROM survey_response")).all()
        orders.add(tuple(str(r[0]) for r in rows))
    if db.engine.dialect.name == "postgresql":
        writers = db.session.execute(
            text(
                "SELECT DISTINCT xmin::text FROM survey_response UNION "
                "SELECT DISTINCT xmin::text FROM survey_participation"
            )
        ).all()
        assert len(writers) == 1  # one transaction wrote every row of both tables
    else:
        with pytest.raises(Exception, match="rowid"):
            db.session.execute(text("SELECT rowid FROM survey_response")).all()
        db.session.rollback()
    scores = [a[str(nps_id(survey))] for a in db.session.scalars(select(SurveyResponse.answers))]
    assert sorted(scores) == list(range(8))
    # the participations are stored by person, not by when they came
    assert db.session.scalars(select(SurveyParticipation.user_id)).all()


def test_a_department_shows_on_all_its_responses_once_enough_of_it_answered(hr) -> None:  # type: ignore[no-untyped-def]
    """Until 5 people of Sales have answered, no response names Sales, and nothing tells the
    Sales ones from the others; from the 5th on, all of them do. Tagging only the 5th answer
    onwards (as before) made the tagged responses the last answerers', and with exactly 5
    answers, the last person's, whom the reminders name."""
    survey = open_survey(hr)
    sales, tiny = DepartmentFactory(name="Sales"), DepartmentFactory(name="Tiny")
    for _ in range(2):
        surveys.answer(survey.id, {nps_id(survey): 9}, UserFactory(department=tiny))
    surveys.answer(survey.id, {nps_id(survey): 9}, UserFactory())

    def stored() -> list[tuple[int | None, str | None]]:
        return [
            (row.department_id, row.sealed_department)
            for row in db.session.execute(
                select(SurveyResponse.department_id, SurveyResponse.sealed_department)
            )
        ]

    for n in range(7):
        surveys.answer(survey.id, {nps_id(survey): 9}, UserFactory(department=sales))
        rows = stored()
        tagged = [department for department, _seal in rows if department is not None]
        assert tagged == ([] if n < 4 else [sales.id] * (n + 1))
        seals = [seal for department, seal in rows if department is None]
        # Tiny's, the one without a department's, and Sales' until the 5th: all alike
        assert all(seals)
        assert len(set(seals)) == len(seals)
        assert len({len(str(seal)) for seal in seals}) == 1
    surveys.close_survey(survey.id, actor=hr)
    assert Counter(stored()) == {(None, None): 3, (sales.id, None): 7}  # seals dropped
    assert {d.name: n for d, n in surveys.results(survey.id).departments} == {}  # rest: 3


def test_results_below_the_threshold_never_show(hr) -> None:  # type: ignore[no-untyped-def]
    few, enough = open_survey(hr), open_survey(hr)
    for n in range(4):
        surveys.answer(few.id, {nps_id(few): n}, UserFactory())
        surveys.answer(enough.id, {nps_id(enough): n}, UserFactory())
    surveys.answer(enough.id, {nps_id(enough): 10}, UserFactory())
    close(few, hr)
    with pytest.raises(NotEnoughAnswers):
        surveys.results(few.id)
    close(enough, hr)
    found = surveys.results(enough.id)
    assert found.responses == 5
    assert found.questions[0].enps == Fraction(100 * (1 - 4), 5)


def test_the_threshold_is_a_setting_never_below_three(hr, app) -> None:  # type: ignore[no-untyped-def]
    app.config["SURVEY_MIN_RESPONSES"] = 1
    assert surveys.threshold() == 3
    app.config["SURVEY_MIN_RESPONSES"] = 8
    assert surveys.threshold() == 8
    app.config["SURVEY_MIN_RESPONSES"] = 5


def test_filters_never_narrow_a_group_below_the_threshold(hr) -> None:  # type: ignore[no-untyped-def]
    survey = open_survey(hr)
    sales, ops, tiny = (DepartmentFactory(name=n) for n in ("Sales", "Ops", "Tiny"))
    remote = survey.questions[1].id
    # Sales: 6 answer, Ops: 13, Tiny: 2 (never tagged), and 3 without a department
    for department, count in ((sales, 6), (ops, 13), (tiny, 2), (None, 3)):
        for n in range(count):
            surveys.answer(
                survey.id,
                {nps_id(survey): 9 if n % 2 else 5, remote: 0 if n < count - 1 else 1},
                UserFactory(department=department),
            )
    close(survey, hr)
    total = surveys.results(survey.id)
    assert total.responses == 24
    shown = {d.name: n for d, n in total.departments}
    # untagged: 2 + 3 = 5 >= 5, so both tagged departments show, with all their answers
    assert shown == {"Sales": 6, "Ops": 13}
    assert surveys.results(survey.id, department_id=sales.id).responses == 6
    # Sales: promoters n = 1, 3, 5, detractors 0, 2, 4; Ops: 6 promoters, 7 detractors
    by_department = {d.name: e for d, e in total.department_enps}
    assert by_department == {"Sales": Fraction(0), "Ops": Fraction(100 * (6 - 7), 13)}
    with pytest.raises(NotEnoughAnswers):
        surveys.results(survey.id, department_id=tiny.id)
    # "remote: no" has 4 answers: it, and any cell it would split, is refused
    with pytest.raises(NotEnoughAnswers):
        surveys.results(survey.id, segment=f"{remote}:1")
    with pytest.raises(NotEnoughAnswers):
        surveys.results(survey.id, department_id=ops.id, segment=f"{remote}:0")
    # promoters are 11 of 24, but they split Sales' 6 into 3 and 3: refused
    with pytest.raises(NotEnoughAnswers):
        surveys.results(survey.id, segment=f"{nps_id(survey)}:promoters")


def test_a_filter_never_shows_one_persons_answer_crossed_with_another(hr) -> None:  # type: ignore[no-untyped-def]
    """10 answers, one of them "remote: yes". "Detractors" (5 of 10) is a big enough group,
    but its "remote" counts (yes 1, no 4) told HR the one remote worker's score, and the
    rest's (yes 0, no 5) would tell it by subtraction; nor may "remote" show who commented."""
    survey = open_survey(hr)
    remote, comments = survey.questions[1].id, survey.questions[2].id
    for n in range(10):
        answers = {nps_id(survey): 3 if n < 5 else 9, remote: 0 if n == 0 else 1}
        if n in (0, 1, 7):
            answers[comments] = f"comment {n}"
        surveys.answer(survey.id, answers, UserFactory())
    close(survey, hr)
    everyone = surveys.results(survey.id)
    assert everyone.questions[1].counts == [("Yes", 1), ("No", 9)]  # the survey's own figure

    detractors = surveys.results(survey.id, segment=f"{nps_id(survey)}:detractors")
    assert detractors.responses == 5
    score, crossed, texts = detractors.questions
    assert crossed.counts == []
    assert crossed.answered == 5
    assert crossed.withheld
    assert texts.texts == []
    assert texts.answered is None
    assert texts.withheld
    assert score.counts[3] == ("3", 5)  # the filter's own question: its counts are everyone's
    assert not score.withheld

    chunks, _name = surveys_export.results_file(
        survey.id, "csv", segment=f"{nps_id(survey)}:detractors", actor=hr, locale="en"
    )
    rendered = b"".join(chunks).decode()
    assert "Not shown for this group" in rendered
    assert "comment" not in rendered
    assert ",Yes," not in rendered


def test_two_filters_on_one_question_never_leave_a_small_band_by_subtraction(hr) -> None:  # type: ignore[no-untyped-def]
    """10 promoters, 10 detractors and 1 passive. "Promoters" and "detractors" are each big
    enough, and so is each one's rest, but everyone less both is the one passive: their
    "remote" answer and their comment were everyone's figures less the two filters'."""
    survey = open_survey(hr)
    remote, comments = survey.questions[1].id, survey.questions[2].id
    for n in range(21):
        score = 10 if n < 10 else 0 if n < 20 else 7
        surveys.answer(
            survey.id,
            {nps_id(survey): score, remote: 0 if n % 10 < 5 or n == 20 else 1, comments: f"c{n}"},
            UserFactory(),
        )
    close(survey, hr)
    everyone = surveys.results(survey.id)
    shown = [everyone]
    for band in ("promoters", "detractors"):
        try:
            shown.append(surveys.results(survey.id, segment=f"{nps_id(survey)}:{band}"))
        except NotEnoughAnswers:
            continue
    if len(shown) == 3:
        _all, promoters, detractors = shown
        texts = set(everyone.questions[2].texts)
        texts -= set(promoters.questions[2].texts) | set(detractors.questions[2].texts)
        assert texts != {"c20"}, "the passive's comment, by subtraction"
        yes = [dict(r.questions[1].counts).get("Yes") for r in shown]
        assert None in yes or yes[0] - yes[1] - yes[2] != 1, "the passive is remote"
    # a band of one is a cell of the question's own partition: neither filter shows
    for band in ("promoters", "passives", "detractors"):
        with pytest.raises(NotEnoughAnswers):
            surveys.results(survey.id, segment=f"{nps_id(survey)}:{band}")


def test_the_one_who_ticked_two_choices_is_no_filters_difference(hr) -> None:  # type: ignore[no-untyped-def]
    """Of 21, 10 use the gym only, 10 the canteen only, 1 both: "gym" (11) and "canteen"
    (11) are big enough, with rests of 10, but gym + canteen - everyone is the one who uses
    both. Ticked together, two choices are a way of answering of their own."""
    draft = surveys.create_survey(SurveyData("Khảo sát", "Pulse"), actor=hr)
    question = surveys.add_question(
        draft.id,
        QuestionData(
            QuestionKind.MULTIPLE, "Dùng gì?", "Uses?", (("Gym", "Gym"), ("Căng tin", "Canteen"))
        ),
        actor=hr,
    )
    score = surveys.add_question(
        draft.id, QuestionData(QuestionKind.NPS, "Giới thiệu?", "Recommend us?"), actor=hr
    )
    surveys.open_survey(draft.id, actor=hr)
    for n in range(21):
        ticked = [0] if n < 10 else [1] if n < 20 else [0, 1]
        surveys.answer(draft.id, {question.id: ticked, score.id: n % 11}, UserFactory())
    surveys.close_survey(draft.id, actor=hr)
    for option in (0, 1):
        with pytest.raises(NotEnoughAnswers):
            surveys.results(draft.id, segment=f"{question.id}:{option}")


def test_two_filters_comments_have_no_small_overlap_to_read(hr) -> None:  # type: ignore[no-untyped-def]
    """16 answers: 1 remote promoter, 5 promoters in the office, 5 remote and 5 office
    detractors. "Promoters" (6) and "remote" (6) are each big enough, with rests of 10, but
    the comments both filters showed were the one remote promoter's."""
    survey = open_survey(hr)
    remote, comments = survey.questions[1].id, survey.questions[2].id
    people = [(10, 0)] + [(10, 1)] * 5 + [(0, 0)] * 5 + [(0, 1)] * 5
    for n, (score, where) in enumerate(people):
        surveys.answer(
            survey.id,
            {nps_id(survey): score, remote: where, comments: f"comment {n}"},
            UserFactory(),
        )
    close(survey, hr)
    promoters = surveys.results(survey.id, segment=f"{nps_id(survey)}:promoters")
    remote_workers = surveys.results(survey.id, segment=f"{remote}:0")
    both = set(promoters.questions[2].texts) & set(remote_workers.questions[2].texts)
    assert both != {"comment 0"}, "the one remote promoter's comment"
    for filtered in (promoters, remote_workers):
        assert filtered.questions[2].texts == []
        assert filtered.questions[2].withheld
    # unfiltered, and by department (departments never overlap), comments still show
    assert len(surveys.results(survey.id).questions[2].texts) == 16


def test_departments_are_listed_as_vietnamese_is_alphabetised(hr) -> None:  # type: ignore[no-untyped-def]
    survey = open_survey(hr)
    for name in ("Ý tưởng", "Đào tạo", "Ánh sáng"):  # by code point: Ánh, Ý, Đào
        department = DepartmentFactory(name=name)
        for _ in range(9):  # the first 4 answers of a department are kept without it
            surveys.answer(survey.id, {nps_id(survey): 9}, UserFactory(department=department))
    close(survey, hr)
    results = surveys.results(survey.id)
    assert [d.name for d, _ in results.departments] == ["Ánh sáng", "Đào tạo", "Ý tưởng"]
    assert [d.name for d, _ in results.department_enps] == ["Ánh sáng", "Đào tạo", "Ý tưởng"]


def test_a_small_rest_hides_the_smallest_department_too(hr) -> None:  # type: ignore[no-untyped-def]
    """With Sales shown, "everyone but Sales" = total - Sales: it too must have 0 or >= 5."""
    alone, with_rest = open_survey(hr), open_survey(hr)
    sales = DepartmentFactory(name="Sales")
    for _ in range(9):  # all tagged
        person = UserFactory(department=sales)
        surveys.answer(alone.id, {nps_id(alone): 9}, person)
        surveys.answer(with_rest.id, {nps_id(with_rest): 9}, person)
    for _ in range(4):  # the rest of "alone": 4 without a department
        surveys.answer(alone.id, {nps_id(alone): 9}, UserFactory())
    for _ in range(5):
        surveys.answer(with_rest.id, {nps_id(with_rest): 9}, UserFactory())
    close(alone, hr)
    close(with_rest, hr)
    assert surveys.results(alone.id).departments == []
    with pytest.raises(NotEnoughAnswers):
        surveys.results(alone.id, department_id=sales.id)
    assert [(d.name, n) for d, n in surveys.results(with_rest.id).departments] == [("Sales", 9)]


def test_free_texts_show_without_names_in_random_order(hr) -> None:  # type: ignore[no-untyped-def]
    survey = open_survey(hr)
    comments = survey.questions[2].id
    for n in range(12):
        surveys.answer(survey.id, {comments: f"idea {n:02d}"}, UserFactory())
    close(survey, hr)
    seen = {tuple(surveys.results(survey.id).questions[2].texts) for _ in range(6)}
    assert all(sorted(order) == [f"idea {n:02d}" for n in range(12)] for order in seen)
    assert len(seen) > 1


def test_reminders_go_only_to_the_audience_who_have_not_answered(hr) -> None:  # type: ignore[no-untyped-def]
    sales = DepartmentFactory(name="Sales")
    answered, waiting = UserFactory(department=sales), UserFactory(department=sales)
    survey = open_survey(hr, department_ids=(sales.id,))
    outsider = UserFactory()
    UserFactory(department=sales, active=False)
    surveys.answer(survey.id, {nps_id(survey): 7}, answered)
    assert surveys.remind(survey.id, actor=hr) == 1
    told = db.session.scalars(
        select(Notification.user_id).where(Notification.kind == "survey_reminder")
    ).all()
    assert told == [waiting.id]
    assert outsider.id not in told
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "survey.reminded")
    ).one()
    assert event.details["people"] == 1


def test_a_survey_is_reminded_once_a_day_at_most(hr) -> None:  # type: ignore[no-untyped-def]
    """A second press (or a double click) told everyone who had not answered twice."""
    survey = open_survey(hr)
    UserFactory()
    told = surveys.remind(survey.id, actor=hr)
    assert told >= 1
    with pytest.raises(Conflict, match="reminded today"):
        surveys.remind(survey.id, actor=hr)
    reminders = db.session.scalar(
        select(func.count()).select_from(Notification).where(Notification.kind == "survey_reminder")
    )
    assert reminders == told
    # the next company day, a reminder goes again
    db.session.execute(
        update(AuditEvent)
        .where(AuditEvent.action == "survey.reminded")
        .values(created_at=utcnow() - timedelta(days=1))
    )
    db.session.commit()
    assert surveys.remind(survey.id, actor=hr) == told


def test_only_drafts_change_and_only_open_surveys_close(hr) -> None:  # type: ignore[no-untyped-def]
    survey = open_survey(hr)
    with pytest.raises(Conflict):
        surveys.add_question(survey.id, QuestionData(QuestionKind.SCALE, "a", "b"), actor=hr)
    surveys.close_survey(survey.id, actor=hr)
    with pytest.raises(Conflict):
        surveys.close_survey(survey.id, actor=hr)
    with pytest.raises(Conflict):
        surveys.remind(survey.id, actor=hr)
    draft = surveys.create_survey(SurveyData("a", "b"), actor=hr)
    with pytest.raises(Conflict):
        surveys.open_survey(draft.id, actor=hr)
    with pytest.raises(ValidationFailed):
        surveys.add_question(
            draft.id, QuestionData(QuestionKind.SINGLE, "a", "b", (("x", "y"),)), actor=hr
        )


def _draft_with_three_questions(hr):  # type: ignore[no-untyped-def]
    draft = surveys.create_survey(SurveyData("Khảo sát", "Pulse"), actor=hr)
    for vi, en in (("Một", "One"), ("Hai", "Two"), ("Ba", "Three")):
        surveys.add_question(draft.id, QuestionData(QuestionKind.SCALE, vi, en), actor=hr)
    return draft


def _order(survey_id: int) -> list[str]:
    db.session.expire_all()
    return [q.text_en for q in surveys.get_survey(survey_id).questions]


def test_a_drafts_question_moves_up_and_down_and_the_order_is_kept(hr) -> None:  # type: ignore[no-untyped-def]
    draft = _draft_with_three_questions(hr)
    one, _two, three = (q.id for q in draft.questions)

    assert surveys.move_question(draft.id, three, -1, actor=hr) is True
    assert _order(draft.id) == ["One", "Three", "Two"]
    assert surveys.move_question(draft.id, one, +1, actor=hr) is True
    assert _order(draft.id) == ["Three", "One", "Two"]
    positions = db.session.scalars(
        select(SurveyQuestion.position)
        .where(SurveyQuestion.survey_id == draft.id)
        .order_by(SurveyQuestion.position)
    )
    assert list(positions) == [1, 2, 3]
    moved = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "survey.question_moved")
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.details["question"], e.details["position"]) for e in moved] == [
        ("Three", 2),
        ("One", 2),
    ]
    assert all(e.target_id == str(draft.id) and e.actor_id == hr.id for e in moved)


def test_the_first_question_up_or_the_last_down_changes_nothing(hr) -> None:  # type: ignore[no-untyped-def]
    draft = _draft_with_three_questions(hr)
    one, _two, three = (q.id for q in draft.questions)
    assert surveys.move_question(draft.id, one, -1, actor=hr) is False
    assert surveys.move_question(draft.id, three, +1, actor=hr) is False
    assert _order(draft.id) == ["One", "Two", "Three"]
    assert not db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "survey.question_moved")
    ).all()


def test_only_a_drafts_questions_move(hr) -> None:  # type: ignore[no-untyped-def]
    survey = open_survey(hr)
    with pytest.raises(Conflict):
        surveys.move_question(survey.id, survey.questions[1].id, -1, actor=hr)
    draft = _draft_with_three_questions(hr)
    with pytest.raises(NotFound):  # another survey's question
        surveys.move_question(draft.id, survey.questions[1].id, -1, actor=hr)
    with pytest.raises(NotFound):
        surveys.move_question(draft.id + 1000, draft.questions[1].id, -1, actor=hr)


def test_a_survey_nobody_is_in_the_audience_of_does_not_open(hr) -> None:  # type: ignore[no-untyped-def]
    empty = DepartmentFactory(name="Empty")
    UserFactory(department=empty, active=False)
    survey = surveys.create_survey(
        SurveyData("Khảo sát", "Pulse", department_ids=(empty.id,)), actor=hr
    )
    surveys.add_question(survey.id, QuestionData(QuestionKind.SCALE, "a", "b"), actor=hr)
    with pytest.raises(Conflict, match="Nobody is in this survey's audience"):
        surveys.open_survey(survey.id, actor=hr)
    assert surveys.get_survey(survey.id).state.value == "draft"
    UserFactory(department=empty)
    assert surveys.open_survey(survey.id, actor=hr).state.value == "open"


def test_changing_only_a_drafts_introduction_is_audited(hr) -> None:  # type: ignore[no-untyped-def]
    draft = surveys.create_survey(SurveyData("Khảo sát", "Pulse"), actor=hr)
    surveys.update_survey(
        draft.id, SurveyData("Khảo sát", "Pulse", "Năm phút.", "Five minutes."), actor=hr
    )
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "survey.changed")
    ).one()
    assert event.details["changes"]["intro_en"] == ["", "Five minutes."]


def test_enps_trend_across_surveys(hr) -> None:  # type: ignore[no-untyped-def]
    first, second = open_survey(hr), open_survey(hr)
    for score in (10, 10, 10, 0, 8):
        surveys.answer(first.id, {nps_id(first): score}, UserFactory())
    for score in (3, 9):
        surveys.answer(second.id, {nps_id(second): score}, UserFactory())
    close(first, hr)
    close(second, hr)
    trend = surveys.enps_trend()
    assert [(p.survey.id, p.enps) for p in trend] == [(first.id, Fraction(40))]


def test_an_open_surveys_results_do_not_show_so_no_answer_is_told_by_the_next(hr) -> None:  # type: ignore[no-untyped-def]
    """Read before and after one more answer, an open survey's results would differ by
    exactly that answer, its free text too: nothing shows until the survey is closed."""
    survey = open_survey(hr)
    comments = survey.questions[2].id
    for n in range(6):
        surveys.answer(survey.id, {nps_id(survey): 9, comments: f"idea {n}"}, UserFactory())
    with pytest.raises(surveys.StillOpen):
        surveys.results(survey.id)
    assert surveys.enps_trend() == []
    assert surveys.shown_departments_of(survey.id) == []
    close(survey, hr)
    assert surveys.results(survey.id).responses == 6
    assert [p.survey.id for p in surveys.enps_trend()] == [survey.id]


def test_a_seal_opens_with_the_secret_it_was_made_with_or_a_fallback_of_it(app) -> None:  # type: ignore[no-untyped-def]
    """Rotating ``SECRET_KEY`` with the old one in ``SECRET_KEY_FALLBACKS`` keeps an open
    survey's seals; without it, a seal opens to no department (never to a wrong one), and a
    seal is bound to its survey."""
    secret = app.config["SECRET_KEY"]
    sealed = surveys._seal(42, survey_id=7)
    assert surveys._unseal(sealed, 7) == 42
    assert surveys._unseal(surveys._seal(None, 7), 7) is None
    assert surveys._unseal(sealed, 8) is None  # another survey's
    try:
        app.config["SECRET_KEY"] = "a-new-secret-of-thirty-two-characters!"
        app.config["SECRET_KEY_FALLBACKS"] = [secret]
        assert surveys._unseal(sealed, 7) == 42
        app.config["SECRET_KEY_FALLBACKS"] = []
        assert surveys._unseal(sealed, 7) is None
    finally:
        app.config["SECRET_KEY"], app.config["SECRET_KEY_FALLBACKS"] = secret, []


def test_a_department_removed_while_its_answers_were_sealed_names_nothing(hr, app) -> None:  # type: ignore[no-untyped-def]
    survey = open_survey(hr)
    sales = DepartmentFactory(name="Sales")
    app.config["SURVEY_MIN_RESPONSES"] = 8
    try:
        for _ in range(6):  # sealed: fewer than 8
            surveys.answer(survey.id, {nps_id(survey): 9}, UserFactory(department=sales))
        db.session.execute(update(User).values(department_id=None))
        db.session.delete(sales)
        db.session.commit()
        app.config["SURVEY_MIN_RESPONSES"] = 5  # the six sealed ones would now be enough
        surveys.answer(survey.id, {nps_id(survey): 9}, UserFactory())
    finally:
        app.config["SURVEY_MIN_RESPONSES"] = 5
    assert db.session.scalars(select(SurveyResponse.department_id)).all() == [None] * 7


def test_a_free_text_of_invisible_characters_is_no_answer(hr) -> None:  # type: ignore[no-untyped-def]
    """A comment of zero-width spaces was kept as an answer (an empty line in HR's results,
    counted among those who answered) and made a blank form count as answered."""
    survey = open_survey(hr)
    comments = survey.questions[2].id
    with pytest.raises(ValidationFailed, match="Answer at least one question"):
        surveys.answer(survey.id, {comments: "\u200b \u2060\ufeff"}, UserFactory())
    surveys.answer(survey.id, {comments: "\u200bFaster laptops\u200b "}, UserFactory())
    stored = db.session.scalars(select(SurveyResponse.answers)).one()
    assert stored == {str(comments): "Faster laptops"}


def test_a_choice_question_with_two_options_that_read_the_same_is_refused(hr) -> None:  # type: ignore[no-untyped-def]
    """Two options that read the same ("Có" and "có ") gave the answer form two identical
    buttons and the results two rows nobody could tell apart."""
    survey = surveys.create_survey(SurveyData("Khảo sát", "Pulse"), actor=hr)
    for options in (
        (("Có", "Yes"), ("có ", "Yes, often"), ("Không", "No")),
        (("Có", "Yes"), ("Thường xuyên", "YES"), ("Không", "No")),
    ):
        with pytest.raises(ValidationFailed, match="Two options read the same"):
            surveys.add_question(
                survey.id,
                QuestionData(QuestionKind.SINGLE, "Làm từ xa?", "Remote?", options),
                actor=hr,
            )
    assert surveys.get_survey(survey.id).questions == []
    surveys.add_question(
        survey.id,
        QuestionData(QuestionKind.MULTIPLE, "Chọn", "Pick", (("Có", "Yes"), ("Cỏ", "Grass"))),
        actor=hr,
    )
