"""The commission state machine, and every change that moves a commission or its money.

States: ``pending`` (order paid) → ``earned`` (order used; the holding period starts) →
``payable`` (``flask perks tick`` after the holding period) → ``paid`` (its payout was paid);
side states ``voided`` (fully refunded, or a dispute lost, before it was paid) and ``on_hold``
(the payment is disputed; the state it left is remembered and given back when the dispute is
won). ``TRANSITIONS`` lists, for each state, the states a commission may come from; every
change of state goes through :func:`move`, which refuses anything else with
:class:`TransitionRefused`. Leaving ``on_hold`` goes back to the remembered state, or to
``voided`` when it was not paid.

Money: earning writes an ``earn`` entry (+ the commission's worth); a refund takes back the
refunded share: before the commission is earned it only lowers what it will earn, after it
writes a ``reversal`` entry (−). Reversals of a commission never add up to more than it
earned. A commission already paid stays paid: its reversal nets against the next payout.

Refunds are prorated exactly: the new refunded part of the order is split over its lines in
proportion to what is not yet refunded of each (``Money.allocate``), so the lines' refunded
parts always sum to the order's; and the share of a commission taken back is its original
amount allocated by refunded and kept parts of its base, so successive partial refunds take
back exactly what one refund of the same total would.

Each change tells the people it concerns, in the same unit of work
(``perks.commissions.notifications``): earned, voided, on hold, released, clawed back,
payable (once per person per daily release).

Tiers (``perks.commissions.rules``): a tiered rule's commission shows the rule's own terms
while pending; :func:`earn_order` gives each line of the order its tier when the order is
used, line by line in the order of the lines, after the person's lines already redeemed that
calendar month (company time zone), and snapshots it (``rate_bps``/``flat_amount``,
``tier_threshold``, ``tier_measure``, ``original_amount``); the ``earn`` entry is that amount.
An earlier line never changes. Returning customers (``perks.referrals.returning``): their lines
earn finance's returning-customer rate when it is set (no rule, no tier), else the rule.

Every function here only flushes: the receivers run inside the transaction that changed the
order (a webhook, a redemption). The public services are :func:`release_due_commissions` (the
daily tick: one conditional UPDATE for the one transition earned → payable, checked against
``TRANSITIONS``) and :func:`backdate_earning` (demo data), each committing once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, func, select, update

from perks.commissions import ledger, notifications, rules, summaries
from perks.commissions.models import (
    LEAVER_SETTINGS_ID,
    Commission,
    CommissionState,
    EntryKind,
    LeaverPolicy,
    LeaverSettings,
    LeaverSettlement,
    LedgerEntry,
    RuleKind,
    VoidReason,
)
from perks.db import transaction, utcnow
from perks.errors import Conflict, ValidationFailed
from perks.extensions import db
from perks.i18n import company_date, day_start
from perks.money import Money
from perks.people.models import User
from perks.referrals.returning import current_policy
from perks.shop.attribution import AttributionReason
from perks.shop.models import Order

S = CommissionState

#: for each state, the states a commission may come from
TRANSITIONS: dict[CommissionState, frozenset[CommissionState]] = {
    S.PENDING: frozenset({S.ON_HOLD}),
    S.EARNED: frozenset({S.PENDING, S.ON_HOLD}),
    S.PAYABLE: frozenset({S.EARNED, S.ON_HOLD}),
    S.PAID: frozenset({S.PAYABLE, S.ON_HOLD}),
    S.VOIDED: frozenset({S.PENDING, S.EARNED, S.PAYABLE, S.ON_HOLD}),
    S.ON_HOLD: frozenset({S.PENDING, S.EARNED, S.PAYABLE, S.PAID}),
}


class TransitionRefused(Conflict):
    """A commission was asked to move to a state it cannot reach from where it is."""

    default_message = _l("This commission cannot change that way.")

    def __init__(self, commission: Commission, target: CommissionState) -> None:
        super().__init__(
            _(
                "A commission that is %(source)s cannot become %(target)s.",
                source=commission.state.label,
                target=target.label,
            ),
            commission_id=commission.id,
            source=commission.state.value,
            target=target.value,
        )
        self.source = commission.state
        self.target = target


def can_move(commission: Commission, target: CommissionState) -> bool:
    """True when ``commission`` may go from its state to ``target``."""
    source = commission.state
    if source not in TRANSITIONS[target]:
        return False
    if source is S.ON_HOLD:
        back = commission.held_from_state
        return target is back or (target is S.VOIDED and back is not S.PAID)
    return True


def move(commission: Commission, target: CommissionState) -> None:
    """Change the state, or raise ``TransitionRefused`` (the one place states change)."""
    if not can_move(commission, target):
        raise TransitionRefused(commission, target)
    if commission.state is S.ON_HOLD:
        commission.held_from_state = None
    commission.state = target


def holding_period() -> timedelta:
    return timedelta(days=current_app.config["COMMISSION_HOLDING_DAYS"])


# --- one commission ----------------------------------------------------------------------------


def earn(commission: Commission, at: datetime) -> None:
    """The order was used: earned, with an ``earn`` entry; payable after the holding period.

    Raises:
        TransitionRefused: the commission is not pending (a held one is released, not earned).
    """
    if commission.state is not S.PENDING:
        raise TransitionRefused(commission, S.EARNED)
    move(commission, S.EARNED)
    commission.earned_at = at
    commission.payable_at = at + holding_period()
    if commission.amount > 0:
        ledger.append_entry(
            user_id=commission.user_id,
            kind=EntryKind.EARN,
            amount=commission.value,
            commission=commission,
            reason="redeemed",
            at=at,
        )
        commission.earned_amount = commission.amount


def make_payable(commission: Commission) -> None:
    """The holding period is over.

    Raises:
        TransitionRefused: the commission is not earned.
    """
    if commission.state is not S.EARNED:
        raise TransitionRefused(commission, S.PAYABLE)
    move(commission, S.PAYABLE)


def mark_paid(commission: Commission, at: datetime, reversed_in_payout: int = 0) -> bool:
    """Its payout was paid. A payable commission becomes paid; one on hold since it was
    payable stays on hold, remembered as paid (a won dispute gives it back as paid).
    ``reversed_in_payout``: minus its reversal entries the payout netted (its other
    reversals are taken back from a later payout).

    Returns False (and changes nothing) for a commission that was voided or is already paid:
    its entries were paid, and anything taken back since nets in the next payout.

    Raises:
        TransitionRefused: the commission is pending or earned (not yet payable).
    """
    if commission.state in (S.VOIDED, S.PAID):
        return False
    if commission.state is S.ON_HOLD and commission.held_from_state is S.PAYABLE:
        commission.held_from_state = S.PAID
        commission.paid_at = at
        commission.paid_reversed_amount = reversed_in_payout
        return True
    if commission.state is S.ON_HOLD and commission.held_from_state is S.PAID:
        return False
    move(commission, S.PAID)
    commission.paid_at = at
    commission.paid_reversed_amount = reversed_in_payout
    return True


def void(commission: Commission, reason: VoidReason, at: datetime) -> None:
    """Void a commission that was not paid (what it earned must be taken back first).

    Raises:
        TransitionRefused: the commission is paid, already voided, or on hold since it was paid.
    """
    move(commission, S.VOIDED)
    commission.void_reason = reason
    commission.voided_at = at


def hold(commission: Commission, at: datetime) -> None:
    """The order's payment is disputed: freeze the commission, remembering its state.

    Raises:
        TransitionRefused: the commission is voided or already on hold.
    """
    source = commission.state
    move(commission, S.ON_HOLD)
    commission.held_from_state = source
    commission.held_at = at


def release(commission: Commission) -> None:
    """The dispute was won: back to the state the commission was in.

    Raises:
        TransitionRefused: the commission is not on hold.
    """
    move(commission, commission.held_from_state or commission.state)


def take_back(commission: Commission, amount: int, reason: str, at: datetime) -> None:
    """Lower what the commission is worth by ``amount`` (≤ its worth); once earned, with a
    ``reversal`` entry, so reversals never exceed what was earned."""
    amount = min(amount, commission.amount)
    if amount <= 0:
        return
    commission.amount -= amount
    if commission.earned_at is not None:
        ledger.append_entry(
            user_id=commission.user_id,
            kind=EntryKind.REVERSAL,
            amount=-commission.money(amount),
            commission=commission,
            reason=reason,
            at=at,
        )
        commission.reversed_amount += amount


def _is_paid(commission: Commission) -> bool:
    return commission.state is S.PAID or (
        commission.state is S.ON_HOLD and commission.held_from_state is S.PAID
    )


def _void_unless_paid(commission: Commission, reason: VoidReason, at: datetime) -> bool:
    """Void ``commission`` unless it is voided or paid already; True if it was voided now."""
    if commission.state is S.VOIDED or _is_paid(commission):
        return False
    void(commission, reason, at)
    return True


# --- an order's commissions (the receivers of the order signals) -------------------------------


def commissions_of(order: Order) -> list[Commission]:
    """``order``'s commissions, line by line, locked until the transaction ends and read
    again under the lock (every caller changes them). Locked in id order, as the tick and
    the leaver settlement lock theirs: a webhook, a redemption, the tick and a settlement at
    once take turns on a commission instead of one writing over what another just wrote."""
    locked = db.session.scalars(
        select(Commission)
        .where(Commission.order_id == order.id)
        .order_by(Commission.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return sorted(locked, key=lambda commission: commission.order_line_id)


def earns_commission(order: Order) -> bool:
    """A paid order brought by a link earns; staff purchases and flagged orders never do."""
    return (
        order.referral_link_id is not None
        and order.paid_at is not None
        and not order.mismatch
        and not order.is_staff_purchase
        and not order.attribution_flagged
    )


def create_commissions(order: Order) -> list[Commission]:
    """``order`` is paid: one pending commission per line, with the rule that applies.

    Lines that already have a commission keep it (a replayed event changes nothing).
    """
    if not earns_commission(order):
        return []
    assert order.paid_at is not None
    assert order.referral_link is not None
    existing = set(
        db.session.scalars(select(Commission.order_line_id).where(Commission.order_id == order.id))
    )
    lines = [line for line in order.lines if line.id not in existing]
    if not lines:
        return []
    day = company_date(order.paid_at)
    returning = order.attribution_reason == AttributionReason.RETURNING_CUSTOMER.value
    returning_rate = current_policy().rate_bps if returning else None
    candidates = (
        rules.active_rules(
            day,
            order.currency,
            product_ids=[line.product_id for line in lines],
            category_ids=[line.product.category_id for line in lines if line.product.category_id],
            referrer=rules.referrer_of(order.referral_link.user),
            for_commissions=True,
        )
        if returning_rate is None
        else []
    )
    created = []
    for line in lines:
        base = Money(line.line_total_amount, order.currency)
        if returning_rate is not None:
            rule = None
            terms: rules.RuleTerms | None = rules.RuleTerms(RuleKind.PERCENT, returning_rate)
        else:
            rule = rules.choose_rule(candidates, line.product_id, line.product.category_id)
            terms = rules.terms_of(rule) if rule is not None else None
        earned = terms.amount_for(base, line.quantity) if terms else Money.zero(base.currency)
        commission = Commission(
            order_line_id=line.id,
            order_id=order.id,
            user_id=order.referral_link.user_id,
            referral_link_id=order.referral_link_id,
            product_id=line.product_id,
            currency=order.currency,
            base_amount=base.amount,
            refunded_base_amount=0,
            quantity=line.quantity,
            rule_id=rule.id if rule else None,
            rule_version=rule.version if rule else None,
            rule_kind=terms.kind if terms else None,
            rate_bps=terms.rate_bps if terms else None,
            flat_amount=terms.flat_amount if terms else None,
            cap_amount=terms.cap_amount if terms else None,
            returning_customer=returning,
            original_amount=earned.amount,
            amount=earned.amount,
            earned_amount=0,
            reversed_amount=0,
            state=S.PENDING,
        )
        db.session.add(commission)
        created.append(commission)
    db.session.flush()
    void_if_left(order, created)
    return created


def month_sales(user_id: int, currency: str, at: datetime) -> tuple[int, int]:
    """(lines, amount in minor units of ``currency``) the person's commissions redeemed in the
    calendar month of ``at`` (company time zone) count for tiers. One query."""
    day = company_date(at)
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    count, amount = db.session.execute(
        select(
            func.count(Commission.id),
            func.coalesce(
                func.sum(Commission.base_amount).filter(Commission.currency == currency), 0
            ),
        ).where(
            Commission.user_id == user_id,
            Commission.earned_at >= day_start(first),
            Commission.earned_at < day_start(following),
        )
    ).one()
    return int(count), int(amount)


def apply_tier(commission: Commission, count_before: int, amount_before: int) -> None:
    """Give a pending commission of a tiered rule the tier its line reaches (see
    ``perks.commissions.rules``): its terms and amounts as of now, refunds before it was used
    taken into account. Nothing for a commission without a tiered rule."""
    rule = commission.rule
    if rule is None or rule.tier_measure is None or not rule.tiers:
        return
    tier = rules.tier_for(rule, count_before, amount_before, commission.base_amount)
    terms = rules.terms_at_tier(rule, tier)
    original = terms.amount_for(commission.base, commission.quantity)
    commission.rate_bps = terms.rate_bps
    commission.flat_amount = terms.flat_amount
    commission.tier_threshold = tier.threshold if tier is not None else None
    commission.tier_measure = rule.tier_measure if tier is not None else None
    commission.original_amount = original.amount
    commission.amount = original.amount - removed_share(
        original, commission.base_amount, commission.refunded_base_amount, full=False
    )


def void_if_left(order: Order, created: Sequence[Commission]) -> None:
    """An order paid on or after its link owner's leaving date earns nothing: its new
    commissions are voided at once ("left the company"), worth nothing and never earned (no
    ledger entry, nobody told); each keeps its rule snapshot, so the page says what it would
    have earned and why it did not. The link itself still redirects."""
    if not created or order.referral_link is None or order.paid_at is None:
        return
    leaving = order.referral_link.user.leaving_date
    if leaving is None or company_date(order.paid_at) < leaving:
        return
    at = utcnow()
    for commission in created:
        take_back(commission, commission.amount, "left_company", at)
        void(commission, VoidReason.LEFT_COMPANY, at)
    db.session.flush()


def earn_order(order: Order, at: datetime | None = None) -> list[Commission]:
    """``order`` was used: its pending commissions are earned (and their people told); each
    line of a tiered rule gets its tier first, line by line (see :func:`apply_tier`)."""
    at = at or order.redeemed_at or utcnow()
    earned = []
    pending = [c for c in commissions_of(order) if c.state is S.PENDING]
    tiered = any(c.rule is not None and c.rule.tier_measure is not None for c in pending)
    count, amount = 0, 0
    if tiered:
        # Two orders of one person used at once would both count the same month: the person's
        # row is locked until this transaction ends, so their tiered lines are counted in turn.
        user_id = pending[0].user_id
        db.session.execute(select(User.id).where(User.id == user_id).with_for_update())
        count, amount = month_sales(user_id, order.currency, at)
    for commission in pending:
        apply_tier(commission, count, amount)
        earn(commission, at)
        earned.append(commission)
        count += 1
        amount += commission.base_amount
    db.session.flush()
    notifications.commissions_earned(order, earned)
    return earned


def removed_share(original: Money, base: int, refunded: int, *, full: bool) -> int:
    """How much of a commission's ``original`` amount its refunded part of ``base`` takes back
    in all: ``original`` allocated by refunded and kept parts (exact, and monotonic)."""
    if full:
        return original.amount
    if base <= 0 or refunded <= 0:
        return 0
    return original.allocate([refunded, base - refunded])[0].amount


def refund_order(
    order: Order, refunded_total: Money, previous_total: Money, at: datetime | None = None
) -> None:
    """Stripe's running total of refunds on ``order`` went from ``previous_total`` to
    ``refunded_total``: take back each commission's share; a full refund voids them (the paid
    ones stay paid, their reversal nets against the next payout)."""
    commissions = commissions_of(order)
    if not commissions:
        return
    at = at or utcnow()
    full = order.total_amount > 0 and refunded_total.amount >= order.total_amount
    remaining = [c.base_amount - c.refunded_base_amount for c in commissions]
    new_part = min(max(refunded_total.amount - previous_total.amount, 0), sum(remaining))
    if full:
        parts = remaining
    elif new_part > 0:
        parts = [m.amount for m in Money(new_part, order.currency).allocate(remaining)]
    else:
        parts = [0] * len(commissions)
    voided, clawed_back = [], []
    for commission, part in zip(commissions, parts, strict=True):
        commission.refunded_base_amount += part
        taken = commission.original_amount - commission.amount
        share = removed_share(
            commission.original,
            commission.base_amount,
            commission.refunded_base_amount,
            full=full,
        )
        worth = commission.amount
        take_back(commission, share - taken, "refund", at)
        if full and _void_unless_paid(commission, VoidReason.REFUNDED, at):
            voided.append((commission, worth))
        else:
            clawed_back.append((commission, worth - commission.amount))
    db.session.flush()
    notifications.commissions_changed(order, notifications.VOIDED, voided, VoidReason.REFUNDED)
    notifications.commissions_changed(
        order, notifications.CLAWED_BACK, clawed_back, VoidReason.REFUNDED
    )


def hold_order(order: Order, at: datetime | None = None) -> None:
    """A dispute was opened on ``order``'s payment: its live commissions go on hold."""
    at = at or utcnow()
    held = []
    for commission in commissions_of(order):
        if commission.state not in (S.VOIDED, S.ON_HOLD):
            hold(commission, at)
            held.append((commission, commission.amount))
    db.session.flush()
    notifications.commissions_changed(order, notifications.ON_HOLD, held)


