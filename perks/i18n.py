"""Which language and time zone a request is served in, and enums whose members have labels."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Self

from flask import current_app, has_request_context, request, session
from flask_login import current_user

#: the languages of the product: pages, e-mails, every label (the first is the default)
LOCALES = ("vi", "en")


def select_locale() -> str:
    """The signed-in person's preference, else the switcher's choice, else the browser's."""
    if not has_request_context():  # the command line, e-mails sent from a job
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    return (
        request.accept_languages.best_match(LOCALES) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


class LabelledEnum(enum.StrEnum):
    """A choice enum whose members carry their label, written once beside the value.

    ``PAID = "paid", _l("Paid")``: the value is ``"paid"`` (what the database and forms
    store), ``member.label`` the lazy text in the current language. ``Enum("paid")`` looks a
    member up by value, as for any enum (``ValueError`` for an unknown one).
    """

    _value_: str
    _label: object

    if TYPE_CHECKING:
        # what callers see: ``OrderStatus("paid")`` looks a member up by its value
        def __new__(cls, value: str) -> Self: ...

    else:

        def __new__(cls, value: str, label: object) -> Self:
            member = str.__new__(cls, value)
            member._value_ = value
            member._label = label
            return member

    @property
    def label(self) -> str:
        """The member's name for people, in the current language."""
        return str(self._label)

    @property
    def lazy_label(self) -> object:
        """The member's name for people, translated only when it is shown: for what is built
        once, when a module is imported (a form's choices), and shown to many people."""
        return self._label
