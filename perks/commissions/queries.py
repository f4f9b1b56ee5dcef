"""What the commission pages show: an employee's own earnings, finance's lists and totals.

Every query here loads what its page shows in a fixed number of statements, whatever the
number of rows (the pages have query-count tests).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    Select,
    String,
    Text,
    bindparam,
    cast,
    func,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import contains_eager, joinedload

from perks.commissions.lifecycle import removed_share
from perks.commissions.models import (
    Commission,
    CommissionRule,
    CommissionState,
    EntryKind,
    LedgerEntry,
    RuleKind,
    TierMeasure,
    VoidReason,
)
from perks.commissions.summaries import CommissionTotal, LedgerBalance
from perks.db import ReadTogether, page_within, paginate
from perks.extensions import db
from perks.folding import alphabetical
from perks.i18n import (
    company_zone,
    day_start,
    format_axis_label,
    format_bps,
    format_day,
    format_number,
)
from perks.money import Money, format_money
from perks.people.models import User
from perks.referrals.models import ReferralLink
from perks.shop.models import Order, OrderLine, Product

S = CommissionState
#: the states whose totals head the earnings pages, in the order they happen
TOTAL_STATES = (S.PENDING, S.EARNED, S.PAYABLE, S.PAID)
PER_PAGE = 50
#: a person's own commissions a page (the earnings page, opened daily and on phones: its
#: cost stays that of a page, not of a person's whole history)
MY_PER_PAGE = 20
#: a person's newest payouts and adjustments on their earnings page
MY_PAYOUTS = 12
MY_ADJUSTMENTS = 50
#: a row of one of the earnings page's reads (``_shape``)
Fields = tuple[Any, ...]
#: months in the earnings chart
CHART_MONTHS = 12


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(company_zone())


# --- explaining a commission -------------------------------------------------------------------


def rate_text(commission: Commission) -> str:
    """The rule as applied ("10%", "50.000 ₫ per unit"), with its cap; "no rule" if none."""
    if commission.rule_kind is None:
        return _("No rule applied")
    if commission.rule_kind is RuleKind.PERCENT:
        text = format_bps(commission.rate_bps or 0)
    else:
        text = _(
            "%(amount)s per unit",
            amount=format_money(commission.money(commission.flat_amount or 0)),
        )
    if commission.cap_amount is not None:
        text = _(
            "%(rate)s, at most %(cap)s",
            rate=text,
            cap=format_money(commission.money(commission.cap_amount)),
        )
    if commission.tier_threshold is not None:
        if commission.tier_measure is TierMeasure.AMOUNT:
            text = _(
                "%(rate)s (tier from %(amount)s sold this month)",
                rate=text,
                amount=format_money(commission.money(commission.tier_threshold)),
            )
        else:
            text = ngettext(
                "%(rate)s (tier from %(count)s line sold this month)",
                "%(rate)s (tier from %(count)s lines sold this month)",
                commission.tier_threshold,
                rate=text,
                count=format_number(commission.tier_threshold),
            )
    if commission.returning_customer:
        text = _("%(rate)s, returning customer", rate=text)
    return text


def _says_taken_back_after_paid(commission: Commission) -> bool:
    """Whether ``explanation`` tells what was taken back since the commission was paid."""
    return (
        commission.state is not S.VOIDED
        and commission.is_reduced
        and S.PAID in (commission.state, commission.held_from_state)
    )


def taken_back_after_paid(commissions: Sequence[Commission]) -> dict[int, int]:
    """For a list of ``commissions`` and their explanations: what was taken back from each
    after it was paid, beyond what its payout netted (minor units, positive;
    ``Commission.taken_back_after_paid``), for those whose explanation tells it (paid, or on
    hold since it was paid, and reduced). Reads nothing. Raises nothing."""
    return {c.id: c.taken_back_after_paid for c in commissions if _says_taken_back_after_paid(c)}


def _day(moment: datetime | None) -> str:
    return format_day(_local(moment), "medium") if moment else ""


def explanation(commission: Commission, taken_back: Mapping[int, int] | None = None) -> str:
    """Why a commission is where it is, in the page's language. ``taken_back``: what
    ``taken_back_after_paid`` read for the list the commission is in; without it, what was
    taken back since it was paid is asked for when the explanation tells it (a statement).
    Raises nothing."""
    state = commission.state
    if state is S.ON_HOLD:
        text = _(
            "On hold: the customer disputed the payment on %(date)s.",
            date=_day(commission.held_at),
        )
    elif state is S.VOIDED:
        reason = commission.void_reason
        when = _day(commission.voided_at)
        if reason is VoidReason.REFUNDED:
            text = _("Voided: order refunded on %(date)s.", date=when)
        elif reason is VoidReason.DISPUTE_LOST:
            text = _("Voided: the customer's bank took the payment back on %(date)s.", date=when)
        elif reason is VoidReason.LEFT_COMPANY:
            text = _(
                "Voided on %(date)s: left the company. Orders paid from the leaving date on, "
                "and (under finance's forfeit policy) commissions not yet payable on it, earn "
                "nothing; it would have earned %(amount)s.",
                date=when,
                # what it was worth then: less a part of the order refunded before
                amount=format_money(
                    commission.original
                    - commission.money(
                        removed_share(
                            commission.original,
                            commission.base_amount,
                            commission.refunded_base_amount,
                            full=False,
                        )
                    )
                ),
            )
        else:
            text = _("Voided: order cancelled on %(date)s.", date=when)
    elif state is S.PENDING:
        text = _("Waiting for the customer to use the order.")
    elif state is S.EARNED:
        text = _(
            "Earned on %(earned)s; payable from %(payable)s.",
            earned=_day(commission.earned_at),
            payable=_day(commission.payable_at),
        )
    elif state is S.PAYABLE:
        text = _("Payable: it is in the next payout.")
    else:
        text = _("Paid on %(date)s.", date=_day(commission.paid_at))
    if state is not S.VOIDED and commission.is_reduced:
        taken = commission.money(commission.original_amount - commission.amount)
        if _says_taken_back_after_paid(commission):
            # only what was taken back once it was paid comes off a later payout; a part
            # refunded before it was paid had lowered what was paid
            after = commission.money(
                taken_back.get(commission.id, 0)
                if taken_back is not None
                else commission.taken_back_after_paid
            )
            before = taken - after
            if before.amount:
                text += " " + _(
                    "Reduced by %(amount)s before it was paid: the order was partly refunded.",
                    amount=format_money(before),
                )
            if after.amount:
                text += " " + _(
                    "%(amount)s was taken back after the order was refunded or disputed; it is "
                    "deducted from your next payout.",
                    amount=format_money(after),
                )
        else:
            text += " " + _(
                "Reduced by %(amount)s: the order was partly refunded.",
                amount=format_money(taken),
            )
    return text


# --- an employee's earnings --------------------------------------------------------------------


@dataclass
class Totals:
    """Sums per state and currency: ``totals[state][currency]``."""

    by_state: dict[CommissionState, dict[str, Money]] = field(default_factory=dict)

    def currencies(self) -> list[str]:
        return sorted({c for per in self.by_state.values() for c in per})

    def of(self, state: CommissionState, currency: str) -> Money:
        return self.by_state.get(state, {}).get(currency, Money.zero(currency))

    def headed_states(self) -> tuple[CommissionState, ...]:
        """The states whose totals head a person's earnings: ``TOTAL_STATES``, and on hold
        when something is (a disputed order's commission is in no other total)."""
        on_hold = any(self.of(S.ON_HOLD, currency) for currency in self.currencies())
        return TOTAL_STATES + ((S.ON_HOLD,) if on_hold else ())


def _totals(query: Select) -> Totals:
    totals = Totals()
    for state, currency, amount in db.session.execute(query):
        totals.by_state.setdefault(state, {})[currency] = Money(int(amount or 0), currency)
    return totals


@dataclass(frozen=True)
class MyCommissions:
    """A person's commissions in figures (``commission_total``): worth per state and currency
    (paid: what was paid), how many in all, and how many per currency, and what was taken
    back from paid commissions since they were paid, per currency."""

    totals: Totals
    count: int
    counts: dict[str, int]
    taken_back_since_paid: dict[str, Money] = field(default_factory=dict)

    def main_currency(self, default: str) -> str:
        """The currency most of them are in (the chart's); ties go to the first from A to Z."""
        if not self.counts:
            return default
        return min(self.counts, key=lambda currency: (-self.counts[currency], currency))


def _my_commissions(totals_rows: list[Fields], taken_back_rows: list[Fields]) -> MyCommissions:
    """:class:`MyCommissions` from the rows of ``_earnings_parts``' ``totals`` and
    ``taken_back``. Paid is what was paid, before anything taken back since: a commission
    paid and then refunded in full is worth nothing now, but it was paid (what was taken back
    comes off the next payout, as the balance says)."""
    totals = Totals()
    counts: dict[str, int] = {}
    for _at, state, amount, currency, commissions, _reason in totals_rows:
        totals.by_state.setdefault(S(state), {})[currency] = Money(int(amount or 0), currency)
        counts[currency] = counts.get(currency, 0) + int(commissions)
    taken_back: dict[str, Money] = {}
    for _at, _kind, amount, currency, _ref, _reason in sorted(taken_back_rows, key=_currency):
        taken_back[currency] = Money(-int(amount or 0), currency)
        paid = totals.by_state.setdefault(S.PAID, {})
        paid[currency] = paid.get(currency, Money.zero(currency)) + taken_back[currency]
    return MyCommissions(totals, sum(counts.values()), counts, taken_back)


def my_commissions(user_id: int) -> MyCommissions:
    """A person's :class:`MyCommissions`, in one statement. Raises nothing."""
    rows = _commissions_read().read(user_id=user_id)
    return _my_commissions(rows["totals"], rows["taken_back"])


#: the states of a commission its referrer has earned (used, not refunded or disputed)
EARNED_STATES = (CommissionState.EARNED, CommissionState.PAYABLE, CommissionState.PAID)


def earned_by(user_ids: Sequence[int], start: datetime, end: datetime) -> dict[int, list[Money]]:
    """What each of these people earned from ``start`` to ``end``: their commissions earned
    then and still worth something (earned, payable or paid), one amount per currency, the
    currencies from A to Z (people who earned nothing are left out). One statement."""
    if not user_ids:
        return {}
    earned: dict[int, list[Money]] = {}
    for user_id, currency, amount in db.session.execute(
        select(Commission.user_id, Commission.currency, func.sum(Commission.amount))
        .where(
            Commission.user_id.in_(user_ids),
            Commission.state.in_(EARNED_STATES),
            Commission.earned_at >= start,
            Commission.earned_at < end,
        )
        .group_by(Commission.user_id, Commission.currency)
        .order_by(Commission.user_id, Commission.currency)
    ):
        earned.setdefault(user_id, []).append(Money(int(amount or 0), currency))
    return earned


def commissions_page(user_id: int, page: int, total: int | None = None) -> Pagination:
    """A person's commissions, newest first, with their orders, lines and products (the
    product named in the reader's language, not the customer's) (2 statements, and one for
    the count when ``total`` is not given: ``my_commissions(...).count``)."""
    query = (
        select(Commission)
        .where(Commission.user_id == user_id)
        .options(
            # what the page shows of them: the order's number and the customer's first
            # name, the product's name (an order's row is wide: its customer, its payment)
            joinedload(Commission.order).load_only(Order.number, Order.customer_name, Order.locale),
            joinedload(Commission.order_line)
            .load_only(OrderLine.product_id)
            .joinedload(OrderLine.product)
            .load_only(Product.name_vi, Product.name_en)
            .lazyload(Product.category),
        )
        .order_by(Commission.created_at.desc(), Commission.id.desc())
    )
    total = my_commissions(user_id).count if total is None else total
    return CountedPagination(
        select=query,
        total=total,
        page=page_within(page, total, MY_PER_PAGE),
        per_page=MY_PER_PAGE,
        max_per_page=None,
        error_out=False,
    )


@dataclass(frozen=True)
class Adjustment:
    """An adjustment finance made to a person's balance, as the earnings page lists it."""

    created_at: datetime
    money: Money
    reason: str


@dataclass(frozen=True)
class PayoutReceived:
    """One payout as the person paid reads it: when, what it paid before tax, the tax
    withheld from it and what reached them."""

    paid_at: datetime
    before_tax: Money
    withheld: Money

    @property
    def received(self) -> Money:
        return self.before_tax - self.withheld


@dataclass
class MonthlyEarnings:
    currency: str
    months: list[date]
    labels: list[str]
    earned: list[int]
    taken_back: list[int]
    paid: list[int]


@dataclass(frozen=True)
class MyEarnings:
    """What a person's earnings page shows of their figures: their commissions in figures,
    what they are owed per currency, their months in the main currency, their last payouts
    and adjustments, and the tax withheld from them this year."""

    mine: MyCommissions
    currency: str
    balances: list[Money]
    monthly: MonthlyEarnings
    payouts: list[PayoutReceived]
    adjustments: list[Adjustment]
    withheld_this_year: list[Money]


def _shape(
    *,
    amount: Any,
    currency: Any,
    at: Any = None,
    kind: Any = None,
    ref: Any = None,
    reason: Any = None,
) -> tuple[Any, ...]:
    """The columns every part of the earnings page's one read has (``ReadTogether``): a
    moment, a kind or state (read as its text), an amount, a currency, a number (a batch, an
    entry or a count) and a reason; what a part has not is NULL."""
    return (
        (cast(null(), DateTime(timezone=True)) if at is None else at).label("at"),
        (cast(null(), String) if kind is None else type_coerce(kind, String)).label("kind"),
        amount.label("amount"),
        currency.label("currency"),
        (cast(null(), BigInteger) if ref is None else ref).label("ref"),
        (cast(null(), Text) if reason is None else reason).label("reason"),
    )


def _earnings_parts() -> dict[str, Select]:
    """The reads of a person's earnings page, each in ``_shape``, for the person
    ``user_id``: their totals per state and currency (``commission_total``), what was taken
    back from paid commissions since they were paid, their balance (``ledger_balance``), their
    ledger since ``chart_from`` (adjustments aside), their newest payout and withholding
    entries and adjustments, and the tax withheld from ``year_from`` to ``year_to``. Each
    reads an index, whatever the length of their history."""
    entry = LedgerEntry
    user_id = bindparam("user_id", type_=Integer)
    newest_first = (entry.created_at.desc(), entry.id.desc())

    def entries(**more: Any) -> tuple[Any, ...]:
        """A ledger entry's moment, kind, amount and currency, and ``more``."""
        columns = {"at": entry.created_at, "kind": entry.kind, "amount": entry.amount}
        return _shape(currency=entry.currency, **columns, **more)

    return {
        "totals": select(
            *_shape(
                kind=CommissionTotal.state,
                amount=CommissionTotal.amount,
                currency=CommissionTotal.currency,
                ref=CommissionTotal.commissions,
            )
        ).where(CommissionTotal.user_id == user_id, CommissionTotal.commissions > 0),
        # reversals its payout did not net (``Commission.taken_back_after_paid``), negative
        # as the entries are
        "taken_back": select(
            *_shape(
                amount=cast(
                    func.sum(Commission.paid_reversed_amount - Commission.reversed_amount),
                    BigInteger,
                ),
                currency=Commission.currency,
            )
        )
        .where(Commission.user_id == user_id, Commission.state == S.PAID)
        .group_by(Commission.currency),
        "balances": select(
            *_shape(amount=LedgerBalance.amount, currency=LedgerBalance.currency)
        ).where(LedgerBalance.user_id == user_id, LedgerBalance.entries > 0),
        "months": select(*entries()).where(
            entry.user_id == user_id,
            entry.kind != EntryKind.ADJUSTMENT,
            entry.created_at >= bindparam("chart_from"),
        ),
        # a payout is its payout entry and, when tax was withheld, a withholding entry of the
        # same batch, moment and currency (``lifecycle.record_payout`` writes both at once)
        "payouts": select(*entries(ref=entry.payout_batch_id))
        .where(entry.user_id == user_id, entry.kind.in_([EntryKind.PAYOUT, EntryKind.WITHHOLDING]))
        .order_by(*newest_first)
        .limit(2 * MY_PAYOUTS + 1),
        "adjustments": select(*entries(ref=entry.id, reason=entry.reason))
        .where(entry.user_id == user_id, entry.kind == EntryKind.ADJUSTMENT)
        .order_by(*newest_first)
        .limit(MY_ADJUSTMENTS),
        "withheld": select(
            *_shape(amount=cast(func.sum(entry.amount), BigInteger), currency=entry.currency)
        )
        .where(
            entry.user_id == user_id,
            entry.kind == EntryKind.WITHHOLDING,
            entry.created_at >= bindparam("year_from"),
            entry.created_at < bindparam("year_to"),
        )
        .group_by(entry.currency),
    }


@cache
def _earnings_read() -> ReadTogether:
    return ReadTogether.of(_earnings_parts())


@cache
def _commissions_read() -> ReadTogether:
    parts = _earnings_parts()
    return ReadTogether.of({"totals": parts["totals"], "taken_back": parts["taken_back"]})


def _currency(row: Fields) -> str:
    return str(row[3])


def _newest_first(row: Fields) -> tuple[datetime, int]:
    return (_utc(row[0]), int(row[4] or 0))


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def my_earnings(user_id: int, today: date, default_currency: str) -> MyEarnings:
    """A person's :class:`MyEarnings` (``today`` in the company's time zone), in one statement
    (``perks.db.ReadTogether``): the earnings page is opened daily. Their main currency is
    the one most of their commissions are in, else ``default_currency``. Raises nothing."""
    rows = _earnings_read().read(
        user_id=user_id,
        chart_from=day_start(_month_starts(today, CHART_MONTHS)[0]),
        year_from=day_start(date(today.year, 1, 1)),
        year_to=day_start(date(today.year + 1, 1, 1)),
    )
    mine = _my_commissions(rows["totals"], rows["taken_back"])
    currency = mine.main_currency(default_currency)
    return MyEarnings(
        mine=mine,
        currency=currency,
        balances=[
            Money(int(amount or 0), currency)
            for _at, _kind, amount, currency, _ref, _reason in sorted(
                rows["balances"], key=_currency
            )
        ],
        monthly=_monthly(rows["months"], today, currency),
        payouts=_payouts(rows["payouts"]),
        adjustments=[
            Adjustment(at, Money(int(amount), currency), reason)
            for at, _kind, amount, currency, _ref, reason in sorted(
                rows["adjustments"], key=_newest_first, reverse=True
            )
        ],
        withheld_this_year=[
            Money(-int(amount or 0), currency)
            for _at, _kind, amount, currency, _ref, _reason in sorted(
                rows["withheld"], key=_currency
            )
        ],
    )


def _payouts(rows: list[Fields]) -> list[PayoutReceived]:
    """The last ``MY_PAYOUTS`` payouts, newest first, from ``_earnings_parts``' ``payouts``."""
    paid: dict[tuple[int | None, datetime, str], dict[EntryKind, int]] = {}
    for at, kind, amount, currency, batch_id, _reason in sorted(
        rows, key=_newest_first, reverse=True
    ):
        paid.setdefault((batch_id, at, currency), {})[EntryKind(kind)] = -int(amount)
    payouts = [
        PayoutReceived(
            paid_at=at,
            before_tax=Money(
                amounts.get(EntryKind.PAYOUT, 0) + amounts.get(EntryKind.WITHHOLDING, 0), currency
            ),
            withheld=Money(amounts.get(EntryKind.WITHHOLDING, 0), currency),
        )
        for (_batch, at, currency), amounts in paid.items()
    ]
    if len(rows) > 2 * MY_PAYOUTS:
        payouts = payouts[:-1]  # the oldest may have lost an entry to the limit
    return payouts[:MY_PAYOUTS]


def _month_starts(today: date, count: int) -> list[date]:
    months = []
    year, month = today.year, today.month
    for _i in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(months))


