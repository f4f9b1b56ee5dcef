"""Vietnamese personal income tax on commissions: who is withheld what, and the services
finance uses to keep tax profiles and withholding rates (models in ``tax_models``).

The rule (Circular 111/2013, art. 25; rates are data, ``WithholdingRate``):

* A resident with a labour contract of three months or more: commissions are salary income.
  Nothing is withheld here; the payroll file carries the payment as a taxable line and payroll
  taxes it with the wages (``Treatment.SALARY``).
* A non-resident is withheld the non-resident rate (20 % of any amount under Circular 111),
  whatever their contract: their income is not taxed progressively with wages.
* Any other resident: the rate in force on the payment day, for residents or non-residents, in the
  payment's currency, applies to a payment of at least its threshold (``WITHHELD``); below it
  nothing is withheld (``BELOW_THRESHOLD``). A resident whose commitment form (mẫu
  08/CK-TNCN) is on file for the payment's year, with their tax code (whoever signs it
  must have one), is not withheld (``COMMITMENT``). With no
  rate for the currency, nothing is withheld (``NO_RATE``).
* Nobody without a tax profile is left out: staff (``EmploymentType.STAFF``) are taken to be
  on payroll with a labour contract of three months or more; anyone else (partners,
  contractors, suppliers) is taken to be a resident without one, so they are withheld.

Rounding: the tax is the rate of the whole payment rounded *down* to the currency's minor unit
(the đồng for VND), so nobody is withheld more than the rate says; the person is paid the
rest, and withheld + paid is exactly the gross.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Protocol

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.vn import mst

from perks import audit
from perks.commissions.tax_models import TaxProfile, WithholdingRate
from perks.db import transaction
from perks.errors import ChangedMeanwhile, Conflict, NotFound, NotPermitted, ValidationFailed
from perks.extensions import db
from perks.i18n import LabelledEnum
from perks.money import Money
from perks.people.models import EmploymentType, User

#: a tax code: 10 digits, the last a check digit ("0123456787"); 13, a branch's: those 10
#: and a 3-digit suffix ("0123456787-001"); or 12, a personal identification number, which is
#: a person's tax code since 1 July 2025 (Circular 86/2024/TT-BTC)
TAX_CODE = re.compile(r"^(\d{10})(?:-?(\d{3}))?$|^(\d{12})$")
#: a tax code as the messages show it
TAX_CODE_EXAMPLE = "0123456787-001"
BANK_ACCOUNT = re.compile(r"^[0-9A-Za-z]{4,34}$")


class Treatment(LabelledEnum):
    """How a payment to a person is taxed (stored on each paid payout line)."""

    SALARY = "salary", _l("Salary income: taxed by payroll")
    WITHHELD = "withheld", _l("Withheld at the rate")
    BELOW_THRESHOLD = "below_threshold", _l("Below the threshold: nothing withheld")
    COMMITMENT = "commitment", _l("Commitment form on file: nothing withheld")
    NO_RATE = "no_rate", _l("No rate for this currency: nothing withheld")


@dataclass(frozen=True)
class Assessment:
    """What a payment of ``gross`` is: taxable income, the tax withheld, what is paid, and
    who pays it (with the wages, ``on_payroll``, or by bank transfer: :func:`is_on_payroll`)."""

    treatment: Treatment
    gross: Money
    taxable: Money
    withheld: Money
    rate: WithholdingRate | None = None
    on_payroll: bool = False

    @property
    def paid(self) -> Money:
        return self.gross - self.withheld


# --- reading ---------------------------------------------------------------------------------


def normalised_tax_code(value: str) -> str:
    """A tax code as it is stored: 10 digits, 10-3 ("0123456787-001") or 12 digits; "" for
    none. A 10-digit code's check digit is verified (python-stdnum's ``stdnum.vn.mst``); a
    personal identification number has none.

    Raises:
        ValidationFailed: anything else, or a code the tax office cannot have issued (its
            check digit does not match: a typo).
    """
    value = re.sub(r"[\s.]", "", value or "")
    if not value:
        return ""
    match = TAX_CODE.match(value)
    if match is None:
        raise ValidationFailed(
            _(
                "A tax code is 10 digits, 13 for a branch (10, a dash and 3: %(example)s), or "
                "a personal identification number of 12 digits.",
                example=TAX_CODE_EXAMPLE,
            )
        )
    head, branch, personal = match.groups()
    if personal:
        return str(personal)
    code = f"{head}-{branch}" if branch else str(head)
    try:
        mst.validate(code)
    except InvalidChecksum:
        raise ValidationFailed(
            _(
                "The last digit of tax code %(code)s does not match the others: check it for "
                "a typo.",
                code=head,
            )
        ) from None
    except StdnumValidationError:
        raise ValidationFailed(
            _("%(code)s is not a tax code the tax office issues: check it for a typo.", code=code)
        ) from None
    return code


def profile_of(user_id: int) -> TaxProfile | None:
    return db.session.scalar(select(TaxProfile).where(TaxProfile.user_id == user_id))


def profiles_of(user_ids: list[int]) -> dict[int, TaxProfile]:
    if not user_ids:
        return {}
    return {
        p.user_id: p
        for p in db.session.scalars(select(TaxProfile).where(TaxProfile.user_id.in_(user_ids)))
    }


def rates() -> list[WithholdingRate]:
    """Every rate row, the newest first."""
    return list(
        db.session.scalars(
            select(WithholdingRate).order_by(
                WithholdingRate.effective_from.desc(), WithholdingRate.resident.desc()
            )
        )
    )


def rate_in_force(day: date, *, resident: bool, currency: str) -> WithholdingRate | None:
    """The rate row in force on ``day``: the latest starting on or before it."""
    return db.session.scalar(
        select(WithholdingRate)
        .where(
            WithholdingRate.effective_from <= day,
            WithholdingRate.resident.is_(resident),
            WithholdingRate.currency == currency,
        )
        .order_by(WithholdingRate.effective_from.desc())
        .limit(1)
    )


def _has_long_contract(person: User, profile: TaxProfile | None) -> bool:
    if profile is None:
        return person.employment_type is EmploymentType.STAFF
    return profile.long_contract


def is_on_payroll(person: User, profile: TaxProfile | None) -> bool:
    """Paid with the wages (a labour contract of three months or more, resident or not);
    everyone else is paid by bank transfer."""
    return _has_long_contract(person, profile)


def assess(
    person: User,
    profile: TaxProfile | None,
    gross: Money,
    day: date,
    *,
    rate_of: Callable[[date, bool, str], WithholdingRate | None] | None = None,
) -> Assessment:
    """How a payment of ``gross`` to ``person`` on ``day`` is taxed (see the module), and who
    pays it. ``rate_of(day, resident, currency)`` finds the rate in force (default
    :func:`rate_in_force`; a batch passes a cached one)."""
    assessment = _assess(person, profile, gross, day, rate_of=rate_of)
    return replace(assessment, on_payroll=is_on_payroll(person, profile))


def _assess(
    person: User,
    profile: TaxProfile | None,
    gross: Money,
    day: date,
    *,
    rate_of: Callable[[date, bool, str], WithholdingRate | None] | None,
) -> Assessment:
    resident = profile.resident if profile is not None else True
    nothing = Money.zero(gross.currency)
    if resident and _has_long_contract(person, profile):
        return Assessment(Treatment.SALARY, gross, gross, nothing)
    if resident and profile is not None and profile.commitment_on_file(day.year):
        return Assessment(Treatment.COMMITMENT, gross, gross, nothing)
    rate = (
        rate_of(day, resident, gross.currency)
        if rate_of is not None
        else rate_in_force(day, resident=resident, currency=gross.currency)
    )
    if rate is None:
        return Assessment(Treatment.NO_RATE, gross, gross, nothing)
    if gross.amount < rate.threshold_amount:
        return Assessment(Treatment.BELOW_THRESHOLD, gross, gross, nothing, rate)
    withheld = gross.percent(rate.rate_bps, rounding="down")
    return Assessment(Treatment.WITHHELD, gross, gross, withheld, rate)


# --- finance's services ----------------------------------------------------------------------

#: Circular 111/2013/TT-BTC art. 25 (the migration seeds the same rows): (from, resident,
#: rate in basis points, threshold in ₫)
CIRCULAR_111_RATES = (
    (date(2013, 10, 1), True, 1000, 2_000_000),
    (date(2013, 10, 1), False, 2000, 0),
)


@dataclass(frozen=True)
class ProfileFields:
    """What finance enters on a person's tax profile (plain values from the form)."""

    tax_code: str = ""
    resident: bool = True
    long_contract: bool = False
    commitment_year: int | None = None
    bank_account_number: str = ""
    bank_name: str = ""
    account_holder: str = ""


