"""The random stories' runner and checks, shared by the property tests of commissions,
leavers, withholding and the summaries.

:func:`tell` plays a list of events (orders paid, redeemed, or both at once (sold); refunded
a percentage or a few units, disputed; ticks releasing commissions; payouts; adjustments)
through the real services, and hands every event it does not know to the test's own
``more``. :func:`check` holds a person's ledger to their commissions, adjustments and payouts,
every commission to its bounds, and asks ``verify-ledger``. :func:`check_leaver` holds a
settled leaver to their policy; :func:`summary_rows` and :func:`summary_facts` read the
summaries and recompute them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from perks.commissions import leavers, ledger
from perks.commissions.models import (
    Commission,
    CommissionState,
    LeaverPolicy,
    LeaverSettlement,
    LedgerEntry,
)
from perks.commissions.summaries import CommissionTotal, LedgerBalance, LedgerDay
from perks.commissions.verify import verify_ledger
from perks.extensions import db
from perks.i18n import company_date, company_today
from perks.money import Money
from perks.people.models import User
from perks.referrals.models import ReferralLink
from perks.shop.models import Order
from perks.shop.redemption import why_not_redeemable
from tests.unit.commissions.helpers import (
    Payroll,
    after_holding,
    dispute,
    pay,
    redeem,
    refund_to,
    tick,
)


@dataclass
class Told:
    """What a story did that the ledger must show: adjustments and gross payouts per person,
    and the orders paid after their referrer's leaving date was set."""

    adjusted: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    paid: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    paid_after_leaving: set[int] = field(default_factory=set)


def tell(
    story: list[tuple],
    orders: list[Order],
    employees: list[User],
    finance: User,
    *,
    pay_out: Callable[[], dict[int, int]] | None = None,
    more: Callable[[tuple, Told], None] | None = None,
    after_each: Callable[[Told], None] | None = None,
) -> Told:
    """Play ``story`` on ``orders``; return what was adjusted and paid per person.

    ``pay_out`` plays a ``payout`` event and returns the gross paid per person (by default a
    :class:`Payroll` that pays every positive net); ``more`` plays the events this runner does
    not know; ``after_each`` checks whatever it likes after every event.
    """
    payroll = Payroll()
    pay_out = pay_out or (
        lambda: {user_id: money.amount for user_id, money in payroll.pay_out().items()}
    )
    told = Told()

    for event in story:
        kind = event[0]
        if kind in ("pay", "sell"):  # sell: paid (if not yet) and used at once
            order = orders[event[1]]
            db.session.refresh(order)
            if order.paid_at is None and _referrer_has_a_leaving_date(order):
                told.paid_after_leaving.add(order.id)
            if kind == "pay" or order.paid_at is None:
                pay(order)
            if kind == "sell" and why_not_redeemable(order) is None:
                redeem(order)
        elif kind == "redeem":
            order = orders[event[1]]
            if why_not_redeemable(order) is None:
                redeem(order)
        elif kind == "refund":
            order = orders[event[1]]
            step = max(1, order.total_amount * event[2] // 100)
            refund_to(order, min(order.total_amount, order.refunded_amount + step))
        elif kind == "refund units":  # a unit or three: rounding at its finest
            order = orders[event[1]]
            refund_to(order, min(order.total_amount, order.refunded_amount + event[2]))
        elif kind == "dispute":
            dispute(orders[event[1]], event[2])
        elif kind == "tick":
            tick(after_holding(event[1]))
        elif kind == "payout":
            for user_id, amount in pay_out().items():
                told.paid[user_id] += amount
        elif kind == "adjust":
            person = employees[event[1]]
            ledger.record_adjustment(person.id, Money(event[2], "VND"), "test", actor=finance)
            told.adjusted[person.id] += event[2]
        elif more is not None:
            more(event, told)
        else:
            raise AssertionError(f"no such event: {event!r}")
        if after_each is not None:
            after_each(told)
    return told


def leave(person: User, policy: LeaverPolicy, *, actor: User) -> None:
    """HR sets ``person``'s leaving date to today (if not yet set) under ``policy``, then the
    daily task runs."""
    stored = db.session.get(User, person.id)
    assert stored is not None
    if stored.leaving_date is None:
        leavers.set_policy(policy, actor=actor)
        stored.leaving_date = company_today()
        db.session.commit()
    leavers.settle_leavers()


def _referrer_has_a_leaving_date(order: Order) -> bool:
    return (
        db.session.scalar(
            select(User.leaving_date)
            .join(ReferralLink, ReferralLink.user_id == User.id)
            .where(ReferralLink.id == order.referral_link_id)
        )
        is not None
    )


def balances_add_up(employees: list[User], told: Told) -> None:
    """Each person's ledger sums to earned − reversed + adjustments − gross paid (the gross
    being the payout entries and the tax withheld)."""
    for person in employees:
        earned, reversed_ = db.session.execute(
            select(
                func.coalesce(func.sum(Commission.earned_amount), 0),
                func.coalesce(func.sum(Commission.reversed_amount), 0),
            ).where(Commission.user_id == person.id)
        ).one()
        total = db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.user_id == person.id
            )
        )
        assert total == earned - reversed_ + told.adjusted[person.id] - told.paid[person.id]


