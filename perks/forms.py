"""The base of every form: WTForms' own messages in the user's language.

WTForms ships no Vietnamese catalog, so its built-in messages ("This field is required.")
are listed here for extraction and translated through the app's catalog like every other
string. ``Length`` and ``NumberRange`` write their limits as the reader writes numbers.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from flask import abort, request
from flask_babel import get_translations, lazy_ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    Field,
    HiddenField,
    StringField,
    SubmitField,
    TextAreaField,
    validators,
)
from wtforms.fields.choices import SelectChoice

from perks.errors import ChangedMeanwhile
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
    """A Flask-WTF form whose built-in validation messages follow the user's language, and
    whose text areas take line breaks as one character (``single_line_breaks``)."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form: FlaskForm) -> _AppTranslations:
            return _TRANSLATIONS

        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            if issubclass(unbound_field.field_class, TextAreaField):
                filters = unbound_field.kwargs.get("filters") or ()
                options = {**options, "filters": (single_line_breaks, *filters)}
            return super().bind_field(form, unbound_field, options)


def single_line_breaks(value: Any) -> Any:
    """A text area's text with its line breaks as one character each (``\\n``): a browser
    counts one against the text area's ``maxlength`` but sends two (CRLF), so a text it let
    through at the limit would be refused as too long. Leaves anything but a string as it
    is."""
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


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
            validators=[first, Length(max=max_length), *checks],
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


def sending_field() -> HiddenField:
    """A hidden field carrying a random token drawn with a create form (``perks.sent_once``):
    the same form sent again (a double click on Save, the answer reloaded) is the thing it
    made, not a second one. A refused form keeps its token; a page drawn anew has a new one."""
    return HiddenField(
        default=lambda: secrets.token_hex(16),
        validators=[validators.Optional(), validators.Regexp(r"^[0-9a-f]{32}$")],
    )


def ask_for_the_file_again(field: Field) -> None:
    """A refused form's page cannot show the file chosen in ``field`` (a file input is never
    filled in again), and nothing stored it: say so at the field, or a save after the fix
    would go without it, unnoticed. Raises nothing."""
    if field.data and not field.errors:
        field.errors = [str(_l("A new image: choose it again."))]


def entered_values(refused: FlaskForm, names: Iterable[str]) -> list[tuple[str, str]]:
    """What a refused form said in the fields ``names``, as the person typed or chose it:
    (label, text) pairs shown beside the form filled with what is saved, so they can enter
    their changes again without guessing them. A choice reads as its label, several as a
    list, a day in the page's language, an empty field as "—". Raises nothing."""
    entered = []
    for name in names:
        field = refused[name]
        if hasattr(field, "iter_choices"):
            chosen = [
                str(choice[1])
                for choice in field.iter_choices()
                if choice[2] and choice[0] not in (None, "")
            ]
            shown = ", ".join(chosen)
        elif isinstance(field.data, date):
            shown = format_day(field.data)
        elif isinstance(field.data, bool):
            shown = str(_l("Yes") if field.data else _l("No"))
        else:
            shown = "" if field.data is None else str(field.data)
        entered.append((str(field.label.text), shown or "—"))
    return entered


def entered_where_different(
    refused: FlaskForm, current: FlaskForm, names: Iterable[str]
) -> list[tuple[str, str]]:
    """``entered_values`` of the fields ``names`` where the refused form says something other
    than ``current`` (the form filled with what is saved now): line ends and blanks around
    aside. Raises nothing."""

    def compared(value: object) -> object:
        if isinstance(value, str):
            return value.replace("\r\n", "\n").strip()
        if isinstance(value, list | tuple | set | frozenset):
            return sorted(str(v) for v in value)
        return value

    differing = [
        name for name in names if compared(refused[name].data) != compared(current[name].data)
    ]
    return entered_values(refused, differing)


#: the form a page shows (``shown_as_saved`` keeps its class)
ShownForm = TypeVar("ShownForm", bound=FlaskForm)


def shown_as_saved(
    refused: FlaskForm, current: ShownForm, names: Iterable[str], error: ChangedMeanwhile
) -> tuple[ShownForm, list[tuple[str, str]], int]:
    """A save refused because someone changed the thing meanwhile: the page shows ``current``
    (the form filled with what is saved now, and its fingerprint: saving it again is a decision
    made on what is saved) with the refusal, and what was entered beside it where it differs.
    Returns that form, the entered values and the answer's status. Raises nothing."""
    current.form_errors.append(error.message)
    return current, entered_where_different(refused, current, names), error.status_code


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


