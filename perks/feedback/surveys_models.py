"""Surveys, their questions, who has answered and the answers (``perks.feedback.surveys``).

The answers are kept apart from who gave them, with nothing that joins the two:

* ``SurveyParticipation`` says that a person has answered a survey: (survey, person), nothing
  else, not even a time. It makes "one answer per person" and "remind those who have not
  answered" possible.
* ``SurveyResponse`` holds one person's answers: the survey, a random id, the answers and, at
  most, a department, sealed until enough of it have answered (``perks.feedback.surveys``).
  No person, no time, no counter. Its SQLite table has no rowid (the random id is the key,
  so the order of the rows on disk is the order of the ids, not of the answers); on
  PostgreSQL every answer rewrites the survey's responses and participations in a shuffled
  order, so neither the position of a row nor the transaction that wrote it (``xmin``) tells
  who came when.
"""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    Enum,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from perks.db import Base, BilingualMixin, TimestampMixin
from perks.folding import alphabetical
from perks.i18n import LabelledEnum
from perks.people.models import Department


class SurveyState(LabelledEnum):
    """Where a survey is: HR builds a draft, opens it for answers, closes it for good."""

    DRAFT = "draft", _l("Draft")
    OPEN = "open", _l("Open")
    CLOSED = "closed", _l("Closed")


class QuestionKind(LabelledEnum):
    """What a question asks for."""

    #: 0–10, "how likely are you to recommend ...": the one eNPS is computed from
    NPS = "nps", _l("0–10 (eNPS)")
    #: 1–5
    SCALE = "scale", _l("1–5")
    SINGLE = "single", _l("One choice")
    MULTIPLE = "multiple", _l("Several choices")
    TEXT = "text", _l("Free text")


def _enum(kind: type[LabelledEnum]) -> Enum:
    return Enum(kind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


survey_department = Table(
    "survey_department",
    Base.metadata,
    Column("survey_id", ForeignKey("survey.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("department.id", ondelete="CASCADE"), primary_key=True),
)


class Survey(BilingualMixin, TimestampMixin, Base):
    """A survey HR builds for an audience (the perk eligibility rules: empty lists mean
    everyone), opens, and closes."""

    __tablename__ = "survey"
    __table_args__ = (CheckConstraint("min_tenure_days >= 0", name="tenure"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title_vi: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    intro_vi: Mapped[str] = mapped_column(Text, default="")
    intro_en: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[SurveyState] = mapped_column(_enum(SurveyState), default=SurveyState.DRAFT)
    locations: Mapped[list[str]] = mapped_column(JSON, default=list)
    employment_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_tenure_days: Mapped[int] = mapped_column(Integer, default=0)
    #: the company days it opened and closed on (days only)
    opened_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    departments: Mapped[list[Department]] = relationship(
        secondary=survey_department,
        lazy="selectin",
        order_by=lambda: (*alphabetical(Department.name), Department.id),
    )
    questions: Mapped[list[SurveyQuestion]] = relationship(
        lazy="selectin", order_by="SurveyQuestion.position", cascade="all, delete-orphan"
    )

    @property
    def title(self) -> str:
        return self.localized("title")

    @property
    def intro(self) -> str:
        return self.localized("intro")


class SurveyQuestion(BilingualMixin, Base):
    """One question of a survey. ``options`` (choices only): ``[[vi, en], ...]``; an answer
    keeps the option's index."""

    __tablename__ = "survey_question"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    kind: Mapped[QuestionKind] = mapped_column(_enum(QuestionKind))
    text_vi: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    options: Mapped[list[list[str]]] = mapped_column(JSON, default=list)

    @property
    def text(self) -> str:
        return self.localized("text")

    def option_labels(self, locale: str) -> list[str]:
        index = 1 if locale == "en" else 0
        return [pair[index] or pair[1 - index] for pair in self.options]


class SurveyParticipation(Base):
    """That ``user_id`` has answered ``survey_id``: nothing else (no time, no response)."""

    __tablename__ = "survey_participation"
    __table_args__ = ({"sqlite_with_rowid": False},)

    survey_id: Mapped[int] = mapped_column(
        ForeignKey("survey.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )


class SurveyResponse(Base):
    """One person's answers, with no person and no time. ``answers``: question id (as text)
    -> a number (0–10, 1–5, an option's index), a list of option indexes, or a text.
    ``department_id``: the respondent's department, once enough responses of it are in
    (``perks.feedback.surveys``); None otherwise, and until then it is sealed."""

    __tablename__ = "survey_response"
    __table_args__ = ({"sqlite_with_rowid": False},)

    #: random (``secrets.token_hex(16)``), drawn again at every reshuffle
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL")
    )
    answers: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    #: the department (or none) sealed, while too few of it have answered: random text to
    #: anyone without the app's ``SECRET_KEY`` (``perks.feedback.surveys._seal``)
    sealed_department: Mapped[str | None] = mapped_column(Text)
