"""The brand form (HR and admins): what the storefront, the sign-in page and the e-mails show."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Self

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField
from wtforms import BooleanField, EmailField, StringField, SubmitField, TextAreaField
from wtforms.fields import ColorField
from wtforms.validators import DataRequired, Email, Optional, Regexp, ValidationError

from perks.branding.colours import parse_colour
from perks.branding.services import Brand, BrandData, brand_data, check_logo, shown_fingerprint
from perks.errors import ValidationFailed
from perks.forms import Form, Length, shown_field, trimmed


class BrandForm(Form):
    company_name = StringField(
        _l("Company name"),
        validators=[DataRequired(), Length(max=120)],
        filters=[trimmed],
        description=_l("Shown to customers on the storefront, in e-mails and on the sign-in page."),
    )
    logo = FileField(
        _l("Logo"),
        validators=[FileAllowed(["png", "jpg", "jpeg"], _l("Upload a PNG or JPEG image."))],
        description=_l(
            "PNG or JPEG, at most 512 KB; about 4 times as wide as it is high reads best."
        ),
    )
    remove_logo = BooleanField(_l("Remove the logo"))
    primary_colour = ColorField(
        _l("Main colour"),
        validators=[DataRequired()],
        description=_l(
            "The navigation bar and the e-mails' header. Text on it is white or dark, "
            "whichever reads better."
        ),
    )
    accent_colour = StringField(
        _l("Button colour"),
        validators=[Optional(), Length(max=7)],
        description=_l("# and six hex digits, e.g. #c0392b. Empty: the usual blue buttons."),
        render_kw={"placeholder": "#rrggbb", "autocomplete": "off"},
    )
    tagline_vi = StringField(_l("Storefront tagline (Vietnamese)"), validators=[Length(max=200)])
    tagline_en = StringField(_l("Storefront tagline (English)"), validators=[Length(max=200)])
    contact_email = EmailField(
        _l("Contact e-mail"),
        validators=[Optional(), Email(check_deliverability=False), Length(max=254)],
        filters=[trimmed],
    )
    contact_phone = StringField(
        _l("Contact phone"),
        validators=[
            Length(max=40),
            # none, or a number as people write it (a hotline's 1900 1234 too): digits and what
            # groups them
            Regexp(
                r"^(?:|(?=(?:\D*\d){3})[0-9 +().\-/]*)$",
                message=_l("Write a phone number, such as 028 3822 0000 or 1900 1234."),
            ),
        ],
        render_kw={"inputmode": "tel", "autocomplete": "tel"},
    )
    contact_address = TextAreaField(_l("Address"), validators=[Length(max=300)])
    legal_footer_vi = TextAreaField(
        _l("Legal footer (Vietnamese)"),
        validators=[Length(max=1000)],
        description=_l("Registered name, tax code, business licence..."),
    )
    legal_footer_en = TextAreaField(
        _l("Legal footer (English)"),
        validators=[Length(max=1000)],
        description=_l("Registered name, tax code, business licence..."),
    )
    #: ``services.shown_fingerprint`` of the brand as the page showed it
    shown = shown_field()
    submit = SubmitField(_l("Save"))

    @classmethod
    def for_brand(cls, brand: Brand, **kwargs: Any) -> Self:
        """The form filled with the brand as it is (a GET, or a refused stale save)."""
        values = {**asdict(brand_data(brand)), "shown": shown_fingerprint(brand)}
        return cls(formdata=None, data=values, **kwargs)

    def validate_primary_colour(self, field: Any) -> None:
        _colour(field, "primary_colour")

    def validate_accent_colour(self, field: Any) -> None:
        if (field.data or "").strip():
            _colour(field, "accent_colour")

    def validate_logo(self, field: Any) -> None:
        """Refuse a bad logo before anything is saved (the service checks it again)."""
        if not field.data:
            return
        data = field.data.read()
        field.data.seek(0)
        try:
            check_logo(data)
        except ValidationFailed as error:
            raise ValidationError(error.message) from error

    def logo_bytes(self) -> bytes | None:
        return self.logo.data.read() if self.logo.data else None

    def data_for_service(self) -> BrandData:
        """The validated form as the service's plain data (call after ``validate``)."""
        return BrandData(
            company_name=self.company_name.data or "",
            primary_colour=self.primary_colour.data or "",
            accent_colour=self.accent_colour.data or "",
            tagline_vi=self.tagline_vi.data or "",
            tagline_en=self.tagline_en.data or "",
            contact_email=self.contact_email.data or "",
            contact_phone=self.contact_phone.data or "",
            contact_address=self.contact_address.data or "",
            legal_footer_vi=self.legal_footer_vi.data or "",
            legal_footer_en=self.legal_footer_en.data or "",
        )


def _colour(field: Any, name: str) -> None:
    try:
        parse_colour(field.data or "", field=name)
    except ValidationFailed as error:
        raise ValidationError(error.message) from error
