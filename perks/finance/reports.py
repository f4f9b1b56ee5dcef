"""The commission report: ledger movements of a period, grouped, with totals that are ledger sums.

Every figure comes from ``ledger_entry`` rows written in the period (company days): what was
earned (``earn``), taken back (``reversal``), adjusted (``adjustment``) and paid out
(``payout``), per currency. Grouped by person, department, product (of the entry's
commission) or state (the commission's state now; entries without a commission count under
their kind). The sum of the groups' balance change is, per currency, the sum of the ledger
entries that match the filters: the page shows both and the tests prove they are equal.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, String, case, func, select, type_coerce

from perks.commissions.models import Commission, CommissionState, EntryKind, LedgerEntry
from perks.commissions.summaries import CommissionTotal, LedgerDay
from perks.db import PageOf
from perks.extensions import db
from perks.finance.periods import Period
from perks.folding import alphabetical, name_order
from perks.i18n import company_zone, format_axis_label
from perks.people.models import Department, User
from perks.shop.models import Product

GROUPINGS = {
    "person": _l("Person"),
    "department": _l("Department"),
    "product": _l("Product"),
    "state": _l("State"),
}
#: the key of a group without a department or a product
NONE_KEY = "none"
#: entries without a commission, grouped by state, count under their kind
KIND_STATES = (EntryKind.ADJUSTMENT.value, EntryKind.PAYOUT.value, EntryKind.WITHHOLDING.value)
#: periods up to this many days are charted per day, longer ones per month
DAILY_CHART_DAYS = 62


@dataclass(frozen=True)
class ReportFilter:
    """What the report, its lines and the exports are narrowed to (None: any)."""

    period: Period
    currency: str | None = None
    user_id: int | None = None
    department_id: int | None = None
    #: only people without a department
    no_department: bool = False
    product_id: int | None = None
    #: only entries without a product (adjustments, payouts)
    no_product: bool = False
    #: a commission state, or "adjustment" / "payout" for entries without a commission
    state: str | None = None
    kind: EntryKind | None = None

    def audit_details(self) -> dict[str, Any]:
        """The filters as plain data, for the audit log."""
        return {
            "start": self.period.start.isoformat(),
            "end": self.period.end.isoformat(),
            "currency": self.currency,
            "user_id": self.user_id,
            "department_id": self.department_id,
            "no_department": self.no_department,
            "product_id": self.product_id,
            "no_product": self.no_product,
            "state": self.state,
            "kind": self.kind.value if self.kind else None,
        }

    def as_args(self) -> dict[str, str]:
        """The query-string arguments that give this filter back (links, drill-downs)."""
        args = self.period.as_args()
        if self.currency:
            args["currency"] = self.currency
        if self.user_id:
            args["person"] = str(self.user_id)
        if self.no_department:
            args["department"] = NONE_KEY
        elif self.department_id:
            args["department"] = str(self.department_id)
        if self.no_product:
            args["product"] = NONE_KEY
        elif self.product_id:
            args["product"] = str(self.product_id)
        if self.state:
            args["state"] = self.state
        if self.kind:
            args["kind"] = self.kind.value
        return args


def state_choices() -> list[tuple[str, str]]:
    """Commission states, then the kinds of entries that have no commission."""
    return [(s.value, s.label) for s in CommissionState] + [
        (EntryKind.ADJUSTMENT.value, _("Adjustment without a commission")),
        (EntryKind.PAYOUT.value, _("Payout")),
        (EntryKind.WITHHOLDING.value, _("Tax withheld")),
    ]


def entries_query(query: Select, chosen: ReportFilter) -> Select:
    """``query`` from ledger entries with their person and commission, filtered by ``chosen``.

    The FROM is ``ledger_entry JOIN user LEFT JOIN commission``; callers add columns.
    """
    query = (
        query.select_from(LedgerEntry)
        .join(User, User.id == LedgerEntry.user_id)
        .outerjoin(Commission, Commission.id == LedgerEntry.commission_id)
        .where(
            LedgerEntry.created_at >= chosen.period.start_at,
            LedgerEntry.created_at < chosen.period.end_at,
        )
    )
    if chosen.currency:
        query = query.where(LedgerEntry.currency == chosen.currency)
    if chosen.user_id:
        query = query.where(LedgerEntry.user_id == chosen.user_id)
    if chosen.no_department:
        query = query.where(User.department_id.is_(None))
    elif chosen.department_id:
        query = query.where(User.department_id == chosen.department_id)
    if chosen.no_product:
        query = query.where(LedgerEntry.commission_id.is_(None))
    elif chosen.product_id:
        query = query.where(Commission.product_id == chosen.product_id)
    if chosen.state in KIND_STATES:
        query = query.where(
            LedgerEntry.commission_id.is_(None), LedgerEntry.kind == EntryKind(chosen.state)
        )
    elif chosen.state:
        query = query.where(Commission.state == CommissionState(chosen.state))
    if chosen.kind:
        query = query.where(LedgerEntry.kind == chosen.kind)
    return query


def summarised(chosen: ReportFilter, grouping: str = "person") -> bool:
    """Whether ``ledger_day`` answers ``chosen`` grouped by ``grouping``: by person or
    department, not narrowed to a product or a state (those need each entry's commission, so
    they read the entries)."""
    return (
        grouping in ("person", "department")
        and chosen.product_id is None
        and not chosen.no_product
        and not chosen.state
    )


def days_query(query: Select, chosen: ReportFilter) -> Select:
    """``query`` from ``ledger_day`` with its person, filtered by ``chosen`` (which
    :func:`summarised` accepts). The FROM is ``ledger_day JOIN user``; callers add columns."""
    query = (
        query.select_from(LedgerDay)
        .join(User, User.id == LedgerDay.user_id)
        .where(LedgerDay.day >= chosen.period.start, LedgerDay.day <= chosen.period.end)
    )
    if chosen.currency:
        query = query.where(LedgerDay.currency == chosen.currency)
    if chosen.user_id:
        query = query.where(LedgerDay.user_id == chosen.user_id)
    if chosen.no_department:
        query = query.where(User.department_id.is_(None))
    elif chosen.department_id:
        query = query.where(User.department_id == chosen.department_id)
    if chosen.kind:
        query = query.where(LedgerDay.kind == chosen.kind)
    return query


# --- the grouped report --------------------------------------------------------------------------


@dataclass
class ReportRow:
    """One group's movements in one currency (minor units; taken back and paid out negative)."""

    key: str
    label: str
    currency: str
    earned: int = 0
    taken_back: int = 0
    adjustments: int = 0
    paid_out: int = 0
    entries: int = 0

    @property
    def commissions_net(self) -> int:
        """What the group earned in the period, net of what was taken back and adjusted."""
        return self.earned + self.taken_back + self.adjustments

    @property
    def balance_change(self) -> int:
        """The sum of the group's entries: how much its unpaid balance moved."""
        return self.commissions_net + self.paid_out

    def add(self, kind: EntryKind, total: int, count: int) -> None:
        if kind is EntryKind.EARN:
            self.earned += total
        elif kind is EntryKind.REVERSAL:
            self.taken_back += total
        elif kind is EntryKind.ADJUSTMENT:
            self.adjustments += total
        else:
            self.paid_out += total
        self.entries += count


