"""The request validation's messages in the caller's language, numbers grouped as they read.

Marshmallow writes its messages in English, and its limits as Python prints them ("Length
must be between 1 and 1000."). Every API schema derives from ``ApiSchema``, which gives its
fields (and their inner fields) these messages when it binds them, and takes its limits
from ``Length``, ``Range`` and ``OneOf`` here, which write theirs in the caller's language
(``Accept-Language``) with ``format_number``: "1.000" in Vietnamese, "1,000" in English.
They are marshmallow's own validators otherwise, so the OpenAPI document shows the same
``minLength``, ``maximum`` and ``enum``. The messages are lazy: each is written when the
error is answered (``perks.api.problems``), in that request's language.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields, validate
from webargs.flaskparser import FlaskParser

from perks.i18n import format_number

REQUIRED = _l("This field is required.")
NULL = _l("This field may not be empty (null).")
NOT_AN_OBJECT = _l("Not a valid object.")
NOT_A_TEXT = _l("Not a valid text.")
NOT_A_BOOLEAN = _l("Not a valid true/false value.")
UNKNOWN_FIELD = _l("Unknown field.")

#: a field's messages by their key, whatever its type
_ANY_FIELD = {
    "required": REQUIRED,
    "null": NULL,
    "validator_failed": _l("This value is not valid."),
}
#: a field's own messages, by its type; the first of its classes listed here gives them
_BY_TYPE: tuple[tuple[type[fields.Field], dict[str, Any]], ...] = (
    (fields.String, {"invalid": NOT_A_TEXT, "invalid_utf8": NOT_A_TEXT}),
    (
        fields.Integer,
        {"invalid": _l("Not a valid whole number."), "too_large": _l("The number is too large.")},
    ),
    (
        fields.Number,
        {"invalid": _l("Not a valid number."), "too_large": _l("The number is too large.")},
    ),
    (fields.Boolean, {"invalid": NOT_A_BOOLEAN}),
    (
        fields.Date,
        {
            "invalid": _l("Not a valid date (use YYYY-MM-DD)."),
            "invalid_awareness": _l("Not a valid date (use YYYY-MM-DD)."),
            "format": _l("Not a valid date (use YYYY-MM-DD)."),
        },
    ),
    (
        fields.DateTime,
        {
            "invalid": _l("Not a valid date and time (use ISO 8601)."),
            "invalid_awareness": _l("Not a valid date and time (use ISO 8601)."),
            "format": _l("Not a valid date and time (use ISO 8601)."),
        },
    ),
    (fields.List, {"invalid": _l("Not a valid list.")}),
    (fields.Mapping, {"invalid": NOT_AN_OBJECT}),
    (fields.Nested, {"type": NOT_AN_OBJECT}),
)


def _defaults(field: fields.Field) -> dict[str, Any]:
    """Marshmallow's own messages for ``field``'s type (a subclass's over its parents')."""
    messages: dict[str, Any] = {}
    for cls in reversed(type(field).__mro__):
        messages.update(getattr(cls, "default_error_messages", {}))
    return messages


def translate_messages(field: fields.Field) -> None:
    """Give ``field``, and the fields it holds (a list's items, a mapping's keys and values),
    the messages above in place of marshmallow's; a message the field was given
    (``error_messages=``) stays."""
    defaults = _defaults(field)
    ours = dict(_ANY_FIELD)
    for kind, messages in _BY_TYPE:
        if isinstance(field, kind):
            ours.update(messages)
            break
    for key, message in ours.items():
        if key in field.error_messages and field.error_messages[key] is defaults.get(key):
            field.error_messages[key] = message
    for inner in (
        getattr(field, "inner", None),
        getattr(field, "key_field", None),
        getattr(field, "value_field", None),
        *(getattr(field, "tuple_fields", None) or ()),
    ):
        if isinstance(inner, fields.Field):
            translate_messages(inner)


class ApiSchema(Schema):
    """A schema of the API: its messages, and its fields', in the caller's language."""

    # marshmallow's way of giving a schema its messages: a class attribute, read, never changed
    error_messages = {"unknown": UNKNOWN_FIELD, "type": NOT_AN_OBJECT}  # noqa: RUF012

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        translate_messages(field_obj)


def _shown(value: Any) -> str:
    """A limit as the caller reads it: a number grouped, a day as the API writes days."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return format_number(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class Length(validate.Length):
    """Marshmallow's length check (a text's characters, a list's items), its message in the
    caller's language with its limits grouped. Raises ValidationError, as marshmallow's."""

    def _format_error(self, value: Any, message: str) -> str:
        if self.error is not None:
            return super()._format_error(value, message)
        shown = {"min": _shown(self.min), "max": _shown(self.max), "equal": _shown(self.equal)}
        text = isinstance(value, str)
        if message == self.message_equal:
            if text:
                return _("Exactly %(equal)s characters.", **shown)
            return _("Exactly %(equal)s items.", **shown)
        if message == self.message_all:
            return _("Length must be between %(min)s and %(max)s.", **shown)
        if message == self.message_min:
            if text:
                return _("At least %(min)s characters.", **shown)
            return _("At least %(min)s items.", **shown)
        if text:
            return _("At most %(max)s characters.", **shown)
        return _("At most %(max)s items.", **shown)


