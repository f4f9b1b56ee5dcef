"""Forms of the commission pages. Each lists exactly the fields it accepts.

Amounts are typed the way people write them ("2.000.000", "50.000 ₫", "$12.50") and read with
``parse_money`` in the chosen currency; rates are percentages ("2,5" or "2.5") turned into
basis points. The form keeps the parsed values on itself (``rate_bps``, ``flat_amount``...),
so views pass plain data to the services.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Optional, Regexp, ValidationError

from perks.catalog.forms import plain_text
from perks.commissions.ledger import MAX_REASON_LENGTH
from perks.commissions.models import (
    CommissionState,
    RuleAudience,
    RuleKind,
    RuleScope,
    TierMeasure,
)
from perks.commissions.services import MAX_TIERS, RULE_CURRENCIES, RuleData, TierData
from perks.errors import ValidationFailed
from perks.forms import DayField, Form, Length, NumberRange, enum_choices, sending_field, trimmed
from perks.money import Money, parse_money
from perks.people.models import EmploymentType
from perks.people.services import find_person, person_label

ANY_CURRENCY = ""
_PERCENT = re.compile(r"^\s*(\d{1,3})(?:[.,](\d{1,2}))?\s*%?\s*$")


def parse_percent(text: str) -> int:
    """ "2,5", "2.5 %" or "10" → basis points (250, 250, 1000).

    Raises:
        ValidationFailed: not a percentage with at most two decimals between 0 and 100.
    """
    match = _PERCENT.match(text or "")
    if not match:
        raise ValidationFailed(str(_l("Enter a percentage such as 2.5 or 10.")))
    whole, fraction = match.group(1), (match.group(2) or "").ljust(2, "0")
    bps = int(whole) * 100 + int(fraction)
    if bps > 10_000:
        raise ValidationFailed(str(_l("Enter a rate between 0 and 100%.")))
    return bps


def _options(first: tuple[object, object], pairs: list[tuple[int, str]]) -> list[SelectChoice]:
    return [SelectChoice(*first)] + [SelectChoice(value, label) for value, label in pairs]


class RuleForm(Form):
    """A new rule, or new terms for one (``fixed_target``: its scope and target stay)."""

    #: the token of this form (``perks.sent_once``): sent twice, it makes one thing
    sending = sending_field()
    scope = SelectField(_l("Applies to"), choices=enum_choices(RuleScope), default="default")
    product_id = SelectField(_l("Product"), coerce=int, validators=[Optional()])
    category_id = SelectField(_l("Category"), coerce=int, validators=[Optional()])
    audience = SelectField(
        _l("Whose sales"), choices=enum_choices(RuleAudience), default="everyone"
    )
    employment_type = SelectField(
        _l("Employment type"),
        choices=[SelectChoice("", "—"), *enum_choices(EmploymentType)],
        default="",
    )
    department_id = SelectField(_l("Department"), coerce=int, validators=[Optional()])
    group_id = SelectField(_l("Named group"), coerce=int, validators=[Optional()])
    kind = SelectField(_l("Kind"), choices=enum_choices(RuleKind), default="percent")
    rate = StringField(
        _l("Rate (%)"),
        validators=[Optional(), Length(max=12)],
        description=_l("For a percentage: for example 2.5 or 10."),
    )
    flat = StringField(
        _l("Amount per unit"),
        validators=[Optional(), Length(max=40)],
        description=_l("For a fixed amount: what one unit bought earns, for example 50,000."),
    )
    cap = StringField(
        _l("Cap per order line"),
        validators=[Optional(), Length(max=40)],
        description=_l("Optional: the most one order line can earn."),
    )
    currency = SelectField(
        _l("Currency"),
        choices=[SelectChoice(ANY_CURRENCY, _l("Any (percentage without a cap)"))]
        + [SelectChoice(c, c) for c in RULE_CURRENCIES],
        default=ANY_CURRENCY,
        # No Optional(): it would accept "  " (it clears the choice check's error); the
        # blank choice is listed, so "any currency" is still valid.
    )
    tier_measure = SelectField(
        _l("Tiers count"),
        choices=[SelectChoice("", _l("No tiers")), *enum_choices(TierMeasure)],
        default="",
        description=_l("The person's sales redeemed in the calendar month."),
    )
    tiers = TextAreaField(
        _l("Tiers"),
        validators=[Optional(), Length(max=1000)],
        description=_l(
            "One tier a line: the threshold, “=”, then the rate (or the amount per unit for a "
            "fixed amount). For example “10 = 3” (from the 10th line sold, 3%) or "
            "“50,000,000 = 3” (from 50,000,000 sold). Below the first threshold, the rule's "
            "own rate applies."
        ),
        render_kw={"rows": 3},
    )
    effective_from = DayField(_l("First day"), validators=[InputRequired()])
    effective_to = DayField(
        _l("Last day"), validators=[Optional()], description=_l("Empty: no end.")
    )
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200), plain_text])
    preview_amount = StringField(
        _l("Example order line"),
        validators=[Optional(), Length(max=40)],
        description=_l("What a line of this amount would earn is shown when you preview."),
    )
    preview_quantity = IntegerField(
        _l("Units in the example"), validators=[Optional(), NumberRange(min=1, max=1000)], default=1
    )
    preview = SubmitField(_l("Preview"))
    submit = SubmitField(_l("Save the rule"))

    def __init__(
        self,
        *args: object,
        products: list[tuple[int, str]],
        categories: list[tuple[int, str]],
        departments: list[tuple[int, str]] | None = None,
        groups: list[tuple[int, str]] | None = None,
        fixed_target: bool = False,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.product_id.choices = _options((0, "—"), products)
        self.category_id.choices = _options((0, "—"), categories)
        self.department_id.choices = _options((0, "—"), departments or [])
        self.group_id.choices = _options((0, "—"), groups or [])
        self.fixed_target = fixed_target
        self.rule_data: RuleData | None = None
        self.preview_base: Money | None = None

    @property
    def chosen_currency(self) -> str | None:
        return self.currency.data or None

    def _money(self, field: StringField, currency: str | None) -> int | None:
        if not (field.data or "").strip():
            return None
        if currency is None:
            field.errors.append(str(_l("Choose the currency of this amount.")))
            return None
        try:
            return parse_money(field.data, currency).amount
        except ValidationFailed as error:
            field.errors.append(error.message)
            return None

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        if not super().validate(extra_validators):
            return False
        currency = self.chosen_currency
        kind = RuleKind(self.kind.data)
        rate_bps = None
        if kind is RuleKind.PERCENT:
            try:
                rate_bps = parse_percent(self.rate.data or "")
            except ValidationFailed as error:
                self.rate.errors.append(error.message)
        flat = self._money(self.flat, currency) if kind is RuleKind.FLAT else None
        if kind is RuleKind.FLAT and flat is None and not self.flat.errors:
            self.flat.errors.append(str(_l("Enter the amount earned per unit.")))
        cap = self._money(self.cap, currency)
        if self.preview_amount.data:
            try:
                self.preview_base = parse_money(self.preview_amount.data, currency or "VND")
            except ValidationFailed as error:
                self.preview_amount.errors.append(error.message)
        measure = TierMeasure(self.tier_measure.data) if self.tier_measure.data else None
        tiers = self._tiers(kind, measure, currency)
        if any(f.errors for f in (self.rate, self.flat, self.cap, self.preview_amount, self.tiers)):
            return False
        self.rule_data = RuleData(
            scope=RuleScope(self.scope.data),
            kind=kind,
            effective_from=self.effective_from.data,
            category_id=self.category_id.data or None,
            product_id=self.product_id.data or None,
            rate_bps=rate_bps,
            flat_amount=flat,
            cap_amount=cap,
            currency=currency,
            effective_to=self.effective_to.data,
            note=self.note.data or "",
            audience=RuleAudience(self.audience.data),
            employment_type=(
                EmploymentType(self.employment_type.data) if self.employment_type.data else None
            ),
            department_id=self.department_id.data or None,
            group_id=self.group_id.data or None,
            tier_measure=measure,
            tiers=tiers,
        )
        return True

    def _tiers(
        self, kind: RuleKind, measure: TierMeasure | None, currency: str | None
    ) -> tuple[TierData, ...]:
        """The tiers typed, one a line ("10 = 3"); errors go on the field."""
        lines = [line for line in (self.tiers.data or "").splitlines() if line.strip()]
        if not lines:
            return ()
        if measure is None:
            self.tiers.errors.append(str(_l("Choose what the tiers count.")))
            return ()
        if len(lines) > MAX_TIERS:
            self.tiers.errors.append(str(_l("A rule has at most 10 tiers.")))
            return ()
        if measure is TierMeasure.AMOUNT and currency is None:
            self.tiers.errors.append(str(_l("Tiers on the amount sold need the rule's currency.")))
            return ()
        tiers = []
        for line in lines:
            threshold_text, equals, value_text = line.partition("=")
            try:
                if not equals:
                    raise ValidationFailed(
                        str(_l("Write each tier as a threshold, “=”, then its rate or amount."))
                    )
                if measure is TierMeasure.COUNT:
                    # ASCII digits only ("²" is a digit to ``str.isdigit``, not to ``int``),
                    # and few enough for the database
                    if not re.fullmatch(r"[0-9]{1,9}", threshold_text.strip()):
                        raise ValidationFailed(
                            str(_l("Enter the number of lines as a whole number."))
                        )
                    threshold = int(threshold_text.strip())
                else:
                    assert currency is not None
                    threshold = parse_money(threshold_text, currency).amount
                if kind is RuleKind.PERCENT:
                    tiers.append(TierData(threshold, rate_bps=parse_percent(value_text)))
                else:
                    assert currency is not None or self.flat.errors
                    amount = parse_money(value_text, currency or "VND").amount
                    tiers.append(TierData(threshold, flat_amount=amount))
            except ValidationFailed as error:
                self.tiers.errors.append(f"{line.strip()}: {error.message}")
                return ()
        return tuple(tiers)


class RevisedRuleForm(RuleForm):
    """New terms for a rule, from a page that showed the rule at ``row_version``."""

    #: the rule's ``row_version`` the page showed, so a save from a page opened before another
    #: finance person's change is refused instead of overwriting it
    row_version = HiddenField(validators=[InputRequired(), Regexp(r"^\d{1,9}$")])


class EndRuleForm(Form):
    last_day = DayField(_l("Last day"), validators=[InputRequired()])
    submit = SubmitField(_l("End the rule"))


#: what an adjustment form's request token looks like (``ledger.new_request_token``)
REQUEST_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"  # noqa: S105 - a format, not a secret


class AdjustmentForm(Form):
    """Finance adds or takes away an amount for one person, saying why."""

    user_id = SelectField(_l("Person"), coerce=int, validators=[DataRequired()])
    currency = SelectField(
        _l("Currency"), choices=[SelectChoice(c, c) for c in RULE_CURRENCIES], default="VND"
    )
    amount = StringField(
        _l("Amount"),
        validators=[InputRequired(), Length(max=40)],
        description=_l("Negative to take money back, for example -50,000."),
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(), Length(max=MAX_REASON_LENGTH), plain_text],
        filters=[trimmed],
        description=_l("The person sees it on their earnings page."),
        render_kw={"rows": 2},
    )
    #: made when the page is drawn: the form sent twice records one adjustment
    #: (``ledger.record_adjustment``); a page drawn before it existed sends none
    request_token = HiddenField(validators=[Optional(), Regexp(REQUEST_TOKEN_PATTERN)])
    submit = SubmitField(_l("Record the adjustment"))

    def __init__(self, *args: object, people: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.user_id.choices = _options((0, "—"), people)
        self.money: Money | None = None

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        if not super().validate(extra_validators):
            return False
        try:
            self.money = parse_money(
                self.amount.data or "", self.currency.data, allow_negative=True
            )
        except ValidationFailed as error:
            self.amount.errors.append(error.message)
            return False
        return True


class CommissionFilterForm(Form):
    """Finance's filters, read from the query string (no CSRF: a GET changes nothing)."""

    class Meta:
        csrf = False

    start = DayField(_l("Paid from"), validators=[Optional()])
    end = DayField(_l("Paid until"), validators=[Optional()])
    state = SelectField(
        _l("State"),
        choices=[SelectChoice("", _l("Any state")), *enum_choices(CommissionState)],
        default="",
        validators=[Optional()],
    )
    department = SelectField(_l("Department"), coerce=int, validators=[Optional()], default=0)
    #: a search, not a list (a company has thousands of people): an id, a name, an e-mail or
    #: an employee number; ``?person=<id>`` keeps working
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
    product = SelectField(_l("Product"), coerce=int, validators=[Optional()], default=0)

    def __init__(
        self,
        *args: object,
        departments: list[tuple[int, str]],
        products: list[tuple[int, str]],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.department.choices = _options((0, _l("Any department")), departments)
        self.product.choices = _options((0, _l("Any product")), products)

    def validate_end(self, field: DayField) -> None:
        """A period ending before it starts is a typo, not a search for nothing (the report
        and the exports refuse it too)."""
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("The last day cannot be before the first day."))

    def chosen_person(self) -> int | None:
        """The id of the person the search field names (None: anyone), shown back as
        "Name <e-mail>"; nobody or several: the field's error and None.

        Raises nothing: check ``self.person.errors``."""
        text = (self.person.data or "").strip()
        if not text:
            return None
        try:
            person = find_person(text)
        except ValidationFailed as error:
            self.person.errors = [*self.person.errors, error.message]
            return None
        self.person.data = person_label(person)
        return person.id


