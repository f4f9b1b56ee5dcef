"""Forms of the shop's back office and of the order counter. Each lists exactly the fields it
accepts: ids, image file names, order states and refunded totals are never fields.

Money is typed as people write it and read by ``perks.money.parse_money`` in the currency the
form says (the product's chosen currency, the order's currency), so "12.50" is 1250 cents in
USD and "1.250.000" is 1,250,000 đồng.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Self

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Optional, Regexp

from perks.catalog.forms import plain_text
from perks.errors import ValidationFailed
from perks.forms import (
    DayField,
    Form,
    Length,
    NumberRange,
    days_in_order,
    enum_choices,
    name_fields,
    sending_field,
    trimmed,
)
from perks.money import Money, parse_money
from perks.shop import product_admin
from perks.shop.models import OrderStatus, Product, ProductCategory, RedemptionMode

MAX_TEXT = 5000
#: what a refund request's form token looks like (``secrets.token_urlsafe(18)``)
REQUEST_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"  # noqa: S105 - a format, not a secret
#: a redemption code, or a URL a scanner read from a QR code
MAX_SCAN_LENGTH = 512

_PERCENT = re.compile(r"^\s*(\d{1,3})(?:[.,](\d{1,2}))?\s*%?\s*$")


def percent_to_bps(text: str) -> int:
    """ "12.5" (or "12,5", "12.5 %") → 1250 basis points.

    Raises:
        ValidationError: not a number with at most two decimals between 0 and 100.
    """
    match = _PERCENT.match(text)
    if match is None:
        raise ValidationError(_l("Enter a percentage such as 10 or 12.5."))
    try:
        value = Decimal(f"{match.group(1)}.{match.group(2) or '0'}")
    except InvalidOperation as error:  # pragma: no cover - the pattern admits digits only
        raise ValidationError(_l("Enter a percentage such as 10 or 12.5.")) from error
    if value > 100:
        raise ValidationError(_l("A discount is from 0 to 100%."))
    return int(value * 100)


def bps_to_percent(bps: int) -> str:
    """1250 → "12.5" (what the form shows for a stored discount)."""
    value = Decimal(bps) / 100
    return format(value.normalize(), "f") if value else "0"


def money_text(money: Money) -> str:
    """An amount as a person types it, without a symbol: "2400000", "12.50"."""
    return format(money.to_decimal(), "f")


CURRENCY_CHOICES = [SelectChoice(code, code) for code in product_admin.PRODUCT_CURRENCIES]


# --- products -------------------------------------------------------------------------------


class ProductForm(Form):
    name_vi, name_en = name_fields(max_length=160, required=False, checks=[plain_text])
    #: the token of this form (``perks.sent_once``): sent twice, it makes one thing
    sending = sending_field()
    description_vi = TextAreaField(
        _l("Description (Vietnamese)"),
        validators=[Optional(), Length(max=MAX_TEXT), plain_text],
        render_kw={"rows": 4},
    )
    description_en = TextAreaField(
        _l("Description (English)"),
        validators=[Optional(), Length(max=MAX_TEXT), plain_text],
        render_kw={"rows": 4},
    )
    category_id = SelectField(_l("Category"), validators=[Optional()], default="")
    slug = StringField(
        _l("Web address"),
        validators=[Optional(), Length(max=product_admin.MAX_SLUG_LENGTH)],
        description=_l("The end of /shop/p/…; made from the name when a new one is left empty."),
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )
    currency = SelectField(_l("Currency"), choices=CURRENCY_CHOICES, default="VND")
    price = StringField(
        _l("Price"),
        validators=[InputRequired()],
        description=_l("In the currency chosen: 1,250,000 for VND, 12.50 for USD."),
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    staff_price = StringField(
        _l("Staff price"),
        validators=[Optional()],
        description=_l("What staff pay instead. Or give a staff discount; not both."),
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    staff_discount = StringField(
        _l("Staff discount (%)"),
        validators=[Optional()],
        description=_l("Off the price for staff, e.g. 10 or 12.5. Empty or 0: none."),
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    redemption_mode = SelectField(
        _l("Redemption"), choices=enum_choices(RedemptionMode), default=RedemptionMode.COUNTER.value
    )
    max_quantity_per_order = IntegerField(
        _l("Most per order"),
        validators=[InputRequired(), NumberRange(min=1, max=product_admin.MAX_QUANTITY_PER_ORDER)],
        default=10,
    )
    active = BooleanField(_l("On sale (shown on the storefront)"), default=True)
    image = FileField(
        _l("Image"),
        validators=[FileAllowed(["png", "jpg", "jpeg"], _l("Upload a PNG or JPEG image."))],
        description=_l("PNG or JPEG, at most 2 MB."),
    )
    submit = SubmitField(_l("Save"))

    def __init__(
        self, *args: Any, categories: Iterable[ProductCategory] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.category_id.choices = [SelectChoice("", _l("No category"))] + [
            SelectChoice(str(c.id), c.name) for c in categories
        ]
        #: the parsed amounts, once ``validate`` passed
        self.parsed_price: Money | None = None
        self.parsed_staff_price: Money | None = None
        self.parsed_discount_bps = 0

    @classmethod
    def for_product(cls, product: Product, **kwargs: Any) -> Self:
        """The form filled with ``product`` as it is (a GET of the edit page)."""
        form = cls(obj=product, **kwargs)
        form.category_id.data = str(product.category_id) if product.category_id else ""
        form.price.data = money_text(product.price)
        form.staff_price.data = (
            money_text(Money(product.staff_price_amount, product.currency))
            if product.staff_price_amount is not None
            else ""
        )
        form.staff_discount.data = (
            bps_to_percent(product.staff_discount_bps) if product.staff_discount_bps else ""
        )
        form.redemption_mode.data = product.redemption_mode.value
        return form

    def _money(self, field: Field) -> Money | None:
        currency = self.currency.data
        if currency not in product_admin.PRODUCT_CURRENCIES:
            return None  # the currency field reports its own error
        try:
            return parse_money(field.data or "", currency)
        except ValidationFailed as error:
            raise ValidationError(error.message) from error

    def validate_price(self, field: Field) -> None:
        self.parsed_price = self._money(field)

    def validate_staff_price(self, field: Field) -> None:
        if (field.data or "").strip():
            self.parsed_staff_price = self._money(field)

    def validate_staff_discount(self, field: Field) -> None:
        if (field.data or "").strip():
            self.parsed_discount_bps = percent_to_bps(field.data)

    def validate_image(self, field: Field) -> None:
        """Refuse a bad image before anything is saved (the service checks it again)."""
        file = field.data
        if not file:
            return
        data = file.read()
        file.seek(0)
        try:
            product_admin.image_extension(data)
        except ValidationFailed as error:
            raise ValidationError(error.message) from error

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        valid = super().validate(extra_validators)
        if not valid:
            return False
        price, staff = self.parsed_price, self.parsed_staff_price
        if staff is not None and self.parsed_discount_bps:
            self.staff_price.errors.append(_l("Give a staff price or a staff discount, not both."))
            return False
        if price is not None and staff is not None and staff.amount > price.amount:
            self.staff_price.errors.append(_l("The staff price cannot be more than the price."))
            return False
        if not (self.name_vi.data or "").strip() and not (self.name_en.data or "").strip():
            self.name_vi.errors.append(_l("Give the name in Vietnamese, in English, or both."))
            return False
        return True

    def image_bytes(self) -> bytes | None:
        return self.image.data.read() if self.image.data else None

    def data_for_service(self) -> product_admin.ProductData:
        """The validated form as the service's plain data (call after ``validate``)."""
        assert self.parsed_price is not None
        return product_admin.ProductData(
            name_vi=self.name_vi.data or "",
            name_en=self.name_en.data or "",
            description_vi=self.description_vi.data or "",
            description_en=self.description_en.data or "",
            category_id=int(self.category_id.data) if self.category_id.data else None,
            slug=(self.slug.data or "").strip(),
            price=self.parsed_price,
            staff_price=self.parsed_staff_price,
            staff_discount_bps=self.parsed_discount_bps,
            redemption_mode=RedemptionMode(self.redemption_mode.data),
            max_quantity_per_order=self.max_quantity_per_order.data or 1,
            active=bool(self.active.data),
        )


