"""Finance's forms: the report's period and filters (a GET form), and the payout actions."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Optional, Regexp

from perks.commissions.models import EntryKind
from perks.commissions.services import RULE_CURRENCIES
from perks.errors import ValidationFailed
from perks.finance import periods
from perks.finance.payouts import MAX_PAYMENT_REFERENCE_LENGTH, MAX_REASON_LENGTH
from perks.finance.reports import GROUPINGS, NONE_KEY, ReportFilter, state_choices
from perks.forms import DayField, Form, Length, NumberRange, shown_field, trimmed
from perks.i18n import format_quarter
from perks.people.services import find_person, person_label

PERIOD_CHOICES = [
    SelectChoice("month", _l("Month")),
    SelectChoice("quarter", _l("Quarter")),
    SelectChoice("custom", _l("From a day to a day")),
]


def _options(pairs: list[tuple[Any, Any]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _id_or_none(value: str) -> tuple[int | None, bool]:
    """A filter value: ``""`` (any), ``"none"``, or an id."""
    if not value:
        return None, False
    if value == NONE_KEY:
        return None, True
    try:
        number = int(value)
    except ValueError as error:
        raise ValidationFailed(_("Choose one of the listed options.")) from error
    return number, False


class ReportForm(Form):
    """The report's period, grouping and filters, read from the query string (no CSRF: a GET
    changes nothing). Also the filters of the lines page and of the exports."""

    class Meta:
        csrf = False

    period = SelectField(_l("Period"), choices=PERIOD_CHOICES, default="month")
    month = StringField(
        _l("Month"), validators=[Optional(), Length(max=7)], render_kw={"type": "month"}
    )
    quarter = SelectField(_l("Quarter"), validators=[Optional()])
    start = DayField(_l("From"), validators=[Optional()])
    end = DayField(_l("To"), validators=[Optional()])
    group = SelectField(
        _l("Group by"),
        choices=_options(list(GROUPINGS.items())),
        default="person",
        validators=[Optional()],
    )
    # No Optional(): it would accept "  " (it clears the choice check's error); "" is listed.
    currency = SelectField(_l("Currency"), default="")
    department = SelectField(_l("Department"), validators=[Optional()], default="")
    #: a search, not a list (a company has thousands of people): an id (the report's links),
    #: a name, an e-mail or an employee number; ``?person=`` keeps working
    person = StringField(
        _l("Person"),
        validators=[Optional(), Length(max=200)],
        default="",
        render_kw={
            "type": "search",
            "placeholder": _l("Name, e-mail or employee number"),
            "autocomplete": "off",
        },
    )
    product = SelectField(_l("Product"), validators=[Optional()], default="")
    state = SelectField(_l("State"), validators=[Optional()], default="")
    kind = SelectField(_l("Entry"), validators=[Optional()], default="")

    def __init__(
        self,
        *args: Any,
        today: date,
        currencies: list[str],
        departments: list[tuple[int, str]],
        products: list[tuple[int, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        quarters = periods.recent_quarters(today)
        self.quarter.choices = _options([(q, format_quarter(q)) for q in quarters])
        if not self.quarter.data:
            self.quarter.data = quarters[0]
        if not self.month.data:
            self.month.data = f"{today:%Y-%m}"
        self.currency.choices = _options(
            [("", _l("Every currency"))] + [(c, c) for c in currencies]
        )
        self.department.choices = _options(
            [("", _l("Any department")), (NONE_KEY, _l("No department"))]
            + [(str(i), name) for i, name in departments]
        )
        self.product.choices = _options(
            [("", _l("Any product")), (NONE_KEY, _l("No product (adjustments, payouts)"))]
            + [(str(i), name) for i, name in products]
        )
        self.state.choices = _options([("", _l("Any state")), *state_choices()])
        kinds = [(k.value, k.label) for k in EntryKind]
        self.kind.choices = _options([("", _l("Any entry")), *kinds])

    def chosen_period(self) -> periods.Period:
        """Raises ValidationFailed."""
        if self.period.data == "quarter":
            return periods.parse_quarter(self.quarter.data or "")
        if self.period.data == "custom":
            if self.start.data is None or self.end.data is None:
                raise ValidationFailed(_("Enter the first and the last day."))
            return periods.custom_period(self.start.data, self.end.data)
        return periods.parse_month(self.month.data or "")

    def chosen_person(self) -> int | None:
        """The id of the person the search field names (None: anyone); shows them back as
        "Name <e-mail>". Raises ValidationFailed (nobody, or several people match)."""
        text = (self.person.data or "").strip()
        if not text:
            return None
        person = find_person(text)
        self.person.data = person_label(person)
        return person.id

    def to_filter(self) -> ReportFilter:
        """The filter chosen. Raises ValidationFailed (bad period or option)."""
        department_id, no_department = _id_or_none(self.department.data or "")
        product_id, no_product = _id_or_none(self.product.data or "")
        person_id = self.chosen_person()
        return ReportFilter(
            period=self.chosen_period(),
            currency=self.currency.data or None,
            user_id=person_id,
            department_id=department_id,
            no_department=no_department,
            product_id=product_id,
            no_product=no_product,
            state=self.state.data or None,
            kind=EntryKind(self.kind.data) if self.kind.data else None,
        )


class DraftBatchForm(Form):
    cutoff = DayField(
        _l("Cut-off day"),
        validators=[InputRequired()],
        description=_l("Entries written up to the end of this day (company time) are paid."),
    )


class ExcludeLineForm(Form):
    reason = StringField(
        _l("Why is it left out?"),
        validators=[DataRequired(), Length(max=MAX_REASON_LENGTH)],
        filters=[trimmed],
    )


class ApproveForm(Form):
    #: the batch's ``row_version`` the page showed, so an approval of a batch that changed
    #: after the page opened (a line left out) is refused instead of approving it unseen
    row_version = HiddenField(validators=[InputRequired(), Regexp(r"^\d{1,9}$")])


class MarkPaidForm(Form):
    payment_reference = StringField(
        _l("Payment reference"),
        validators=[DataRequired(), Length(max=MAX_PAYMENT_REFERENCE_LENGTH)],
        filters=[trimmed],
        description=_l("The payroll run or bank transfer that paid it."),
    )


class CancelBatchForm(Form):
    reason = TextAreaField(
        _l("Why is it cancelled?"),
        validators=[DataRequired(), Length(max=MAX_REASON_LENGTH)],
        filters=[trimmed],
    )


class ReconcileForm(Form):
    """The period to reconcile (a GET form)."""

    class Meta:
        csrf = False

    start = DayField(_l("Orders created from"), validators=[Optional()])
    end = DayField(_l("to"), validators=[Optional()])
    stripe = SelectField(
        _l("Also ask Stripe"),
        choices=_options(
            [("0", _l("No: stored events only")), ("1", _l("Yes: Stripe's list too"))]
        ),
        default="0",
    )


# --- tax profiles, withholding rates, column mappings ---------------------------------------


class TaxProfileForm(Form):
    """Finance's form of one person's tax profile."""

    tax_code = StringField(
        _l("Tax code (mã số thuế)"),
        validators=[Optional(), Length(max=20)],
        description=_l(
            "10 digits; 13 for a branch (0123456787-001); or the person's 12-digit personal "
            "identification number."
        ),
    )
    resident = BooleanField(_l("Resident in Vietnam for tax"), default=True)
    long_contract = BooleanField(
        _l("Labour contract of three months or more (commissions are salary income)")
    )
    commitment_year = IntegerField(
        _l("Year of the commitment form (mẫu 08/CK-TNCN) on file"),
        validators=[Optional(), NumberRange(min=2000, max=2200)],
        description=_l(
            "Leave empty if there is none. It counts only with the tax code: whoever signs "
            "it must have one."
        ),
    )
    bank_account_number = StringField(
        _l("Bank account number"), validators=[Optional(), Length(max=40)]
    )
    bank_name = StringField(_l("Bank"), validators=[Optional(), Length(max=120)])
    account_holder = StringField(_l("Account holder"), validators=[Optional(), Length(max=120)])
    #: the profile's version the page showed (0: none yet), so a save from a page opened before
    #: another finance person's change is refused instead of overwriting it
    version = HiddenField(default="0", validators=[InputRequired(), Regexp(r"^\d{1,9}$")])


class WithholdingRateForm(Form):
    effective_from = DayField(_l("In force from"), validators=[DataRequired()])
    resident = SelectField(
        _l("For"),
        choices=[SelectChoice("1", _l("Residents")), SelectChoice("0", _l("Non-residents"))],
        default="1",
    )
    rate_percent = StringField(
        lazy_pgettext("tax", "Rate (%)"),
        validators=[DataRequired(), Length(max=6)],
        description=_l("Up to two decimals, e.g. 10 or 12.5."),
    )
    #: a commission is paid in its rule's currency: each needs its own rates (a non-resident
    #: paid in USD is withheld too)
    currency = SelectField(
        _l("Currency of the payments"),
        choices=[SelectChoice(c, c) for c in RULE_CURRENCIES],
        default="VND",
    )
    threshold = StringField(
        _l("Withheld from a payment of"),
        validators=[DataRequired(), Length(max=20)],
        description=_l("In the currency above; 0: every payment."),
    )
    note = StringField(_l("Source"), validators=[Optional(), Length(max=200)])


class SummaryForm(Form):
    """The year of the withholding summary (a GET form)."""

    class Meta:
        csrf = False

    year = IntegerField(_l("Year"), validators=[DataRequired(), NumberRange(min=2000, max=2200)])


class MappingForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)], filters=[trimmed])
    kind = SelectField(
        _l("File"),
        choices=[
            SelectChoice("payroll", _l("Payroll file")),
            SelectChoice("bank", _l("Bank transfer file")),
        ],
    )
    columns = TextAreaField(
        _l("Columns, one a line: field = header"),
        validators=[DataRequired(), Length(max=4000)],
        render_kw={"rows": 12},
    )


class EditedMappingForm(MappingForm):
    """Changes to a column mapping, from a page that showed it."""

    #: ``payfiles.shown_fingerprint`` of the mapping as the page showed it, so a save from a
    #: page opened before someone else's change is refused instead of overwriting it
    shown = shown_field()
