"""The forms of surveys: HR's survey and question forms, and the form a person answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    Field,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional, ValidationError

from perks.feedback.surveys import MAX_TEXT, QuestionData, SurveyData, shown_fingerprint
from perks.feedback.surveys_models import QuestionKind, Survey
from perks.forms import Form, Length, NumberRange, enum_choices, sending_field, shown_field, trimmed
from perks.people.forms import CheckboxListField
from perks.people.models import Department, EmploymentType
from perks.text import trim


class SurveyForm(Form):
    """HR's survey: titles, introductions and audience (the perk eligibility rules)."""

    #: the token of this form (``perks.sent_once``): sent twice, it makes one thing
    sending = sending_field()
    title_vi = StringField(
        _l("Title (Vietnamese)"), validators=[DataRequired(), Length(max=200)], filters=[trimmed]
    )
    title_en = StringField(
        _l("Title (English)"), validators=[DataRequired(), Length(max=200)], filters=[trimmed]
    )
    intro_vi = TextAreaField(_l("Introduction (Vietnamese)"), validators=[Length(max=4000)])
    intro_en = TextAreaField(_l("Introduction (English)"), validators=[Length(max=4000)])
    department_ids = CheckboxListField(_l("Departments"), coerce=int, default=list)
    locations = CheckboxListField(_l("Locations"), default=list)
    employment_types = CheckboxListField(
        _l("Employment types"), choices=enum_choices(EmploymentType), default=list
    )
    min_tenure_days = IntegerField(
        _l("Minimum tenure (days)"),
        validators=[Optional(), NumberRange(min=0, max=36500)],
        default=0,
        description=_l("Nobody ticked: everyone."),
    )
    submit = SubmitField(_l("Save"))

    def set_choices(self, departments: Sequence[Department], locations: Sequence[str]) -> None:
        self.department_ids.choices = [SelectChoice(d.id, d.name) for d in departments]
        self.locations.choices = [SelectChoice(place, place) for place in locations]

    def fill(self, survey: Survey) -> None:
        self.title_vi.data, self.title_en.data = survey.title_vi, survey.title_en
        self.intro_vi.data, self.intro_en.data = survey.intro_vi, survey.intro_en
        self.department_ids.data = [d.id for d in survey.departments]
        self.locations.data = list(survey.locations)
        self.employment_types.data = list(survey.employment_types)
        self.min_tenure_days.data = survey.min_tenure_days

    def data_for_service(self) -> SurveyData:
        return SurveyData(
            title_vi=self.title_vi.data or "",
            title_en=self.title_en.data or "",
            intro_vi=self.intro_vi.data or "",
            intro_en=self.intro_en.data or "",
            department_ids=tuple(self.department_ids.data or ()),
            locations=tuple(self.locations.data or ()),
            employment_types=tuple(self.employment_types.data or ()),
            min_tenure_days=int(self.min_tenure_days.data or 0),
        )


class EditedSurveyForm(SurveyForm):
    """Changes to a draft survey, from a page that showed it."""

    #: ``surveys.shown_fingerprint`` of the survey as the page showed it, so a save from a
    #: page opened before someone else's change is refused instead of overwriting it
    shown = shown_field()

    def fill(self, survey: Survey) -> None:
        super().fill(survey)
        self.shown.data = shown_fingerprint(survey)


class QuestionForm(Form):
    """One question; choices give one option a line, in both languages, in the same order."""

    kind = SelectField(_l("Kind"), choices=enum_choices(QuestionKind), default="nps")
    text_vi = TextAreaField(
        _l("Question (Vietnamese)"), validators=[DataRequired()], filters=[trimmed]
    )
    text_en = TextAreaField(
        _l("Question (English)"), validators=[DataRequired()], filters=[trimmed]
    )
    options_vi = TextAreaField(
        _l("Options (Vietnamese)"), description=_l("Choices only: one option a line.")
    )
    options_en = TextAreaField(
        _l("Options (English)"), description=_l("The same options, in the same order.")
    )
    submit = SubmitField(_l("Add the question"))

    @staticmethod
    def _lines(text: str | None) -> list[str]:
        return [trim(line) for line in (text or "").splitlines() if trim(line)]

    def validate_options_en(self, field: Field) -> None:
        """Raises ValidationError: the two lists of options are not as long as each other."""
        vi, en = self._lines(self.options_vi.data), self._lines(field.data)
        if vi and en and len(vi) != len(en):
            raise ValidationError(
                _(
                    "%(vi)d options in Vietnamese but %(en)d in English: give each option in "
                    "both languages, one a line, in the same order.",
                    vi=len(vi),
                    en=len(en),
                )
            )

    def data_for_service(self) -> QuestionData:
        vi, en = self._lines(self.options_vi.data), self._lines(self.options_en.data)
        width = max(len(vi), len(en))
        vi += [""] * (width - len(vi))
        en += [""] * (width - len(en))
        return QuestionData(
            kind=QuestionKind(self.kind.data),
            text_vi=self.text_vi.data or "",
            text_en=self.text_en.data or "",
            options=tuple(zip(vi, en, strict=True)),
        )


def answer_form(survey: Survey, locale: str, **kwargs: Any) -> Form:
    """A form with one optional field per question, named ``q<question id>``."""

    class AnswerForm(Form):
        submit = SubmitField(_l("Send my answers"))

    for question in survey.questions:
        label = question.localized("text", locale)
        name = f"q{question.id}"
        if question.kind is QuestionKind.NPS:
            choices = [SelectChoice(str(n), str(n)) for n in range(11)]
            setattr(AnswerForm, name, RadioField(label, choices=choices, validators=[Optional()]))
        elif question.kind is QuestionKind.SCALE:
            choices = [SelectChoice(str(n), str(n)) for n in range(1, 6)]
            setattr(AnswerForm, name, RadioField(label, choices=choices, validators=[Optional()]))
        elif question.kind is QuestionKind.SINGLE:
            choices = [
                SelectChoice(str(i), text) for i, text in enumerate(question.option_labels(locale))
            ]
            setattr(AnswerForm, name, RadioField(label, choices=choices, validators=[Optional()]))
        elif question.kind is QuestionKind.MULTIPLE:
            choices = [
                SelectChoice(str(i), text) for i, text in enumerate(question.option_labels(locale))
            ]
            setattr(AnswerForm, name, CheckboxListField(label, choices=choices, default=list))
        else:
            setattr(
                AnswerForm,
                name,
                TextAreaField(label, validators=[Optional(), Length(max=MAX_TEXT)]),
            )
    form = AnswerForm(**kwargs)
    form.questions = [(q, form[f"q{q.id}"]) for q in survey.questions]
    return form


def answers_of(form: Form, survey: Survey) -> dict[int, object]:
    """The answers in a validated answer form: question id -> value."""
    return {q.id: form[f"q{q.id}"].data for q in survey.questions}
