"""HR's forms for occasions (an occasion of the company's own, the recognition settings) and
for gift programmes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Optional, Regexp, ValidationError

from perks.errors import ValidationFailed
from perks.folding import fold
from perks.forms import (
    DayField,
    Form,
    Length,
    NumberRange,
    enum_choices,
    name_fields,
    sending_field,
    shown_field,
    trimmed,
)
from perks.money import DEFAULT_CURRENCY, Money, format_money, parse_money
from perks.people.forms import CheckboxListField
from perks.people.models import EmploymentType, Gender
from perks.recognition import awards
from perks.recognition.awards import AwardData
from perks.recognition.fairness import Filters
from perks.recognition.gifts import ProgrammeData
from perks.recognition.models import Award, GiftProgramme, Occasion, OccasionKind
from perks.recognition.points_forms import colleague_label
from perks.recognition.services import (
    OccasionData,
    Settings,
    check_day,
    parse_milestones,
    shown_fingerprint,
    shown_settings_fingerprint,
)

if TYPE_CHECKING:
    from perks.catalog.models import Perk
    from perks.people.models import Department, User


class OccasionForm(Form):
    name_vi, name_en = name_fields(max_length=120)
    kind = SelectField(
        _l("Calendar"),
        choices=enum_choices((OccasionKind.SOLAR, OccasionKind.LUNAR)),
        validators=[InputRequired()],
        description=_l("A lunar date falls on another solar day every year (Tết, Trung thu)."),
    )
    day = IntegerField(_l("Day"), validators=[InputRequired(), NumberRange(1, 31)])
    month = IntegerField(_l("Month"), validators=[InputRequired(), NumberRange(1, 12)])
    submit = SubmitField(_l("Save"))

    @classmethod
    def for_occasion(cls, occasion: Occasion, **kwargs: Any) -> Self:
        """The form filled with the occasion as it is (a GET)."""
        data = {
            "name_vi": occasion.name_vi,
            "name_en": occasion.name_en,
            "kind": occasion.kind.value,
            "day": occasion.day,
            "month": occasion.month,
        }
        return cls(data=data, **kwargs)

    def validate_day(self, field: Any) -> None:
        if field.errors:
            return  # out of range: said already (WTForms runs this after NumberRange failed)
        if self.month.data is None or field.data is None or self.kind.data is None:
            return  # their own validators speak
        try:
            check_day(OccasionKind(self.kind.data), int(self.month.data), int(field.data))
        except ValidationFailed as error:
            if error.details.get("field") == "day":
                raise ValidationError(error.message) from error
        except ValueError:
            return  # an unknown kind: the select's own validator speaks

    def data_for_service(self) -> OccasionData:
        """The validated form as the service's plain data (call after ``validate``)."""
        return OccasionData(
            name_vi=self.name_vi.data or "",
            name_en=self.name_en.data or "",
            kind=OccasionKind(self.kind.data),
            month=int(self.month.data or 0),
            day=int(self.day.data or 0),
        )


class EditedOccasionForm(OccasionForm):
    """Changes to an occasion, from a page that showed it."""

    #: ``services.shown_fingerprint`` of the occasion as the page showed it, so a save from a
    #: page opened before someone else's change is refused instead of overwriting it
    shown = shown_field()

    @classmethod
    def for_occasion(cls, occasion: Occasion, **kwargs: Any) -> Self:
        form = super().for_occasion(occasion, **kwargs)
        form.shown.data = shown_fingerprint(occasion)
        return form