class PersonPreviewForm(Form):
    """The rules page's preview: a person and a product (read from the query string)."""

    class Meta:
        csrf = False

    person = SelectField(_l("Person"), coerce=int, validators=[DataRequired()])
    product = SelectField(_l("Product"), coerce=int, validators=[DataRequired()])

    def __init__(
        self,
        *args: object,
        people: list[tuple[int, str]],
        products: list[tuple[int, str]],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.person.choices = _options((0, "—"), people)
        self.product.choices = _options((0, "—"), products)


class GroupForm(Form):
    name = StringField(
        _l("Name"), validators=[DataRequired(), Length(max=80), plain_text], filters=[trimmed]
    )
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200), plain_text])
    submit = SubmitField(_l("Add the group"))


class MemberForm(Form):
    user_id = SelectField(_l("Person"), coerce=int, validators=[DataRequired()])
    submit = SubmitField(_l("Add to the group"))

    def __init__(self, *args: object, people: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.user_id.choices = _options((0, "—"), people)


class ReturningCustomersForm(Form):
    """Finance's returning-customer setting."""

    window_days = IntegerField(
        _l("Window (days)"),
        validators=[InputRequired(), NumberRange(min=0, max=3650)],
        description=_l("0 turns it off: the last link clicked always wins."),
    )
    rate = StringField(
        _l("Returning-customer rate (%)"),
        validators=[Optional(), Length(max=12)],
        description=_l("Empty: a returning customer's order earns by the rules, like any other."),
    )
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.rate_bps: int | None = None

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if (self.rate.data or "").strip():
            try:
                self.rate_bps = parse_percent(self.rate.data or "")
            except ValidationFailed as error:
                self.rate.errors.append(error.message)
                return False
        return True
