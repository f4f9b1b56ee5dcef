"""A notification's parameters as data, and its texts in the reader's language.

Parameters are stored as JSON that keeps what they are, so they are written in the language
and the formats of whoever reads them, whenever they read them: ``Money`` is
``{"money": [amount, currency]}``, a ``datetime`` ``{"moment": iso}``, a ``date``
``{"date": iso}``, a name kept in both languages (:class:`Localized`) ``{"text": {"vi": ..,
"en": ..}}``, a list a list of those; strings and integers stay themselves (an integer, a
count or points, is shown with the reader's digit grouping: "1,500", "1.500").
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from perks.i18n import format_day, format_moment, format_number
from perks.money import Money, format_money
from perks.notifications.kinds import KINDS, Counted


@dataclass(frozen=True)
class Localized:
    """A name the data keeps in both languages (a perk's title, a programme's name)."""

    vi: str
    en: str

    def pick(self, locale: str) -> str:
        first, second = (self.en, self.vi) if locale == "en" else (self.vi, self.en)
        return first or second


def both(obj: object, field: str) -> Localized:
    """``obj``'s ``<field>_vi`` and ``<field>_en`` (a bilingual model's column pair)."""
    return Localized(getattr(obj, f"{field}_vi") or "", getattr(obj, f"{field}_en") or "")


@dataclass(frozen=True)
class Rendered:
    """A notification's title and body, in the current language."""

    title: str
    body: str


def encode(value: object) -> Any:
    """``value`` as JSON that keeps what it is (see the module's docstring).

    Raises:
        TypeError: a value of another type (it could not be shown again faithfully).
    """
    if isinstance(value, Money):
        return {"money": [value.amount, value.currency]}
    if isinstance(value, datetime):
        return {"moment": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, Localized):
        return {"text": {"vi": value.vi, "en": value.en}}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [encode(item) for item in value]
    if isinstance(value, str | int) and not isinstance(value, bool):
        return value
    raise TypeError(f"a notification cannot keep a {type(value).__name__}")


def _shown(value: Any, locale: str, choices: Mapping[str, object]) -> str:
    if isinstance(value, list):
        return ", ".join(_shown(item, locale, choices) for item in value)
    if isinstance(value, dict):
        if "money" in value:
            amount, currency = value["money"]
            return format_money(Money(amount, currency), locale)
        if "moment" in value:
            return format_moment(datetime.fromisoformat(value["moment"]))
        if "date" in value:
            return format_day(date.fromisoformat(value["date"]))
        if "text" in value:
            return Localized(value["text"].get("vi", ""), value["text"].get("en", "")).pick(locale)
    if isinstance(value, str) and value in choices:
        return str(choices[value])
    if isinstance(value, int) and not isinstance(value, bool):
        return format_number(value)
    return str(value)


def _text(text: object, params: Mapping[str, Any]) -> str:
    """A kind's text in the current language; a :class:`Counted` one in the form its count
    takes (the plural when the count is missing)."""
    if isinstance(text, Counted):
        count = params.get(text.by)
        return text.pick(count if isinstance(count, int) and not isinstance(count, bool) else 2)
    return str(text)


def render(kind_name: str, params: Mapping[str, Any]) -> Rendered:
    """The title and body of a notification of ``kind_name`` in the current language.

    A kind no longer in the registry, or parameters its texts do not fit, still render (a
    plain title), never an error: old rows outlive the code that wrote them.
    """
    kind = KINDS.get(kind_name)
    if kind is None:
        return Rendered(str(_l("Notification")), "")
    locale = str(get_locale() or "vi")
    shown = {
        name: _shown(value, locale, kind.choices.get(name, {})) for name, value in params.items()
    }
    try:
        return Rendered(_text(kind.title, params) % shown, _text(kind.body, params) % shown)
    except (KeyError, TypeError, ValueError):
        return Rendered(str(kind.label), "")