class SettingsForm(Form):
    founded_on = DayField(
        _l("Founding day"),
        validators=[Optional()],
        description=_l("The company's anniversaries count from it."),
    )
    anniversary_milestones = StringField(
        _l("Work anniversaries celebrated (years)"),
        validators=[Length(max=200)],
        description=_l(
            "Years of service, separated by commas, e.g. 1, 3, 5, 10. Empty: every year."
        ),
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    #: ``services.shown_settings_fingerprint`` of the settings as the page showed them, so a
    #: save from a page opened before someone else's change is refused instead of
    #: overwriting it
    shown = shown_field()
    submit = SubmitField(_l("Save"))

    @classmethod
    def for_settings(cls, settings: Settings, **kwargs: Any) -> Self:
        milestones = ", ".join(str(year) for year in settings.anniversary_milestones)
        data = {
            "founded_on": settings.founded_on,
            "anniversary_milestones": milestones,
            "shown": shown_settings_fingerprint(settings),
        }
        return cls(data=data, **kwargs)

    def validate_anniversary_milestones(self, field: Any) -> None:
        try:
            parse_milestones(field.data or "")
        except ValidationFailed as error:
            raise ValidationError(error.message) from error

    def milestones(self) -> tuple[int, ...]:
        """The milestones typed (call after ``validate``)."""
        return parse_milestones(self.anniversary_milestones.data or "")


# --- gift programmes ------------------------------------------------------------------------

#: gift programmes count in the company's currency
PROGRAMME_CURRENCY = DEFAULT_CURRENCY
#: the prefix of a department budget's field name: ``department_budget_<id>``
DEPARTMENT_BUDGET = "department_budget_"


def _money(text: str | None) -> Money | None:
    """An amount typed in the programme's currency, None when empty.

    Raises:
        ValidationError: not an amount (the message says why).
    """
    if not (text or "").strip():
        return None
    try:
        return parse_money(text or "", PROGRAMME_CURRENCY)
    except ValidationFailed as error:
        raise ValidationError(error.message) from error


def _optional_id(value: object) -> int | None:
    """A select's id, or None for its empty choice."""
    if value in ("", None, "None"):
        return None
    return int(str(value))


class ProgrammeForm(Form):
    """HR's gift programme. ``for_departments`` adds a budget field per department."""

    name_vi, name_en = name_fields(max_length=120)
    #: the token of this form (``perks.sent_once``): sent twice, it makes one thing
    sending = sending_field()
    occasion_id = SelectField(_l("Occasion"), coerce=int, validators=[InputRequired()])
    perk_id = SelectField(
        _l("Gift"),
        coerce=_optional_id,
        validators=[Optional()],
        description=_l("A published perk of kind gift: its code pool, shared code or voucher."),
    )
    points = IntegerField(
        _l("Or points"),
        validators=[Optional(), NumberRange(1, 100_000)],
        description=_l(
            "Instead of a perk: points to spend on rewards. They cost their worth at the "
            "company's point value."
        ),
    )
    days_ahead = IntegerField(
        _l("Days ahead"),
        validators=[InputRequired(), NumberRange(0, 60)],
        default=0,
        description=_l("Granted this many days before the occasion. 0: on the day."),
    )
    message_vi = TextAreaField(
        _l("Greeting (Vietnamese)"),
        validators=[DataRequired(), Length(max=1000)],
        render_kw={"rows": 3},
        filters=[trimmed],
    )
    message_en = TextAreaField(
        _l("Greeting (English)"),
        validators=[DataRequired(), Length(max=1000)],
        render_kw={"rows": 3},
        filters=[trimmed],
    )
    unit_cost = StringField(
        _l("Cost of one gift"),
        validators=[Optional(), Length(max=40)],
        description=_l("In VND, for example 200,000 (points: worked out from the point value)"),
    )
    budget = StringField(
        _l("Budget per occasion year"),
        validators=[Optional(), Length(max=40)],
        description=_l("Empty: no limit. Gifts stop before the budget is exceeded."),
    )
    department_ids = CheckboxListField(_l("Departments"), coerce=int, default=list)
    locations = CheckboxListField(_l("Locations"), default=list)
    employment_types = CheckboxListField(
        _l("Employment types"), choices=enum_choices(EmploymentType), default=list
    )
    min_tenure_days = IntegerField(
        _l("Minimum tenure (days)"),
        validators=[Optional(), NumberRange(min=0, max=36500)],
        default=0,
        description=_l("Days since the hire date, on the occasion. 0: from the first day."),
    )
    gender = SelectField(
        _l("Gender"),
        choices=[SelectChoice("", _l("Everyone")), *enum_choices(Gender)],
        default="",
        validators=[Optional()],
        description=_l("Only people whose gender HR recorded (8/3, 20/10)."),
    )
    requires_children = BooleanField(
        _l("Only people with children under 15"),
        description=_l("As HR recorded them (1/6, Trung thu)."),
    )
    submit = SubmitField(_l("Save"))

    @classmethod
    def for_departments(cls, departments: Sequence[Department], **kwargs: Any) -> ProgrammeForm:
        """The form with a budget field per department, its choices filled."""

        class WithBudgets(cls):  # type: ignore[valid-type,misc]
            pass

        for department in departments:
            setattr(
                WithBudgets,
                f"{DEPARTMENT_BUDGET}{department.id}",
                StringField(department.name, validators=[Optional(), Length(max=40)]),
            )
        form: ProgrammeForm = WithBudgets(**kwargs)
        form.department_ids.choices = [SelectChoice(d.id, d.name) for d in departments]
        return form

    def set_choices(
        self, occasions: Sequence[Occasion], perks: Sequence[Perk], locations: Sequence[str]
    ) -> None:
        self.occasion_id.choices = [SelectChoice(o.id, o.localized("name")) for o in occasions]
        self.perk_id.choices = [
            SelectChoice("", _l("No perk: points")),
            *(SelectChoice(p.id, p.title) for p in perks),
        ]
        self.locations.choices = [SelectChoice(place, place) for place in locations]

    def budget_fields(self) -> list[Field]:
        return [f for f in self if f.name.startswith(DEPARTMENT_BUDGET)]

    def fill(self, programme: GiftProgramme) -> None:
        """Show the programme as it is (a GET)."""
        self.name_vi.data, self.name_en.data = programme.name_vi, programme.name_en
        self.occasion_id.data, self.perk_id.data = programme.occasion_id, programme.perk_id
        self.points.data = programme.points
        self.days_ahead.data = programme.days_ahead
        self.message_vi.data, self.message_en.data = programme.message_vi, programme.message_en
        self.unit_cost.data = format_money(programme.unit_cost)
        self.budget.data = format_money(programme.budget) if programme.budget is not None else ""
        self.department_ids.data = [d.id for d in programme.departments]
        self.locations.data = list(programme.locations)
        self.employment_types.data = list(programme.employment_types)
        self.min_tenure_days.data = programme.min_tenure_days
        self.gender.data = programme.gender.value if programme.gender else ""
        self.requires_children.data = programme.requires_children
        for budget in programme.department_budgets:
            field = getattr(self, f"{DEPARTMENT_BUDGET}{budget.department_id}", None)
            if field is not None:
                field.data = format_money(Money(budget.amount, programme.currency))
        if isinstance(self, EditedProgrammeForm):
            self.row_version.data = str(programme.row_version)

    def validate_unit_cost(self, field: Field) -> None:
        _money(field.data)

    def validate_budget(self, field: Field) -> None:
        _money(field.data)

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self.budget_fields():
            try:
                _money(field.data)
            except ValidationError as error:
                field.errors = [*field.errors, str(error)]
                valid = False
        return valid

    def data_for_service(self) -> ProgrammeData:
        """Call after ``validate``: every amount parses."""
        unit_cost = _money(self.unit_cost.data) or Money.zero(PROGRAMME_CURRENCY)
        budgets: dict[int, Money] = {}
        for field in self.budget_fields():
            amount = _money(field.data)
            if amount is not None:
                budgets[int(field.name.removeprefix(DEPARTMENT_BUDGET))] = amount
        return ProgrammeData(
            name_vi=self.name_vi.data or "",
            name_en=self.name_en.data or "",
            occasion_id=int(self.occasion_id.data),
            perk_id=self.perk_id.data,
            points=self.points.data,
            days_ahead=int(self.days_ahead.data or 0),
            message_vi=self.message_vi.data or "",
            message_en=self.message_en.data or "",
            unit_cost=unit_cost,
            budget=_money(self.budget.data),
            department_ids=tuple(self.department_ids.data or ()),
            locations=tuple(self.locations.data or ()),
            employment_types=tuple(self.employment_types.data or ()),
            min_tenure_days=int(self.min_tenure_days.data or 0),
            gender=Gender(self.gender.data) if self.gender.data else None,
            requires_children=bool(self.requires_children.data),
            department_budgets=budgets,
        )


class EditedProgrammeForm(ProgrammeForm):
    """A programme's changes, from a page that showed the programme at ``row_version``."""

    #: the programme's ``row_version`` the page showed, so a save from a page opened before
    #: someone else's change is refused instead of overwriting it
    row_version = HiddenField(validators=[InputRequired(), Regexp(r"^\d{1,9}$")])


# --- awards and nominations -----------------------------------------------------------------

#: the "no gift" choice of an award's perk
NO_GIFT = 0


class AwardForm(Form):
    name_vi, name_en = name_fields(max_length=120)
    #: the token of this form (``perks.sent_once``): sent twice, it makes one thing
    sending = sending_field()
    description_vi = TextAreaField(
        _l("Description (Vietnamese)"),
        validators=[DataRequired(), Length(max=2000)],
        render_kw={"rows": 3},
        filters=[trimmed],
    )
    description_en = TextAreaField(
        _l("Description (English)"),
        validators=[DataRequired(), Length(max=2000)],
        render_kw={"rows": 3},
        filters=[trimmed],
    )
    perk_id = SelectField(
        _l("Gift"),
        coerce=int,
        validators=[InputRequired()],
        description=_l("Granted on approval: a published perk of kind gift, or none."),
    )
    points = IntegerField(
        _l("Points"),
        validators=[InputRequired(), NumberRange(0, 1_000_000)],
        default=0,
        render_kw={"inputmode": "numeric"},
    )
    active = BooleanField(_l("Takes nominations"), default=True)
    submit = SubmitField(_l("Save"))

    def set_choices(self, perks: Sequence[Perk]) -> None:
        self.perk_id.choices = [
            SelectChoice(NO_GIFT, _l("No gift")),
            *[SelectChoice(p.id, p.title) for p in perks],
        ]

    def fill(self, award: Award) -> None:
        """Show the award as it is (a GET)."""
        self.name_vi.data, self.name_en.data = award.name_vi, award.name_en
        self.description_vi.data = award.description_vi
        self.description_en.data = award.description_en
        self.perk_id.data = award.perk_id or NO_GIFT
        self.points.data = award.points
        self.active.data = award.active
        if isinstance(self, EditedAwardForm):
            self.shown.data = awards.shown_fingerprint(award)

    def data_for_service(self) -> AwardData:
        perk_id = int(self.perk_id.data or NO_GIFT)
        return AwardData(
            name_vi=self.name_vi.data or "",
            name_en=self.name_en.data or "",
            description_vi=self.description_vi.data or "",
            description_en=self.description_en.data or "",
            perk_id=perk_id if perk_id != NO_GIFT else None,
            points=int(self.points.data or 0),
            active=bool(self.active.data),
        )


class EditedAwardForm(AwardForm):
    """Changes to an award, from a page that showed it."""

    #: ``awards.shown_fingerprint`` of the award as the page showed it, so a save from a page
    #: opened before someone else's change is refused instead of overwriting it
    shown = shown_field()


class NominationForm(Form):
    award_id = SelectField(_l("Award"), coerce=int, validators=[InputRequired()])
    nominee_id = SelectField(_l("Person of your team"), coerce=int, validators=[InputRequired()])
    reason = TextAreaField(
        _l("Why this person"),
        validators=[DataRequired(), Length(max=2000)],
        render_kw={"rows": 4},
        description=_l("HR reads it before deciding."),
        filters=[trimmed],
    )
    submit = SubmitField(_l("Nominate"))

    def set_choices(self, awards: Sequence[Award], people: Sequence[User]) -> None:
        """The active awards, and the team by name: namesakes ("Nguyễn Văn An" twice, or
        once without accents) with their department and e-mail, as the kudos form lists
        them, so that the manager nominates the one they mean."""
        self.award_id.choices = [SelectChoice(a.id, a.name) for a in awards]
        names = Counter(fold(p.name) for p in people)
        self.nominee_id.choices = [
            SelectChoice(p.id, colleague_label(p) if names[fold(p.name)] > 1 else p.name)
            for p in people
        ]


class DeclineForm(Form):
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(_l("Say why the nomination is declined.")), Length(max=2000)],
        render_kw={"rows": 2},
        description=_l("The nominator reads it."),
        filters=[trimmed],
    )
    submit = SubmitField(_l("Decline"))