class Range(validate.Range):
    """Marshmallow's range check, inclusive at both ends, its message in the caller's
    language with its limits grouped (a day's as YYYY-MM-DD, as the caller sends it).
    Raises ValidationError, as marshmallow's; ValueError if made with an exclusive bound."""

    def __init__(self, min: Any = None, max: Any = None, **kwargs: Any) -> None:
        if kwargs.get("min_inclusive") is False or kwargs.get("max_inclusive") is False:
            raise ValueError("the API's ranges include their bounds")
        super().__init__(min=min, max=max, **kwargs)

    def _format_error(self, value: Any, message: str) -> str:
        if self.error is not None:
            return super()._format_error(value, message)
        shown = {"min": _shown(self.min), "max": _shown(self.max)}
        if self.max is None:
            return _("Must be at least %(min)s.", **shown)
        if self.min is None:
            return _("Must be at most %(max)s.", **shown)
        return _("Must be between %(min)s and %(max)s.", **shown)


class OneOf(validate.OneOf):
    """Marshmallow's choice check, its message in the caller's language; the choices are
    codes, shown as the caller sends them. Raises ValidationError, as marshmallow's."""

    def _format_error(self, value: Any) -> str:
        if self.error != self.default_message:
            return super()._format_error(value)
        return _("Must be one of: %(choices)s.", choices=self.choices_text)


def _holds_lone_surrogate(value: Any) -> bool:
    """Whether some text in ``value`` (parsed JSON) holds a lone surrogate (``"\\ud800"``):
    JSON can write one, UTF-8 cannot encode it."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_holds_lone_surrogate(k) or _holds_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_lone_surrogate(item) for item in value)
    return False


class ApiParser(FlaskParser):
    """webargs' parser, with two changes.

    A query parameter the operation does not have is refused (422, ``UNKNOWN_FIELD``), as
    a body's unknown field is: webargs ignores it, and a filter misspelled (the payout
    batches' ``?status=`` sent to the commissions, which filter by ``?state=``) answered
    the whole list as if it were the one asked for.

    Every body Python's JSON parser cannot take is read as bad JSON (400,
    ``perks.api.problems``) where it was a 500: nested too deep (RecursionError), a number
    of more than 4,300 digits (ValueError), or text holding a lone surrogate, which the
    database's driver cannot encode.
    """

    DEFAULT_UNKNOWN_BY_LOCATION = {  # noqa: RUF012  webargs reads it, never changes it
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": RAISE,
        "querystring": RAISE,
    }

    def _raw_load_json(self, req: flask.Request) -> Any:
        """The JSON body, or webargs' ``missing`` if the request is not JSON.

        Raises:
            json.JSONDecodeError: the body is not JSON the API can take (webargs answers
                400 for it).
        """
        try:
            parsed = super()._raw_load_json(req)
        except json.JSONDecodeError:
            raise
        except (RecursionError, ValueError) as error:
            raise json.JSONDecodeError(type(error).__name__, "?", 0) from error
        # A surrogate comes only from a ``\\u`` escape: only a body with one is searched.
        body = req.get_data(cache=True)
        if (b"\\ud" in body or b"\\uD" in body) and _holds_lone_surrogate(parsed):
            raise json.JSONDecodeError("lone surrogate", "?", 0)
        return parsed
