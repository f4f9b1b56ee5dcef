"""Returning customers: a customer who bought through a person's link stays theirs for a while.

Finance sets the window on its page (``returning_customer_settings``, one row; no row or
0 days: off, the default). Within the window, counted from the customer's latest paid order
that earned for a person (``Order.paid_at``), a new order by the same customer, known by the
e-mail they give at checkout (trimmed, lower-case: ``normalise_email``), earns for that
person again, whatever link the customer clicked since or code they typed: a click by
someone else does not take the customer away. Outside the window, or when the window is 0,
the last click wins as always (``perks.referrals.attribution``). Each returning order renews
the window (its ``paid_at`` is the latest).

A returning customer's order lines earn finance's returning-customer rate (a percentage, in
place of any rule), or, when finance leaves it empty, the rule the person would get anyway
(tiers included): ``perks.commissions.lifecycle.create_commissions``.

The person must still be able to earn: a paused link or a deactivated person does not keep
the customer (the usual attribution then decides).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from perks import audit, rule_history
from perks.db import transaction
from perks.errors import ValidationFailed
from perks.extensions import db
from perks.i18n import format_number
from perks.people.models import User, normalise_email
from perks.referrals.models import (
    MAX_RETURNING_DAYS,
    RETURNING_ROW_ID,
    ReferralLink,
    ReturningCustomerSettings,
)
from perks.shop.models import Order


@dataclass(frozen=True)
class ReturningPolicy:
    """Finance's setting: ``window_days`` (0: off) and the rate in basis points (None: the
    rule's own terms)."""

    window_days: int = 0
    rate_bps: int | None = None

    @property
    def on(self) -> bool:
        return self.window_days > 0


OFF = ReturningPolicy()


def rule_terms(policy: ReturningPolicy) -> dict[str, int | None]:
    """The policy as the rules history keeps it (``perks.rule_history``): no window when it
    is off, no rate when the rule's own terms apply."""
    return {"window_days": policy.window_days or None, "returning_rate_bps": policy.rate_bps}


def current_policy() -> ReturningPolicy:
    """The setting as finance last saved it (OFF before anyone did). One query."""
    row = db.session.get(ReturningCustomerSettings, RETURNING_ROW_ID)
    if row is None:
        return OFF
    return ReturningPolicy(row.window_days, row.rate_bps)


def save_policy(window_days: int, rate_bps: int | None, *, actor: User) -> ReturningPolicy:
    """Save finance's setting, audited with the old and new values
    (``referrals.returning_customers_changed``), and a version of it in the rules history
    when it changes.

    Raises:
        ValidationFailed: a window outside 0–3650 days or a rate outside 0–100 %.
    """
    if not 0 <= window_days <= MAX_RETURNING_DAYS:
        raise ValidationFailed(
            _(
                "Enter a number of days between 0 and %(most)s.",
                most=format_number(MAX_RETURNING_DAYS),
            )
        )
    if rate_bps is not None and not 0 <= rate_bps <= 10_000:
        raise ValidationFailed(_("Enter a rate between 0 and 100%."))
    with transaction():
        row = db.session.get(ReturningCustomerSettings, RETURNING_ROW_ID, with_for_update=True)
        before = ReturningPolicy(row.window_days, row.rate_bps) if row is not None else OFF
        since = row.updated_at if row is not None else None
        if row is None:
            row = ReturningCustomerSettings(id=RETURNING_ROW_ID)
            db.session.add(row)
        row.window_days = window_days
        row.rate_bps = rate_bps
        row.updated_by_id = actor.id
        db.session.flush()
        audit.record(
            "referrals.returning_customers_changed",
            actor=actor,
            target=row,
            before={"window_days": before.window_days, "rate_bps": before.rate_bps},
            after={"window_days": window_days, "rate_bps": rate_bps},
        )
        saved = ReturningPolicy(window_days, rate_bps)
        rule_history.record_change(
            rule_history.RETURNING_CUSTOMERS,
            rule_history.POLICY_ID,
            rule_terms(before) if since is not None else None,
            rule_terms(saved),
            since=since,
        )
        return saved


def returning_link(buyer_email: str, now: datetime) -> ReferralLink | None:
    """The link of the person whose returning customer ``buyer_email`` is at ``now``, or None
    (off, no such purchase within the window). Two queries at most; reads only."""
    email = normalise_email(buyer_email or "")
    if not email:
        return None
    policy = current_policy()
    if not policy.on:
        return None
    since = now - timedelta(days=policy.window_days)
    return db.session.scalar(
        select(ReferralLink)
        .join(Order, Order.referral_link_id == ReferralLink.id)
        .where(
            Order.customer_email == email,
            Order.paid_at.is_not(None),
            Order.paid_at >= since,
            Order.attribution_flagged.is_(False),
        )
        .order_by(Order.paid_at.desc(), Order.id.desc())
        .limit(1)
    )
