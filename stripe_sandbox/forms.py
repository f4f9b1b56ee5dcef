"""The sandbox pages' forms: browser POSTs, so each carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm as Form
from wtforms import BooleanField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional


class PayForm(Form):
    """The hosted page's buttons: each submits its ``method``."""

    method = SelectField(
        _l("Payment method"),
        choices=[
            SelectChoice("card", _l("Pay with test card 4242")),
            SelectChoice("declined", _l("Decline (4000 0000 0000 0002)")),
            SelectChoice("async_success", _l("Pay with async method that succeeds later")),
            SelectChoice("async_failure", _l("Pay with async method that fails later")),
        ],
        validators=[DataRequired()],
    )


class ActionForm(Form):
    """A control-page button (open a dispute, resend an event, expire a session)."""

    deliver_twice = BooleanField(_l("Deliver twice"))


class RefundForm(ActionForm):
    amount = StringField(
        _l("Amount"),
        validators=[Optional(), Length(max=32)],
        description=_l("Leave empty to refund everything that is left."),
    )


class CloseDisputeForm(ActionForm):
    outcome = SelectField(
        _l("Outcome"),
        choices=[
            SelectChoice("won", _l("Close as won")),
            SelectChoice("lost", _l("Close as lost")),
        ],
        validators=[DataRequired()],
    )


class OptionsForm(Form):
    deliver_twice = BooleanField(_l("Deliver every webhook twice (tests the app's idempotency)"))
    paused = BooleanField(_l("Pause webhook delivery (events wait in the queue)"))


class SignInForm(Form):
    """The control page's door: the sandbox's secret key, as Stripe's API asks for it."""

    key = PasswordField(
        _l("Secret key"),
        validators=[DataRequired(), Length(max=255)],
        description=_l("The sandbox's STRIPE_SECRET_KEY (sk_test_...)."),
    )
    next = HiddenField()
