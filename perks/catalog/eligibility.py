"""Who may claim a perk, and why not: pure functions of the perk, the person and the day.

Every reason is a sentence the person can act on ("only for Sales", "from 1 January").
The claim service checks the same rules again inside its transaction, whatever a page showed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from flask_babel import gettext as _
from flask_babel import ngettext

from perks.catalog.models import LimitPeriod, Perk, PerkKind, PerkStatus
from perks.folding import name_key
from perks.i18n import format_day, format_number
from perks.people.models import Department, EmploymentType, User
from perks.text import trim


class Audience(Protocol):
    """Who something is for: a perk, or a gift programme (``perks.recognition``). Empty
    lists mean everyone."""

    @property
    def departments(self) -> Sequence[Department]: ...
    @property
    def locations(self) -> Sequence[str]: ...
    @property
    def employment_types(self) -> Sequence[str]: ...
    @property
    def min_tenure_days(self) -> int: ...


@dataclass(frozen=True)
class Reason:
    """Why a person cannot claim a perk right now."""

    code: str  # stable, for tests and filters: "department", "tenure", "limit", ...
    message: str


def period_key(period: LimitPeriod, day: date) -> str:
    """The limit period ``day`` falls in: "ever", "2026" or "2026-11"."""
    if period is LimitPeriod.YEAR:
        return f"{day.year:04d}"
    if period is LimitPeriod.MONTH:
        return f"{day.year:04d}-{day.month:02d}"
    return "ever"


def next_period_start(period: LimitPeriod, day: date) -> date | None:
    """The first day of the next limit period, or None for "ever"."""
    if period is LimitPeriod.YEAR:
        return date(day.year + 1, 1, 1)
    if period is LimitPeriod.MONTH:
        return date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return None


def place_key(place: str) -> str:
    """What two spellings of a place that read the same share: in any case, composed or not,
    without the spaces around it and with one between words ("Hà nội ", "Hà  Nội" and "Hà
    Nội" are one place); accents count ("Hà Nam" is not "Hà Nội"). Raises nothing."""
    return name_key(" ".join(trim(place or "").split()))


def eligible_from(perk: Audience, user: User) -> date | None:
    """The first day the tenure rule lets ``user`` claim, or None without a hire date."""
    if user.hire_date is None:
        return None
    return user.hire_date + timedelta(days=perk.min_tenure_days)


def audience_reasons(perk: Audience, user: User, today: date) -> list[Reason]:
    """Reasons that come from who the person is (with the company, department, place,
    contract, tenure). A person is with the company from their hire date (when it is
    known), and no longer once deactivated, or from their leaving date (the daily task
    deactivates them later that day, and never the last administrator)."""
    reasons: list[Reason] = []
    if not user.active or user.has_left(today):  # what the API says of them: claiming nothing
        reasons.append(Reason("inactive", _("No longer with the company.")))
    if user.hire_date is not None and today < user.hire_date:
        # imported ahead of their start: with the company from their hire date (as gift
        # programmes and surveys count them), whatever the perk's tenure rule
        reasons.append(
            Reason(
                "not_joined",
                _("Not with the company yet: from %(date)s.", date=format_day(user.hire_date)),
            )
        )
    if perk.departments and user.department_id not in {d.id for d in perk.departments}:
        names = ", ".join(d.name for d in perk.departments)
        reasons.append(Reason("department", _("Only for %(departments)s.", departments=names)))
    if perk.locations and place_key(user.location) not in {place_key(p) for p in perk.locations}:
        places = ", ".join(perk.locations)
        reasons.append(Reason("location", _("Only for people in %(places)s.", places=places)))
    if perk.employment_types and user.employment_type.value not in perk.employment_types:
        kinds = ", ".join(EmploymentType(t).label for t in perk.employment_types)
        reasons.append(Reason("employment_type", _("Only for: %(kinds)s.", kinds=kinds)))
    if perk.min_tenure_days:
        start = eligible_from(perk, user)
        if start is None:
            reasons.append(
                Reason(
                    "tenure",
                    ngettext(
                        "After %(days)s day with the company; your first day is not recorded, "
                        "ask HR.",
                        "After %(days)s days with the company; your first day is not recorded, "
                        "ask HR.",
                        perk.min_tenure_days,
                        days=format_number(perk.min_tenure_days),
                    ),
                )
            )
        elif today < start:
            reasons.append(
                Reason(
                    "tenure",
                    ngettext(
                        "After %(days)s day with the company: from %(date)s.",
                        "After %(days)s days with the company: from %(date)s.",
                        perk.min_tenure_days,
                        days=format_number(perk.min_tenure_days),
                        date=format_day(start),
                    ),
                )
            )
    return reasons


def window_reasons(perk: Perk, today: date) -> list[Reason]:
    """Reasons that come from the perk itself (status, dates, kind)."""
    if perk.status is not PerkStatus.PUBLISHED:
        return [Reason("not_published", _("This perk is not available."))]
    if perk.kind is PerkKind.GIFT:
        return [Reason("gift", _("Gifts are given, not claimed."))]
    if perk.starts_on and today < perk.starts_on:
        return [Reason("not_started", _("Opens on %(date)s.", date=format_day(perk.starts_on)))]
    if perk.ends_on and today > perk.ends_on:
        return [Reason("ended", _("Ended on %(date)s.", date=format_day(perk.ends_on)))]
    return []


def limit_reason(perk: Perk, claims_in_period: int, today: date) -> Reason | None:
    """The per-person limit, given how many live claims the person has in this period."""
    if perk.per_person_limit is None or claims_in_period < perk.per_person_limit:
        return None
    next_start = next_period_start(perk.limit_period, today)
    if next_start is None or (perk.ends_on and next_start > perk.ends_on):
        return Reason("limit", _("Limit reached."))
    return Reason(
        "limit",
        _("Limit reached: next claim from %(date)s.", date=format_day(next_start, "long")),
    )


def stock_reason(perk: Perk, available: int | None) -> Reason | None:
    """``available`` is the remaining stock or unused codes; None means unlimited."""
    if available is not None and available <= 0:
        return Reason("sold_out", _("Sold out."))
    return None