class EditedProductForm(ProductForm):
    """A product's changes, from a page that showed the product at ``row_version``."""

    #: the product's ``row_version`` the page showed, so a save from a page opened before
    #: someone else's change is refused instead of overwriting it
    row_version = HiddenField(validators=[InputRequired(), Regexp(r"^\d{1,9}$")])


class ProductFilterForm(Form):
    class Meta:
        csrf = False  # a GET filter changes nothing

    category = SelectField(_l("Category"), validators=[Optional()], default="")
    active = SelectField(
        _l("On sale"),
        choices=[
            SelectChoice("", _l("All")),
            SelectChoice("active", _l("On sale")),
            SelectChoice("inactive", _l("Off sale")),
        ],
        validators=[Optional()],
        default="",
    )
    currency = SelectField(
        _l("Currency"),
        choices=[SelectChoice("", _l("All")), *CURRENCY_CHOICES],
        default="",  # no Optional(): it would let "  " past the choice check
    )

    def __init__(
        self, *args: Any, categories: Iterable[ProductCategory] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.category.choices = [
            SelectChoice("", _l("All")),
            SelectChoice("none", _l("No category")),
        ] + [SelectChoice(str(c.id), c.name) for c in categories]


# --- categories -----------------------------------------------------------------------------


class CategoryForm(Form):
    name_vi, name_en = name_fields(max_length=120, required=False, checks=[plain_text])
    #: the token of this form (``perks.sent_once``): sent twice, it makes one thing
    sending = sending_field()
    slug = StringField(
        _l("Web address"),
        validators=[Optional(), Length(max=product_admin.MAX_SLUG_LENGTH)],
        description=_l("The end of /shop/c/…; made from the name when a new one is left empty."),
        render_kw={"spellcheck": "false", "autocomplete": "off"},
    )
    submit = SubmitField(_l("Save"))

    def data_for_service(self) -> product_admin.CategoryData:
        return product_admin.CategoryData(
            name_vi=self.name_vi.data or "",
            name_en=self.name_en.data or "",
            slug=(self.slug.data or "").strip(),
        )


# --- orders ---------------------------------------------------------------------------------


class OrderFilterForm(Form):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField(
        _l("Order number, code or e-mail"),
        validators=[Optional(), Length(max=254), plain_text],
    )
    status = SelectField(
        _l("Status"),
        choices=[SelectChoice("", _l("Any status")), *enum_choices(OrderStatus)],
        validators=[Optional()],
        default="",
    )
    currency = SelectField(
        _l("Currency"),
        choices=[SelectChoice("", _l("Any currency")), *CURRENCY_CHOICES],
        default="",  # no Optional(): it would let "  " past the choice check
    )
    attention = BooleanField(_l("Only orders that need a look (amount mismatch or flagged)"))
    date_from = DayField(_l("From"), validators=[Optional()])
    date_to = DayField(_l("To"), validators=[Optional()])

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        return super().validate(extra_validators) and days_in_order(self.date_from, self.date_to)


class RefundForm(Form):
    amount = StringField(
        _l("Amount to refund"),
        validators=[InputRequired()],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(), Length(max=500), plain_text],
        filters=[trimmed],
        description=_l("Kept in the audit log with your name."),
        render_kw={"rows": 2},
    )
    request_token = HiddenField(validators=[DataRequired(), Regexp(REQUEST_TOKEN_PATTERN)])
    submit = SubmitField(_l("Request the refund"))

    def __init__(self, *args: Any, currency: str = "VND", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currency = currency
        self.parsed_amount: Money | None = None

    def validate_amount(self, field: Field) -> None:
        try:
            self.parsed_amount = parse_money(field.data or "", self.currency)
        except ValidationFailed as error:
            raise ValidationError(error.message) from error
        if self.parsed_amount.amount == 0:
            raise ValidationError(_l("Enter an amount greater than zero."))


# --- the order counter ----------------------------------------------------------------------


class OrderLookupForm(Form):
    """The code a redeemer types or scans, looked up with a GET (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    code = StringField(
        _l("Redemption code"),
        validators=[DataRequired(), Length(max=MAX_SCAN_LENGTH)],
        description=_l(
            "Type the customer's code (spaces and case do not matter), or scan its QR code."
        ),
    )


class RedeemOrderForm(Form):
    """Marks the looked-up order redeemed (a POST, with the CSRF token)."""

    code = HiddenField(validators=[DataRequired(), Length(max=MAX_SCAN_LENGTH)])
    submit = SubmitField(_l("Mark redeemed"))
