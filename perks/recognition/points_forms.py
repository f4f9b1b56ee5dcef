"""Forms of kudos and points: giving kudos, HR's points settings and company values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Optional

from perks.forms import Form, Length, NumberRange, name_fields, shown_field, trimmed
from perks.people.models import Role, User
from perks.people.services import person_label
from perks.recognition.kudos import (
    MAX_POINTS_SETTING,
    PointsSettingsData,
    ValueData,
    shown_points_fingerprint,
    shown_value_fingerprint,
)
from perks.recognition.points_models import MAX_KUDOS_MESSAGE, CompanyValue
from perks.recognition.services import Settings

#: the prefix of the per-role allowance fields
ROLE_FIELD = "role_"


class KudosForm(Form):
    colleague = StringField(
        _l("Colleague"),
        validators=[Length(max=200)],
        description=_l("Type part of their name, their e-mail or employee number."),
        render_kw={"type": "search", "autocomplete": "off", "enterkeyhint": "search"},
    )
    #: the colleague picked among those a search matched (offered by ``offer_colleagues``)
    recipient = RadioField(
        _l("Which colleague?"), coerce=int, validators=[Optional()], validate_choice=False
    )
    points = IntegerField(
        _l("Points"), validators=[InputRequired(), NumberRange(1, MAX_POINTS_SETTING)]
    )
    value = SelectField(_l("Company value"), coerce=int, validators=[InputRequired()])
    message = TextAreaField(
        _l("Message"),
        validators=[DataRequired(), Length(max=MAX_KUDOS_MESSAGE)],
        render_kw={"rows": 3, "maxlength": MAX_KUDOS_MESSAGE},
        description=_l("What they did, in a sentence or two."),
        filters=[trimmed],
    )
    submit = SubmitField(_l("Give kudos"))

    def set_choices(self, values: Sequence[CompanyValue]) -> None:
        self.recipient.choices = []
        self.value.choices = [SelectChoice(v.id, v.name) for v in values]

    #: more colleagues matched than ``recipient`` lists
    more_colleagues = False

    def offer_colleagues(self, colleagues: Sequence[User], *, more: bool = False) -> None:
        """List the colleagues a search matched, each with their department and e-mail so
        that namesakes can be told apart; none is preselected."""
        self.recipient.choices = [(p.id, colleague_label(p)) for p in colleagues]
        self.recipient.data = None
        self.more_colleagues = more

    def show_colleague(self, colleague: User) -> None:
        """Show the colleague found back in the search field, as it finds them again."""
        self.colleague.data = person_label(colleague)
        self.recipient.data = None


def colleague_label(person: User) -> str:
    """ "Name · Department · e-mail": what tells namesakes apart."""
    parts = [person.name, person.department.name if person.department else "", person.email]
    return " · ".join(part for part in parts if part)


class ValueForm(Form):
    name_vi, name_en = name_fields(max_length=80)
    active = BooleanField(_l("Active: kudos may name it"), default=True)
    submit = SubmitField(_l("Save"))

    @classmethod
    def for_value(cls, value: CompanyValue, **kwargs: Any) -> Self:
        data = {"name_vi": value.name_vi, "name_en": value.name_en, "active": value.active}
        return cls(data=data, **kwargs)

    def data_for_service(self) -> ValueData:
        return ValueData(self.name_vi.data or "", self.name_en.data or "", bool(self.active.data))


class EditedValueForm(ValueForm):
    """Changes to a company value, from a page that showed it."""

    #: ``kudos.shown_value_fingerprint`` of the value as the page showed it, so a save from a
    #: page opened before someone else's change is refused instead of overwriting it
    shown = shown_field()

    @classmethod
    def for_value(cls, value: CompanyValue, **kwargs: Any) -> Self:
        form = super().for_value(value, **kwargs)
        form.shown.data = shown_value_fingerprint(value)
        return form


def _points_field(label: object, *, least: int = 0) -> IntegerField:
    return IntegerField(label, validators=[InputRequired(), NumberRange(least, MAX_POINTS_SETTING)])


class PointsSettingsForm(Form):
    """The allowances (the company's and, optionally, each role's), the per-pair limit and
    a point's worth."""

    monthly_allowance = _points_field(_l("Monthly allowance to give"))
    pair_monthly_limit = _points_field(_l("Most points to one colleague a month"), least=1)
    point_value = IntegerField(
        _l("Worth of one point (VND)"),
        validators=[InputRequired(), NumberRange(0, 10**9)],
        description=_l(
            "A gift of points costs its programme's budget this much per point. A programme "
            "keeps the worth it was saved with: save it again to apply a new one."
        ),
    )
    #: ``kudos.shown_points_fingerprint`` of the settings as the page showed them, so a save
    #: from a page opened before someone else's change is refused instead of overwriting it
    shown = shown_field()
    submit = SubmitField(_l("Save"))

    @classmethod
    def with_roles(cls, **kwargs: Any) -> PointsSettingsForm:
        """The form with an optional allowance field per role."""

        class WithRoles(cls):  # type: ignore[valid-type,misc]
            pass

        for role in Role:
            setattr(
                WithRoles,
                f"{ROLE_FIELD}{role.value}",
                IntegerField(
                    role.label,
                    validators=[Optional(), NumberRange(0, MAX_POINTS_SETTING)],
                    description=_l("Empty: the company's allowance."),
                ),
            )
        form: PointsSettingsForm = WithRoles(**kwargs)
        return form

    def role_fields(self) -> list[Any]:
        return [f for f in self if f.name.startswith(ROLE_FIELD)]

    def fill(self, settings: Settings) -> None:
        self.monthly_allowance.data = settings.monthly_allowance
        self.pair_monthly_limit.data = settings.pair_monthly_limit
        self.point_value.data = settings.point_value
        for role_field in self.role_fields():
            role_field.data = settings.role_allowances.get(role_field.name.removeprefix(ROLE_FIELD))
        self.shown.data = shown_points_fingerprint(settings)

    def data_for_service(self) -> PointsSettingsData:
        return PointsSettingsData(
            monthly_allowance=int(self.monthly_allowance.data or 0),
            role_allowances={
                f.name.removeprefix(ROLE_FIELD): int(f.data)
                for f in self.role_fields()
                if f.data is not None
            },
            pair_monthly_limit=int(self.pair_monthly_limit.data or 0),
            point_value=int(self.point_value.data or 0),
        )
