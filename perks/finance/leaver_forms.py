"""Forms of finance's leavers page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Regexp

from perks.catalog.forms import plain_text
from perks.commissions.ledger import MAX_REASON_LENGTH
from perks.commissions.models import BalanceOutcome, LeaverPolicy
from perks.forms import Form, Length, enum_choices, trimmed


class LeaverPolicyForm(Form):
    """What happens to a leaver's commissions not yet payable on their leaving date."""

    policy = RadioField(
        _l("Commissions not yet payable on the leaving date"),
        choices=enum_choices(LeaverPolicy),
        validators=[InputRequired()],
    )
    submit = SubmitField(_l("Save the policy"))


class CloseBalanceForm(Form):
    """Close one leaver's negative balance in one currency."""

    currency = HiddenField(validators=[InputRequired(), Regexp(r"^[A-Z]{3}$")])
    #: the balance the page showed (minor units): refused if it changed meanwhile
    amount = HiddenField(validators=[InputRequired(), Regexp(r"^-\d{1,18}$")])
    outcome = SelectField(
        _l("What to do"), choices=enum_choices(BalanceOutcome), validators=[InputRequired()]
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(), Length(max=MAX_REASON_LENGTH), plain_text],
        filters=[trimmed],
        render_kw={"rows": 2},
    )
    submit = SubmitField(_l("Close the balance"))
