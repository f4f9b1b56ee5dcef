"""Surveys and eNPS: HR builds a survey, picks its audience, opens it, reminds and closes it;
people answer once, anonymously; HR reads results only for groups big enough.

Anonymity, in the database (``perks.feedback.surveys_models``):

* Who has answered (``SurveyParticipation``: survey, person) and what was answered
  (``SurveyResponse``: survey, random id, answers, maybe a department) share no key and no
  time. Answering writes no audit event, no notification and nothing else with a time.
* Insert order does not leak: in the one transaction that takes an answer (the survey's row
  locked, so answers to one survey queue), every response and every participation of the
  survey is deleted and written again in a shuffled order with new random ids. All rows of
  the survey then carry the same writing transaction (PostgreSQL ``xmin``) and their
  physical order is random; on SQLite both tables have no rowid.
* A response's department is sealed (``sealed_department``: encrypted with a key drawn
  from ``SECRET_KEY``, a new nonce at every rewrite) until at least ``threshold`` responses
  of that department are in; from then on every response of it shows the department in
  plain. A response without a department is sealed as well, so that it does not stand out.
  At close, the seals left are dropped: those departments never show. So any department on
  a response has at least ``threshold`` answers, which responses show one does not depend on
  the order people answered in, and a department's results count all its answers.
* Residual risk, stated: someone who copies the database between two answers sees which
  response is new (as they would see which participation is new), and so may a superuser
  reading old row versions page by page before vacuum, or the WAL. Someone who also has
  ``SECRET_KEY`` can open the seals of an open survey. A free text may name its author; HR
  reads texts in random order and without names, nothing more.

Results (``results``) are computed only once the survey is closed (while it is open, the
results read before and after one more answer would differ by exactly that answer), and
only for a group with at least ``threshold`` answers
(``SURVEY_MIN_RESPONSES``, default 5, never below 3). Every figure shown is computed over a
union of cells of one partition (departments shown, the rest; and, with a filter on an
answer, each way its question was answered: a 0–10 question's bands, a choice's options, the
very options ticked together, no answer) in which every cell has 0 or at least ``threshold``
answers (two filters of one question, each big enough, less everyone were the one passive): a
department with too few answers is folded into "other departments", and so is the smallest
shown one while "other departments" would have between 1 and ``threshold - 1``; a filter is
refused when any cell would be small. So no difference of two figures shown describes fewer
than ``threshold`` people. Under a filter, a question's figures cross two answers of the
same people; they show only as ``_withhold_what_crosses_too_few`` allows. No free text shows
under a filter: the texts two filters both show are those of the people in both, however
few (texts show for everyone and for a department: departments do not overlap).

eNPS: of a survey's first 0–10 question, promoters (9–10) minus detractors (0–6) as a
percentage of its answers (an exact fraction; shown rounded half away from zero).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import secrets
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, insert, select

from perks import audit, sent_once
from perks.catalog import eligibility
from perks.catalog.claims import company_today
from perks.db import locked, transaction
from perks.errors import Conflict, NotFound, ValidationFailed
from perks.extensions import db
from perks.feedback.surveys_models import (
    QuestionKind,
    Survey,
    SurveyParticipation,
    SurveyQuestion,
    SurveyResponse,
    SurveyState,
)
from perks.fingerprints import fingerprint
from perks.folding import name_key, name_order, names_in_order
from perks.i18n import day_start, format_number
from perks.notifications import both, link, notify
from perks.notifications import queries as notifications
from perks.people.models import Department, EmploymentType, User, roles_if_asked
from perks.recognition.services import both_languages
from perks.text import trim

#: the smallest threshold a setting may ask for
THRESHOLD_FLOOR = 3
MAX_TEXT = 2000
MAX_OPTIONS = 20
_shuffle = random.SystemRandom().shuffle
_BOTH = _l("Write it in both languages.")


def threshold() -> int:
    """The fewest answers a group needs before anything about it shows."""
    return max(THRESHOLD_FLOOR, int(current_app.config.get("SURVEY_MIN_RESPONSES", 5)))


class NotEnoughAnswers(Conflict):
    """A group asked for has too few answers to show anything about it."""

    default_message = _l("Too few answers to show this group without risking anonymity.")


class StillOpen(NotEnoughAnswers):
    """The survey still takes answers: results read before and after one more answer would
    differ by exactly that answer (its free text too), so none show until it is closed."""

    default_message = _l(
        "Results show once the survey is closed: while answers still come in, comparing"
        " the results before and after one answer would show that answer."
    )


class SurveyClosed(Conflict):
    """The survey asked for takes no more answers."""

    default_message = _l("This survey is closed: it takes no more answers.")


class NoLongerAsked(Conflict):
    """A survey the person was reminded of, whose audience no longer takes them in (another
    department, place or contract since)."""

    default_message = _l(
        "This survey is no longer for you: you are not among the people it asks now."
    )


# --- building -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyData:
    title_vi: str
    title_en: str
    intro_vi: str = ""
    intro_en: str = ""
    department_ids: tuple[int, ...] = ()
    locations: tuple[str, ...] = ()
    employment_types: tuple[str, ...] = ()
    min_tenure_days: int = 0


@dataclass(frozen=True)
class QuestionData:
    kind: QuestionKind
    text_vi: str
    text_en: str
    #: choices only: (vi, en) pairs
    options: tuple[tuple[str, str], ...] = ()


def _described(survey: Survey) -> dict[str, object]:
    return {
        "title_vi": survey.title_vi,
        "title_en": survey.title_en,
        "intro_vi": survey.intro_vi,
        "intro_en": survey.intro_en,
        "departments": [d.id for d in survey.departments],
        "locations": list(survey.locations),
        "employment_types": list(survey.employment_types),
        "min_tenure_days": survey.min_tenure_days,
    }


def _apply(survey: Survey, data: SurveyData) -> None:
    survey.title_vi, survey.title_en = both_languages(data.title_vi, data.title_en, "title", _BOTH)
    survey.intro_vi, survey.intro_en = data.intro_vi.strip(), data.intro_en.strip()
    if any(t not in {e.value for e in EmploymentType} for t in data.employment_types):
        raise ValidationFailed(str(_l("Choose known employment types.")), field="employment_types")
    if data.min_tenure_days < 0:
        raise ValidationFailed(str(_l("Tenure cannot be negative.")), field="min_tenure_days")
    departments = list(
        db.session.scalars(select(Department).where(Department.id.in_(data.department_ids)))
    )
    if len(departments) != len(set(data.department_ids)):
        raise ValidationFailed(str(_l("No such department.")), field="department_ids")
    survey.departments = departments
    survey.locations = names_in_order(data.locations)
    survey.employment_types = list(data.employment_types)
    survey.min_tenure_days = data.min_tenure_days


def get_survey(survey_id: int) -> Survey:
    """Raises NotFound: no such survey."""
    survey = db.session.get(Survey, survey_id)
    if survey is None:
        raise NotFound()
    return survey


def surveys() -> list[Survey]:
    """Every survey, newest first."""
    return list(db.session.scalars(select(Survey).order_by(Survey.id.desc())))


def get_draft(survey_id: int) -> Survey:
    """Raises NotFound: no such survey; Conflict: it is no longer a draft."""
    survey = get_survey(survey_id)
    if survey.state is not SurveyState.DRAFT:
        raise Conflict(str(_l("Only a draft survey can be changed.")))
    return survey


def _locked_draft(survey_id: int) -> Survey:
    """The draft, its row locked until the transaction ends (saves, moves, deletion and
    opening take turns), read again under the lock.

    Raises:
        NotFound: no such survey.  Conflict: it is no longer a draft.
    """
    survey = locked(Survey, survey_id)
    if survey is None:
        raise NotFound()
    if survey.state is not SurveyState.DRAFT:
        raise Conflict(str(_l("Only a draft survey can be changed.")))
    return survey


def create_survey(data: SurveyData, *, actor: User, sending: str | None = None) -> Survey:
    """A new draft survey (``survey.created``).

    Raises:
        ValidationFailed: a title missing in one language, an unknown department or
            employment type, a negative tenure.
    """
    with transaction():
        if (earlier := sent_once.made_before(Survey, sending, actor)) is not None:
            return earlier
        survey = Survey(created_by_id=actor.id)
        _apply(survey, data)
        db.session.add(survey)
        db.session.flush()
        sent_once.remember(sending, survey, actor)
        audit.record("survey.created", actor=actor, target=survey, **_described(survey))
    return survey


def shown_fingerprint(survey: Survey) -> str:
    """The fingerprint (``perks.fingerprints``) of what a survey's edit page shows of it: its
    titles, introductions and audience. The form sends it back, and ``update_survey`` refuses
    a save when it no longer matches. Raises nothing."""
    return fingerprint({**_described(survey), "departments": {d.id for d in survey.departments}})


def update_survey(
    survey_id: int, data: SurveyData, *, actor: User, shown: str | None = None
) -> Survey:
    """Change a draft survey (``survey.changed``).

    ``shown`` is the ``shown_fingerprint`` of the survey as the page showed it: a page opened
    before another HR person saved the survey must not overwrite their change unseen.
    ``None`` checks nothing. Saves take turns (the row is locked).

    Raises:
        NotFound: no such survey.  Conflict: it is no longer a draft.
        ValidationFailed: as ``create_survey``.
        ChangedMeanwhile: the survey is no longer what the page showed; nothing is saved.
    """
    with transaction():
        survey = _locked_draft(survey_id)
        db.session.expire(survey, ["departments"])  # as they are under the lock
        if shown is not None and shown != shown_fingerprint(survey):
            raise audit.changed_meanwhile(survey, "survey.changed")
        before = _described(survey)
        _apply(survey, data)
        db.session.flush()
        changes = audit.changes(before, _described(survey))
        if changes:
            audit.record("survey.changed", actor=actor, target=survey, changes=changes)
    return survey


def add_question(survey_id: int, data: QuestionData, *, actor: User) -> SurveyQuestion:
    """Add a question at the end of a draft survey (``survey.question_added``).

    Raises:
        NotFound: no such survey.  Conflict: not a draft.
        ValidationFailed: text missing in one language; a choice question with fewer than
            two options, an option missing in one language, or two options that read the
            same in one language (any case, any spacing).
    """
    text_vi, text_en = both_languages(data.text_vi, data.text_en, "text", _BOTH)
    options: list[list[str]] = []
    if data.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        options = [list(both_languages(vi, en, "options", _BOTH)) for vi, en in data.options]
        if not 2 <= len(options) <= MAX_OPTIONS:
            raise ValidationFailed(
                str(_l("Give between 2 and %(count)d options.", count=MAX_OPTIONS)),
                field="options_vi",
            )
        for index, language in ((0, "vi"), (1, "en")):
            # two options that read the same: two identical buttons, two results' rows
            if len({_option_key(pair[index]) for pair in options}) < len(options):
                raise ValidationFailed(
                    str(
                        _l("Two options read the same: make each one different, in both languages.")
                    ),
                    field=f"options_{language}",
                )
    with transaction():
        survey = _locked_draft(survey_id)
        question = SurveyQuestion(
            kind=data.kind,
            text_vi=text_vi,
            text_en=text_en,
            options=options,
            position=len(survey.questions) + 1,
        )
        survey.questions.append(question)
        db.session.flush()
        audit.record(
            "survey.question_added",
            actor=actor,
            target=survey,
            question=text_en,
            kind=data.kind.value,
        )
    return question


def _option_key(label: str) -> str:
    """What two options that read the same share: any case, any spacing."""
    return name_key(" ".join(label.split()))


def remove_question(survey_id: int, question_id: int, *, actor: User) -> None:
    """Remove a question of a draft survey (``survey.question_removed``).

    Raises:
        NotFound: no such survey or question.  Conflict: not a draft.
    """
    with transaction():
        survey = _locked_draft(survey_id)
        question = next((q for q in survey.questions if q.id == question_id), None)
        if question is None:
            raise NotFound()
        survey.questions.remove(question)
        for position, other in enumerate(survey.questions, start=1):
            other.position = position
        audit.record(
            "survey.question_removed", actor=actor, target=survey, question=question.text_en
        )


def move_question(survey_id: int, question_id: int, offset: int, *, actor: User) -> bool:
    """Move a question of a draft survey ``offset`` places (−1: one up, +1: one down)
    (``survey.question_moved``, with the questions' new order). Positions are numbered
    1, 2, 3... in the order shown again, as ``remove_question`` does. Moving the first
    question up or the last down changes nothing and records nothing. Returns whether it
    moved.

    Raises:
        NotFound: no such survey or question.  Conflict: not a draft.
    """
    with transaction():
        # the survey's row locked: two moves at once each see the other's order
        survey = _locked_draft(survey_id)
        ordered = list(survey.questions)
        index = next((i for i, q in enumerate(ordered) if q.id == question_id), None)
        if index is None:
            raise NotFound()
        target = max(0, min(len(ordered) - 1, index + offset))
        if target == index:
            return False
        question = ordered.pop(index)
        ordered.insert(target, question)
        for position, other in enumerate(ordered, start=1):
            other.position = position
        survey.questions.sort(key=lambda q: q.position)
        audit.record(
            "survey.question_moved",
            actor=actor,
            target=survey,
            question=question.text_en,
            position=target + 1,
        )
    return True


def delete_draft(survey_id: int, *, actor: User) -> str:
    """Delete a draft made by mistake, with its questions (``survey.deleted``, with what it
    said). Nobody was asked anything yet: a survey once opened is never deleted. Returns its
    title, in the reader's language.

    Raises:
        NotFound: no such survey.  Conflict: not a draft (opened meanwhile).
    """
    with transaction():
        survey = _locked_draft(survey_id)  # opened at the same moment: one of the two waits
        title = survey.title
        audit.record(
            "survey.deleted",
            actor=actor,
            target=survey,
            **_described(survey),
            questions=[question.text_en for question in survey.questions],
        )
        db.session.delete(survey)
    return title


def open_survey(survey_id: int, *, actor: User) -> Survey:
    """Open a draft survey for answers (``survey.opened``).

    Raises:
        NotFound: no such survey.  Conflict: not a draft, it has no question, or nobody
            active is in its audience today.
    """
    with transaction():
        survey = _locked_draft(survey_id)
        if not survey.questions:
            raise Conflict(str(_l("Add a question first.")))
        if not audience(survey, company_today()):
            raise Conflict(
                str(_l("Nobody is in this survey's audience: widen it before opening it."))
            )
        survey.state, survey.opened_on = SurveyState.OPEN, company_today()
        audit.record("survey.opened", actor=actor, target=survey)
    return survey


def close_survey(survey_id: int, *, actor: User) -> Survey:
    """Close an open survey for good (``survey.closed``, with the ``people`` its audience
    held that day: ``audience_size`` reads them back).

    Raises:
        NotFound: no such survey.  Conflict: it is not open.
    """
    with transaction():
        survey = locked(Survey, survey_id)  # answers to it wait, then find it closed
        if survey is None:
            raise NotFound()
        if survey.state is not SurveyState.OPEN:
            raise Conflict(str(_l("Only an open survey can be closed.")))
        survey.state, survey.closed_on = SurveyState.CLOSED, company_today()
        _reshuffle(survey.id, _answered_ids(survey.id), closing=True)
        people = len(audience(survey, survey.closed_on))
        audit.record("survey.closed", actor=actor, target=survey, people=people)
    return survey


# --- audience and answering -----------------------------------------------------------------


def in_audience(survey: Survey, person: User, on: date) -> bool:
    """Whether ``person`` (active) is one the survey is for: the perk eligibility rules."""
    return person.active and not eligibility.audience_reasons(survey, person, on)


def audience(survey: Survey, on: date) -> list[User]:
    """The active people the survey is for. One query."""
    people = db.session.scalars(
        select(User).where(User.active.is_(True)).order_by(User.id).options(roles_if_asked())
    )
    return [p for p in people if in_audience(survey, p, on)]


def audience_size(survey: Survey, on: date) -> int:
    """How many people the survey asks: its audience on ``on`` while it is a draft or open;
    once closed, its audience on the day it closed (recorded in ``survey.closed``), not
    today's people (hired or gone since). A survey closed before that was recorded: its
    audience on ``on``. Raises nothing."""
    if survey.state is SurveyState.CLOSED:
        closed = db.session.scalar(
            select(audit.AuditEvent.details)
            .where(
                audit.AuditEvent.action == "survey.closed",
                audit.AuditEvent.target_type == "Survey",
                audit.AuditEvent.target_id == str(survey.id),
            )
            .order_by(audit.AuditEvent.id.desc())
            .limit(1)
        )
        if closed and isinstance(closed.get("people"), int):
            return int(closed["people"])
    return len(audience(survey, on))


def _answered_ids(survey_id: int) -> set[int]:
    return set(
        db.session.scalars(
            select(SurveyParticipation.user_id).where(SurveyParticipation.survey_id == survey_id)
        )
    )


def answered_count(survey_id: int) -> int:
    return len(_answered_ids(survey_id))


def has_answered(survey_id: int, person: User) -> bool:
    return (
        db.session.get(SurveyParticipation, {"survey_id": survey_id, "user_id": person.id})
        is not None
    )


def open_surveys_for(person: User) -> list[tuple[Survey, bool]]:
    """The open surveys ``person`` is in the audience of, each with whether they answered."""
    today = company_today()
    found = db.session.scalars(
        select(Survey).where(Survey.state == SurveyState.OPEN).order_by(Survey.id.desc())
    )
    mine = [s for s in found if in_audience(s, person, today)]
    answered = set(
        db.session.scalars(
            select(SurveyParticipation.survey_id).where(SurveyParticipation.user_id == person.id)
        )
    )
    return [(s, s.id in answered) for s in mine]


def survey_to_answer(survey_id: int, person: User) -> Survey:
    """The open survey ``person`` may answer.

    Raises:
        NotFound: no such open survey, or ``person`` is not in its audience.
        SurveyClosed: it was open and is closed now (a reminder's link outlives it); said
            only to a person of its audience.
        NoLongerAsked: the person was reminded of it, and is no longer of its audience.
    """
    survey = db.session.get(Survey, survey_id)
    if survey is None or survey.state is SurveyState.DRAFT:
        raise NotFound()
    if not in_audience(survey, person, company_today()):
        # a reminder's link says why it no longer opens; nobody else learns of the survey
        if notifications.was_told(person.id, "survey_reminder", survey_id=survey.id):
            raise NoLongerAsked()
        raise NotFound()
    if survey.state is not SurveyState.OPEN:
        raise SurveyClosed()
    return survey


def _clean_answer(question: SurveyQuestion, value: object) -> object | None:
    """The stored form of one answer, or None for no answer."""
    if value is None or value == "" or value == []:
        return None
    kind = question.kind
    try:
        if kind is QuestionKind.TEXT:
            text = trim(str(value))  # spaces and zero-width characters alone: no answer
            if len(text) > MAX_TEXT:
                raise ValidationFailed(
                    str(_l("At most %(count)s characters.", count=format_number(MAX_TEXT))),
                    field=f"q{question.id}",
                )
            return text or None
        if kind is QuestionKind.MULTIPLE:
            values = value if isinstance(value, list | tuple) else [value]
            picked = sorted({int(str(v)) for v in values})
            if any(not 0 <= v < len(question.options) for v in picked):
                raise ValueError
            return picked
        number = int(str(value))
    except (TypeError, ValueError):
        raise ValidationFailed(
            str(_l("Choose one of the answers.")), field=f"q{question.id}"
        ) from None
    low, high = {
        QuestionKind.NPS: (0, 10),
        QuestionKind.SCALE: (1, 5),
        QuestionKind.SINGLE: (0, len(question.options) - 1),
    }[kind]
    if not low <= number <= high:
        raise ValidationFailed(str(_l("Choose one of the answers.")), field=f"q{question.id}")
    return number


def answer(survey_id: int, answers: Mapping[int, object], person: User) -> None:
    """Record ``person``'s answers (question id -> value) anonymously: that they answered,
    and, apart, what (see the module's docstring). No audit event, by design.

    Raises:
        NotFound: no such open survey, or ``person`` is not in its audience.
        SurveyClosed: it is closed.
        Conflict: ``person`` has answered it already.
        ValidationFailed: an answer out of range (``field="q<question id>"``), or no answer.
    """
    with transaction():
        survey = locked(Survey, survey_id)
        if survey is None:
            raise NotFound()
        survey_to_answer(survey.id, person)
        stored: dict[str, object] = {}
        for question in survey.questions:
            value = _clean_answer(question, answers.get(question.id))
            if value is not None:
                stored[str(question.id)] = value
        if not stored:
            raise ValidationFailed(str(_l("Answer at least one question.")))
        participants = _answered_ids(survey.id)
        if person.id in participants:
            raise Conflict(str(_l("You have answered this survey already.")))
        participants.add(person.id)
        waiting = _Waiting(person.department_id, stored)
        _reshuffle(survey.id, participants, new=waiting)


# --- a department kept only once enough of it answered ---------------------------------------
#
# A response's department is sealed (AES-GCM, a key drawn from ``SECRET_KEY``, a new random
# nonce at every rewrite, the survey's id bound in, the text padded to one length) until at
# least ``threshold`` responses of that department are in; then every response of it shows
# the department in plain. A response without a department is sealed too, so that no response
# stands out by having no seal. At close, the seals left (departments that never had enough)
# are dropped. Which responses show a department therefore does not depend on the order
# people answered in, and a department's results count all its answers.

_SEAL_INFO = b"perks.feedback.surveys: a response's department"
_SEAL_WIDTH = 16
_NONCE = 12


@dataclass(frozen=True)
class _Waiting:
    """A response whose department is still sealed: the department (None: none)."""

    department_id: int | None
    answers: Mapping[str, object]


def _sealing_keys() -> tuple[AESGCM, ...]:
    """The key to seal with first, then those of ``SECRET_KEY_FALLBACKS`` (seals made
    before the secret was rotated still open)."""
    config = current_app.config
    return _keys_for(
        (str(config["SECRET_KEY"]), *map(str, config.get("SECRET_KEY_FALLBACKS") or ()))
    )


@lru_cache(maxsize=4)
def _keys_for(secrets_in_use: tuple[str, ...]) -> tuple[AESGCM, ...]:
    # Made once per set of secrets: an answer opens and seals again every waiting response.
    return tuple(
        AESGCM(hmac.new(secret.encode(), _SEAL_INFO, hashlib.sha256).digest())
        for secret in secrets_in_use
        if secret
    )


def _seal(department_id: int | None, survey_id: int) -> str:
    text = ("" if department_id is None else str(department_id)).rjust(_SEAL_WIDTH).encode()
    nonce = secrets.token_bytes(_NONCE)
    sealed = _sealing_keys()[0].encrypt(nonce, text, str(survey_id).encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def _unseal(sealed: str, survey_id: int) -> int | None:
    """The department sealed in ``sealed``; None for none, or for a seal no key in use
    opens (a ``SECRET_KEY`` changed without keeping the old one as a fallback)."""
    raw = base64.urlsafe_b64decode(sealed.encode())
    for key in _sealing_keys():
        try:
            text = key.decrypt(raw[:_NONCE], raw[_NONCE:], str(survey_id).encode()).decode()
        except InvalidTag:
            continue
        return int(text) if text.strip() else None
    return None


def _reshuffle(
    survey_id: int, participants: set[int], *, new: _Waiting | None = None, closing: bool = False
) -> None:
    """Write the survey's responses (with ``new``) and participations again, shuffled, with
    new random ids and new seals: no row's place, id, seal or writing transaction tells when
    it came. A department with at least ``threshold`` responses shows on all of them; the
    others stay sealed, or, ``closing``, lose their seal for good."""
    kept: list[dict[str, object]] = []
    waiting: list[_Waiting] = []
    for department_id, sealed, answers in db.session.execute(
        select(
            SurveyResponse.department_id, SurveyResponse.sealed_department, SurveyResponse.answers
        ).where(SurveyResponse.survey_id == survey_id)
    ):
        if sealed is None:
            kept.append({"department_id": department_id, "answers": answers})
        else:
            waiting.append(_Waiting(_unseal(sealed, survey_id), answers))
    if new is not None:
        waiting.append(new)
    responses = Counter(row["department_id"] for row in kept if row["department_id"])
    responses.update(w.department_id for w in waiting if w.department_id is not None)
    enough = {d for d, n in responses.items() if n >= threshold()}
    if enough:  # a department removed since it was sealed names nothing
        enough &= set(db.session.scalars(select(Department.id).where(Department.id.in_(enough))))
    rows = list(kept)
    for response in waiting:
        row: dict[str, object] = {"department_id": None, "answers": response.answers}
        if response.department_id in enough:
            row["department_id"] = response.department_id
        elif not closing:
            row["sealed_department"] = _seal(response.department_id, survey_id)
        rows.append(row)
    _shuffle(rows)
    people = list(participants)
    _shuffle(people)
    db.session.execute(delete(SurveyResponse).where(SurveyResponse.survey_id == survey_id))
    db.session.execute(
        delete(SurveyParticipation).where(SurveyParticipation.survey_id == survey_id)
    )
    if rows:  # none: a survey closed without an answer
        db.session.execute(
            insert(SurveyResponse),
            [
                {"id": secrets.token_hex(16), "survey_id": survey_id, "sealed_department": None}
                | row
                for row in rows
            ],
        )
    if people:
        db.session.execute(
            insert(SurveyParticipation), [{"survey_id": survey_id, "user_id": p} for p in people]
        )


def remind(survey_id: int, *, actor: User) -> int:
    """Tell every person of the audience who has not answered that the survey waits for
    them (notification ``survey_reminder``; ``survey.reminded``), once a company day at most.
    Returns how many.

    Raises:
        NotFound: no such survey.  Conflict: it is not open, or it was reminded today (a
            second press, or a double click, told everyone twice).
    """
    with transaction():
        survey = locked(Survey, survey_id)
        if survey is None:
            raise NotFound()
        if survey.state is not SurveyState.OPEN:
            raise Conflict(str(_l("Only an open survey takes reminders.")))
        reminded_today = db.session.scalar(
            select(audit.AuditEvent.id)
            .where(
                audit.AuditEvent.action == "survey.reminded",
                audit.AuditEvent.target_type == "Survey",
                audit.AuditEvent.target_id == str(survey.id),
                audit.AuditEvent.created_at >= day_start(company_today()),
            )
            .limit(1)
        )
        if reminded_today is not None:
            raise Conflict(
                str(_l("Everyone who has not answered was reminded today: remind them tomorrow."))
            )
        answered = _answered_ids(survey.id)
        waiting = [p for p in audience(survey, company_today()) if p.id not in answered]
        for person in waiting:
            notify(
                person,
                "survey_reminder",
                {"survey": both(survey, "title")},
                url=link("surveys.answer", survey_id=survey.id),
            )
        audit.record("survey.reminded", actor=actor, target=survey, people=len(waiting))
    return len(waiting)


# --- results --------------------------------------------------------------------------------


def enps(scores: Sequence[int]) -> Fraction | None:
    """Promoters (9–10) minus detractors (0–6), in % of ``scores``; None without scores."""
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return Fraction(100 * (promoters - detractors), len(scores))


def rounded(value: Fraction) -> int:
    """Half away from zero."""
    whole = (abs(value.numerator) * 2 + value.denominator) // (2 * value.denominator)
    return whole if value >= 0 else -whole


def nps_question(survey: Survey) -> SurveyQuestion | None:
    return next((q for q in survey.questions if q.kind is QuestionKind.NPS), None)


@dataclass
class QuestionResult:
    question: SurveyQuestion
    #: how many answered it (None: withheld, see ``withheld``)
    answered: int | None = 0
    #: (label, count) in the question's order
    counts: list[tuple[str, int]] = field(default_factory=list)
    average: Fraction | None = None
    enps: Fraction | None = None
    #: free texts, shuffled
    texts: list[str] = field(default_factory=list)
    #: under a filter, the counts (and, with too few answers, every figure) are not shown:
    #: they would describe between 1 and ``threshold - 1`` people, in the group or the rest
    withheld: bool = False


@dataclass
class Results:
    survey: Survey
    responses: int
    questions: list[QuestionResult]
    #: departments HR may look at on their own (each with enough answers), with their count
    departments: list[tuple[Department, int]]
    department: Department | None = None
    segment: str = ""
    #: eNPS of each department shown (the whole survey's answers, whatever the filters)
    department_enps: list[tuple[Department, Fraction]] = field(default_factory=list)


Response = tuple[int | None, Mapping[str, object]]


def _responses(survey_id: int) -> list[Response]:
    return [
        (department_id, answers)
        for department_id, answers in db.session.execute(
            select(SurveyResponse.department_id, SurveyResponse.answers).where(
                SurveyResponse.survey_id == survey_id
            )
        )
    ]


def _small(count: int) -> bool:
    return 0 < count < threshold()


def shown_departments(responses: Sequence[Response]) -> dict[int, int]:
    """Department id -> answers, for the departments that may show on their own: each has
    enough answers, and so has the rest (or it is empty)."""
    counts = Counter(d for d, _ in responses if d is not None)
    shown = {d: n for d, n in counts.items() if n >= threshold()}
    while shown and _small(len(responses) - sum(shown.values())):
        del shown[min(shown, key=lambda d: (shown[d], d))]
    return shown


@dataclass(frozen=True)
class _Segment:
    """Those who answered ``question`` a way: ``matches`` tells whether answers are theirs;
    ``way`` tells how answers answered ``question`` (a 0–10 question's band, a choice's
    option, the very options of a several-choices question, None: not answered), the
    partition every segment of ``question`` is a union of."""

    question: SurveyQuestion
    matches: Callable[[Mapping[str, object]], bool]
    way: Callable[[Mapping[str, object]], object]


def _segment(survey: Survey, segment: str) -> _Segment | None:
    """``"<question id>:<option index>"`` for a choice, ``"<id>:promoters|passives|
    detractors"`` for a 0–10 question. Raises NotFound: no such question or value."""
    if not segment:
        return None
    # only as ``segment_choices`` writes it: "02:00" or "2:²" would pass ``int`` or
    # ``isdigit`` here and meet a KeyError where the file names the group
    question_id, _sep, value = segment.partition(":")
    question = next((q for q in survey.questions if str(q.id) == question_id), None)
    if question is None or value not in {v for v, _label in segment_choices(question, "en")}:
        raise NotFound()
    key = str(question.id)
    if question.kind is QuestionKind.NPS:
        bands = {"promoters": (9, 10), "passives": (7, 8), "detractors": (0, 6)}
        low, high = bands[value]

        def band(a: Mapping[str, object]) -> str | None:
            score = a.get(key)
            if not isinstance(score, int):
                return None
            return next(name for name, (lo, hi) in bands.items() if lo <= score <= hi)

        return _Segment(
            question,
            lambda a: isinstance(a.get(key), int) and low <= a[key] <= high,  # type: ignore[operator]
            band,
        )
    option = int(value)  # a choice's option (``segment_choices``)
    return _Segment(
        question,
        lambda a: (
            a.get(key) == option or (isinstance(a.get(key), list) and option in a[key])  # type: ignore[operator]
        ),
        lambda a: tuple(a[key]) if isinstance(a.get(key), list) else a.get(key),  # type: ignore[arg-type]
    )


def segment_choices(question: SurveyQuestion, locale: str) -> list[tuple[str, str]]:
    """The ways ``question`` splits those who answered it (the ``<value>`` of a segment
    ``"<question id>:<value>"``), each with its label in ``locale``: a 0–10 question's
    bands, a choice's options; none for the others."""
    if question.kind is QuestionKind.NPS:
        return [
            ("promoters", str(_l("promoters (9–10)"))),
            ("passives", str(_l("passives (7–8)"))),
            ("detractors", str(_l("detractors (0–6)"))),
        ]
    if question.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        return [(str(i), text) for i, text in enumerate(question.option_labels(locale))]
    return []


def results(survey_id: int, *, department_id: int | None = None, segment: str = "") -> Results:
    """The results of a survey, of one department, of those who answered a question a way
    (``segment``), or both.

    Raises:
        NotFound: no such survey, or no such segment.
        StillOpen: the survey is not closed yet.
        NotEnoughAnswers: the group, or a group it could be told apart from, has fewer
            answers than the threshold (1 to threshold - 1).
    """
    survey = get_survey(survey_id)
    if survey.state is not SurveyState.CLOSED:
        raise StillOpen()
    responses = _responses(survey.id)
    if len(responses) < threshold():
        raise NotEnoughAnswers()
    shown = shown_departments(responses)

    def bucket(d: int | None) -> int | None:
        return d if d in shown else None

    group = responses
    department = None
    if department_id is not None:
        if department_id not in shown:
            raise NotEnoughAnswers()
        department = db.session.get(Department, department_id)
        group = [r for r in group if r[0] == department_id]
    filtered = _segment(survey, segment)
    rest: list[Response] = []
    if filtered is not None:
        # every cell of (departments shown + the rest) x (each way the question was answered)
        # is 0 or enough: not only "matches / does not", or two filters of one question
        # (promoters, detractors) would each be big enough while everyone less both was the
        # one passive; and several choices ticked together are a way of their own
        cells = Counter((bucket(d), filtered.way(a)) for d, a in responses)
        if any(_small(n) for n in cells.values()):
            raise NotEnoughAnswers()
        rest = [r for r in group if not filtered.matches(r[1])]
        group = [r for r in group if filtered.matches(r[1])]
    if len(group) < threshold():
        raise NotEnoughAnswers()
    departments = _alphabetised(shown)
    questions = [_question_result(q, [a for _, a in group]) for q in survey.questions]
    if filtered is not None:
        for item in questions:
            own = item.question.id == filtered.question.id
            if not own or item.question.kind is QuestionKind.MULTIPLE:
                _withhold_what_crosses_too_few(item, [a for _, a in rest])
            if item.question.kind is QuestionKind.TEXT:
                # texts are read one by one: those two filters both show (remote workers',
                # promoters') are the few remote promoters', however big each filter is
                item.texts, item.withheld = [], True
    return Results(
        survey=survey,
        responses=len(group),
        questions=questions,
        departments=departments,
        department=department,
        segment=segment,
        department_enps=_department_enps(survey, responses, [d for d, _n in departments]),
    )


def _withhold_what_crosses_too_few(
    item: QuestionResult, rest: Sequence[Mapping[str, object]]
) -> None:
    """Under a filter, a question's figures cross two answers of the same people: with one
    person who answered "remote: yes", "of the detractors, 1 works remotely" tells that
    person's score. So ``item``'s counts show only when every count, in the group and in
    the rest it is told apart from (``rest``, the same scope's other answers), is 0 or at
    least ``threshold``; how many answered it, its average, eNPS and texts only when it has
    0 or enough answers in both. The filter's own question crosses nothing (its counts are
    those of the whole scope), unless several of its options may be chosen at once.
    """
    other = _question_result(item.question, rest)
    if any(_small(n or 0) for n in (item.answered, other.answered)):
        item.answered, item.counts, item.average, item.enps, item.texts = None, [], None, None, []
        item.withheld = True
    elif any(_small(n) for _label, n in [*item.counts, *other.counts]):
        item.counts = []
        item.withheld = True


def _alphabetised(shown: Mapping[int, int]) -> list[tuple[Department, int]]:
    """The departments of ``shown`` (department id -> answers), with their answers, in
    alphabetical order. One statement."""
    found = db.session.scalars(select(Department).where(Department.id.in_(shown)))
    return sorted(
        ((d, shown[d.id]) for d in found), key=lambda pair: (name_order(pair[0].name), pair[0].id)
    )


def _department_enps(
    survey: Survey, responses: Sequence[Response], departments: Sequence[Department]
) -> list[tuple[Department, Fraction]]:
    """The eNPS of each of ``departments`` with enough scores, in their order."""
    question = nps_question(survey)
    if question is None:
        return []
    key = str(question.id)
    found = []
    for department in departments:
        scores = [int(str(a[key])) for d, a in responses if d == department.id and key in a]
        value = enps(scores)
        if value is not None and len(scores) >= threshold():
            found.append((department, value))
    return found


def _question_result(
    question: SurveyQuestion, answers: Sequence[Mapping[str, object]]
) -> QuestionResult:
    from flask_babel import get_locale

    key = str(question.id)
    given = [a[key] for a in answers if key in a]
    result = QuestionResult(question, answered=len(given))
    if question.kind in (QuestionKind.NPS, QuestionKind.SCALE):
        scores = [int(v) for v in given]  # type: ignore[call-overload]
        low = 0 if question.kind is QuestionKind.NPS else 1
        high = 10 if question.kind is QuestionKind.NPS else 5
        tally = Counter(scores)
        result.counts = [(str(n), tally[n]) for n in range(low, high + 1)]
        if scores:
            result.average = Fraction(sum(scores), len(scores))
        if question.kind is QuestionKind.NPS:
            result.enps = enps(scores)
    elif question.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        tally = Counter()
        for value in given:
            tally.update(value if isinstance(value, list) else [value])
        labels = question.option_labels(str(get_locale() or "vi"))
        result.counts = [(label, tally[i]) for i, label in enumerate(labels)]
    else:
        result.texts = [str(v) for v in given]
        _shuffle(result.texts)
    return result


@dataclass(frozen=True)
class EnpsPoint:
    survey: Survey
    responses: int
    enps: Fraction


def enps_trend() -> list[EnpsPoint]:
    """eNPS of every closed survey with a 0–10 question and enough answers to it, oldest
    first (an open survey's would change by one answer at a time)."""
    points: list[EnpsPoint] = []
    opened = [
        (survey, question)
        for survey in db.session.scalars(
            select(Survey)
            .where(Survey.state == SurveyState.CLOSED)
            .order_by(Survey.opened_on, Survey.id)
        )
        if (question := nps_question(survey)) is not None
    ]
    scores: dict[int, list[int]] = {survey.id: [] for survey, _q in opened}
    for survey_id, answers in db.session.execute(
        select(SurveyResponse.survey_id, SurveyResponse.answers).where(
            SurveyResponse.survey_id.in_(scores)
        )
    ):
        question = next(q for s, q in opened if s.id == survey_id)
        if str(question.id) in answers:
            scores[survey_id].append(int(str(answers[str(question.id)])))
    for survey, _q in opened:
        value = enps(scores[survey.id])
        if value is not None and len(scores[survey.id]) >= threshold():
            points.append(EnpsPoint(survey, len(scores[survey.id]), value))
    return points


def shown_departments_of(survey_id: int) -> list[tuple[Department, int]]:
    """The departments whose results HR may open, with their answers (none below the
    threshold); none while the survey is not closed."""
    if get_survey(survey_id).state is not SurveyState.CLOSED:
        return []
    responses = _responses(survey_id)
    if len(responses) < threshold():
        return []
    return _alphabetised(shown_departments(responses))
