"""The token forms: a name, the permissions, an expiry."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectMultipleField, StringField, SubmitField, widgets
from wtforms.validators import DataRequired, Optional, Regexp

from perks.api.models import PERSONAL_SCOPES, Scope
from perks.forms import DayField, Form, Length, trimmed
from perks.i18n import company_today

SCOPE_LABELS = {
    Scope.PEOPLE_READ: _l("Read the directory (people:read)"),
    Scope.PEOPLE_WRITE: _l("Create, update and deactivate people (people:write)"),
    Scope.REDEMPTIONS_WRITE: _l("Look up and redeem claims and orders (redemptions:write)"),
    Scope.PERKS_READ: _l("Read perks and claims (perks:read)"),
    Scope.COMMISSIONS_READ: _l("Read commissions and the ledger (commissions:read)"),
    Scope.PAYOUTS_READ: _l("Read payout batches (payouts:read)"),
}


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class TokenForm(Form):
    label = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)], filters=[trimmed])
    scopes = CheckboxesField(_l("Permissions"), validators=[DataRequired()])
    #: the last day the token works, through its end (company time)
    expires_on = DayField(_l("Last day it works"), validators=[DataRequired()])
    #: the token of this form (``tokens.new_sending``): the same form sent again is the token
    #: it made, not a second one
    sending = HiddenField(validators=[Optional(), Regexp(r"^[0-9a-f]{32}$")])
    submit = SubmitField(_l("Create token"))

    def __init__(self, *args: object, personal: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        offered = PERSONAL_SCOPES if personal else tuple(Scope)
        self.scopes.choices = [(scope.value, str(SCOPE_LABELS[scope])) for scope in offered]
        if self.expires_on.data is None:
            self.expires_on.data = company_today() + timedelta(days=90)
