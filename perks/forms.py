"""The base of every form: WTForms' own messages in the user's language.

WTForms ships no Vietnamese catalog, so its built-in messages ("This field is required.")
are listed here for extraction and translated through the app's catalog like every other
string.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import abort, request
from flask_babel import get_translations, lazy_ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    HiddenField,
    StringField,
    SubmitField,
    validators,
)
from wtforms.fields.choices import SelectChoice

from perks.i18n import EARLIEST_DAY, LATEST_DAY, LabelledEnum, format_day, format_number
from perks.text import trim


class _AppTranslations:
    """WTForms' translations interface, answered by the app's catalog.

    Only looks the text up: WTForms fills in ``%(value)s`` and the like itself, so Flask-Babel's
    own ``gettext``/``ngettext`` (which format too) must not be used here.
    """

    def gettext(self, string: str) -> str:
        return get_translations().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ungettext(singular, plural, n)


_TRANSLATIONS = _AppTranslations()


class Form(FlaskForm):
    """A Flask-WTF form whose built-in validation messages follow the user's language."""

    class Meta:
        def get_translations(self, form: FlaskForm) -> _AppTranslations:
            return _TRANSLATIONS


def trimmed(value: Any) -> Any:
    """A field filter (``filters=[trimmed]``): typed or pasted text without the spaces and
    invisible characters around it (``perks.text.trim``), before it is validated. So a name
    made only of zero-width spaces is empty, and ``DataRequired`` refuses it as it refuses an
    empty one; an e-mail address pasted with spaces around it is checked, and kept, without
    them. Leaves anything but a string as it is."""
    return trim(value) if isinstance(value, str) else value


def name_fields(
    *, max_length: int, required: bool = True, checks: Sequence[Any] = ()
) -> tuple[Any, Any]:
    """A name in Vietnamese and one in English (``name_vi, name_en = name_fields(...)``),
    each ``trimmed``, at most ``max_length`` characters, required unless ``required`` is
    false, and passing ``checks`` too. Raises nothing."""
    first = validators.DataRequired() if required else validators.Optional()
    return tuple(
        StringField(
            label,
            validators=[first, validators.Length(max=max_length), *checks],
            filters=[trimmed],
        )
        for label in (_l("Name (Vietnamese)"), _l("Name (English)"))
    )


#: the highest page number a list takes: every list is shorter, and page × rows per page
#: stays far from the largest offset the database takes
MAX_PAGE = 1_000_000


def page_arg() -> int:
    """The page of a list the query string asks for (``?page=``): 1 when it is missing, not a
    number or below 1; at most ``MAX_PAGE``. Raises nothing."""
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


def _refuse_outside_calendar(field: Any, day: date | None) -> None:
    """Raise ``ValueError`` (a form error, in the user's language) when ``day`` is outside
    ``EARLIEST_DAY`` .. ``LATEST_DAY``, leaving the field empty."""
    if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
        field.data = None
        raise ValueError(
            field.gettext("Date must be between %(min)s and %(max)s.")
            % {"min": format_day(EARLIEST_DAY, "short"), "max": format_day(LATEST_DAY, "short")}
        )


class DayField(DateField):
    """A date field that takes only days from ``EARLIEST_DAY`` to ``LATEST_DAY``; any other
    is a form error (a 4xx with its message), never a date the app cannot compute with."""

    def process_formdata(self, valuelist: Sequence[Any]) -> None:
        super().process_formdata(valuelist)
        _refuse_outside_calendar(self, self.data)


def days_in_order(start: DayField, end: DayField) -> bool:
    """Whether the day of ``end`` is not before that of ``start`` (either may be empty); if it
    is before, ``end`` says so. For a form's ``validate``, after its fields' own checks."""
    if start.data and end.data and start.data > end.data:
        end.errors.append(_l("The end date is before the start date."))
        return False
    return True


class MomentField(DateTimeLocalField):
    """A local date and time field whose day is within ``EARLIEST_DAY`` .. ``LATEST_DAY``."""

    def process_formdata(self, valuelist: Sequence[Any]) -> None:
        super().process_formdata(valuelist)
        moment: datetime | None = self.data
        _refuse_outside_calendar(self, moment.date() if moment is not None else None)


def shown_field() -> HiddenField:
    """A hidden field carrying the fingerprint (``perks.fingerprints``) of what an edit page
    showed, so a save from a page opened before someone else's change is refused instead of
    overwriting it. Required: a post without it comes from a page older than the check."""
    return HiddenField(
        validators=[validators.InputRequired(), validators.Regexp(r"^[0-9a-f]{64}$")]
    )


