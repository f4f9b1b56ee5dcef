"""Finance's side of leavers: who has left, their balances, and closing a negative balance.

A leaver's balance can turn negative after they left (a refund claws back a commission that
was already paid) and no payout will ever net it. Finance closes it here: deducted from the
final salary, or written off, with a reason. Either way an ``adjustment`` entry of the
opposite amount brings the balance to zero (so ``verify-ledger`` and every payout stay
right), a ``LeaverBalanceDecision`` row says which, and the audit log has it.

In payout batches, :func:`settlement_mark` labels each leaver's line: "final settlement"
when they have left by the payment day (the day it was paid, or today for an open batch),
"leaving on ..." when their leaving date is later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from perks import audit
from perks.commissions import ledger
from perks.commissions.models import (
    BalanceOutcome,
    EntryKind,
    LeaverBalanceDecision,
    LeaverSettlement,
    LedgerEntry,
    closed_balance_reason,
)
from perks.db import locked, transaction
from perks.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from perks.extensions import db
from perks.finance.models import BatchStatus, PayoutBatch, PayoutItem, PayoutLine
from perks.folding import alphabetical
from perks.i18n import company_date, company_today, format_day
from perks.money import Money
from perks.people.models import User
from perks.text import trim

#: the most leavers the page lists (newest leaving dates first)
LEAVERS_SHOWN = 200


@dataclass
class LeaverRow:
    """One leaver on finance's page, with their balance per currency."""

    person: User
    settlement: LeaverSettlement | None
    balances: list[Money]

    @property
    def negative(self) -> list[Money]:
        return [money for money in self.balances if money.amount < 0]


def leavers(today: date | None = None) -> list[LeaverRow]:
    """People whose leaving date has come, newest first, with their balances (three
    queries whatever the count). Raises nothing."""
    today = today or company_today()
    people = list(
        db.session.scalars(
            select(User)
            .where(User.leaving_date.is_not(None), User.leaving_date <= today)
            .order_by(User.leaving_date.desc(), *alphabetical(User.name), User.id)
            .limit(LEAVERS_SHOWN)
        )
    )
    ids = [person.id for person in people]
    if not ids:
        return []
    settlements = {
        s.user_id: s
        for s in db.session.scalars(
            select(LeaverSettlement).where(LeaverSettlement.user_id.in_(ids))
        )
    }
    balances: dict[int, list[Money]] = {}
    for user_id, currency, total in db.session.execute(
        select(LedgerEntry.user_id, LedgerEntry.currency, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.user_id.in_(ids))
        .group_by(LedgerEntry.user_id, LedgerEntry.currency)
        .order_by(LedgerEntry.user_id, LedgerEntry.currency)
    ):
        balances.setdefault(user_id, []).append(Money(int(total or 0), currency))
    return [LeaverRow(p, settlements.get(p.id), balances.get(p.id, [])) for p in people]


def recent_decisions(limit: int = 50) -> list[LeaverBalanceDecision]:
    """The latest closed balances, newest first."""
    return list(
        db.session.scalars(
            select(LeaverBalanceDecision)
            .options(
                joinedload(LeaverBalanceDecision.user),
                joinedload(LeaverBalanceDecision.decided_by),
            )
            .order_by(LeaverBalanceDecision.decided_at.desc(), LeaverBalanceDecision.id.desc())
            .limit(limit)
        )
    )


def _in_open_batch(user_id: int, currency: str) -> bool:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(PayoutItem)
            .join(PayoutLine, PayoutLine.id == PayoutItem.line_id)
            .join(PayoutBatch, PayoutBatch.id == PayoutItem.batch_id)
            .where(
                PayoutBatch.status.in_([BatchStatus.DRAFT, BatchStatus.APPROVED]),
                PayoutLine.user_id == user_id,
                PayoutLine.currency == currency,
                PayoutItem.claimed_entry_id.is_not(None),
            )
        )
        or 0
    ) > 0


