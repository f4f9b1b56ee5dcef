"""``flask perks verify-ledger``: every figure recomputed from the ledger and the snapshots.

For each commission: its running totals equal the sums of its entries (at most one ``earn``),
its original amount is its rule snapshot applied to its base, its worth is what its refunds
and disputes leave, its state agrees with its money and dates, and its entries are its
person's and in its currency. For each order, its commissions' refunded parts add up to what
Stripe refunded. For each person and currency, the sum of their entries equals earned −
reversed (from the commission rows) + adjustments − payouts − tax withheld, and each
``withholding`` entry has its payout beside it (same person, currency and batch). And the
summaries finance's reports read (``perks.commissions.summaries``) hold what the facts sum to.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from perks.commissions import summaries
from perks.commissions.lifecycle import removed_share
from perks.commissions.models import (
    Commission,
    CommissionState,
    EntryKind,
    LedgerEntry,
    VoidReason,
)
from perks.commissions.rules import RuleTerms
from perks.db import utcnow
from perks.extensions import db
from perks.money import Money
from perks.shop.models import DisputeStatus, Order

S = CommissionState

#: the columns of a commission the checks read (plain rows: nothing held in the session)
COMMISSION_COLUMNS = (
    "id",
    "order_line_id",
    "order_id",
    "user_id",
    "currency",
    "base_amount",
    "refunded_base_amount",
    "quantity",
    "rule_kind",
    "rate_bps",
    "flat_amount",
    "cap_amount",
    "original_amount",
    "amount",
    "earned_amount",
    "reversed_amount",
    "state",
    "held_from_state",
    "earned_at",
    "payable_at",
    "paid_at",
    "void_reason",
)


@dataclass
class LedgerReport:
    commissions: int = 0
    entries: int = 0
    people: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _expected_original(c: Any) -> int:
    if c.rule_kind is None:
        return 0
    terms = RuleTerms(
        kind=c.rule_kind,
        rate_bps=c.rate_bps,
        flat_amount=c.flat_amount,
        cap_amount=c.cap_amount,
        currency=None,  # the snapshot is in the commission's currency
    )
    return terms.amount_for(Money(c.base_amount, c.currency), c.quantity).amount


def _check_commission(
    c: Any,
    sums: dict[EntryKind, int],
    earn_count: int,
    dispute_lost: bool,
    now: datetime,
) -> list[str]:
    problems = []
    earned, reversed_ = sums.get(EntryKind.EARN, 0), -sums.get(EntryKind.REVERSAL, 0)
    name = f"commission {c.id} (order line {c.order_line_id})"
    if c.earned_amount != earned:
        problems.append(f"{name}: earned {c.earned_amount} but its earn entries sum to {earned}")
    if c.reversed_amount != reversed_:
        problems.append(
            f"{name}: reversed {c.reversed_amount} but its reversal entries sum to {reversed_}"
        )
    if earn_count > 1:
        problems.append(f"{name}: {earn_count} earn entries")
    if reversed_ > earned:
        problems.append(f"{name}: reversals ({reversed_}) exceed what it earned ({earned})")
    expected_original = _expected_original(c)
    if c.original_amount != expected_original:
        problems.append(
            f"{name}: original amount {c.original_amount}, its rule snapshot gives "
            f"{expected_original}"
        )
    full_refund = c.base_amount > 0 and c.refunded_base_amount >= c.base_amount
    if dispute_lost or c.void_reason in (VoidReason.DISPUTE_LOST, VoidReason.LEFT_COMPANY):
        expected_amount = 0
    else:
        expected_amount = c.original_amount - removed_share(
            Money(c.original_amount, c.currency),
            c.base_amount,
            c.refunded_base_amount,
            full=full_refund,
        )
    if c.amount != expected_amount:
        problems.append(f"{name}: worth {c.amount}, its refunds leave {expected_amount}")

    state, held = c.state, c.held_from_state
    effective = held if state is S.ON_HOLD and held is not None else state
    if c.earned_at is None:
        if earned or reversed_:
            problems.append(f"{name}: has entries but was never earned")
        if effective not in (S.PENDING, S.VOIDED):
            problems.append(f"{name}: {state.value} but never earned")
    else:
        if effective is S.PENDING:
            problems.append(f"{name}: pending but earned on {c.earned_at}")
        if c.amount != earned - reversed_:
            problems.append(f"{name}: worth {c.amount} but its entries leave {earned - reversed_}")
        if c.amount > 0 and earned == 0:
            problems.append(f"{name}: earned with no earn entry")
    if state is S.VOIDED and c.amount != 0:
        problems.append(f"{name}: voided but still worth {c.amount}")
    payable_at = _aware(c.payable_at)
    if effective is S.PAYABLE and (payable_at is None or payable_at > now):
        problems.append(f"{name}: payable before its holding period ends ({c.payable_at})")
    if effective is S.PAID and c.paid_at is None:
        problems.append(f"{name}: paid without a payment date")
    return problems


def verify_ledger(now: datetime | None = None) -> LedgerReport:
    """Recompute every commission and balance from the entries; list each disagreement."""
    now = now or utcnow()
    report = LedgerReport()

    per_commission: dict[int, dict[EntryKind, int]] = defaultdict(dict)
    earn_counts: dict[int, int] = {}
    for commission_id, kind, total, count in db.session.execute(
        select(
            LedgerEntry.commission_id,
            LedgerEntry.kind,
            func.sum(LedgerEntry.amount),
            func.count(),
        )
        .where(LedgerEntry.commission_id.is_not(None))
        .group_by(LedgerEntry.commission_id, LedgerEntry.kind)
    ):
        assert commission_id is not None  # the WHERE
        per_commission[commission_id][kind] = int(total)
        if kind is EntryKind.EARN:
            earn_counts[commission_id] = int(count)

    # Entries of a commission written for someone else or in another currency.
    for entry_id, commission_id in db.session.execute(
        select(LedgerEntry.id, LedgerEntry.commission_id)
        .join(Commission, Commission.id == LedgerEntry.commission_id)
        .where(
            (LedgerEntry.user_id != Commission.user_id)
            | (LedgerEntry.currency != Commission.currency)
        )
    ):
        report.problems.append(
            f"ledger entry {entry_id}: not the person or currency of commission {commission_id}"
        )

    from_commissions: dict[tuple[int, str], int] = defaultdict(int)
    refunded_per_order: dict[int, int] = defaultdict(int)
    base_per_order: dict[int, int] = defaultdict(int)
    orders: dict[int, tuple[int, int]] = {}
    columns = [getattr(Commission, name) for name in COMMISSION_COLUMNS]
    query = select(
        *columns,
        Order.dispute_status.label("order_dispute"),
        Order.refunded_amount.label("order_refunded"),
        Order.total_amount.label("order_total"),
    ).join(Order, Order.id == Commission.order_id)
    for c in db.session.execute(query.execution_options(yield_per=1000)):
        dispute, refunded, total = c.order_dispute, c.order_refunded, c.order_total
        report.commissions += 1
        report.problems += _check_commission(
            c,
            per_commission.get(c.id, {}),
            earn_counts.get(c.id, 0),
            dispute is DisputeStatus.LOST,
            now,
        )
        from_commissions[(c.user_id, c.currency)] += c.earned_amount - c.reversed_amount
        refunded_per_order[c.order_id] += c.refunded_base_amount
        base_per_order[c.order_id] += c.base_amount
        orders[c.order_id] = (refunded, total)

    for order_id, (refunded, total) in orders.items():
        base = base_per_order[order_id]
        expected = base if refunded >= total else min(refunded, base)
        if refunded_per_order[order_id] != expected:
            report.problems.append(
                f"order {order_id}: its commissions count {refunded_per_order[order_id]} "
                f"refunded, Stripe refunded {refunded}"
            )

    per_person: dict[tuple[int, str], dict[EntryKind, int]] = defaultdict(dict)
    for user_id, currency, kind, total, count in db.session.execute(
        select(
            LedgerEntry.user_id,
            LedgerEntry.currency,
            LedgerEntry.kind,
            func.sum(LedgerEntry.amount),
            func.count(),
        ).group_by(LedgerEntry.user_id, LedgerEntry.currency, LedgerEntry.kind)
    ):
        per_person[(user_id, currency)][kind] = int(total)
        report.entries += int(count)
    for key in sorted(set(per_person) | set(from_commissions)):
        sums = per_person.get(key, {})
        entries_total = sum(sums.values())
        expected = (
            from_commissions.get(key, 0)
            + sums.get(EntryKind.ADJUSTMENT, 0)
            + sums.get(EntryKind.PAYOUT, 0)
            + sums.get(EntryKind.WITHHOLDING, 0)
        )
        if entries_total != expected:
            user_id, currency = key
            report.problems.append(
                f"person {user_id} ({currency}): entries sum to {entries_total}, earned − "
                f"reversed + adjustments − payouts − withholdings is {expected}"
            )
    report.people = len({user_id for user_id, _ in per_person})
    report.problems += _check_withholdings()
    report.problems += summaries.disagreements()
    return report


def _check_withholdings() -> list[str]:
    """Each ``withholding`` entry sits next to the ``payout`` entry of the same person,
    currency and batch (one of each at most), and is smaller than the gross they make."""
    problems = []
    per_batch: dict[tuple[int, int | None, str], dict[EntryKind, list[int]]] = defaultdict(dict)
    for user_id, batch_id, currency, kind, amount in db.session.execute(
        select(
            LedgerEntry.user_id,
            LedgerEntry.payout_batch_id,
            LedgerEntry.currency,
            LedgerEntry.kind,
            LedgerEntry.amount,
        ).where(
            LedgerEntry.kind.in_([EntryKind.PAYOUT, EntryKind.WITHHOLDING]),
            LedgerEntry.payout_batch_id.is_not(None),
        )
    ):
        per_batch[(user_id, batch_id, currency)].setdefault(kind, []).append(int(amount))
    for (user_id, batch_id, currency), kinds in sorted(per_batch.items()):
        payouts, withheld = kinds.get(EntryKind.PAYOUT, []), kinds.get(EntryKind.WITHHOLDING, [])
        name = f"person {user_id} ({currency}), payout batch {batch_id}"
        if len(payouts) > 1 or len(withheld) > 1:
            problems.append(
                f"{name}: {len(payouts)} payout and {len(withheld)} withholding entries"
            )
        if withheld and not payouts:
            problems.append(f"{name}: tax withheld with no payout")
    return problems
