"""Forms for the catalog. Each lists exactly the fields it accepts (no mass assignment).

The HR forms come first; stock counters, status, image file names and the author are never
fields, so a request cannot set them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    Field,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional

from perks import images
from perks.catalog.models import (
    Allocation,
    CodeMode,
    LimitPeriod,
    PerkCategory,
    PerkKind,
    PerkStatus,
)
from perks.errors import ValidationFailed
from perks.forms import (
    DayField,
    Form,
    Length,
    MomentField,
    NumberRange,
    enum_choices,
    sending_field,
    shown_field,
    trimmed,
)
from perks.people.forms import CheckboxListField
from perks.people.models import EmploymentType

if TYPE_CHECKING:
    from perks.people.models import Department

#: the longest text HR may write in a description or terms, per language
MAX_TEXT = 5000
#: far beyond any real stock or limit, and within the database's integer
MAX_COUNT = 1_000_000_000


#: C0 controls but TAB, LF and CR, and DEL: never typed on purpose, and PostgreSQL cannot store NUL
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain_text(form: Form, field: Field) -> None:
    if field.data and _CONTROL_CHARACTERS.search(field.data):
        raise ValidationError(_l("Remove the invisible control characters from this text."))


class PerkForm(Form):
    #: the token of this form (``perks.sent_once``): sent twice, it makes one thing
    sending = sending_field()
    title_vi = StringField(
        _l("Title (Vietnamese)"),
        validators=[Optional(), Length(max=160), plain_text],
        filters=[trimmed],
    )
    title_en = StringField(
        _l("Title (English)"),
        validators=[Optional(), Length(max=160), plain_text],
        filters=[trimmed],
    )
    value_vi = StringField(
        _l("Value shown to staff (Vietnamese)"),
        validators=[Optional(), Length(max=120), plain_text],
        description=_l("For example: Giảm 20%, Giá nhân viên 1.500.000 ₫"),
    )
    value_en = StringField(
        _l("Value shown to staff (English)"),
        validators=[Optional(), Length(max=120), plain_text],
        description=_l("For example: 20% off, staff price 1,500,000 ₫"),
    )
    description_vi = TextAreaField(
        _l("Description (Vietnamese)"),
        validators=[Optional(), Length(max=MAX_TEXT), plain_text],
        render_kw={"rows": 4},
    )
    description_en = TextAreaField(
        _l("Description (English)"),
        validators=[Optional(), Length(max=MAX_TEXT), plain_text],
        render_kw={"rows": 4},
    )
    terms_vi = TextAreaField(
        _l("Terms (Vietnamese)"),
        validators=[Optional(), Length(max=MAX_TEXT), plain_text],
        render_kw={"rows": 4},
    )
    terms_en = TextAreaField(
        _l("Terms (English)"),
        validators=[Optional(), Length(max=MAX_TEXT), plain_text],
        render_kw={"rows": 4},
    )
    partner_name = StringField(
        _l("Partner or vendor"),
        validators=[Optional(), Length(max=120), plain_text],
        filters=[trimmed],
        description=_l("Leave empty for the company's own services."),
    )
    kind = SelectField(
        _l("Kind"), choices=enum_choices(PerkKind), default=PerkKind.DISCOUNT_CODE.value
    )
    category = SelectField(
        _l("Category"), choices=enum_choices(PerkCategory), default=PerkCategory.OTHER.value
    )
    starts_on = DayField(
        _l("First day"), validators=[Optional()], description=_l("Empty: from publication.")
    )
    ends_on = DayField(
        _l("Last day"),
        validators=[Optional()],
        description=_l("Empty: no end. Unused claims expire after this day."),
    )
    code_mode = SelectField(
        _l("Code"), choices=enum_choices(CodeMode), default=CodeMode.VOUCHER.value
    )
    shared_code = StringField(
        _l("Shared code"),
        validators=[Optional(), Length(max=64), plain_text],
        description=_l("Only for “one shared code”: the code everyone gets."),
    )
    total_stock = IntegerField(
        _l("Total stock"),
        validators=[Optional(), NumberRange(min=0, max=MAX_COUNT)],
        description=_l(
            "Empty: unlimited. With a code pool the stock is the number of unused codes."
        ),
    )
    per_person_limit = IntegerField(
        _l("Limit per person"),
        validators=[Optional(), NumberRange(min=1, max=MAX_COUNT)],
        default=1,
        description=_l("Empty: no limit."),
    )
    limit_period = SelectField(
        _l("Limit period"), choices=enum_choices(LimitPeriod), default=LimitPeriod.EVER.value
    )
    points_price = IntegerField(
        _l("Price in points"),
        validators=[Optional(), NumberRange(min=1, max=MAX_COUNT)],
        description=_l("A reward staff may buy with the points colleagues gave them. Empty: not."),
    )
    allocation = SelectField(
        _l("Allocation"), choices=enum_choices(Allocation), default=Allocation.FIRST_COME.value
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
        description=_l("Days since the hire date. 0: from the first day."),
    )
    image = FileField(
        _l("Image"),
        validators=[FileAllowed(["png", "jpg", "jpeg"], _l("Upload a PNG or JPEG image."))],
        description=_l("PNG or JPEG, at most 2 MB."),
    )
    submit = SubmitField(_l("Save"))

    def __init__(
        self,
        *args: Any,
        departments: Iterable[Department] = (),
        locations: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.department_ids.choices = [SelectChoice(d.id, d.name) for d in departments]
        self.locations.choices = [SelectChoice(place, place) for place in locations]

    def validate_image(self, field: Field) -> None:
        """Refuse a bad image before anything is saved (the service checks it again)."""
        file = field.data
        if not file:
            return
        data = file.read()
        file.seek(0)
        try:
            images.image_type(data)  # every rule of uploaded images, pixels included
        except ValidationFailed as error:
            raise ValidationError(error.message) from error


class EditedPerkForm(PerkForm):
    """A perk's details, from a page that showed the perk as ``shown`` fingerprints it."""

    #: ``services.shown_fingerprint`` of the perk as the page showed it
    shown = shown_field()


