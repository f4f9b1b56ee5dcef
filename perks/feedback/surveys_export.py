"""A closed survey's results as a file, CSV or XLSX, for HR (``results_file``).

The file holds what the results page shows for the same group (everyone, one department,
those who answered a question a way), computed by ``surveys.results`` with the same
refusals: nothing while the survey is open, nothing for a group (or a group it could be told
apart from) below the threshold. It is one figure per row (how many answered a question,
how many chose each answer, the average, the eNPS, each free text), so a spreadsheet sorts
and filters it.

Anonymity (SECURITY.md, Privacy): there is no row per response. One person's answers side by
side would let the reader cross any answer with any other and with the department, the
narrowing the results page refuses below the threshold. Free texts come one per row, apart
from their author's other answers, sorted alphabetically, so their order says nothing about
who answered when. No person, no response id, and no time but the survey's own days.

Text cells are neutralised against formula injection and the CSV is RFC 4180 quoted, by the
finance exports' writers (``perks.tabular``). Column names and labels are in the
downloader's language. Each download is audited (``survey.results_exported``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction

from flask_babel import force_locale
from flask_babel import gettext as _

from perks import audit
from perks.db import transaction
from perks.errors import NotFound
from perks.feedback import surveys
from perks.feedback.surveys import Results
from perks.folding import name_order
from perks.people.models import User
from perks.tabular import Number, csv_chunks, xlsx_chunks

FORMATS = ("csv", "xlsx")
MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: the columns holding text a person wrote (a department, a question, an option, a free text)
_TEXT_COLUMNS = (0, 2, 4)
_WIDTHS = (24, 10, 48, 14, 40, 10)

Row = tuple[str, int | None, str, str, str, int | Number | None]


def _header() -> list[str]:
    return [_("Group"), _("Question number"), _("Question"), _("Figure"), _("Answer"), _("Value")]


def _decimal(value: Fraction, places: int = 2) -> Number:
    """``value`` as decimal text with ``places`` decimals, rounded half away from zero."""
    scaled = surveys.rounded(value * 10**places)
    sign = "-" if scaled < 0 else ""
    whole, fraction = divmod(abs(scaled), 10**places)
    return Number(f"{sign}{whole}.{fraction:0{places}d}")


def _group(results: Results, locale: str) -> str:
    group = results.department.name if results.department is not None else _("Everyone")
    if results.segment:
        question_id, _sep, value = results.segment.partition(":")
        question = next(q for q in results.survey.questions if str(q.id) == question_id)
        label = dict(surveys.segment_choices(question, locale))[value]
        group = f"{group} · {question.text} — {label}"
    return group


def _rows(results: Results, locale: str) -> list[Row]:
    group = _group(results, locale)
    rows: list[Row] = [(group, None, "", _("Answers"), "", results.responses)]
    nps = surveys.nps_question(results.survey)
    if nps is not None and not results.department and not results.segment:
        # as on the page: each department shown, over the whole survey's answers
        rows.extend(
            (department.name, nps.position, nps.text, _("eNPS"), "", surveys.rounded(value))
            for department, value in results.department_enps
        )
    for item in results.questions:
        number, text = item.question.position, item.question.text
        if item.withheld:
            rows.append((group, number, text, _("Not shown for this group"), "", None))
        if item.answered is not None:
            rows.append((group, number, text, _("Answers"), "", item.answered))
        rows.extend((group, number, text, _("Chose"), label, n) for label, n in item.counts)
        if item.average is not None:
            rows.append((group, number, text, _("Average"), "", _decimal(item.average)))
        if item.enps is not None:
            rows.append((group, number, text, _("eNPS"), "", surveys.rounded(item.enps)))
        rows.extend(
            (group, number, text, _("Free text"), answer, None)
            for answer in sorted(item.texts, key=name_order)  # as a Vietnamese reader sorts
        )
    return rows


def file_name(survey_id: int, department_id: int | None, segment: str, file_format: str) -> str:
    """``survey-12-results.csv``, ``survey-12-results-department-3-5-promoters.xlsx``: ASCII
    only, safe in a header (the segment's characters are digits, letters and ``:``)."""
    parts = [f"survey-{survey_id}-results"]
    if department_id is not None:
        parts.append(f"department-{department_id}")
    if segment:
        parts.append(segment.replace(":", "-"))
    return "-".join(parts) + f".{file_format}"


def results_file(
    survey_id: int,
    file_format: str,
    *,
    department_id: int | None = None,
    segment: str = "",
    actor: User,
    locale: str,
) -> tuple[Iterator[bytes], str]:
    """The results of a closed survey (of one department, of those who answered a question
    a way) as a CSV or XLSX file in ``locale``, and its name; audited
    (``survey.results_exported``: the format, the group asked for, how many rows).

    Raises:
        NotFound: no such survey or segment, or a format other than csv and xlsx.
        StillOpen: the survey is not closed yet.
        NotEnoughAnswers: as ``surveys.results``.
    """
    if file_format not in FORMATS:
        raise NotFound()
    with force_locale(locale):
        results = surveys.results(survey_id, department_id=department_id, segment=segment)
        header, rows = _header(), _rows(results, locale)
        title, sheet_name = results.survey.title, _("Results")
    with transaction():
        audit.record(
            "survey.results_exported",
            actor=actor,
            target=results.survey,
            format=file_format,
            department_id=department_id,
            segment=segment,
            rows=len(rows),
        )
    batches: Sequence[Sequence[Row]] = [rows]
    if file_format == "csv":
        body = csv_chunks(header, batches, text_columns=_TEXT_COLUMNS)
    else:
        body = xlsx_chunks(header, batches, sheet_name=sheet_name, widths=_WIDTHS, title=title)
    return body, file_name(survey_id, department_id, segment, file_format)
