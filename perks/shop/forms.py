"""Storefront forms: the cart's buttons and checkout. Each lists exactly what it accepts.

Prices, discounts, the buyer and the referral link are never fields: checkout works them
out on the server.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, Field, HiddenField, IntegerField, StringField, SubmitField
from wtforms import ValidationError as WTFormsValidationError
from wtforms.validators import DataRequired, Email, InputRequired, Optional

from perks.errors import ValidationFailed
from perks.forms import Form, Length, NumberRange, trimmed
from perks.shop.checkout import MAX_EMAIL, MAX_NAME, normalize_phone

#: no product allows more per order than this (the real limit is the product's own)
MAX_QUANTITY = 1000
#: what the referral code field takes: a code, or the whole link a friend sent, pasted as it
#: is (``perks.referrals.services.normalize_code``: the site's address, ``/r/<code>`` and
#: perhaps tracking parameters), which the browser would otherwise cut at ``maxlength``
MAX_REFERRAL_CODE_TEXT = 500


class AddToCartForm(Form):
    product = HiddenField(validators=[DataRequired(), Length(max=80)])
    quantity = IntegerField(
        _l("Quantity"),
        default=1,
        validators=[InputRequired(), NumberRange(min=1, max=MAX_QUANTITY)],
    )
    submit = SubmitField(_l("Add to cart"))


class QuantityForm(Form):
    quantity = IntegerField(
        _l("Quantity"), validators=[InputRequired(), NumberRange(min=1, max=MAX_QUANTITY)]
    )
    submit = SubmitField(_l("Update"))


def phone_number(form: Form, field: Field) -> None:
    try:
        field.data = normalize_phone(field.data or "")
    except ValidationFailed as error:
        raise WTFormsValidationError(error.message) from None


class CheckoutForm(Form):
    name = StringField(
        _l("Full name"),
        validators=[DataRequired(), Length(max=MAX_NAME)],
        filters=[trimmed],
        render_kw={"autocomplete": "name"},
    )
    email = EmailField(
        _l("E-mail"),
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=MAX_EMAIL)],
        filters=[trimmed],
        description=_l("Your code and its QR code are sent here once you have paid."),
        render_kw={"autocomplete": "email"},
    )
    phone = StringField(
        _l("Phone"),
        validators=[DataRequired(), Length(max=32), phone_number],
        description=_l("For example 0912 345 678 or +84 912 345 678."),
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
    referral_code = StringField(
        _l("Referral code (optional)"),
        validators=[Optional(), Length(max=MAX_REFERRAL_CODE_TEXT)],
        description=_l("If someone from our team gave you a code, type it here."),
        render_kw={"autocomplete": "off"},
    )
    #: the total the page showed, in minor units (``checkout.total_rose``); the template
    #: writes it from the page's own preview, never from what was posted
    quoted_total = HiddenField(validators=[Optional(), Length(max=24)])
    submit = SubmitField(_l("Continue to payment"))