def check(employees: list[User], told: Told) -> None:
    """Ledger sums equal the states; every commission within its bounds; orders paid after
    their referrer's leaving date earned nothing; verify-ledger agrees."""
    db.session.expire_all()
    balances_add_up(employees, told)
    for commission in db.session.scalars(select(Commission)):
        assert 0 <= commission.reversed_amount <= commission.earned_amount
        assert 0 <= commission.amount <= commission.original_amount
        assert commission.refunded_base_amount <= commission.base_amount
        if commission.order_id in told.paid_after_leaving:
            assert commission.earned_amount == 0  # paid after its referrer left: never earns
    # the story's ticks ran up to 40 days ahead: check as of then
    report = verify_ledger(now=after_holding(60))
    assert report.problems == []


def check_leaver(person: User) -> None:
    """Once the daily task has run for a settled leaver: they are inactive, no commission of
    theirs waits in its holding period (vested or forfeited) and, under forfeit, none waits
    for its customer either."""
    settlement = db.session.get(LeaverSettlement, person.id)
    if settlement is None:
        return
    stored = db.session.get(User, person.id)
    assert stored is not None
    assert stored.leaving_date is not None
    assert stored.active is False
    states = set(
        db.session.scalars(select(Commission.state).where(Commission.user_id == person.id))
    )
    assert CommissionState.EARNED not in states
    if settlement.policy is LeaverPolicy.FORFEIT:
        assert CommissionState.PENDING not in states


def summary_rows() -> tuple[dict[tuple, tuple[int, int]], ...]:
    """The summaries as they are: commission totals, ledger days and balances."""
    totals = {
        (t.user_id, t.state, t.currency): (t.commissions, t.amount)
        for t in db.session.scalars(select(CommissionTotal))
        if t.commissions or t.amount
    }
    days = {
        (d.day, d.user_id, d.kind, d.currency): (d.entries, d.amount)
        for d in db.session.scalars(select(LedgerDay))
    }
    balances = {
        (b.user_id, b.currency): (b.entries, b.amount)
        for b in db.session.scalars(select(LedgerBalance))
    }
    return totals, days, balances


def summary_facts() -> tuple[dict[tuple, tuple[int, int]], ...]:
    """The summaries recomputed from the ``commission`` and ``ledger_entry`` rows."""
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for c in db.session.scalars(select(Commission)):
        totals[(c.user_id, c.state, c.currency)][0] += 1
        totals[(c.user_id, c.state, c.currency)][1] += c.amount
    days: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    balances: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for e in db.session.scalars(select(LedgerEntry)):
        key = (company_date(e.created_at), e.user_id, e.kind, e.currency)
        days[key][0] += 1
        days[key][1] += e.amount
        balances[(e.user_id, e.currency)][0] += 1
        balances[(e.user_id, e.currency)][1] += e.amount
    return tuple({k: (v[0], v[1]) for k, v in part.items()} for part in (totals, days, balances))