def close_dispute(order: Order, won: bool, at: datetime | None = None) -> None:
    """The dispute on ``order`` closed. Won: each commission goes back to where it was. Lost:
    like a full refund: everything taken back; voided unless paid (a paid one stays paid and
    its reversal nets against the next payout)."""
    at = at or utcnow()
    released, voided, clawed_back = [], [], []
    for commission in commissions_of(order):
        if commission.state is S.VOIDED:
            continue
        if won:
            if commission.state is S.ON_HOLD:
                release(commission)
                released.append((commission, commission.amount))
            continue
        worth = commission.amount
        take_back(commission, commission.amount, "dispute_lost", at)
        if commission.state is S.ON_HOLD and commission.held_from_state is S.PAID:
            release(commission)
            clawed_back.append((commission, worth))
        elif _void_unless_paid(commission, VoidReason.DISPUTE_LOST, at):
            voided.append((commission, worth))
        else:
            clawed_back.append((commission, worth))
    db.session.flush()
    notifications.commissions_changed(order, notifications.RELEASED, released)
    notifications.commissions_changed(order, notifications.VOIDED, voided, VoidReason.DISPUTE_LOST)
    notifications.commissions_changed(
        order, notifications.CLAWED_BACK, clawed_back, VoidReason.DISPUTE_LOST
    )