def _monthly(rows: list[Fields], today: date, currency: str) -> MonthlyEarnings:
    """Earned, taken back and paid in ``currency`` per month (company time zone) for the last
    12 months, from ``_earnings_parts``' ``months``."""
    months = _month_starts(today, CHART_MONTHS)
    index = {(m.year, m.month): i for i, m in enumerate(months)}
    earned, taken, paid = [0] * len(months), [0] * len(months), [0] * len(months)
    for created_at, kind, amount, in_currency, _ref, _reason in rows:
        local = _local(created_at)
        i = index.get((local.year, local.month))
        if i is None or in_currency != currency:
            continue
        if kind == EntryKind.EARN.value:
            earned[i] += amount
        elif kind == EntryKind.REVERSAL.value:
            taken[i] -= amount
        else:
            paid[i] -= amount
    labels = [format_axis_label(m, "month") for m in months]
    return MonthlyEarnings(currency, months, labels, earned, taken, paid)


# --- finance -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommissionFilter:
    """Finance's filters; None means any. Dates are company days of the order's payment."""

    start: date | None = None
    end: date | None = None
    state: CommissionState | None = None
    department_id: int | None = None
    user_id: int | None = None
    product_id: int | None = None


def _filtered(query: Select, chosen: CommissionFilter) -> Select:
    if chosen.start is not None:
        query = query.where(Commission.created_at >= day_start(chosen.start))
    if chosen.end is not None:
        query = query.where(Commission.created_at < day_start(chosen.end + timedelta(days=1)))
    if chosen.state is not None:
        query = query.where(Commission.state == chosen.state)
    if chosen.user_id is not None:
        query = query.where(Commission.user_id == chosen.user_id)
    if chosen.product_id is not None:
        query = query.where(Commission.product_id == chosen.product_id)
    if chosen.department_id is not None:
        people = select(User.id).where(User.department_id == chosen.department_id)
        query = query.where(Commission.user_id.in_(people))
    return query


