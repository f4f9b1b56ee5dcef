"""The person's e-mail choices: one checkbox per kind of notification."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SubmitField

from perks.forms import Form
from perks.notifications.kinds import KINDS


class EmailChoicesForm(Form):
    """Filled with a ``BooleanField`` per kind by :func:`email_choices_form`."""

    submit = SubmitField(_l("Save"))
    #: the kinds the page showed, space-separated: a kind offered since (a role or a feedback
    #: desk given meanwhile) was not shown, and is not turned off by the save
    offered = HiddenField()

    #: the kinds the form offers, in ``KINDS`` order
    kinds: Sequence[str] = ()

    def chosen(self) -> list[str]:
        """The kinds ticked: those the person gets by e-mail."""
        return [name for name in self.kinds if self[name].data]

    def shown(self) -> list[str]:
        """The kinds the page showed that the form still offers (all it offers when the page
        did not say)."""
        if not self.offered.data:
            return list(self.kinds)
        showed = set(self.offered.data.split())
        return [name for name in self.kinds if name in showed]


def email_choices_form(current: Mapping[str, bool], kinds: Sequence[str]) -> EmailChoicesForm:
    """The form for the ``kinds`` offered to the person, ticked as they chose (``current``);
    it reads the request's form data when there is some."""

    class ChoicesForm(EmailChoicesForm):
        pass

    for name in kinds:
        setattr(ChoicesForm, name, BooleanField(KINDS[name].label))
    ChoicesForm.kinds = tuple(kinds)
    return ChoicesForm(data={"offered": " ".join(kinds), **{name: current[name] for name in kinds}})