# --- the daily tick -----------------------------------------------------------------------------


def release_due_commissions(now: datetime | None = None) -> int:
    """Make every earned commission whose holding period is over payable; return how many.

    Not those of people whose leaving date has come under the forfeit policy (their
    settlement's, or finance's current one until the leavers' task settles them): the
    leavers' task voids them, whichever of the two runs first (forfeit never touches what
    is payable). Under vest they are released as ever (the task would vest them anyway).

    One conditional UPDATE: idempotent, and safe from several hosts at once (a commission
    already moved no longer matches, so a second run finds nothing). Each person whose
    commissions moved is told once per run (``notifications.commissions_payable``), in the
    same transaction.
    """
    assert S.EARNED in TRANSITIONS[S.PAYABLE]
    now = now or utcnow()
    with transaction():
        kept = _forfeiting_leavers(now)
        due = (
            select(Commission.id)
            .where(Commission.state == S.EARNED, Commission.payable_at <= now, kept)
            .order_by(Commission.id)
            .with_for_update()
        )
        # Locked in id order first (see ``commissions_of``); the UPDATE then moves those
        # still earned once their other writers have committed.
        moved = db.session.execute(
            update(Commission)
            .where(
                Commission.id.in_(due.scalar_subquery()),
                Commission.state == S.EARNED,
                Commission.payable_at <= now,
                kept,
            )
            .values(state=S.PAYABLE, updated_at=now)
            .returning(Commission.user_id, Commission.currency, Commission.amount)
            .execution_options(synchronize_session=False)
        ).all()
        released = [(row[0], row[1], row[2]) for row in moved]
        summaries.commissions_moved(released, S.EARNED, S.PAYABLE)
        notifications.commissions_payable(released)
        return len(moved)