def _summarised(chosen: CommissionFilter) -> bool:
    """Whether ``commission_total`` answers ``chosen``'s totals and count (no dates, no
    product: those read the commissions themselves)."""
    return chosen.start is None and chosen.end is None and chosen.product_id is None


def _summary_filtered(query: Select, chosen: CommissionFilter) -> Select:
    if chosen.state is not None:
        query = query.where(CommissionTotal.state == chosen.state)
    if chosen.user_id is not None:
        query = query.where(CommissionTotal.user_id == chosen.user_id)
    if chosen.department_id is not None:
        people = select(User.id).where(User.department_id == chosen.department_id)
        query = query.where(CommissionTotal.user_id.in_(people))
    return query


class CountedPagination(Pagination):
    """A page of a query whose total is known already (from a summary): no ``count(*)``
    over the facts."""

    def _query_items(self) -> list[Any]:
        query = self._query_args["select"]
        return list(
            db.session.scalars(query.limit(self.per_page).offset(self._query_offset)).unique()
        )

    def _query_count(self) -> int:
        return int(self._query_args["total"])


def all_commissions(chosen: CommissionFilter, page: int) -> Pagination:
    """Every commission matching ``chosen``, newest first, with person, department, order.
    The page's count comes from ``commission_total`` when it can (``_summarised``)."""
    query = (
        select(Commission)
        .join(Commission.user)
        .options(
            contains_eager(Commission.user),
            joinedload(Commission.order),
            joinedload(Commission.order_line),
        )
        .order_by(Commission.created_at.desc(), Commission.id.desc())
    )
    if _summarised(chosen):
        total = db.session.scalar(
            _summary_filtered(
                select(func.coalesce(func.sum(CommissionTotal.commissions), 0)), chosen
            )
        )
        return CountedPagination(
            select=_filtered(query, chosen),
            total=total or 0,
            page=page_within(page, total or 0, PER_PAGE),
            per_page=PER_PAGE,
            max_per_page=None,
            error_out=False,
        )
    return paginate(_filtered(query, chosen), page, PER_PAGE)