def department_choices(departments: Sequence[Department]) -> list[SelectChoice]:
    """A department select's choices: every department (0), then each one."""
    return [
        SelectChoice(0, _l("Every department")),
        *[SelectChoice(d.id, d.name) for d in departments],
    ]


class FairnessForm(Form):
    """The report's year and filters (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(2000, 2100)])
    department_id = SelectField(_l("Department"), coerce=int, validators=[Optional()], default=0)
    location = SelectField(_l("Location"), validators=[Optional()], default="")
    employment_type = SelectField(
        _l("Employment type"),
        choices=[SelectChoice("", _l("Everyone")), *enum_choices(EmploymentType)],
        validators=[Optional()],
        default="",
    )
    submit = SubmitField(_l("Show"))

    def set_choices(self, departments: Sequence[Department], locations: Sequence[str]) -> None:
        self.department_id.choices = department_choices(departments)
        self.location.choices = [
            SelectChoice("", _l("Every location")),
            *[SelectChoice(place, place) for place in locations],
        ]

    def filters(self) -> Filters:
        """The filters chosen (call after ``validate``; invalid values are ignored)."""
        department_id = self.department_id.data or 0
        return Filters(
            department_id=department_id or None,
            location=self.location.data or None,
            employment_type=(
                EmploymentType(self.employment_type.data) if self.employment_type.data else None
            ),
        )


class WallForm(Form):
    """The wall's department (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    department_id = SelectField(_l("Department"), coerce=int, validators=[Optional()], default=0)

    def set_choices(self, departments: Sequence[Department]) -> None:
        self.department_id.choices = department_choices(departments)
