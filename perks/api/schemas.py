"""The API's request and response shapes (marshmallow), from which the OpenAPI document is made."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validates_schema

from perks.api.models import Scope
from perks.api.validation import (
    NOT_A_BOOLEAN,
    NOT_A_TEXT,
    NOT_AN_OBJECT,
    REQUIRED,
    UNKNOWN_FIELD,
    ApiSchema,
    Length,
    OneOf,
    Range,
)
from perks.commissions.models import CommissionState, EntryKind
from perks.commissions.tax import Treatment
from perks.finance.models import BatchStatus
from perks.i18n import EARLIEST_DAY, LATEST_DAY


def day_filter(key: str, description: str) -> fields.Date:
    """A day of the query string (``?from=``, ``?to=``) within the days the app takes
    (``perks.i18n``: another would overflow a day's end)."""
    return fields.Date(
        data_key=key,
        validate=Range(min=EARLIEST_DAY, max=LATEST_DAY),
        metadata={"description": description},
    )


class UtcDateTime(fields.DateTime):
    """A moment in ISO 8601 with its offset; SQLite's naive values are UTC (as stored)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class Problem(ApiSchema):
    """An error (RFC 9457)."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.List(fields.Dict(), metadata={"description": "every bad field or record"})
    reasons = fields.List(fields.Dict())
    elsewhere = fields.Dict(metadata={"description": "the counter that knows this code"})


class Health(ApiSchema):
    status = fields.String(required=True)


class Version(ApiSchema):
    api = fields.String(required=True)
    app = fields.String(required=True)


class PageArgs(ApiSchema):
    cursor = fields.String(
        validate=Length(max=64),
        metadata={"description": "``next_cursor`` of this list's previous page"},
    )
    limit = fields.Integer(load_default=50, validate=Range(min=1, max=200))


class PersonFilter(PageArgs):
    person = fields.String(
        validate=Length(min=1, max=32),
        metadata={"description": "employee number; a personal token reads its owner only"},
    )


class DaysInOrder(ApiSchema):
    """``?from=`` and ``?to=`` (``day_filter``): a last day before the first is refused, not
    answered with an empty list a caller would take for "nothing happened"."""

    @validates_schema
    def _days_in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        first, last = data.get("from_date"), data.get("to_date")
        if first is not None and last is not None and last < first:
            raise ValidationError(str(_l("The last day comes before the first.")), "to")


class PeriodFilter(PersonFilter, DaysInOrder):
    from_date = day_filter("from", "first day, inclusive")
    to_date = day_filter("to", "last day, inclusive")


class PersonIn(ApiSchema):
    """One person as the HR system knows them: the CSV import's columns. A field left out of
    every record of a batch keeps what is stored; left out of some records, it reads as an
    empty cell (which clears the department, location, dates and manager)."""

    employee_number = fields.String(required=True, validate=Length(min=1, max=32))
    email = fields.String(required=True, validate=Length(max=254))
    name = fields.String(required=True, validate=Length(max=120))
    department = fields.String(allow_none=True, validate=Length(max=120))
    location = fields.String(allow_none=True, validate=Length(max=80))
    employment_type = fields.String(allow_none=True, validate=Length(max=32))
    hire_date = fields.String(
        allow_none=True, validate=Length(max=10), metadata={"example": "2024-06-03"}
    )
    birthday = fields.String(
        allow_none=True, validate=Length(max=10), metadata={"example": "23/08"}
    )
    manager_email = fields.String(allow_none=True, validate=Length(max=254))
    #: the first day the person no longer works here (see the leavers' policy)
    leaving_date = fields.String(
        allow_none=True, validate=Length(max=10), metadata={"example": "2027-01-31"}
    )
    language = fields.String(allow_none=True, validate=Length(max=16))
    roles = fields.List(fields.String(validate=Length(max=16)), allow_none=True)
    active = fields.Boolean(allow_none=True)


class PersonPut(PersonIn):
    """One person sent to ``PUT /people/{employee_number}``: the path names them, so the
    body may leave the employee number out (one given must be the path's, else 422)."""

    employee_number = fields.String(
        validate=Length(min=1, max=32),
        metadata={
            "description": "may be left out (the path's is used); if given, must be the "
            "path's employee number, else 422"
        },
    )


#: each text field's length check, as ``PersonIn`` has it
_LENGTHS: dict[str, Length] = {
    name: next(v for v in field.validators if isinstance(v, Length))
    for name, field in PersonIn._declared_fields.items()
    if isinstance(field, fields.String)
}
_REQUIRED = tuple(name for name, field in PersonIn._declared_fields.items() if field.required)


class PeopleList(fields.List):
    """A batch of ``PersonIn``, documented as such, checked faster than one ``Nested`` per
    record (a thousand records through marshmallow cost more than the import itself): the
    same rules (required fields, types, lengths, no unknown field), the same messages. The
    batch's size is checked first: a batch over the limit is refused for that alone, its
    records unread (a million of them took a minute to name each one's problems)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.Nested(PersonIn), **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, list):
            raise self.make_error("invalid")
        self._validate(value)
        errors: dict[int, dict[str, list[Any]]] = {}
        for index, record in enumerate(value):
            problems = _record_problems(record)
            if problems:
                errors[index] = problems
        if errors:
            raise ValidationError(errors)
        return value


def _record_problems(record: Any) -> dict[str, list[Any]]:
    if not isinstance(record, dict):
        return {"_schema": [NOT_AN_OBJECT]}
    problems: dict[str, list[Any]] = {}
    for name in _REQUIRED:
        if record.get(name) is None:
            problems[name] = [REQUIRED]
    for name, item in record.items():
        if name in _LENGTHS:
            if item is None:
                continue
            if not isinstance(item, str):
                problems[name] = [NOT_A_TEXT]
                continue
            try:
                _LENGTHS[name](item)
            except ValidationError as refused:
                problems[name] = list(refused.messages)
        elif name == "roles":
            if item is not None and (
                not isinstance(item, list)
                or not all(isinstance(role, str) and len(role) <= 16 for role in item)
            ):
                problems[name] = [_l("Not a valid list of roles.")]
        elif name == "active":
            if item is not None and not isinstance(item, bool):
                problems[name] = [NOT_A_BOOLEAN]
        else:
            problems[name] = [UNKNOWN_FIELD]
    return problems


class PeopleBatch(ApiSchema):
    people = PeopleList(required=True, validate=Length(min=1, max=1000))
    dry_run = fields.Boolean(load_default=False)


class RecordWarning(ApiSchema):
    """What a record did (or, in a dry run, would do) that the caller should know: the
    records were written all the same, as the people pages save and then warn."""

    index = fields.Integer(
        required=True, metadata={"description": "the record's place in the batch, from 0"}
    )
    employee_number = fields.String(allow_none=True, required=True)
    code = fields.String(
        required=True,
        metadata={
            "description": "``last_administrator_leaving``: the record gives the only active "
            "administrator a leaving date; they stay active past it until someone else is "
            "made an administrator"
        },
    )
    message = fields.String(required=True, metadata={"description": "in the caller's language"})


class UpsertResult(ApiSchema):
    dry_run = fields.Boolean(required=True)
    total = fields.Integer(required=True)
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    departments_created = fields.List(fields.String(), required=True)
    warnings = fields.List(
        fields.Nested(RecordWarning),
        required=True,
        metadata={"description": "empty unless a record calls for one; never stops the write"},
    )


class PersonOut(ApiSchema):
    """Every field is always sent (null where the person has none), as in every answer."""

    employee_number = fields.String(allow_none=True, required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    department = fields.String(allow_none=True, required=True)
    location = fields.String(allow_none=True, required=True)
    employment_type = fields.String(required=True)
    hire_date = fields.Date(allow_none=True, required=True)
    leaving_date = fields.Date(allow_none=True, required=True)
    language = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    active = fields.Boolean(required=True)


class PeoplePage(ApiSchema):
    items = fields.List(fields.Nested(PersonOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class ReasonOut(ApiSchema):
    code = fields.String(
        required=True,
        metadata={
            "description": "not_published, gift, not_started, ended, inactive, not_joined, "
            "department, location, employment_type, tenure, limit, sold_out, ..."
        },
    )
    message = fields.String(required=True)


class PerkOut(ApiSchema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    partner = fields.String(required=True)
    category = fields.String(required=True)
    available = fields.Integer(allow_none=True, required=True)
    can_claim = fields.Boolean(required=True)
    reasons = fields.List(fields.Nested(ReasonOut), required=True)


class PerkList(ApiSchema):
    person = fields.String(allow_none=True, required=True)
    items = fields.List(fields.Nested(PerkOut), required=True)


class CatalogArgs(ApiSchema):
    person = fields.String(validate=Length(min=1, max=32))


class ClaimOut(ApiSchema):
    id = fields.Integer(required=True)
    reference = fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "the voucher code a counter redeems: null unless the token may "
            "redeem (redemptions:write) or is the owner's personal token"
        },
    )
    perk_id = fields.Integer(required=True)
    perk = fields.String(required=True)
    person = fields.String(allow_none=True, required=True)
    status = fields.String(required=True)
    claimed_at = UtcDateTime(required=True)
    used_at = UtcDateTime(allow_none=True, required=True)
    used_by = fields.String(allow_none=True, required=True)
    expires_on = fields.Date(allow_none=True, required=True)


class ClaimPage(ApiSchema):
    items = fields.List(fields.Nested(ClaimOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class _ClaimAtCounter(ApiSchema):
    reference = fields.String(required=True)
    perk = fields.String(required=True)
    person = fields.String(required=True)
    status = fields.String(required=True)
    used_at = UtcDateTime(allow_none=True, required=True)
    used_by = fields.String(allow_none=True, required=True)


class OrderLineAtCounter(ApiSchema):
    product = fields.String(required=True)
    quantity = fields.Integer(required=True)


class _OrderAtCounter(ApiSchema):
    number = fields.String(required=True)
    redemption_code = fields.String(allow_none=True, required=True)
    status = fields.String(required=True)
    customer = fields.String(required=True)
    redeemed_at = UtcDateTime(allow_none=True, required=True)
    redeemed_by = fields.String(allow_none=True, required=True)
    lines = fields.List(fields.Nested(OrderLineAtCounter), required=True)


class _Verdict(ApiSchema):
    redeemable = fields.Boolean(
        required=True, metadata={"description": "the code can be redeemed now"}
    )
    problem = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "why it cannot (already used: when and by whom); else null"},
    )


class _Redeemed(ApiSchema):
    redeemed = fields.Boolean(
        required=True,
        metadata={"description": "always true: this request redeemed the code (else 4xx)"},
    )


class CounterClaim(_ClaimAtCounter, _Verdict):
    """A claim as the perk counter shows it: whether it can be used, else why."""


class RedeemedClaim(_ClaimAtCounter, _Redeemed):
    """A claim this request redeemed: when and by whom."""


class CounterOrder(_OrderAtCounter, _Verdict):
    """An order as the order counter shows it: whether it can be redeemed, else why."""


class RedeemedOrder(_OrderAtCounter, _Redeemed):
    """An order this request redeemed: when and by whom."""


class CommissionArgs(PeriodFilter):
    state = fields.String(validate=OneOf([state.value for state in CommissionState]))


class CommissionOut(ApiSchema):
    id = fields.Integer(required=True)
    person = fields.String(allow_none=True, required=True)
    order_id = fields.Integer(required=True)
    product_id = fields.Integer(required=True)
    state = fields.String(required=True)
    amount = fields.Integer(required=True, metadata={"description": "minor units"})
    currency = fields.String(required=True)
    created_at = UtcDateTime(required=True)
    earned_at = UtcDateTime(allow_none=True, required=True)
    payable_at = UtcDateTime(allow_none=True, required=True)
    paid_at = UtcDateTime(allow_none=True, required=True)


class CommissionPage(ApiSchema):
    items = fields.List(fields.Nested(CommissionOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class LedgerArgs(PeriodFilter):
    kind = fields.String(validate=OneOf([kind.value for kind in EntryKind]))


class LedgerEntryOut(ApiSchema):
    id = fields.Integer(required=True)
    person = fields.String(allow_none=True, required=True)
    commission_id = fields.Integer(allow_none=True, required=True)
    kind = fields.String(required=True)
    amount = fields.Integer(required=True, metadata={"description": "minor units, signed"})
    currency = fields.String(required=True)
    created_at = UtcDateTime(required=True)
    payout_batch_id = fields.Integer(allow_none=True, required=True)


class LedgerPage(ApiSchema):
    items = fields.List(fields.Nested(LedgerEntryOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


class PayoutArgs(PageArgs, DaysInOrder):
    status = fields.String(validate=OneOf([status.value for status in BatchStatus]))
    from_date = day_filter("from", "cut-off from, inclusive")
    to_date = day_filter("to", "cut-off to, inclusive")
    person = fields.String(
        validate=Length(min=1, max=32),
        metadata={"description": "only the lines of this employee number"},
    )


class PayoutLineOut(ApiSchema):
    person = fields.String(allow_none=True, required=True)
    email = fields.String(required=True)
    amount = fields.Integer(required=True, metadata={"description": "gross, minor units"})
    currency = fields.String(required=True)
    status = fields.String(required=True)
    entry_count = fields.Integer(required=True)
    tax_treatment = fields.String(
        allow_none=True,
        required=True,
        validate=OneOf([treatment.value for treatment in Treatment]),
        metadata={
            "description": "how the payment was taxed (``salary``: with the wages by payroll; "
            "the others: by bank transfer); null until the batch is paid, as tax is assessed "
            "on the payment day"
        },
    )
    tax_withheld = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "minor units; null until the batch is paid"},
    )
    net = fields.Integer(
        allow_none=True,
        required=True,
        metadata={
            "description": "amount − tax_withheld, what the person receives; null until paid"
        },
    )


class PayoutBatchOut(ApiSchema):
    id = fields.Integer(
        required=True, metadata={"description": "what a ledger entry's payout_batch_id names"}
    )
    reference = fields.String(required=True)
    status = fields.String(required=True)
    cutoff_date = fields.Date(required=True)
    approved_at = UtcDateTime(allow_none=True, required=True)
    paid_at = UtcDateTime(allow_none=True, required=True)
    payment_reference = fields.String(required=True)
    lines = fields.List(fields.Nested(PayoutLineOut), required=True)


class PayoutPage(ApiSchema):
    items = fields.List(fields.Nested(PayoutBatchOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)


SCOPES = [scope.value for scope in Scope]
