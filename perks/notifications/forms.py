"""The person's e-mail choices: one checkbox per kind of notification."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SubmitField

from perks.forms import Form
from perks.notifications.kinds import KINDS


class EmailChoicesForm(Form):
    """Filled with a ``BooleanField`` per kind by :func:`email_choices_form`."""

    submit = SubmitField(_l("Save"))

    def chosen(self) -> list[str]:
        """The kinds ticked: those the person gets by e-mail."""
        return [name for name in KINDS if self[name].data]


def email_choices_form(current: Mapping[str, bool]) -> EmailChoicesForm:
    """The form for today's kinds, ticked as the person chose (``current``); it reads the
    request's form data when there is some."""

    class ChoicesForm(EmailChoicesForm):
        pass

    for name, kind in KINDS.items():
        setattr(ChoicesForm, name, BooleanField(kind.label))
    return ChoicesForm(data=dict(current))
