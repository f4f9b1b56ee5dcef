"""A closed survey's results as a file (perks.feedback.surveys_export): the page's figures,
one per row, in the downloader's language; nothing that tells who answered what or when;
refused where the page is; formula-safe; audited."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest
from sqlalchemy import select

from perks.audit import AuditEvent
from perks.extensions import db
from perks.feedback import surveys, surveys_export
from perks.feedback.surveys import NotEnoughAnswers, QuestionData, StillOpen, SurveyData
from perks.feedback.surveys_models import QuestionKind, SurveyResponse
from perks.people.models import Role
from tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.usefixtures("app")


@pytest.fixture
def hr():  # type: ignore[no-untyped-def]
    return UserFactory(roles={Role.HR})


def _survey(hr):  # type: ignore[no-untyped-def]
    survey = surveys.create_survey(SurveyData("Khảo sát", "Pulse"), actor=hr)
    for data in (
        QuestionData(QuestionKind.NPS, "Giới thiệu?", "Recommend us?"),
        QuestionData(
            QuestionKind.SINGLE, "Làm từ xa?", "Remote?", (("Có", "Yes"), ("Không", "No"))
        ),
        QuestionData(QuestionKind.TEXT, "Góp ý", "Comments"),
    ):
        surveys.add_question(survey.id, data, actor=hr)
    return surveys.open_survey(survey.id, actor=hr)


#: (score, remote: 0 yes / 1 no, comment), answered in this order by five named people
ANSWERS = [
    (10, 0, "zulu: more remote days"),
    (9, 0, '=HYPERLINK("http://evil")'),
    (8, 1, "mike"),
    (6, 0, "alpha"),
    (2, 1, "kilo"),
]


def _answered(hr):  # type: ignore[no-untyped-def]
    survey = _survey(hr)
    nps, remote, comments = (q.id for q in survey.questions)
    people = [UserFactory(name=f"Respondent {n}", email=f"r{n}@example.com") for n in range(5)]
    for person, (score, choice, text) in zip(people, ANSWERS, strict=True):
        surveys.answer(survey.id, {nps: score, remote: choice, comments: text}, person)
    surveys.close_survey(survey.id, actor=hr)
    return survey, people


def _csv(survey_id, actor, locale="en", **group):  # type: ignore[no-untyped-def]
    body, name = surveys_export.results_file(survey_id, "csv", actor=actor, locale=locale, **group)
    data = b"".join(body)
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")))), name, data


def test_the_csv_holds_the_pages_figures_one_per_row(hr) -> None:  # type: ignore[no-untyped-def]
    survey, _people = _answered(hr)
    rows, name, _data = _csv(survey.id, hr)

    assert name == f"survey-{survey.id}-results.csv"
    assert rows[0] == ["Group", "Question number", "Question", "Figure", "Answer", "Value"]
    assert rows[1] == ["Everyone", "", "", "Answers", "", "5"]
    nps = [r for r in rows if r[1] == "1"]
    assert nps[0] == ["Everyone", "1", "Recommend us?", "Answers", "", "5"]
    chosen = {r[4]: r[5] for r in nps if r[3] == "Chose"}
    assert list(chosen) == [str(n) for n in range(11)]
    assert (chosen["10"], chosen["9"], chosen["8"], chosen["6"], chosen["2"], chosen["0"]) == (
        "1", "1", "1", "1", "1", "0",
    )  # fmt: skip
    # (10 + 9 + 8 + 6 + 2) / 5 = 7; 2 promoters, 2 detractors: eNPS 0
    assert ["Everyone", "1", "Recommend us?", "Average", "", "7.00"] in nps
    assert ["Everyone", "1", "Recommend us?", "eNPS", "", "0"] in nps
    remote = [r for r in rows if r[1] == "2"]
    assert remote == [
        ["Everyone", "2", "Remote?", "Answers", "", "5"],
        ["Everyone", "2", "Remote?", "Chose", "Yes", "3"],
        ["Everyone", "2", "Remote?", "Chose", "No", "2"],
    ]
    texts = [r for r in rows if r[1] == "3" and r[3] == "Free text"]
    # a text that could start a formula is written so that no spreadsheet evaluates it
    assert [r[4] for r in texts] == [
        '\'=HYPERLINK("http://evil")',
        "alpha",
        "kilo",
        "mike",
        "zulu: more remote days",
    ]


def test_the_file_tells_nobody_who_answered_what_or_when(hr) -> None:  # type: ignore[no-untyped-def]
    survey, people = _answered(hr)
    response_ids = set(db.session.scalars(select(SurveyResponse.id)))
    rows, _name, data = _csv(survey.id, hr)
    text = data.decode("utf-8-sig")

    for person in people:
        assert person.name not in text
        assert person.email not in text
    assert not any(response_id in text for response_id in response_ids)
    assert not re.search(r"\d{1,2}:\d{2}|\d{4}-\d{2}-\d{2}", text)  # no time, no day
    # one figure per row: a free text never sits beside its author's other answers
    assert all(len(row) == 6 for row in rows)
    assert all(row[5] == "" for row in rows if row[3] == "Free text")
    # the texts' order is their alphabetical order, never the order they came in (zulu first)
    texts = [r[4] for r in rows if r[3] == "Free text"]
    assert texts == sorted(texts)


def test_nothing_is_written_while_the_page_would_refuse(hr) -> None:  # type: ignore[no-untyped-def]
    survey = _survey(hr)
    nps = survey.questions[0].id
    for score in range(6):
        surveys.answer(survey.id, {nps: score}, UserFactory())
    with pytest.raises(StillOpen):
        surveys_export.results_file(survey.id, "csv", actor=hr, locale="en")
    few = _survey(hr)
    for score in range(4):
        surveys.answer(few.id, {few.questions[0].id: score}, UserFactory())
    surveys.close_survey(few.id, actor=hr)
    with pytest.raises(NotEnoughAnswers):
        surveys_export.results_file(few.id, "csv", actor=hr, locale="en")
    assert not db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "survey.results_exported")
    ).all()


def test_a_department_or_segment_file_is_refused_below_the_threshold(hr) -> None:  # type: ignore[no-untyped-def]
    survey = _survey(hr)
    nps, remote, _comments = (q.id for q in survey.questions)
    sales, tiny = DepartmentFactory(name="Sales"), DepartmentFactory(name="Tiny")
    # Sales: 14 answer, all tagged (7 promoters); Tiny: 3 answer, never tagged, and 2 people
    # without a department: the rest has 5 (all 3): no cell below 5
    for n in range(14):
        score = 9 if n % 2 else 3
        surveys.answer(survey.id, {nps: score, remote: 0}, UserFactory(department=sales))
    for _n in range(3):
        surveys.answer(survey.id, {nps: 3, remote: 1}, UserFactory(department=tiny))
    for _n in range(2):
        surveys.answer(survey.id, {nps: 3, remote: 0}, UserFactory())
    surveys.close_survey(survey.id, actor=hr)
    with pytest.raises(NotEnoughAnswers):
        surveys_export.results_file(survey.id, "csv", department_id=tiny.id, actor=hr, locale="en")
    with pytest.raises(NotEnoughAnswers):  # "remote: no" is 3 people
        surveys_export.results_file(survey.id, "csv", segment=f"{remote}:1", actor=hr, locale="en")
    rows, name, _data = _csv(survey.id, hr, department_id=sales.id, segment=f"{nps}:promoters")
    assert name == f"survey-{survey.id}-results-department-{sales.id}-{nps}-promoters.csv"
    assert rows[1] == ["Sales · Recommend us? — promoters (9–10)", "", "", "Answers", "", "7"]
    whole, _name, _data = _csv(survey.id, hr)
    assert ["Sales", "1", "Recommend us?", "eNPS", "", "0"] in whole


def test_a_segment_written_otherwise_than_the_page_writes_it_is_not_found(hr) -> None:  # type: ignore[no-untyped-def]
    """``?segment=`` is typed into the URL too: "2:00", " 2:0", "02:0" (read as option 0 of
    question 2) and "2:²" (a digit to ``str.isdigit``, not to ``int``) were answered by a
    KeyError, a StopIteration or a ValueError: a server error instead of 404."""
    from perks.errors import NotFound

    survey = _survey(hr)
    _nps, remote, _comments = (q.id for q in survey.questions)
    for n in range(10):
        surveys.answer(survey.id, {remote: n % 2}, UserFactory())
    surveys.close_survey(survey.id, actor=hr)
    rows, _name, _data = _csv(survey.id, hr, segment=f"{remote}:0")
    assert rows[1][5] == "5"
    for segment in (f"{remote}:00", f" {remote}:0", f"0{remote}:0", f"{remote}:²", f"{remote}:٠"):
        with pytest.raises(NotFound):
            surveys.results(survey.id, segment=segment)
        with pytest.raises(NotFound):
            surveys_export.results_file(survey.id, "csv", segment=segment, actor=hr, locale="en")


def test_a_download_is_audited(hr) -> None:  # type: ignore[no-untyped-def]
    survey, _people = _answered(hr)
    rows, _name, _data = _csv(survey.id, hr)
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "survey.results_exported")
    ).one()
    assert event.actor_id == hr.id
    assert event.target_id == str(survey.id)
    assert event.details == {
        "format": "csv",
        "department_id": None,
        "segment": "",
        "rows": len(rows) - 1,
    }


def test_the_file_speaks_the_downloaders_language(hr) -> None:  # type: ignore[no-untyped-def]
    survey, _people = _answered(hr)
    rows, _name, _data = _csv(survey.id, hr, locale="vi")
    assert rows[0] == ["Nhóm", "Số thứ tự câu hỏi", "Câu hỏi", "Chỉ số", "Trả lời", "Giá trị"]
    assert ["Mọi người", "2", "Làm từ xa?", "Đã chọn", "Có", "3"] in rows


def test_the_xlsx_reads_cell_for_cell_like_the_csv(hr) -> None:  # type: ignore[no-untyped-def]
    survey, _people = _answered(hr)
    rows, _name, _data = _csv(survey.id, hr)
    body, name = surveys_export.results_file(survey.id, "xlsx", actor=hr, locale="en")
    assert name == f"survey-{survey.id}-results.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(body))).active
    assert sheet.title == "Results"
    cells = [
        ["" if c is None else f"{c:.2f}" if isinstance(c, float) else str(c) for c in row]
        for row in sheet.iter_rows(values_only=True)
    ]
    # the CSV's leading ' is XLSX's quote-prefix style: the text itself is as written
    assert cells == [[c.removeprefix("'") for c in row] for row in rows]
    quoted = next(r for r in sheet.iter_rows() if str(r[4].value).startswith("=HYPERLINK"))
    assert quoted[4].quotePrefix
    assert quoted[4].data_type == "s"


def test_free_texts_are_in_the_order_a_vietnamese_reader_alphabetises(hr) -> None:  # type: ignore[no-untyped-def]
    """ "Ăn trưa" among the As and "đồng ý" among the Ds, not after "Zalo" (code points)."""
    survey = _survey(hr)
    nps, remote, comments = (q.id for q in survey.questions)
    given = ["Zalo nhanh hơn", "đồng ý", "Ăn trưa ngon", "bàn ghế", "Ổn định"]
    for n, text in enumerate(given):
        person = UserFactory(name=f"Respondent {n}", email=f"r{n}@example.com")
        surveys.answer(survey.id, {nps: 9, remote: 0, comments: text}, person)
    surveys.close_survey(survey.id, actor=hr)

    rows, _name, _data = _csv(survey.id, hr, locale="vi")

    texts = [r[4] for r in rows if r[2] == "Góp ý" and r[4]]  # the comments' free texts
    assert texts == ["Ăn trưa ngon", "bàn ghế", "đồng ý", "Ổn định", "Zalo nhanh hơn"]


def test_an_xlsx_opens_when_the_surveys_title_holds_a_line_break_pasted_from_word(hr) -> None:  # type: ignore[no-untyped-def]
    """Word's line break pastes as a vertical tab, which XML cannot hold: the workbook's
    title drops it, as its cells do, instead of making a file no spreadsheet opens."""
    survey, _people = _answered(hr)
    survey.title_vi, survey.title_en = "Khảo sát\x0bquý 4", "Pulse\x0bQ4"
    db.session.commit()

    body, _name = surveys_export.results_file(survey.id, "xlsx", actor=hr, locale="en")
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(body)))

    assert workbook.properties.title == "PulseQ4"
    assert workbook.active.cell(2, 1).value == "Everyone"