def close_negative_balance(
    user_id: int,
    expected: Money,
    outcome: BalanceOutcome,
    reason: str,
    *,
    actor: User,
) -> LeaverBalanceDecision:
    """Bring a leaver's negative balance in ``expected``'s currency to zero with an
    ``adjustment`` entry, recording whether it is deducted from the final salary or written
    off, and why (audited: ``finance.leaver_balance_closed``).

    ``expected`` is the balance the page showed: if it changed meanwhile (a refund, another
    finance user), nothing is written. The person's row is locked first (PostgreSQL), so two
    decisions at once cannot both close it.

    Raises:
        NotPermitted: ``actor`` would close their own balance (another finance person
            must, as with any adjustment: ``ledger.record_adjustment``).
        NotFound: no such person.
        ValidationFailed: no reason, or one too long; the person has not left.
        Conflict: the balance is not negative, or not what the page showed; or some of the
            person's entries are in a payout batch not yet paid or cancelled.
    """
    if user_id == actor.id:
        raise NotPermitted(
            _("You cannot adjust your own balance: another finance person must record it.")
        )
    reason = trim(reason or "")
    if not reason:
        raise ValidationFailed(_("Say why."))
    if len(reason) > ledger.MAX_REASON_LENGTH:
        raise ValidationFailed(
            _("Keep the reason under %(count)d characters.", count=ledger.MAX_REASON_LENGTH)
        )
    with transaction():
        person = locked(User, user_id)
        if person is None:
            raise NotFound(_("There is no such person."))
        if person.leaving_date is None or person.leaving_date > company_today():
            raise ValidationFailed(_("%(name)s has not left.", name=person.name))
        balance = ledger.balance(person.id, expected.currency)
        if balance.amount >= 0:
            raise Conflict(
                _(
                    "%(name)s owes nothing in %(currency)s.",
                    name=person.name,
                    currency=expected.currency,
                )
            )
        if balance != expected:
            raise Conflict(_("The balance changed meanwhile: check it again."))
        if _in_open_batch(person.id, expected.currency):
            raise Conflict(
                _("A payout batch not yet paid holds some of this balance: pay or cancel it first.")
            )
        entry = ledger.append_entry(
            user_id=person.id,
            kind=EntryKind.ADJUSTMENT,
            amount=-balance,
            reason=closed_balance_reason(outcome, reason),
            actor=actor,
        )
        decision = LeaverBalanceDecision(
            user_id=person.id,
            currency=balance.currency,
            amount=balance.amount,
            outcome=outcome,
            reason=reason,
            ledger_entry_id=entry.id,
            decided_by_id=actor.id,
        )
        db.session.add(decision)
        db.session.flush()
        audit.record(
            "finance.leaver_balance_closed",
            actor=actor,
            target=decision,
            user_id=person.id,
            amount=balance.amount,
            currency=balance.currency,
            outcome=outcome.value,
            reason=reason,
            ledger_entry_id=entry.id,
        )
        return decision


def settlement_mark(line: PayoutLine, batch: PayoutBatch, today: date | None = None) -> str:
    """How a batch line marks a leaver: "final settlement" when they have left by the
    payment day (the day the batch was paid; today while it is open), "leaving on ..." when
    later; "" for everyone else."""
    leaving = line.user.leaving_date
    if leaving is None:
        return ""
    payment_day = company_date(batch.paid_at) if batch.paid_at else (today or company_today())
    if leaving <= payment_day:
        return _("Final settlement (left on %(date)s)", date=_day(leaving))
    return _("Leaving on %(date)s", date=_day(leaving))


def settlement_marks(lines: Sequence[PayoutLine], batch: PayoutBatch) -> dict[int, str]:
    """:func:`settlement_mark` of each line that has one, by line id."""
    marks = {line.id: settlement_mark(line, batch) for line in lines}
    return {line_id: mark for line_id, mark in marks.items() if mark}


def _day(day: date) -> str:
    return format_day(day, "medium")
