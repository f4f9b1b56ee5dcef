"""HR's forms for occasions: an occasion of the company's own, and the recognition settings."""

from __future__ import annotations

from typing import Any, Self

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectField, StringField, SubmitField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from perks.errors import ValidationFailed
from perks.forms import Form, enum_choices
from perks.recognition.models import Occasion, OccasionKind
from perks.recognition.services import OccasionData, Settings, check_day, parse_milestones


class OccasionForm(Form):
    name_vi = StringField(_l("Name (Vietnamese)"), validators=[DataRequired(), Length(max=120)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=120)])
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


class SettingsForm(Form):
    founded_on = DateField(
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
    submit = SubmitField(_l("Save"))

    @classmethod
    def for_settings(cls, settings: Settings, **kwargs: Any) -> Self:
        milestones = ", ".join(str(year) for year in settings.anniversary_milestones)
        data = {"founded_on": settings.founded_on, "anniversary_milestones": milestones}
        return cls(data=data, **kwargs)

    def validate_anniversary_milestones(self, field: Any) -> None:
        try:
            parse_milestones(field.data or "")
        except ValidationFailed as error:
            raise ValidationError(error.message) from error

    def milestones(self) -> tuple[int, ...]:
        """The milestones typed (call after ``validate``)."""
        return parse_milestones(self.anniversary_milestones.data or "")
