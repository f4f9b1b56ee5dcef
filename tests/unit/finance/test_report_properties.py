"""Random company data: whatever happened, the commission report adds up to the ledger.

For a few people (some in departments, some not), products in VND and USD, orders whose
commissions end pending, earned, payable (some partly refunded), voided, on hold or lost to a
dispute, finance's adjustments (some about a commission), a payout batch drafted, approved
and paid through ``perks.finance.payouts`` (sometimes with a line left out), and refunds and
adjustments after it: for every grouping, with and without a filter, each group of
``commission_report`` holds exactly the sums of its ledger entries per kind and currency,
its totals and the ledger sums it shows equal the sums of the ``LedgerEntry`` rows computed
here directly, and a period without entries shows nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from perks.commissions.models import CommissionState, EntryKind, LedgerEntry
from perks.extensions import db
from perks.finance.periods import Period
from perks.finance.reports import (
    GROUPINGS,
    KIND_STATES,
    NONE_KEY,
    ReportFilter,
    ReportRow,
    commission_report,
)
from perks.i18n import company_today
from tests.helpers import clean_database
from tests.unit.finance.stories import adjustments, orders, people, products, story

FILTERS = (
    "currency",
    "person",
    "department",
    "no_department",
    "product",
    "no_product",
    "state",
    "kind",
)


filters = st.tuples(st.sampled_from(FILTERS), st.integers(0, 99))


# --- what the ledger says, computed here from its rows -------------------------------------------


def _group_key(entry: LedgerEntry, grouping: str) -> str:
    commission = entry.commission
    if grouping == "person":
        return str(entry.user_id)
    if grouping == "department":
        department_id = entry.user.department_id
        return NONE_KEY if department_id is None else str(department_id)
    if grouping == "product":
        return NONE_KEY if commission is None else str(commission.product_id)
    return entry.kind.value if commission is None else commission.state.value


def _moment(entry: LedgerEntry) -> datetime:
    """The entry's moment, aware (SQLite gives it back without its zone, which is UTC)."""
    at = entry.created_at
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _matches(entry: LedgerEntry, chosen: ReportFilter) -> bool:
    commission = entry.commission
    period = chosen.period
    checks = [
        period.start_at <= _moment(entry) < period.end_at,
        chosen.currency is None or entry.currency == chosen.currency,
        chosen.user_id is None or entry.user_id == chosen.user_id,
        not chosen.no_department or entry.user.department_id is None,
        chosen.department_id is None or entry.user.department_id == chosen.department_id,
        not chosen.no_product or commission is None,
        chosen.product_id is None
        or (commission is not None and commission.product_id == chosen.product_id),
        chosen.kind is None or entry.kind is chosen.kind,
    ]
    if chosen.state in KIND_STATES:
        checks.append(commission is None and entry.kind.value == chosen.state)
    elif chosen.state:
        checks.append(commission is not None and commission.state.value == chosen.state)
    return all(checks)


def _filter_of(choice: tuple[str, int], entries: list[LedgerEntry], period: Period) -> ReportFilter:
    """One filter of the kind chosen, on a value the data has (or a kind-state)."""
    kind, index = choice
    base = ReportFilter(period=period)

    def pick(values: set[Any]) -> Any:
        ordered = sorted(values, key=str)
        return ordered[index % len(ordered)] if ordered else None

    if kind == "currency":
        return replace(base, currency=pick({e.currency for e in entries}))
    if kind == "person":
        return replace(base, user_id=pick({e.user_id for e in entries}))
    if kind == "department":
        return replace(base, department_id=pick({e.user.department_id for e in entries} - {None}))
    if kind == "no_department":
        return replace(base, no_department=True)
    if kind == "product":
        return replace(
            base, product_id=pick({e.commission.product_id for e in entries if e.commission})
        )
    if kind == "no_product":
        return replace(base, no_product=True)
    if kind == "state":
        return replace(base, state=pick({s.value for s in CommissionState} | set(KIND_STATES)))
    return replace(base, kind=pick(set(EntryKind)))


def _sums(
    entries: list[LedgerEntry], key: Callable[[LedgerEntry], Hashable]
) -> dict[Hashable, list[int]]:
    """Per key: [earned, taken back, adjustments, paid out, entries] in minor units."""
    column = {EntryKind.EARN: 0, EntryKind.REVERSAL: 1, EntryKind.ADJUSTMENT: 2}
    sums: dict[Hashable, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for entry in entries:
        row = sums[key(entry)]
        row[column.get(entry.kind, 3)] += entry.amount
        row[4] += 1
    return dict(sums)


def _figures(row: ReportRow) -> list[int]:
    return [row.earned, row.taken_back, row.adjustments, row.paid_out, row.entries]


def _assert_report_is_the_ledger(chosen: ReportFilter, entries: list[LedgerEntry]) -> None:
    matching = [e for e in entries if _matches(e, chosen)]
    per_currency = {
        currency: sum(e.amount for e in matching if e.currency == currency)
        for currency in {e.currency for e in matching}
    }
    totals = _sums(matching, lambda e: e.currency)
    for grouping in GROUPINGS:
        report = commission_report(chosen, grouping)
        assert report.ledger_sums == per_currency, (grouping, chosen)
        assert {c: _figures(t) for c, t in report.totals.items()} == totals, (grouping, chosen)
        assert {c: t.balance_change for c, t in report.totals.items()} == per_currency
        assert report.ties_to_ledger
        groups = _sums(matching, lambda e, g=grouping: (_group_key(e, g), e.currency))
        assert {(r.key, r.currency): _figures(r) for r in report.rows} == groups, (
            grouping,
            chosen,
        )


@pytest.mark.usefixtures("app")
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people_spec=people,
    product_spec=products,
    order_spec=orders,
    adjustment_spec=adjustments,
    leave_one_out=st.booleans(),
    filter_choice=filters,
)
def test_the_report_always_adds_up_to_the_ledger(
    people_spec, product_spec, order_spec, adjustment_spec, leave_one_out, filter_choice
):
    db.session.remove()
    clean_database()
    story(people_spec, product_spec, order_spec, adjustment_spec, leave_one_out)

    db.session.expire_all()
    entries = list(
        db.session.scalars(
            select(LedgerEntry).options(
                joinedload(LedgerEntry.user), joinedload(LedgerEntry.commission)
            )
        )
    )
    assert {e.kind for e in entries} >= {EntryKind.EARN, EntryKind.PAYOUT}
    today = company_today()
    # Every entry was written today; a day either side keeps a run across midnight honest.
    period = Period(today - timedelta(days=1), today + timedelta(days=1))
    assert all(period.start_at <= _moment(e) < period.end_at for e in entries)

    _assert_report_is_the_ledger(ReportFilter(period=period), entries)
    _assert_report_is_the_ledger(_filter_of(filter_choice, entries, period), entries)
    before = Period(today - timedelta(days=40), today - timedelta(days=2))
    empty = commission_report(ReportFilter(period=before), "person")
    assert empty.rows == []
    assert empty.ledger_sums == {}
    assert empty.totals == {}