class PerkFilterForm(Form):
    class Meta:
        csrf = False  # a GET filter changes nothing

    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("all", _l("All")), *enum_choices(PerkStatus)],
        default="all",
        validators=[Optional()],
    )


class CodesForm(Form):
    codes = TextAreaField(
        _l("Paste codes"),
        validators=[Optional()],
        description=_l("One code per line."),
        render_kw={"rows": 8, "spellcheck": "false", "autocomplete": "off"},
    )
    file = FileField(
        _l("Or upload a file"),
        validators=[FileAllowed(["txt", "csv"], _l("Upload a .txt or .csv file."))],
        description=_l("UTF-8 text, one code per line, no header line."),
    )
    submit = SubmitField(_l("Add codes"))

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        if not super().validate(extra_validators):
            return False
        has_text = bool((self.codes.data or "").strip())
        if has_text and self.file.data:
            self.form_errors.append(_l("Paste the codes or upload a file, not both."))
            return False
        if not has_text and not self.file.data:
            self.form_errors.append(_l("Paste the codes or choose a file."))
            return False
        return True


class OpenDrawForm(Form):
    entries_close_at = MomentField(
        _l("Entries close at"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        # InputRequired, unlike DataRequired, keeps "Not a valid datetime value."
        validators=[InputRequired()],
    )
    decline_days = IntegerField(
        _l("Days a winner has to decline"),
        validators=[InputRequired(), NumberRange(1, 365)],
        default=7,
    )
    recent_winner_draws = IntegerField(
        _l("Recent winners go last: number of previous draws"),
        validators=[Optional(), NumberRange(0, 100)],
        default=0,
        description=_l(
            "People who won this perk in its last N draws come after everyone else. 0: off."
        ),
    )
    show_names = BooleanField(_l("Show entrants' names on the public draw page"))
    public_value_source = StringField(
        _l("Public value: its name and source"),
        validators=[Optional(), Length(max=120)],
        description=_l(
            "A number published for all to see, that nobody knows when entries close, "
            "e.g. the special prize of the northern lottery (XSMB) and where it is published."
        ),
    )
    public_value_date = DayField(
        _l("Public value: the day it is published"),
        validators=[Optional()],
        description=_l(
            "A day after the day entries close (empty: the next day). "
            "The draw waits for that value."
        ),
    )
    public_value_time = TimeField(
        _l("Public value: the time it is published (company time)"),
        validators=[Optional()],
        description=_l(
            "It cannot be typed in before then, so nobody types in another day's value by "
            "mistake. Empty: from the start of its day."
        ),
    )
    submit = SubmitField(_l("Open entries"))


class PublicValueForm(Form):
    value = StringField(
        _l("The public value, exactly as published"),
        validators=[InputRequired(), Length(max=64)],
    )
    submit = SubmitField(_l("Record the public value"))
