"""The append-only ledger: the only code that writes ``LedgerEntry`` rows.

Entries are added, never changed or deleted (the models refuse it, and a test scans the
source for attempts). A correction is a new entry with a reason. A balance is a sum.

For payouts (the finance capability), the ledger offers:

* :func:`payable_entries`: every entry released for payment up to a cut-off: adjustments, and
  the entries of commissions that are payable, paid or voided. Entries of commissions still
  pending, in their holding period or on hold are not released. A reversal of a commission
  already paid is released at once, so it nets against the person's next payout. The finance
  capability adds its own "not in a batch yet" condition (``not_in``).
* :func:`net_per_person`: those entries netted per person and currency.
* :func:`append_entry` with ``EntryKind.PAYOUT``, through
  ``perks.commissions.lifecycle.record_payout``, which also moves the commissions of the paid
  entries to ``paid``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from flask_babel import gettext as _
from sqlalchemy import Select, and_, func, or_, select

from perks import audit
from perks.audit import AuditEvent
from perks.commissions.models import (
    Commission,
    CommissionState,
    EntryKind,
    LedgerEntry,
)
from perks.db import take_turns, transaction, utcnow
from perks.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from perks.extensions import db
from perks.money import Money, money_column
from perks.people.models import User
from perks.text import trim

#: the longest reason finance may give for an adjustment
MAX_REASON_LENGTH = 500


def append_entry(
    *,
    user_id: int,
    kind: EntryKind,
    amount: Money,
    commission: Commission | None = None,
    reason: str = "",
    actor: User | None = None,
    payout_batch_id: int | None = None,
    at: datetime | None = None,
) -> LedgerEntry:
    """Add one entry to the caller's unit of work (flushes, never commits).

    The database checks the sign for the kind (earn +, reversal −, payout −, adjustment ≠ 0).
    """
    entry = LedgerEntry(
        commission_id=commission.id if commission is not None else None,
        user_id=user_id,
        kind=kind,
        amount=amount.amount,
        currency=amount.currency,
        reason=reason,
        created_by_id=actor.id if actor is not None else None,
        payout_batch_id=payout_batch_id,
        created_at=at or utcnow(),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


# --- adjustments (finance) -------------------------------------------------------------------

#: the audit action of an adjustment
ADJUSTMENT_RECORDED = "commissions.adjustment"


def new_request_token() -> str:
    """The token an adjustment form carries: one per form drawn (``AdjustmentForm``)."""
    return secrets.token_urlsafe(18)


def _earlier_adjustment(request_token: str) -> AuditEvent | None:
    """The adjustment recorded from the form that carried ``request_token``, if any."""
    return db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.action == ADJUSTMENT_RECORDED,
            AuditEvent.details["request_token"].as_string() == request_token,
        )
        .limit(1)
    ).first()


def record_adjustment(
    user_id: int,
    amount: Money,
    reason: str,
    *,
    actor: User,
    commission_id: int | None = None,
    request_token: str | None = None,
) -> LedgerEntry:
    """Finance adds ``amount`` (positive or negative) to a person's commission balance.

    ``request_token`` identifies the form that asked (a random token made when its page was
    drawn): the form sent again (a double click, a retried request, two at the same moment)
    returns the adjustment it recorded the first time and records nothing more. Without a
    token every call records an adjustment.

    Raises:
        ValidationFailed: a zero amount, no reason or a reason too long.
        NotPermitted: ``actor`` would adjust their own balance (another finance person must).
        NotFound: no such person, or the commission is not theirs.
        Conflict: the same form was sent again with other values.
    """
    if user_id == actor.id:
        raise NotPermitted(
            _("You cannot adjust your own balance: another finance person must record it.")
        )
    reason = trim(reason or "")
    if amount.is_zero:
        raise ValidationFailed(_("Enter an amount other than zero."))
    if not reason:
        raise ValidationFailed(_("Say why: the person sees the reason."))
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationFailed(
            _("Keep the reason under %(count)d characters.", count=MAX_REASON_LENGTH)
        )
    with transaction():
        if request_token:
            # Two submissions of one form at once take turns: the second finds the first's.
            take_turns(f"perks.commissions.adjustment:{request_token}")
            earlier = _earlier_adjustment(request_token)
            if earlier is not None:
                return _adjustment_of_repeat(
                    earlier,
                    {
                        "user_id": user_id,
                        "amount": amount.amount,
                        "currency": amount.currency,
                        "reason": reason,
                        "commission_id": commission_id,
                    },
                )
        person = db.session.get(User, user_id)
        if person is None:
            raise NotFound(_("There is no such person."))
        commission = None
        if commission_id is not None:
            commission = db.session.get(Commission, commission_id)
            if commission is None or commission.user_id != person.id:
                raise NotFound(_("This person has no such commission."))
            if commission.currency != amount.currency:
                raise ValidationFailed(
                    _("Enter the amount in %(currency)s.", currency=commission.currency)
                )
        entry = append_entry(
            user_id=person.id,
            kind=EntryKind.ADJUSTMENT,
            amount=amount,
            commission=commission,
            reason=reason,
            actor=actor,
        )
        details: dict[str, Any] = {
            "user_id": person.id,
            "amount": amount.amount,
            "currency": amount.currency,
            "reason": reason,
            "commission_id": commission_id,
        }
        if request_token:
            details["request_token"] = request_token
        audit.record(ADJUSTMENT_RECORDED, actor=actor, target=entry, **details)
        return entry


def _adjustment_of_repeat(earlier: AuditEvent, asked: dict[str, Any]) -> LedgerEntry:
    """The adjustment an earlier submission of the same form recorded, if it asked the same.

    Raises:
        Conflict: the same form was sent again with other values.
    """
    entry = db.session.get(LedgerEntry, int(earlier.target_id))
    if entry is None or any(earlier.details.get(key) != value for key, value in asked.items()):
        raise Conflict(
            _("This adjustment form was already sent. Reload the page to record another.")
        )
    return entry


# --- payouts (used by the finance capability) ------------------------------------------------


def payable_entries(cutoff: datetime, *, not_in: Select | None = None) -> Select:
    """A query of every ledger entry released for payment, written at or before ``cutoff``.

    Released: adjustments, and entries of commissions that are ``payable``, ``paid`` or
    ``voided``; those of a voided commission together, once it was voided by ``cutoff`` (its
    earning alone, written before the cut-off and taken back after it, would pay what was
    never payable). ``payout`` and ``withholding`` entries are never in it. ``not_in``: a
    query of entry ids to leave out (the entries already in a payout batch). Ordered by
    person, currency and id.
    """
    query = (
        select(LedgerEntry)
        .outerjoin(Commission, Commission.id == LedgerEntry.commission_id)
        .where(
            LedgerEntry.kind.not_in([EntryKind.PAYOUT, EntryKind.WITHHOLDING]),
            LedgerEntry.created_at <= cutoff,
            or_(
                LedgerEntry.kind == EntryKind.ADJUSTMENT,
                Commission.state.in_([CommissionState.PAYABLE, CommissionState.PAID]),
                and_(Commission.state == CommissionState.VOIDED, Commission.voided_at <= cutoff),
            ),
        )
        .order_by(LedgerEntry.user_id, LedgerEntry.currency, LedgerEntry.id)
    )
    if not_in is not None:
        query = query.where(LedgerEntry.id.not_in(not_in))
    return query


@dataclass
class PersonNet:
    """What one person is owed in one currency, from the entries listed."""

    user_id: int
    currency: str
    amount: int = 0
    entry_ids: list[int] = field(default_factory=list)

    net = money_column("amount")


class NettedEntry(Protocol):
    """What netting reads of an entry: a ``LedgerEntry``, or a row of these columns."""

    @property
    def id(self) -> int: ...

    @property
    def user_id(self) -> int: ...

    @property
    def currency(self) -> str: ...

    @property
    def amount(self) -> int: ...


def net_per_person(entries: Sequence[NettedEntry]) -> list[PersonNet]:
    """``entries`` netted per person and currency (a non-positive net is the caller's to
    carry forward)."""
    nets: dict[tuple[int, str], PersonNet] = {}
    for entry in entries:
        key = (entry.user_id, entry.currency)
        line = nets.setdefault(key, PersonNet(entry.user_id, entry.currency))
        line.amount += entry.amount
        line.entry_ids.append(entry.id)
    return sorted(nets.values(), key=lambda n: (n.user_id, n.currency))


# --- balances --------------------------------------------------------------------------------


def balances(user_id: int) -> dict[str, dict[EntryKind, Money]]:
    """A person's ledger sums per currency and kind (``payout`` and ``reversal`` negative)."""
    rows = db.session.execute(
        select(LedgerEntry.currency, LedgerEntry.kind, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.user_id == user_id)
        .group_by(LedgerEntry.currency, LedgerEntry.kind)
    )
    result: dict[str, dict[EntryKind, Money]] = {}
    for currency, kind, total in rows:
        result.setdefault(currency, {})[kind] = Money(int(total or 0), currency)
    return result


def balance(user_id: int, currency: str) -> Money:
    """A person's unpaid commission money in ``currency``: the sum of all their entries."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.user_id == user_id, LedgerEntry.currency == currency
        )
    )
    return Money(int(total or 0), currency)


def entries_of(user_id: int, *, limit: int | None = None) -> list[LedgerEntry]:
    """A person's entries, newest first."""
    query = (
        select(LedgerEntry)
        .where(LedgerEntry.user_id == user_id)
        .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))
