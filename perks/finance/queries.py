"""What the finance pages read: the report's lines a page at a time, payout batches with
their lines and the ledger entries each line counts.

Read-side only: the services own every write (``perks.finance.payouts`` the batches'
transitions). Each page runs a fixed number of statements, however many rows there are (the
pages have query-count tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from perks.commissions.models import Commission, EntryKind, LedgerEntry
from perks.db import PageOf, paginate
from perks.errors import NotFound
from perks.extensions import db
from perks.finance.exports import COMMISSIONS, Cell, count_rows
from perks.finance.models import BatchStatus, LineStatus, PayoutBatch, PayoutItem, PayoutLine
from perks.finance.reports import ReportFilter
from perks.folding import alphabetical
from perks.money import Money
from perks.people.models import User
from perks.shop.models import Order

#: the report's lines a page
LINES_PER_PAGE = 50
#: payout batches a page
BATCHES_PER_PAGE = 30


# --- the report's lines ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LinesPage(PageOf):
    """One page of the commission lines, as plain values per column (the export's names),
    amounts as ``Money``."""

    items: list[dict[str, Any]]


def lines_page(chosen: ReportFilter, page: int, locale: str = "vi") -> LinesPage:
    """A page of the report's lines (two statements: the count and the page)."""
    total = count_rows(COMMISSIONS, chosen)
    page = max(1, min(page, PageOf(page, LINES_PER_PAGE, total).pages))
    query = (
        COMMISSIONS.query(chosen, locale).limit(LINES_PER_PAGE).offset((page - 1) * LINES_PER_PAGE)
    )
    money = [c.name for c in COMMISSIONS.columns if c.cell is Cell.MONEY]
    items = []
    for row in db.session.execute(query):
        item = dict(zip(COMMISSIONS.header, row, strict=True))
        for name in money:
            if item[name] is not None:
                item[name] = Money(item[name], item["currency"])
        items.append(item)
    return LinesPage(page, LINES_PER_PAGE, total, items)


# --- payout batches -------------------------------------------------------------------------------


def batch_totals(lines: Sequence[PayoutLine]) -> dict[str, int]:
    """What the included lines add up to, per currency (minor units)."""
    totals: dict[str, int] = {}
    for line in lines:
        if line.status is LineStatus.INCLUDED:
            totals[line.currency] = totals.get(line.currency, 0) + line.amount
    return totals


def get_batch(batch_id: int) -> PayoutBatch:
    """Raises NotFound."""
    batch = db.session.get(PayoutBatch, batch_id)
    if batch is None:
        raise NotFound(_("There is no such payout batch."))
    return batch


def batches_page(page: int, status: BatchStatus | None = None) -> Pagination:
    query = (
        select(PayoutBatch)
        .options(joinedload(PayoutBatch.drafted_by), joinedload(PayoutBatch.approved_by))
        .order_by(PayoutBatch.created_at.desc(), PayoutBatch.id.desc())
    )
    if status is not None:
        query = query.where(PayoutBatch.status == status)
    return paginate(query, page, BATCHES_PER_PAGE)


def totals_of_batches(batch_ids: Sequence[int]) -> dict[int, list[Money]]:
    """Per batch, what its included lines add up to per currency (one statement)."""
    if not batch_ids:
        return {}
    rows = db.session.execute(
        select(PayoutLine.batch_id, PayoutLine.currency, func.sum(PayoutLine.amount))
        .where(PayoutLine.batch_id.in_(list(batch_ids)), PayoutLine.status == LineStatus.INCLUDED)
        .group_by(PayoutLine.batch_id, PayoutLine.currency)
        .order_by(PayoutLine.batch_id, PayoutLine.currency)
    )
    totals: dict[int, list[Money]] = {}
    for batch_id, currency, total in rows:
        totals.setdefault(batch_id, []).append(Money(int(total or 0), currency))
    return totals


def lines_of(batch_id: int) -> list[PayoutLine]:
    """The batch's lines with their people (and departments), by status then name."""
    return list(
        db.session.scalars(
            select(PayoutLine)
            .join(User, User.id == PayoutLine.user_id)
            .where(PayoutLine.batch_id == batch_id)
            .options(joinedload(PayoutLine.excluded_by))
            .order_by(
                PayoutLine.status, *alphabetical(User.name), PayoutLine.currency, PayoutLine.id
            )
        ).unique()
    )


@dataclass
class LineEntry:
    """One ledger entry counted in a line, as the batch page shows it."""

    line_id: int
    entry_id: int
    kind: EntryKind
    amount: Money
    created_at: datetime
    reason: str
    order_number: str | None


def entries_by_line(batch_id: int) -> dict[int, list[LineEntry]]:
    """Every entry counted in the batch's lines, grouped by line (one statement)."""
    rows = db.session.execute(
        select(
            PayoutItem.line_id,
            LedgerEntry.id,
            LedgerEntry.kind,
            LedgerEntry.amount,
            LedgerEntry.currency,
            LedgerEntry.created_at,
            LedgerEntry.reason,
            Order.number,
        )
        .join(LedgerEntry, LedgerEntry.id == PayoutItem.ledger_entry_id)
        .outerjoin(Commission, Commission.id == LedgerEntry.commission_id)
        .outerjoin(Order, Order.id == Commission.order_id)
        .where(PayoutItem.batch_id == batch_id)
        .order_by(PayoutItem.line_id, LedgerEntry.id)
    )
    grouped: dict[int, list[LineEntry]] = {}
    for line_id, entry_id, kind, amount, currency, created_at, reason, number in rows:
        grouped.setdefault(line_id, []).append(
            LineEntry(line_id, entry_id, kind, Money(amount, currency), created_at, reason, number)
        )
    return grouped