def filtered_totals(chosen: CommissionFilter) -> Totals:
    """Sums per state and currency of the commissions matching ``chosen``: from
    ``commission_total`` when it can (``_summarised``), else from the commissions."""
    if _summarised(chosen):
        return _totals(
            _summary_filtered(
                select(
                    CommissionTotal.state,
                    CommissionTotal.currency,
                    func.sum(CommissionTotal.amount),
                ),
                chosen,
            )
            .group_by(CommissionTotal.state, CommissionTotal.currency)
            .having(func.sum(CommissionTotal.commissions) > 0)
        )
    query = select(Commission.state, Commission.currency, func.sum(Commission.amount)).group_by(
        Commission.state, Commission.currency
    )
    return _totals(_filtered(query, chosen))


FLAGGED_PER_PAGE = 50


def flagged_orders(page: int = 1) -> Pagination:
    """Orders finance should look at, newest first, a page at a time: self-referral attempts
    and staff purchases through a link (flagged), and payments that did not match their
    order."""
    return paginate(
        select(Order)
        .where(or_(Order.attribution_flagged.is_(True), Order.mismatch != ""))
        .options(joinedload(Order.referral_link), joinedload(Order.buyer))
        .order_by(Order.created_at.desc(), Order.id.desc()),
        page,
        FLAGGED_PER_PAGE,
    )


