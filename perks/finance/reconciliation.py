"""Reconciliation: orders against the Stripe events stored for them, and against Stripe's own
lists of Checkout Sessions and refunds when it is asked, for the orders created in a period.

Findings (each names its order, so the page can link to it):

* ``missing_expiry``: an order still pending well after its Checkout Session expired, with no
  ``checkout.session.expired`` event stored (nor a ``checkout.session.completed`` one: a
  bank transfer on its way) (or Stripe says the session expired);
* ``missing_payment``: Stripe (or a stored event) says the session was paid, but the order is
  not paid here;
* ``amount_mismatch``: what Stripe charged differs from the order (recorded on the order as
  ``mismatch``, or seen in Stripe's list);
* ``refund_without_reversal``: the order was refunded but its commissions do not show the
  prorated share taken back (their refunded parts, their worth, or their reversal entries);
* ``commission_without_payment``: a commission whose order is not paid (or is a mismatch);
* ``unknown_session``: a session of this app at Stripe with no order here;
* ``refund_not_recorded``: Stripe's refunds of an order's payment (when its list of refunds
  is asked) add up to another amount than the order says was refunded: a ``charge.refunded``
  webhook that never arrived, so the customer has their money back and the commission has
  not been taken back.

Read-only: nothing is changed, so running it is always safe.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import exists, func, or_, select

from perks.commissions.lifecycle import removed_share
from perks.commissions.models import Commission, EntryKind, LedgerEntry, VoidReason
from perks.db import MAX_ID, utcnow
from perks.extensions import db
from perks.finance.periods import Period
from perks.i18n import format_moment, format_number
from perks.money import Money, format_money
from perks.payments.models import StripeEvent
from perks.payments.webhooks import PAID_STATUSES
from perks.shop.models import DisputeStatus, Order

#: how long after a session's expiry its webhook may still be on its way
EXPIRY_GRACE = timedelta(minutes=10)
PAID_EVENT_TYPES = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
EXPIRED_EVENT_TYPE = "checkout.session.expired"
COMPLETED_EVENT_TYPE = "checkout.session.completed"

KINDS = {
    "missing_expiry": _l("Expiry not received"),
    "missing_payment": _l("Payment not received"),
    "amount_mismatch": _l("Amount mismatch"),
    "refund_without_reversal": _l("Refund not taken back from commissions"),
    "commission_without_payment": _l("Commission without a paid order"),
    "unknown_session": _l("Stripe session without an order"),
    "refund_not_recorded": _l("Refund not recorded"),
}
#: a Checkout Session's status at Stripe, in the reader's words (another is shown as it is)
SESSION_STATUSES = {"open": _l("Open"), "complete": _l("Complete"), "expired": _l("Expired")}
#: a refund Stripe counts in what a charge refunded (``charge.amount_refunded``)
COUNTED_REFUND_STATUSES = ("succeeded", "pending")


@dataclass(frozen=True)
class Finding:
    kind: str
    detail: str
    order_id: int | None = None
    order_number: str | None = None
    session_id: str | None = None

    @property
    def label(self) -> str:
        return str(KINDS[self.kind])


@dataclass
class Reconciliation:
    period: Period
    orders_checked: int = 0
    sessions_checked: int | None = None  # None: Stripe was not asked
    refunds_checked: int | None = None  # None: Stripe's refunds were not asked
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for finding in self.findings:
            counts[finding.kind] += 1
        return dict(counts)


def _field(obj: Any, name: str) -> Any:
    try:
        return obj[name]
    except (KeyError, TypeError, IndexError):
        return getattr(obj, name, None)


def _show(amount: int, currency: str) -> str:
    return format_money(Money(amount, currency))


def _charged(amount: Any, currency: str) -> str:
    """What Stripe says it charged, in the reader's format when it is a whole amount of a
    currency this app knows; as Stripe wrote it otherwise (that is the finding)."""
    try:
        return _show(amount, currency)
    except (TypeError, ValueError):
        return f"{amount} {currency}"


def _period_orders(period: Period) -> Any:
    return (Order.created_at >= period.start_at, Order.created_at < period.end_at)


def _missing_expiries(period: Period, now: datetime) -> list[Finding]:
    # a session that completed (paid, or a bank transfer on its way) never expires
    expired_or_completed = exists().where(
        StripeEvent.order_id == Order.id,
        StripeEvent.type.in_((EXPIRED_EVENT_TYPE, COMPLETED_EVENT_TYPE)),
    )
    rows = db.session.execute(
        select(Order.id, Order.number, Order.checkout_expires_at)
        .where(
            *_period_orders(period),
            Order.paid_at.is_(None),
            Order.closed_at.is_(None),
            Order.checkout_expires_at.is_not(None),
            Order.checkout_expires_at < now - EXPIRY_GRACE,
            ~expired_or_completed,
        )
        .order_by(Order.id)
    )
    return [
        Finding(
            "missing_expiry",
            _(
                "Still awaiting payment; its checkout expired at %(when)s.",
                when=format_moment(expires, "short"),
            ),
            order_id,
            number,
        )
        for order_id, number, expires in rows
    ]


def _says_paid(event_type: str, payload: Any) -> bool:
    """Whether a stored Checkout Session event says the session was paid: an async payment
    that succeeded, or a session completed paid (one paid by a bank transfer completes
    ``unpaid`` and is paid, or fails, later)."""
    if event_type != COMPLETED_EVENT_TYPE:
        return True
    session = _field(_field(payload, "data") or {}, "object") or {}
    return _field(session, "payment_status") in PAID_STATUSES


def _paid_events_of_unpaid_orders(period: Period) -> list[Finding]:
    rows = db.session.execute(
        select(Order.id, Order.number, StripeEvent.event_id, StripeEvent.type, StripeEvent.payload)
        .join(StripeEvent, StripeEvent.order_id == Order.id)
        .where(
            *_period_orders(period),
            StripeEvent.type.in_(PAID_EVENT_TYPES),
            Order.paid_at.is_(None),
            Order.mismatch == "",
        )
        .order_by(Order.id, StripeEvent.id)
    )
    seen: set[int] = set()
    findings = []
    for order_id, number, event_id, event_type, payload in rows:
        if order_id in seen or not _says_paid(event_type, payload):
            continue
        seen.add(order_id)
        findings.append(
            Finding(
                "missing_payment",
                _(
                    "Event %(event)s (%(type)s) is stored, but the order is not paid.",
                    event=event_id,
                    type=event_type,
                ),
                order_id,
                number,
            )
        )
    return findings


def _mismatches(period: Period) -> list[Finding]:
    rows = db.session.execute(
        select(Order.id, Order.number, Order.mismatch)
        .where(*_period_orders(period), Order.mismatch != "")
        .order_by(Order.id)
    )
    return [Finding("amount_mismatch", text, oid, number) for oid, number, text in rows]


def _refunds_without_reversals(period: Period) -> list[Finding]:
    reversal_sums = (
        select(LedgerEntry.commission_id, func.sum(LedgerEntry.amount).label("reversed"))
        .where(LedgerEntry.kind == EntryKind.REVERSAL)
        .group_by(LedgerEntry.commission_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Order.id,
            Order.number,
            Order.currency,
            Order.total_amount,
            Order.refunded_amount,
            Order.dispute_status,
            Commission.id,
            Commission.base_amount,
            Commission.refunded_base_amount,
            Commission.original_amount,
            Commission.amount,
            Commission.earned_at,
            func.coalesce(reversal_sums.c.reversed, 0),
            Commission.earned_amount,
            Commission.void_reason,
        )
        .join(Commission, Commission.order_id == Order.id)
        .outerjoin(reversal_sums, reversal_sums.c.commission_id == Commission.id)
        .where(*_period_orders(period), Order.refunded_amount > 0, Order.paid_at.is_not(None))
        .order_by(Order.id, Commission.id)
    )
    per_order: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        per_order[row[0]].append(row)
    findings = []
    for order_id, commissions in per_order.items():
        _oid, number, currency, total, refunded, dispute = commissions[0][:6]
        if dispute is DisputeStatus.LOST:
            continue  # a lost dispute takes everything back: not a refund's proration
        full = total > 0 and refunded >= total
        bases = sum(c[7] for c in commissions)
        expected_base = bases if full else min(refunded, bases)
        problems = []
        if sum(c[8] for c in commissions) != expected_base:
            problems.append(
                _(
                    "its commissions count %(counted)s refunded, Stripe refunded %(refunded)s",
                    counted=_show(sum(c[8] for c in commissions), currency),
                    refunded=_show(refunded, currency),
                )
            )
        for c in commissions:
            commission_id, base, refunded_base, original, amount, earned_at, reversed_ = c[6:13]
            earned, void_reason = c[13:]
            if void_reason is VoidReason.LEFT_COMPANY:
                continue  # worth nothing since its person left: no refund takes anything back
            share = removed_share(Money(original, currency), base, refunded_base, full=full)
            if amount != original - share:
                problems.append(
                    _(
                        "commission %(id)d is worth %(amount)s, the refund leaves %(expected)s",
                        id=commission_id,
                        amount=_show(amount, currency),
                        expected=_show(original - share, currency),
                    )
                )
            elif earned_at is not None and -int(reversed_) != earned - amount:
                # Taken back after it was earned: a part refunded before the order was used
                # lowered what it earned instead, with no reversal.
                problems.append(
                    _(
                        "commission %(id)d: reversals of %(reversed)s for %(taken)s taken back",
                        id=commission_id,
                        reversed=_show(-int(reversed_), currency),
                        taken=_show(earned - amount, currency),
                    )
                )
        if problems:
            findings.append(
                Finding("refund_without_reversal", "; ".join(problems), order_id, number)
            )
    return findings


def _commissions_without_payment(period: Period) -> list[Finding]:
    rows = db.session.execute(
        select(Order.id, Order.number, func.count(Commission.id))
        .join(Commission, Commission.order_id == Order.id)
        .where(*_period_orders(period), or_(Order.paid_at.is_(None), Order.mismatch != ""))
        .group_by(Order.id, Order.number)
        .order_by(Order.id)
    )
    return [
        Finding(
            "commission_without_payment",
            ngettext(
                "%(count)s commission, but the order is not paid.",
                "%(count)s commissions, but the order is not paid.",
                count,
                count=format_number(count),
            ),
            order_id,
            number,
        )
        for order_id, number, count in rows
    ]


def _order_id_of(session: Any) -> int | None:
    """The order id a session names (its reference, else its metadata's ``order_id``); None
    when it names none an order can have: ASCII digits the id column holds (another system
    on the same Stripe account may write a phone or a customer number there)."""
    reference = _field(session, "client_reference_id")
    metadata = _field(session, "metadata") or {}
    candidate = str(reference or _field(metadata, "order_id") or "")
    if not (candidate.isascii() and candidate.isdigit()) or not 0 < int(candidate) <= MAX_ID:
        return None
    return int(candidate)


def _session_findings(sessions: Iterable[Any]) -> tuple[int, list[Finding]]:
    """Compare Stripe's sessions with the orders they name (one query for all orders)."""
    sessions = list(sessions)
    order_ids = {oid for s in sessions if (oid := _order_id_of(s)) is not None}
    orders = (
        {o.id: o for o in db.session.scalars(select(Order).where(Order.id.in_(order_ids)))}
        if order_ids
        else {}
    )
    findings = []
    for session in sessions:
        session_id = _field(session, "id")
        order_id = _order_id_of(session)
        order = orders.get(order_id) if order_id is not None else None
        status = _field(session, "status")
        paid = _field(session, "payment_status") == "paid"
        if order is None or (order.checkout_session_id and order.checkout_session_id != session_id):
            if order_id is not None or paid:
                findings.append(
                    Finding(
                        "unknown_session",
                        _(
                            "Stripe has session %(id)s (%(status)s) for no order here.",
                            id=session_id,
                            status=SESSION_STATUSES.get(str(status), status),
                        ),
                        session_id=session_id,
                    )
                )
            continue
        if paid:
            amount = _field(session, "amount_total")
            currency = str(_field(session, "currency") or "").upper()
            if currency != order.currency or amount != order.total_amount:
                if not order.mismatch:
                    findings.append(
                        Finding(
                            "amount_mismatch",
                            _(
                                "Stripe charged %(amount)s; the order's total is %(total)s.",
                                amount=_charged(amount, currency),
                                total=format_money(order.total),
                            ),
                            order.id,
                            order.number,
                            session_id,
                        )
                    )
            elif order.paid_at is None:
                findings.append(
                    Finding(
                        "missing_payment",
                        _("Stripe says session %(id)s is paid; the order is not.", id=session_id),
                        order.id,
                        order.number,
                        session_id,
                    )
                )
        elif status == "expired" and order.paid_at is None and order.closed_at is None:
            findings.append(
                Finding(
                    "missing_expiry",
                    _(
                        "Stripe says session %(id)s expired; the order is still pending.",
                        id=session_id,
                    ),
                    order.id,
                    order.number,
                    session_id,
                )
            )
    return len(sessions), findings


def _refund_findings(period: Period, refunds: Iterable[Any]) -> tuple[int, list[Finding]]:
    """Compare what Stripe refunded of each payment with what the period's orders say was
    refunded (one query for the orders refunded here or at Stripe)."""
    refunds = list(refunds)
    at_stripe: dict[str, int] = defaultdict(int)
    for refund in refunds:
        intent = _field(refund, "payment_intent")
        if intent and _field(refund, "status") in COUNTED_REFUND_STATUSES:
            at_stripe[str(intent)] += int(_field(refund, "amount") or 0)
    orders = db.session.scalars(
        select(Order)
        .where(
            *_period_orders(period),
            or_(Order.refunded_amount > 0, Order.payment_intent_id.in_(list(at_stripe))),
        )
        .order_by(Order.id)
    )
    findings = []
    for order in orders:
        refunded = at_stripe.get(order.payment_intent_id or "", 0)
        if refunded != order.refunded_amount:
            findings.append(
                Finding(
                    "refund_not_recorded",
                    _(
                        "Stripe refunded %(stripe)s of this payment; the order says %(here)s.",
                        stripe=_show(refunded, order.currency),
                        here=format_money(order.refunded),
                    ),
                    order.id,
                    order.number,
                    order.checkout_session_id,
                )
            )
    return len(refunds), findings


def reconcile(
    period: Period,
    *,
    stripe_sessions: Iterable[Any] | None = None,
    stripe_refunds: Iterable[Any] | None = None,
    now: datetime | None = None,
) -> Reconciliation:
    """Every finding for the orders created in ``period``; ``stripe_sessions`` (Stripe's
    Checkout Sessions of the period, e.g. from ``stripe_gateway.list_checkout_sessions``) and
    ``stripe_refunds`` (Stripe's refunds since the period began:
    ``stripe_gateway.list_refunds``) add what only Stripe knows."""
    now = now or utcnow()
    result = Reconciliation(period)
    result.orders_checked = int(
        db.session.scalar(select(func.count(Order.id)).where(*_period_orders(period))) or 0
    )
    findings = (
        _missing_expiries(period, now)
        + _paid_events_of_unpaid_orders(period)
        + _mismatches(period)
        + _refunds_without_reversals(period)
        + _commissions_without_payment(period)
    )
    if stripe_sessions is not None:
        result.sessions_checked, from_stripe = _session_findings(stripe_sessions)
        findings += from_stripe
    if stripe_refunds is not None:
        result.refunds_checked, from_stripe = _refund_findings(period, stripe_refunds)
        findings += from_stripe
    seen: set[tuple[str, int | None, str | None]] = set()
    for finding in findings:
        key = (finding.kind, finding.order_id, None if finding.order_id else finding.session_id)
        if key not in seen:
            seen.add(key)
            result.findings.append(finding)
    order = list(KINDS)
    result.findings.sort(key=lambda f: (order.index(f.kind), f.order_id or 0))
    return result