# --- limits in the reader's digit grouping ---------------------------------------------------
#
# WTForms writes a limit as Python prints it ("cannot be longer than 2000 characters"), in
# both languages; the app writes numbers as the reader does ("2,000", "2.000"). Every form
# takes ``Length`` and ``NumberRange`` from here (a test refuses WTForms' own in perks/).

#: a placeholder a message may write a limit with: WTForms' ``%(max)d``, or ``%(max)s``
_LIMIT_PLACEHOLDER = re.compile(r"%\((min|max|length)\)[ds]")


def _fill_limits(message: Any, limits: dict[str, str]) -> str:
    """``message`` with its ``%(min)d``/``%(max)s``... replaced by ``limits``, already written
    as the reader writes numbers (a custom message may use either conversion, as WTForms'
    documentation says; any other ``%`` in it is formatted as WTForms would: ``%%`` is
    "%"). Raises KeyError or ValueError for a placeholder WTForms would refuse too."""
    return _LIMIT_PLACEHOLDER.sub(r"%(\1)s", str(message)) % limits


def _check_whole_number(bound: Any) -> None:
    """Refuse a limit that is not a whole number, with TypeError: a decimal or float limit
    would print without the money formatting (currency, places) the app shows amounts in,
    and money is not checked here anyway (it is typed as text and read by
    ``perks.money.parse_money``, whose errors write amounts as money). Raises TypeError."""
    if bound is None or callable(bound):
        return
    if isinstance(bound, bool) or not isinstance(bound, int):
        raise TypeError(
            f"NumberRange takes whole-number limits (counts, days, points, years), not "
            f"{bound!r}: read money with perks.money.parse_money instead"
        )


def _passes(check: Callable[[Any, Any], None], form: Any, field: Any) -> bool:
    """Whether WTForms' own ``check`` passes ``field`` (the limits' messages are ours)."""
    try:
        check(form, field)
    except validators.ValidationError:
        return False
    return True


class Length(validators.Length):
    """WTForms' length check, with its limits in the reader's digit grouping ("cannot be
    longer than 2,000 characters", "2.000 ký tự", not "2000"); the same in a custom
    ``message``, which may write them ``%(max)d`` or ``%(max)s``. Sets the ``maxlength`` and
    ``minlength`` attributes as WTForms' does. Raises ValidationError, as WTForms' does."""

    def __call__(self, form: Any, field: Any) -> None:
        if _passes(super().__call__, form, field):
            return
        if self.message is not None:
            message = self.message
        elif self.max == -1:
            message = field.ngettext(
                "Field must be at least %(min)s character long.",
                "Field must be at least %(min)s characters long.",
                self.min,
            )
        elif self.min == -1:
            message = field.ngettext(
                "Field cannot be longer than %(max)s character.",
                "Field cannot be longer than %(max)s characters.",
                self.max,
            )
        elif self.min == self.max:
            message = field.ngettext(
                "Field must be exactly %(max)s character long.",
                "Field must be exactly %(max)s characters long.",
                self.max,
            )
        else:
            message = field.gettext("Field must be between %(min)s and %(max)s characters long.")
        length = len(field.data) if field.data else 0
        shown = {
            "min": format_number(self.min),
            "max": format_number(self.max),
            "length": format_number(length),
        }
        raise validators.ValidationError(_fill_limits(message, shown)) from None


class NumberRange(validators.NumberRange):
    """WTForms' range check, with its limits in the reader's digit grouping ("between 1 and
    1.000.000.000", not "1000000000"); the same in a custom ``message``. Its limits are whole
    numbers (or callables returning them); it is not for money.

    Raises:
        TypeError: when built with a limit that is not a whole number (a float, a Decimal...),
            or when validating with a callable limit that returns one.
        wtforms.validators.ValidationError: the number is missing or out of range, as WTForms'.
    """

    def __init__(self, min: Any = None, max: Any = None, message: Any = None) -> None:
        _check_whole_number(min)
        _check_whole_number(max)
        super().__init__(min, max, message)

    def __call__(self, form: Any, field: Any) -> None:
        if _passes(super().__call__, form, field):
            return
        low, high = self._resolve(self.min), self._resolve(self.max)
        _check_whole_number(low)
        _check_whole_number(high)
        if self.message is not None:
            message = self.message
        elif high is None:
            message = field.gettext("Number must be at least %(min)s.")
        elif low is None:
            message = field.gettext("Number must be at most %(max)s.")
        else:
            message = field.gettext("Number must be between %(min)s and %(max)s.")
        shown = {
            "min": "" if low is None else format_number(low),
            "max": "" if high is None else format_number(high),
        }
        raise validators.ValidationError(_fill_limits(message, shown)) from None