def recent_adjustments(limit: int = 100) -> list[LedgerEntry]:
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.kind == EntryKind.ADJUSTMENT)
            .options(joinedload(LedgerEntry.user), joinedload(LedgerEntry.created_by))
            .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc())
            .limit(limit)
        )
    )


def all_rules() -> list[CommissionRule]:
    """Every rule and version: the live ones first (by scope), then the ended ones."""
    return list(
        db.session.scalars(
            select(CommissionRule).order_by(
                CommissionRule.effective_to.is_not(None),
                CommissionRule.scope,
                CommissionRule.effective_from.desc(),
                CommissionRule.version.desc(),
                CommissionRule.id.desc(),
            )
        )
    )


def applied_rule_ids(rule_ids: list[int]) -> set[int]:
    if not rule_ids:
        return set()
    return set(
        db.session.scalars(
            select(Commission.rule_id).where(Commission.rule_id.in_(rule_ids)).distinct()
        )
    )


def live_rules(today: date) -> list[CommissionRule]:
    """Rules that apply today or later, for the staff rules page."""
    return list(
        db.session.scalars(
            select(CommissionRule)
            .where(or_(CommissionRule.effective_to.is_(None), CommissionRule.effective_to >= today))
            .order_by(
                CommissionRule.scope,
                CommissionRule.effective_from,
                CommissionRule.version,
                CommissionRule.id,
            )
        )
    )


def people_choices() -> list[tuple[int, str]]:
    """Everyone finance may adjust for (people who left included), by name."""
    return [
        (user_id, f"{name} <{email}>")
        for user_id, name, email in db.session.execute(
            select(User.id, User.name, User.email).order_by(*alphabetical(User.name), User.id)
        )
    ]


def sellers_choices() -> list[tuple[int, str]]:
    """People who have a referral link, by name (with their e-mail, as names repeat)."""
    return [
        (user_id, f"{name} <{email}>")
        for user_id, name, email in db.session.execute(
            select(User.id, User.name, User.email)
            .where(User.id.in_(select(ReferralLink.user_id)))
            .order_by(*alphabetical(User.name), User.id)
        )
    ]