#: the report by person shows this many people a page, most earned first
PEOPLE_PER_PAGE = 50


@dataclass
class Report:
    grouping: str
    chosen: ReportFilter
    #: the rows shown: every group, or one page of them (by person, ``paged``)
    rows: list[ReportRow] = field(default_factory=list)
    #: by person: which page of the people ``rows`` are (most earned first); None: every group
    paged: PageOf | None = None
    #: per currency: the sum over every group
    totals: dict[str, ReportRow] = field(default_factory=dict)
    #: per currency: the sum of the matching ledger entries, asked of the database directly
    ledger_sums: dict[str, int] = field(default_factory=dict)

    @property
    def currencies(self) -> list[str]:
        return sorted(set(self.totals) | set(self.ledger_sums))

    @property
    def ties_to_ledger(self) -> bool:
        return all(
            self.ledger_sums.get(c, 0) == (self.totals[c].balance_change if c in self.totals else 0)
            for c in self.currencies
        )

    def drill_args(self, row: ReportRow) -> dict[str, str]:
        """The filter of the lines behind ``row``."""
        return drill_filter(self.chosen, self.grouping, row.key, row.currency).as_args()


def drill_filter(chosen: ReportFilter, grouping: str, key: str, currency: str) -> ReportFilter:
    """``chosen`` narrowed to one group of a report grouped by ``grouping``."""
    narrowed = replace(chosen, currency=currency)
    if grouping == "person":
        return replace(narrowed, user_id=int(key))
    if grouping == "department":
        if key == NONE_KEY:
            return replace(narrowed, no_department=True, department_id=None)
        return replace(narrowed, department_id=int(key), no_department=False)
    if grouping == "product":
        if key == NONE_KEY:
            return replace(narrowed, no_product=True, product_id=None)
        return replace(narrowed, product_id=int(key), no_product=False)
    return replace(narrowed, state=key)