def current_leaver_policy() -> LeaverPolicy:
    """The policy for people leaving now (vest until finance chooses). Raises nothing."""
    policy = db.session.scalar(
        select(LeaverSettings.policy).where(LeaverSettings.id == LEAVER_SETTINGS_ID)
    )
    return policy or LeaverPolicy.VEST


def _forfeiting_leavers(now: datetime) -> ColumnElement[bool]:
    """Commissions not of people whose leaving date has come by ``now`` (company day) and
    whose commissions the forfeit policy is for: the policy of their settlement for that
    date, or, before the leavers' task settles them, finance's current one."""
    forfeit = LeaverSettlement.policy == LeaverPolicy.FORFEIT
    if current_leaver_policy() is LeaverPolicy.FORFEIT:
        forfeit = forfeit | LeaverSettlement.user_id.is_(None)
    leavers = (
        select(User.id)
        .outerjoin(
            LeaverSettlement,
            and_(
                LeaverSettlement.user_id == User.id,
                LeaverSettlement.leaving_date == User.leaving_date,
            ),
        )
        .where(User.leaving_date <= company_date(now), forfeit)
    )
    return Commission.user_id.not_in(leavers)


def backdate_earning(order_id: int, days: int) -> int:
    """For demo data: make the earned commissions of an order look earned ``days`` earlier
    (``earned_at`` and ``payable_at`` move back; ledger entries keep their own dates), so the
    next :func:`release_due_commissions` treats them like any other. Returns how many moved.

    Raises:
        ValueError: ``days`` is negative.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    shift = timedelta(days=days)
    with transaction():
        moved = 0
        for commission in db.session.scalars(
            select(Commission).where(Commission.order_id == order_id, Commission.state == S.EARNED)
        ):
            assert commission.earned_at is not None
            assert commission.payable_at is not None
            commission.earned_at -= shift
            commission.payable_at -= shift
            moved += 1
        return moved


# --- payouts ------------------------------------------------------------------------------


def record_payout(
    user_id: int,
    amount: Money,
    *,
    entry_ids: Sequence[int],
    payout_batch_id: int | None,
    actor: User | None,
    paid_at: datetime | None = None,
    withheld: Money | None = None,
) -> LedgerEntry:
    """Write the ``payout`` entry (−``amount``) of one person's paid payout line, and move the
    commissions whose entries it paid to ``paid`` (flushes, never commits: the finance
    service that marks its batch paid owns the transaction and the audit).

    ``entry_ids`` are the entries the line paid (their net is ``amount``, the gross). With
    ``withheld`` (the personal income tax withheld, ``perks.commissions.tax``), a
    ``withholding`` entry (−``withheld``) is written too and the payout entry is the rest:
    the two always sum to −``amount``. Returns the payout entry. A commission whose
    earn or reversal entries are among them and that is payable becomes paid; one put on
    hold meanwhile stays on hold, remembered as paid; a voided one stays voided (its reversal
    nets in the next payout). An adjustment that names a commission pays the adjustment, not
    the commission, whatever the commission's state.

    Raises:
        ValidationFailed: ``amount`` is not positive, or differs from the net of
            ``entry_ids`` (entries of other people or currencies count as a difference),
            or ``withheld`` is negative or not less than ``amount``.
    """
    if amount.amount <= 0:
        raise ValidationFailed(_("A payout is a positive amount."))
    withheld = withheld if withheld is not None else Money.zero(amount.currency)
    if withheld.currency != amount.currency or not 0 <= withheld.amount < amount.amount:
        raise ValidationFailed(_("The tax withheld must be less than the payout."))
    rows = (
        db.session.execute(
            select(LedgerEntry.user_id, LedgerEntry.currency, LedgerEntry.amount).where(
                LedgerEntry.id.in_(list(entry_ids))
            )
        ).all()
        if entry_ids
        else []
    )
    net = sum(a for u, c, a in rows if u == user_id and c == amount.currency)
    strangers = [r for r in rows if r.user_id != user_id or r.currency != amount.currency]
    if strangers or len(rows) != len(set(entry_ids)) or net != amount.amount:
        raise ValidationFailed(_("The payout does not match the entries it pays."))
    at = paid_at or utcnow()
    if withheld.amount > 0:
        if payout_batch_id is None:
            raise ValidationFailed(_("Tax is only withheld from a payout batch."))
        ledger.append_entry(
            user_id=user_id,
            kind=EntryKind.WITHHOLDING,
            amount=-withheld,
            reason="withholding",
            actor=actor,
            payout_batch_id=payout_batch_id,
            at=at,
        )
    entry = ledger.append_entry(
        user_id=user_id,
        kind=EntryKind.PAYOUT,
        amount=-(amount - withheld),
        reason="payout",
        actor=actor,
        payout_batch_id=payout_batch_id,
        at=at,
    )
    # Only the commission's own entries pay it: an adjustment may name a commission that is
    # still pending or on hold, and paying the adjustment does not pay that commission.
    commission_ids = select(LedgerEntry.commission_id).where(
        LedgerEntry.id.in_(list(entry_ids)),
        LedgerEntry.commission_id.is_not(None),
        LedgerEntry.kind.in_([EntryKind.EARN, EntryKind.REVERSAL]),
    )
    # what each one's reversals among them netted: the ones written since were not
    netted: dict[int, int] = {}
    for reversed_id, reversals in db.session.execute(
        select(LedgerEntry.commission_id, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.id.in_(list(entry_ids)), LedgerEntry.kind == EntryKind.REVERSAL)
        .group_by(LedgerEntry.commission_id)
    ):
        if reversed_id is not None:
            netted[reversed_id] = -int(reversals or 0)
    for commission in db.session.scalars(
        select(Commission).where(Commission.id.in_(commission_ids)).order_by(Commission.id)
    ):
        mark_paid(commission, at, netted.get(commission.id, 0))
    db.session.flush()
    return entry