class ProfileGuard(Protocol):
    """What is asked before a change to a person's tax profile because a payment to them is
    under way: called in the saving transaction, only when something would change, with the
    person, the names of the fields that change and who changes them. Every field of a
    profile decides what is withheld or where the money goes (the payroll and bank files).
    Finance's payout batches set it (``register_receivers``): the commissions cannot import
    them. It raises a domain error to refuse; otherwise it may write what the change means to
    those payments (a draft batch's row version moves on), and may lock rows to do either."""

    def __call__(self, person: User, *, changed: Sequence[str], actor: User) -> None: ...


def _no_guard(person: User, *, changed: Sequence[str], actor: User) -> None:
    return None


_profile_guard: list[ProfileGuard] = [_no_guard]


def guard_profile_changes(guard: ProfileGuard) -> None:
    """Ask ``guard`` before every change to a tax profile from now on (``register_receivers``)."""
    _profile_guard[0] = guard


def save_tax_profile(
    user_id: int, fields: ProfileFields, *, actor: User, expected_version: int | None = None
) -> TaxProfile:
    """Create or change a person's tax profile; audited with what changed.

    ``expected_version`` is the profile's ``version`` the page showed (0: it showed no
    profile yet): a page opened before another finance person saved their change must not
    overwrite that change unseen. ``None`` checks nothing (callers that showed no page: the
    demo, scripts). Saves of one person's profile take turns (the person's row is locked), so
    of two saves from the same version the second always sees the first.

    Raises:
        NotPermitted: ``actor`` would change their own profile (another finance person
            must: it decides what is withheld from them and where their money goes).
        NotFound: no such person.
        ValidationFailed: a tax code or bank account number of the wrong shape, or a
            commitment year out of range.
        ChangedMeanwhile: the profile is no longer at ``expected_version``; nothing is saved.
        Conflict: something would change while an approved payout batch not yet paid pays
            the person (the guard of :func:`guard_profile_changes`): what the approver saw
            would no longer be what is paid. A change while a draft batch pays them is
            saved, and that batch's row version moves on with it (an approval from a page
            opened before is refused).
    """
    if user_id == actor.id:
        raise NotPermitted(
            _("You cannot change your own tax profile: another finance person must.")
        )
    tax_code = normalised_tax_code(fields.tax_code)
    account = re.sub(r"[\s.-]", "", fields.bank_account_number or "")
    if account and not BANK_ACCOUNT.match(account):
        raise ValidationFailed(_("A bank account number is 4 to 34 letters and digits."))
    year = fields.commitment_year
    if year is not None and not 2000 <= year <= 2200:
        raise ValidationFailed(_("Enter the commitment form's year, e.g. 2026."))
    values = {
        "tax_code": tax_code,
        "resident": bool(fields.resident),
        "long_contract": bool(fields.long_contract),
        "commitment_year": year,
        "bank_account_number": account,
        "bank_name": (fields.bank_name or "").strip()[:120],
        "account_holder": (fields.account_holder or "").strip()[:120],
    }
    with transaction():
        # FOR NO KEY UPDATE: saves of this profile wait for each other (a profile not yet
        # written has no row to lock), while rows that merely refer to the person do not wait
        person = db.session.scalar(
            select(User).where(User.id == user_id).with_for_update(of=User, key_share=True)
        )
        if person is None:
            raise NotFound(_("There is no such person."))
        # read again under the lock, not from what this session loaded before it
        profile = db.session.scalar(
            select(TaxProfile)
            .where(TaxProfile.user_id == person.id)
            .execution_options(populate_existing=True)
        )
        if expected_version is not None and expected_version != (profile.version if profile else 0):
            raise ChangedMeanwhile(_changed_meanwhile(profile))
        created = profile is None
        changed = {
            name: value
            for name, value in values.items()
            if profile is None or getattr(profile, name) != value
        }
        if changed:
            _profile_guard[0](person, changed=sorted(changed), actor=actor)
        if profile is None:
            profile = TaxProfile(user_id=person.id)
            db.session.add(profile)
        for name, value in values.items():
            setattr(profile, name, value)
        profile.updated_by_id = actor.id
        db.session.flush()
        audit.record(
            "finance.tax_profile_saved",
            actor=actor,
            target=profile,
            user_id=person.id,
            created=created,
            changed=sorted(changed),
        )
        return profile


