"""Forms for the directory. Each lists exactly the fields it accepts (no mass assignment)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    EmailField,
    Field,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from perks.forms import DayField, Form, Length, NumberRange, enum_choices, shown_field, trimmed
from perks.i18n import LOCALES
from perks.people.models import EmploymentType, Gender, Role

if TYPE_CHECKING:
    from perks.people.models import Department, User


class CheckboxListField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _optional_int(value: str | int | None) -> int | None:
    """A select's value (the form's text, or the model's id) as an id; None for none."""
    if value is None or value in ("", "None"):
        return None
    return int(value)


class PersonForm(Form):
    name = StringField(
        _l("Full name"), validators=[DataRequired(), Length(max=120)], filters=[trimmed]
    )
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
        filters=[trimmed],
    )
    employee_number = StringField(_l("Employee number"), validators=[Optional(), Length(max=32)])
    department_id = SelectField(_l("Department"), coerce=_optional_int, validators=[Optional()])
    location = StringField(_l("Location"), validators=[Optional(), Length(max=80)])
    employment_type = SelectField(
        _l("Employment type"),
        choices=enum_choices(EmploymentType),
        default=EmploymentType.STAFF.value,
    )
    hire_date = DayField(_l("Hire date"), validators=[Optional()])
    leaving_date = DayField(
        _l("Leaving date"),
        validators=[Optional()],
        description=_l(
            "The first day they no longer work here: from that day their links earn nothing, "
            "and their account is deactivated and their commissions settled."
        ),
    )
    birth_day = IntegerField(
        _l("Birthday: day"), validators=[Optional(), NumberRange(min=1, max=31)]
    )
    birth_month = IntegerField(
        _l("Birthday: month"), validators=[Optional(), NumberRange(min=1, max=12)]
    )
    gender = SelectField(
        _l("Gender"),
        choices=[SelectChoice("", _l("Not recorded")), *enum_choices(Gender)],
        default="",
        validators=[Optional()],
        description=_l("Optional: only gift programmes for 8/3 and 20/10 use it."),
    )
    children_under_15 = IntegerField(
        _l("Children under 15"),
        validators=[Optional(), NumberRange(min=0, max=20)],
        description=_l("Optional: only gift programmes for 1/6 and Trung thu use it."),
    )
    manager_id = SelectField(_l("Manager"), coerce=_optional_int, validators=[Optional()])
    locale = SelectField(
        _l("Language"),
        choices=[SelectChoice("vi", "Tiếng Việt"), SelectChoice("en", "English")],
        default="vi",
    )
    roles = CheckboxListField(_l("Roles"), default=[Role.EMPLOYEE.value])
    submit = SubmitField(_l("Save"))

    def __init__(
        self,
        *args: Any,
        departments: Iterable[Department] = (),
        managers: Iterable[User] = (),
        roles: Collection[Role] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.department_id.choices = [SelectChoice("", "—")] + [
            SelectChoice(d.id, d.name) for d in departments
        ]
        self.manager_id.choices = [SelectChoice("", "—")] + [
            SelectChoice(m.id, m.name) for m in managers
        ]
        self.roles.choices = enum_choices(r for r in Role if r in roles)

    def validate_locale(self, field: Field) -> bool:
        return field.data in LOCALES


class EditedPersonForm(PersonForm):
    """A person's details, from a page that showed them as ``shown`` fingerprints them."""

    #: ``services.shown_fingerprint`` of the person as the page showed them
    shown = shown_field()


class PeopleFilterForm(Form):
    class Meta:
        csrf = False  # a GET search form changes nothing

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    department = SelectField(_l("Department"), coerce=_optional_int, validators=[Optional()])
    employment_type = SelectField(
        _l("Employment type"),
        choices=[SelectChoice("", _l("All")), *enum_choices(EmploymentType)],
        validators=[Optional()],
    )
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice("", _l("All")), *enum_choices(Role)],
        validators=[Optional()],
    )
    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("active", _l("Active")),
            SelectChoice("inactive", _l("Deactivated")),
            SelectChoice("all", _l("All")),
        ],
        default="active",
        validators=[Optional()],
    )


class DepartmentForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)], filters=[trimmed])
    submit = SubmitField(_l("Add department"))


class ImportForm(Form):
    file = FileField(
        _l("CSV file"),
        validators=[
            FileRequired(),
            FileAllowed(
                ["csv", "txt"],
                _l(
                    "Upload a .csv file. From Excel: File → Save As → “CSV UTF-8 (Comma "
                    "delimited)”."
                ),
            ),
        ],
    )
    submit = SubmitField(_l("Check the file"))