def _group_column(grouping: str) -> Any:
    if grouping == "person":
        return LedgerEntry.user_id
    if grouping == "department":
        return User.department_id
    if grouping == "product":
        return Commission.product_id
    return func.coalesce(
        type_coerce(Commission.state, String), type_coerce(LedgerEntry.kind, String)
    )


def _labels(grouping: str, keys: set[Any]) -> dict[Any, str]:
    present = {k for k in keys if k is not None}
    labels: dict[Any, str] = {None: _("No department") if grouping == "department" else ""}
    if grouping == "person" and present:
        for user_id, name, number in db.session.execute(
            select(User.id, User.name, User.employee_number).where(User.id.in_(present))
        ):
            labels[user_id] = f"{name} ({number})" if number else name
    elif grouping == "department" and present:
        for department_id, name in db.session.execute(
            select(Department.id, Department.name).where(Department.id.in_(present))
        ):
            labels[department_id] = name
    elif grouping == "product":
        labels[None] = _("No product (adjustments, payouts)")
        if present:
            for product in db.session.scalars(select(Product).where(Product.id.in_(present))):
                labels[product.id] = product.name
    elif grouping == "state":
        for state in CommissionState:
            labels[state.value] = state.label
        labels[EntryKind.ADJUSTMENT.value] = _("Adjustments without a commission")
        labels[EntryKind.PAYOUT.value] = _("Payouts")
        labels[EntryKind.WITHHOLDING.value] = _("Tax withheld")
    return labels