def entered_values(refused: FlaskForm, names: Iterable[str]) -> list[tuple[str, str]]:
    """What a refused form said in the fields ``names``, as the person typed or chose it:
    (label, text) pairs shown beside the form filled with what is saved, so they can enter
    their changes again without guessing them. A choice reads as its label, several as a
    list, a day in the page's language, an empty field as "—". Raises nothing."""
    entered = []
    for name in names:
        field = refused[name]
        if hasattr(field, "iter_choices"):
            chosen = [str(choice[1]) for choice in field.iter_choices() if choice[2] and choice[0]]
            shown = ", ".join(chosen)
        elif isinstance(field.data, date):
            shown = format_day(field.data)
        elif isinstance(field.data, bool):
            shown = str(_l("Yes") if field.data else _l("No"))
        else:
            shown = "" if field.data is None else str(field.data)
        entered.append((str(field.label.text), shown or "—"))
    return entered


def enum_choices(members: Iterable[LabelledEnum]) -> list[SelectChoice]:
    """A select field's choices: each member's value, and its label in the language of the
    page that shows it (the choices are usually built once, at import). Raises nothing."""
    return [SelectChoice(member.value, member.lazy_label) for member in members]


class ConfirmForm(Form):
    """A POST-only button with nothing but the CSRF token (deactivate, send, approve...)."""

    submit = SubmitField(_l("Confirm"))


def require_confirmation() -> None:
    """Go on only if this POST came from our own confirm button (its CSRF token checked).

    Raises:
        werkzeug.exceptions.BadRequest: the form is missing, not a POST, or its CSRF token
            is missing, wrong or expired (a 400 page).
    """
    if not ConfirmForm().validate_on_submit():
        abort(400)


#: WTForms' messages, kept here so extraction puts them in the catalog
WTFORMS_MESSAGES = (
    _l("This field is required."),
    _l("Invalid input."),
    _l("Invalid email address."),
    _l("Field must be equal to %(other_name)s."),
    lazy_ngettext(
        "Field must be at least %(min)d character long.",
        "Field must be at least %(min)d characters long.",
        1,
    ),
    lazy_ngettext(
        "Field cannot be longer than %(max)d character.",
        "Field cannot be longer than %(max)d characters.",
        1,
    ),
    lazy_ngettext(
        "Field must be exactly %(max)d character long.",
        "Field must be exactly %(max)d characters long.",
        1,
    ),
    _l("Field must be between %(min)d and %(max)d characters long."),
    _l("Number must be at least %(min)s."),
    _l("Number must be at most %(max)s."),
    _l("Number must be between %(min)s and %(max)s."),
    _l("Date must be at least %(min)s."),
    _l("Date must be at most %(max)s."),
    _l("Date must be between %(min)s and %(max)s."),
    _l("Invalid value, must be one of: %(values)s."),
    _l("Invalid Choice: could not coerce."),
    _l("Not a valid choice."),
    _l("Invalid choice(s): one or more data inputs could not be coerced."),
    lazy_ngettext(
        "'%(value)s' is not a valid choice for this field.",
        "'%(value)s' are not valid choices for this field.",
        1,
    ),
    _l("Not a valid datetime value."),
    _l("Not a valid date value."),
    _l("Not a valid time value."),
    _l("Not a valid integer value."),
    _l("Not a valid decimal value."),
    _l("Invalid CSRF Token."),
    _l("CSRF token missing."),
    _l("CSRF failed."),
    _l("CSRF token expired."),
)


class NumberRange(validators.NumberRange):
    """WTForms' range check, with its limits in the reader's digit grouping ("between 1 and
    1.000.000.000", not "1000000000"). Raises ValidationError, as WTForms' does."""

    def __call__(self, form: Any, field: Any) -> None:
        try:
            super().__call__(form, field)
        except validators.ValidationError:
            if self.message is not None:
                raise
            low, high = self._resolve(self.min), self._resolve(self.max)
            if high is None:
                message = field.gettext("Number must be at least %(min)s.")
            elif low is None:
                message = field.gettext("Number must be at most %(max)s.")
            else:
                message = field.gettext("Number must be between %(min)s and %(max)s.")
            shown = {"min": _grouped(low), "max": _grouped(high)}
            raise validators.ValidationError(message % shown) from None


def _grouped(bound: Any) -> Any:
    if isinstance(bound, int | Decimal) and not isinstance(bound, bool):
        return format_number(bound)
    return bound
