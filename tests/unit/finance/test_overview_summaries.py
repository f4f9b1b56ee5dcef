"""Random stories through the real services: the summaries finance's overviews read never
disagree with the facts.

After each story (``tests.unit.finance.stories.story``: orders paid, used, released, refunded,
disputed; adjustments; a payout batch; refunds and adjustments after it), every figure of the
commission list (totals per state and currency and the count, unfiltered and per state,
person and department) and of the commission report read from the summaries (by person and
department, its ledger sums and its chart) equals its recomputation from the
``commission`` and ``ledger_entry`` rows; the summaries themselves equal a rebuild from the
facts, row for row.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from perks.commissions import queries, summaries
from perks.commissions.models import Commission, CommissionState, EntryKind, LedgerEntry
from perks.extensions import db
from perks.finance import reports
from perks.finance.periods import Period
from perks.i18n import company_date, company_today
from tests.helpers import clean_database
from tests.unit.commissions.stories import summary_facts, summary_rows
from tests.unit.finance.stories import adjustments, orders, people, products, story


def _list_figures(chosen: queries.CommissionFilter) -> tuple[dict, int]:
    totals = queries.filtered_totals(chosen)
    figures = {
        (state, currency): totals.of(state, currency).amount
        for state in totals.by_state
        for currency in totals.by_state[state]
    }
    return figures, queries.all_commissions(chosen, 1).total or 0


def _list_from_facts(commissions: list[Commission], chosen: queries.CommissionFilter):
    picked = [
        c
        for c in commissions
        if (chosen.state is None or c.state is chosen.state)
        and (chosen.user_id is None or c.user_id == chosen.user_id)
        and (chosen.department_id is None or c.user.department_id == chosen.department_id)
    ]
    figures: dict[tuple, int] = defaultdict(int)
    for c in picked:
        figures[(c.state, c.currency)] += c.amount
    return dict(figures), len(picked)


def _assert_overviews_are_the_facts() -> None:
    db.session.expire_all()
    commissions = list(db.session.scalars(select(Commission)))
    assert commissions
    filters = [queries.CommissionFilter()]
    filters += [queries.CommissionFilter(state=s) for s in CommissionState]
    filters += [queries.CommissionFilter(user_id=u) for u in {c.user_id for c in commissions}]
    departments = {c.user.department_id for c in commissions} - {None}
    filters += [queries.CommissionFilter(department_id=d) for d in departments]
    for chosen in filters:
        assert queries._summarised(chosen)
        assert _list_figures(chosen) == _list_from_facts(commissions, chosen), chosen

    # each person's earnings page
    entries = list(db.session.scalars(select(LedgerEntry)))
    for user_id in {c.user_id for c in commissions} | {e.user_id for e in entries}:
        mine = [c for c in commissions if c.user_id == user_id]
        earnings = queries.my_earnings(user_id, company_today(), "VND")
        mine_shown = earnings.mine
        assert queries.my_commissions(user_id) == mine_shown
        totals = mine_shown.totals
        shown = {
            (st_, cur): totals.of(st_, cur).amount
            for st_ in totals.by_state
            for cur in totals.by_state[st_]
        }
        expected: dict[tuple, int] = defaultdict(int)
        for c in mine:
            expected[(c.state, c.currency)] += c.amount
            if c.state is CommissionState.PAID:  # what was paid: add back what came after
                expected[(c.state, c.currency)] -= sum(
                    e.amount
                    for e in entries
                    if e.commission_id == c.id
                    and e.kind is EntryKind.REVERSAL
                    and c.paid_at is not None
                    and e.created_at > c.paid_at
                )
        assert shown == dict(expected), user_id
        first_page = queries.commissions_page(user_id, 1)
        assert first_page.total == mine_shown.count == len(mine)
        assert len(first_page.items) == min(len(mine), queries.MY_PER_PAGE)
        balance: dict[str, int] = defaultdict(int)
        for e in entries:
            if e.user_id == user_id:
                balance[e.currency] += e.amount
        assert {m.currency: m.amount for m in earnings.balances} == dict(balance)
        if mine:
            counts: dict[str, int] = defaultdict(int)
            for c in mine:
                counts[c.currency] += 1
            top = max(counts.values())
            assert mine_shown.main_currency("VND") == min(
                cur for cur, n in counts.items() if n == top
            )

    today = company_today()
    period = Period(today - timedelta(days=1), today + timedelta(days=1))
    chosen = reports.ReportFilter(period=period)
    for grouping in ("person", "department"):
        assert reports.summarised(chosen, grouping)
        report = reports.commission_report(chosen, grouping)
        assert report.ties_to_ledger
    # the chart from the summary against the entries
    for currency in {e.currency for e in entries}:
        from_days = reports.chart_data(chosen, currency)
        expected = defaultdict(int)
        for e in entries:
            if e.currency == currency and e.kind is not EntryKind.ADJUSTMENT:
                expected[(company_date(e.created_at), e.kind)] += e.amount
        earned = sum(v for (_d, k), v in expected.items() if k is EntryKind.EARN)
        taken = -sum(v for (_d, k), v in expected.items() if k is EntryKind.REVERSAL)
        paid = -sum(v for (_d, k), v in expected.items() if k is EntryKind.PAYOUT)
        assert (sum(from_days.earned), sum(from_days.taken_back), sum(from_days.paid_out)) == (
            earned,
            taken,
            paid,
        )
        days = [period.start + timedelta(days=i) for i in range(period.days)]
        assert from_days.earned == [expected.get((d, EntryKind.EARN), 0) for d in days], currency
    choices = reports.filter_choices("VND")
    assert {e.currency for e in entries} <= set(choices.currencies)
    _assert_people_pages_are_the_facts(chosen, entries)


def _assert_people_pages_are_the_facts(chosen, entries) -> None:
    """The report by person, a page of two people at a time, against the entries."""
    expected: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for e in entries:
        if not chosen.period.start <= company_date(e.created_at) <= chosen.period.end:
            continue
        figures = expected[(str(e.user_id), e.currency)]
        column = {EntryKind.EARN: 0, EntryKind.REVERSAL: 1, EntryKind.ADJUSTMENT: 2}.get(e.kind, 3)
        figures[column] += e.amount
        figures[4] += 1
    first = reports.commission_report(chosen, "person", page=1, per_page=2)
    assert first.paged is not None
    assert first.paged.total == len(expected)
    shown = []
    for page in range(1, first.paged.pages + 1):
        report = reports.commission_report(chosen, "person", page=page, per_page=2)
        assert report.ties_to_ledger
        assert len(report.rows) <= 2
        shown += report.rows
    assert {
        (r.key, r.currency): [r.earned, r.taken_back, r.adjustments, r.paid_out, r.entries]
        for r in shown
    } == dict(expected)
    assert len(shown) == len(expected)
    # most earned first within each currency (amounts of two currencies do not compare)
    order = [(r.currency, -r.earned) for r in shown]
    assert order == sorted(order)
    totals: dict[str, int] = defaultdict(int)
    for (_key, currency), figures in expected.items():
        totals[currency] += sum(figures[:4])
    assert {c: t.balance_change for c, t in first.totals.items()} == dict(totals)
    # a page past the last shows the last
    past = reports.commission_report(chosen, "person", page=10_000, per_page=2)
    assert past.paged is not None
    assert past.paged.page == first.paged.pages


@pytest.mark.usefixtures("app")
@settings(
    max_examples=8,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    people_spec=people,
    product_spec=products,
    order_spec=orders,
    adjustment_spec=adjustments,
    leave_one_out=st.booleans(),
)
def test_every_overview_figure_is_the_facts_after_random_stories(
    people_spec, product_spec, order_spec, adjustment_spec, leave_one_out
):
    db.session.remove()
    clean_database()
    story(people_spec, product_spec, order_spec, adjustment_spec, leave_one_out)

    db.session.expire_all()
    kept = summary_rows()
    assert kept == summary_facts()
    _assert_overviews_are_the_facts()
    summaries.rebuild()
    assert summary_rows() == kept


@pytest.mark.usefixtures("app")
def test_a_filter_the_summaries_cannot_answer_reads_the_facts():
    chosen = queries.CommissionFilter(product_id=1)
    assert not queries._summarised(chosen)
    period = Period(company_today(), company_today())
    assert not reports.summarised(reports.ReportFilter(period=period), "product")
    assert not reports.summarised(reports.ReportFilter(period=period, state="paid"), "person")