def _people_page(chosen: ReportFilter, page: int, per_page: int) -> Report:
    """The report by person from ``ledger_day``, one page of people (by currency, most earned
    first, then by id), with every person's totals: four statements whatever the number of
    people."""
    report = Report(grouping="person", chosen=chosen)
    for currency, kind, amount, count in db.session.execute(
        days_query(
            select(
                LedgerDay.currency,
                LedgerDay.kind,
                func.sum(LedgerDay.amount),
                func.sum(LedgerDay.entries),
            ),
            chosen,
        ).group_by(LedgerDay.currency, LedgerDay.kind)
    ):
        total = report.totals.setdefault(currency, ReportRow("total", _("Total"), currency))
        total.add(kind, int(amount or 0), int(count))
    groups = days_query(select(LedgerDay.user_id, LedgerDay.currency), chosen).group_by(
        LedgerDay.user_id, LedgerDay.currency
    )
    count = db.session.scalar(select(func.count()).select_from(groups.subquery())) or 0
    report.paged = PageOf(max(min(page, (count + per_page - 1) // per_page), 1), per_page, count)

    def of(kind: EntryKind) -> Any:
        return func.sum(case((LedgerDay.kind == kind, LedgerDay.amount), else_=0))

    earned = of(EntryKind.EARN)
    rows = db.session.execute(
        days_query(
            select(
                LedgerDay.user_id,
                User.name,
                User.employee_number,
                LedgerDay.currency,
                earned,
                of(EntryKind.REVERSAL),
                of(EntryKind.ADJUSTMENT),
                func.sum(LedgerDay.amount)
                - func.sum(
                    case(
                        (
                            LedgerDay.kind.in_(
                                [EntryKind.EARN, EntryKind.REVERSAL, EntryKind.ADJUSTMENT]
                            ),
                            LedgerDay.amount,
                        ),
                        else_=0,
                    )
                ),
                func.sum(LedgerDay.entries),
            ),
            chosen,
        )
        .group_by(LedgerDay.user_id, User.name, User.employee_number, LedgerDay.currency)
        # by currency first: 500 USD (50,000 cents) is no less than 60,000 VND
        .order_by(LedgerDay.currency, earned.desc(), LedgerDay.user_id)
        .limit(per_page)
        .offset((report.paged.page - 1) * per_page)
    )
    for user_id, name, number, currency, earn, taken, adjusted, paid, entries in rows:
        report.rows.append(
            ReportRow(
                key=str(user_id),
                label=f"{name} ({number})" if number else name,
                currency=currency,
                earned=int(earn or 0),
                taken_back=int(taken or 0),
                adjustments=int(adjusted or 0),
                paid_out=int(paid or 0),
                entries=int(entries or 0),
            )
        )
    report.ledger_sums = ledger_sums(chosen)
    return report


def commission_report(
    chosen: ReportFilter, grouping: str, page: int = 1, per_page: int | None = None
) -> Report:
    """The report of ``chosen`` grouped by ``grouping`` (one of ``GROUPINGS``), in three or
    four statements whatever the data: the groups, their labels, the ledger sums. By person
    from the summaries, one page of ``per_page`` people (``page``; default
    ``PEOPLE_PER_PAGE``), most earned first, with the totals of everyone.

    Raises:
        ValueError: an unknown grouping (the forms only offer the known ones).
    """
    if grouping not in GROUPINGS:
        raise ValueError(f"unknown grouping {grouping!r}")
    if grouping == "person" and summarised(chosen, grouping):
        return _people_page(chosen, page, per_page or PEOPLE_PER_PAGE)
    if summarised(chosen, grouping):
        column = (LedgerDay.user_id if grouping == "person" else User.department_id).label(
            "group_key"
        )
        query = days_query(
            select(
                column,
                LedgerDay.currency,
                LedgerDay.kind,
                func.sum(LedgerDay.amount),
                func.sum(LedgerDay.entries),
            ),
            chosen,
        ).group_by(column, LedgerDay.currency, LedgerDay.kind)
    else:
        column = _group_column(grouping).label("group_key")
        query = entries_query(
            select(
                column,
                LedgerEntry.currency,
                LedgerEntry.kind,
                func.sum(LedgerEntry.amount),
                func.count(),
            ),
            chosen,
        ).group_by(column, LedgerEntry.currency, LedgerEntry.kind)
    grouped: dict[tuple[Any, str], list[tuple[EntryKind, int, int]]] = defaultdict(list)
    for key, currency, kind, total, count in db.session.execute(query):
        grouped[(key, currency)].append((kind, int(total or 0), int(count)))
    labels = _labels(grouping, {key for key, _c in grouped})
    report = Report(grouping=grouping, chosen=chosen)
    for (key, currency), sums in grouped.items():
        row = ReportRow(
            key=NONE_KEY if key is None else str(key),
            label=labels.get(key, str(key)),
            currency=currency,
        )
        total = report.totals.setdefault(currency, ReportRow("total", _("Total"), currency))
        for kind, amount, count in sums:
            row.add(kind, amount, count)
            total.add(kind, amount, count)
        report.rows.append(row)
    report.rows.sort(key=lambda r: (r.currency, name_order(r.label), r.key))
    report.ledger_sums = ledger_sums(chosen)
    return report


def ledger_sums(chosen: ReportFilter) -> dict[str, int]:
    """Per currency, the plain sum of the ledger entries matching ``chosen`` (from
    ``ledger_day`` when it answers the filter, :func:`summarised`)."""
    if summarised(chosen):
        summed = days_query(
            select(LedgerDay.currency, func.sum(LedgerDay.amount)), chosen
        ).group_by(LedgerDay.currency)
        return {currency: int(total or 0) for currency, total in db.session.execute(summed)}
    query = entries_query(
        select(LedgerEntry.currency, func.sum(LedgerEntry.amount)), chosen
    ).group_by(LedgerEntry.currency)
    return {currency: int(total or 0) for currency, total in db.session.execute(query)}


# --- the chart -----------------------------------------------------------------------------------


@dataclass
class ChartData:
    currency: str
    labels: list[str]
    earned: list[int]
    taken_back: list[int]
    paid_out: list[int]


def _buckets(period: Period) -> tuple[list[date], bool]:
    daily = period.days <= DAILY_CHART_DAYS
    if daily:
        return [date.fromordinal(period.start.toordinal() + i) for i in range(period.days)], True
    months = []
    year, month = period.start.year, period.start.month
    while date(year, month, 1) <= period.end:
        months.append(date(year, month, 1))
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return months, False


def chart_data(chosen: ReportFilter, currency: str) -> ChartData:
    """Earned, taken back and paid out in ``currency`` per day (short periods) or per month,
    in the company's time zone (positive whole minor units, as the chart wants them)."""
    buckets, daily = _buckets(chosen.period)
    index = {(d.year, d.month, d.day if daily else 1): i for i, d in enumerate(buckets)}
    earned, taken, paid = [0] * len(buckets), [0] * len(buckets), [0] * len(buckets)
    if summarised(chosen):
        per_day = (
            days_query(
                select(LedgerDay.day, LedgerDay.kind, func.sum(LedgerDay.amount)),
                replace(chosen, currency=currency),
            )
            .where(LedgerDay.kind != EntryKind.ADJUSTMENT)
            .group_by(LedgerDay.day, LedgerDay.kind)
        )
        for day, kind, amount in db.session.execute(per_day):
            i = index.get((day.year, day.month, day.day if daily else 1))
            if i is not None:
                _chart_add(kind, int(amount or 0), i, earned, taken, paid)
        return _chart(currency, buckets, daily, earned, taken, paid)
    zone = company_zone()
    query = entries_query(
        select(LedgerEntry.created_at, LedgerEntry.kind, LedgerEntry.amount),
        replace(chosen, currency=currency),
    ).where(LedgerEntry.kind != EntryKind.ADJUSTMENT)
    for created_at, kind, amount in db.session.execute(query.execution_options(yield_per=5000)):
        moment = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        local = moment.astimezone(zone)
        i = index.get((local.year, local.month, local.day if daily else 1))
        if i is not None:
            _chart_add(kind, amount, i, earned, taken, paid)
    return _chart(currency, buckets, daily, earned, taken, paid)


def _chart_add(
    kind: EntryKind, amount: int, i: int, earned: list[int], taken: list[int], paid: list[int]
) -> None:
    if kind is EntryKind.EARN:
        earned[i] += amount
    elif kind is EntryKind.REVERSAL:
        taken[i] -= amount
    else:
        paid[i] -= amount


def _chart(
    currency: str,
    buckets: list[date],
    daily: bool,
    earned: list[int],
    taken: list[int],
    paid: list[int],
) -> ChartData:
    labels = [format_axis_label(d, "day" if daily else "month") for d in buckets]
    return ChartData(currency, labels, earned, taken, paid)


def chart_currency(report: Report, default: str) -> str:
    """The filter's currency, else the one with the most entries in the report."""
    if report.chosen.currency:
        return report.chosen.currency
    if not report.totals:
        return default
    return max(report.totals.values(), key=lambda t: (t.entries, t.currency)).currency


# --- what the filters offer ----------------------------------------------------------------------


@dataclass
class FilterChoices:
    currencies: list[str]
    departments: list[tuple[int, str]]
    products: list[tuple[int, str]]


def filter_choices(default_currency: str) -> FilterChoices:
    """The options of the report's filters (four statements), from the summaries: the
    currencies of commissions and adjustments. People are searched, not listed
    (``ReportForm.person``)."""
    # from the summaries: commissions' currencies, and adjustments' (adjustments and payouts
    # are the only entries without a commission; a payout pays commissions' currencies)
    currencies = set(db.session.scalars(select(CommissionTotal.currency).distinct()))
    adjusted = select(LedgerDay.user_id, LedgerDay.currency).where(
        LedgerDay.kind == EntryKind.ADJUSTMENT
    )
    currencies.update(currency for _user, currency in db.session.execute(adjusted.distinct()))
    currencies.add(default_currency)
    departments = [
        (d_id, name)
        for d_id, name in db.session.execute(
            select(Department.id, Department.name).order_by(
                *alphabetical(Department.name), Department.id
            )
        )
    ]
    products = sorted(
        ((p.id, p.name) for p in db.session.scalars(select(Product))),
        key=lambda item: (name_order(item[1]), item[0]),
    )
    return FilterChoices(sorted(currencies), departments, products)