def _changed_meanwhile(profile: TaxProfile | None) -> str:
    editor = (
        db.session.get(User, profile.updated_by_id) if profile and profile.updated_by_id else None
    )
    if editor is None:
        return _(
            "Someone changed this tax profile after you opened it, so your changes were not "
            "saved. The form now shows the profile as it is: check it and make your changes "
            "again."
        )
    return _(
        "%(name)s changed this tax profile after you opened it, so your changes were not "
        "saved. The form now shows the profile as it is: check it and make your changes again.",
        name=editor.name,
    )


def add_withholding_rate(
    effective_from: date,
    *,
    resident: bool,
    rate_bps: int,
    threshold: Money,
    note: str,
    actor: User,
) -> WithholdingRate:
    """Add a dated withholding rate (rows are never changed: a new rate is a new row).

    Raises:
        ValidationFailed: a rate outside 0–99.99 %, a negative threshold.
        Conflict: a rate for the same day, residence and currency exists.
    """
    if not 0 <= rate_bps < 10000:
        raise ValidationFailed(_("A rate is from 0 to under 100 per cent."))
    if threshold.is_negative:
        raise ValidationFailed(_("The threshold cannot be negative."))
    with transaction():
        existing = db.session.scalar(
            select(WithholdingRate.id).where(
                WithholdingRate.effective_from == effective_from,
                WithholdingRate.resident.is_(resident),
                WithholdingRate.currency == threshold.currency,
            )
        )
        if existing is not None:
            raise Conflict(_("A rate from that day already exists: add one from another day."))
        rate = WithholdingRate(
            effective_from=effective_from,
            resident=resident,
            rate_bps=rate_bps,
            threshold_amount=threshold.amount,
            currency=threshold.currency,
            note=(note or "").strip()[:200],
            created_by_id=actor.id,
        )
        db.session.add(rate)
        db.session.flush()
        audit.record(
            "finance.withholding_rate_added",
            actor=actor,
            target=rate,
            effective_from=effective_from.isoformat(),
            resident=resident,
            rate_bps=rate_bps,
            threshold=threshold.amount,
            currency=threshold.currency,
        )
        return rate


def add_circular_111_rates(actor: User) -> None:
    """The rates of ``CIRCULAR_111_RATES``, as the migration seeds them, unless some rate is
    kept already: for a database made without the migration's rows (the tests', the demo's
    on one). Raises nothing the rows themselves could cause."""
    if rates():
        return
    for start, resident, bps, threshold in CIRCULAR_111_RATES:
        add_withholding_rate(
            start,
            resident=resident,
            rate_bps=bps,
            threshold=Money(threshold, "VND"),
            note="Circular 111/2013/TT-BTC, art. 25",
            actor=actor,
        )
