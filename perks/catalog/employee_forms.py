"""Forms of the employee pages and the redeemer's counter (the HR forms are in forms.py)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional

from perks.catalog.models import PerkCategory
from perks.catalog.services import MAX_CODE_LENGTH
from perks.forms import Form, Length, enum_choices


class CatalogFilterForm(Form):
    """The catalog's search box and filters, read from the query string (a GET: no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    category = SelectField(_l("Category"), validators=[Optional()])
    claimable = BooleanField(_l("I can claim this"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.category.choices = [
            SelectChoice("", _l("All categories")),
            *enum_choices(PerkCategory),
        ]

    @property
    def chosen_category(self) -> PerkCategory | None:
        return PerkCategory(self.category.data) if self.category.data else None


class RedeemLookupForm(Form):
    """The code a redeemer types or scans, looked up with a GET (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    code = StringField(
        _l("Code or reference"),
        validators=[DataRequired(), Length(max=MAX_CODE_LENGTH)],
        description=_l(
            "Type the code, or scan the QR code with a scanner or phone that types what it reads."
        ),
    )


class RedeemForm(Form):
    """Marks the looked-up claim used (a POST, with the CSRF token)."""

    code = HiddenField(validators=[DataRequired(), Length(max=MAX_CODE_LENGTH)])
    submit = SubmitField(_l("Mark as used"))
