"""Fraud signals: the referral activity finance should look at (the fraud page).

Counted as on the stats pages (``perks.referrals.stats``: human clicks, visitors told apart
by their IP hash, paid orders attributed to a link), over a window of 7, 30 or 90 days,
worst first, at most ``FRAUD_ROWS`` rows a list:

- one visitor clicking one link many times in one company day (``RepeatedVisitor``);
- a link whose many clicks come from few visitors (``FewVisitors``);
- a link visited mostly by link-preview bots and crawlers (``BotShare``, from the daily
  roll-up, ``perks.referrals.rollup``);
- many clicks on a link from one source and not one order on it (``NoOrders``);
- orders whose attribution was flagged: self-referral attempts and staff purchases
  (``FlaggedOrder``).

Scale (PERFORMANCE.md, P7): six statements. The click signals read every click of the
period, on PostgreSQL through ``ix_click_clicked_at_covering`` (an index-only scan), counting
visitors as the stats pages do (``perks.referrals.stats.visitor``); the bot shares read the
daily roll-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, case, distinct, func, select, true
from sqlalchemy.orm import aliased

from perks.extensions import db
from perks.money import Money
from perks.people.models import User
from perks.referrals import rollup
from perks.referrals.attribution import AttributionReason
from perks.referrals.models import Click, ReferralLink
from perks.referrals.periods import Period, Window, as_date, bucket_sql
from perks.referrals.stats import counted_clicks, counted_orders, visitor
from perks.shop.models import Order, OrderStatus

#: the periods the fraud page offers, in days; the second is the default
FRAUD_DAYS = (7, 30, 90)

#: fraud signal: this many human clicks on one link in one (company) day from one IP hash
SAME_VISITOR_CLICKS_PER_DAY = 50
#: fraud signal: a link with at least this many human clicks in the period...
FEW_VISITORS_MIN_CLICKS = 100
#: ...that average at least this many clicks per unique visitor
FEW_VISITORS_CLICKS_PER_VISITOR = 10
#: fraud signal: a link with at least this many clicks (bots included) in the period...
BOT_SHARE_MIN_CLICKS = 20
#: ...of which at least this share (basis points) were bots
BOT_SHARE_MIN_BPS = 5_000
#: fraud signal: a link with at least this many human clicks from one source (a referring
#: site, or none) in the period, and no order in it
NO_ORDERS_MIN_CLICKS = 100
#: each fraud list shows at most this many rows, worst first
FRAUD_ROWS = 100


@dataclass(frozen=True)
class RepeatedVisitor:
    """Many human clicks on one link in one day from one IP hash."""

    link_id: int
    code: str
    owner: str
    day: date
    ip_hash: str
    clicks: int


@dataclass(frozen=True)
class FewVisitors:
    """A link whose clicks come from few visitors (many clicks each)."""

    link_id: int
    code: str
    owner: str
    clicks: int
    visitors: int

    @property
    def clicks_per_visitor(self) -> int:
        return self.clicks // max(self.visitors, 1)


@dataclass(frozen=True)
class BotShare:
    """A link most of whose visits are bots and crawlers."""

    link_id: int
    code: str
    owner: str
    visits: int
    bots: int

    @property
    def share_bps(self) -> int:
        return self.bots * 10_000 // max(self.visits, 1)


@dataclass(frozen=True)
class NoOrders:
    """Many human clicks on a link from one source (a referring site, "" for none: an app,
    a typed address) in the period, and not one order on the link."""

    link_id: int
    code: str
    owner: str
    source: str
    clicks: int
    visitors: int


@dataclass(frozen=True)
class FlaggedOrder:
    """An order attribution flagged: a self-referral attempt, or a staff purchase."""

    order_id: int
    number: str
    created_at: datetime
    status: OrderStatus
    reason: AttributionReason
    customer_email: str
    #: the person of the company the buyer is (signed in, or by e-mail), if still known
    person: str | None
    total: Money


@dataclass(frozen=True)
class FraudSignals:
    repeated_visitors: list[RepeatedVisitor]
    few_visitors: list[FewVisitors]
    bot_shares: list[BotShare]
    no_orders: list[NoOrders] = field(default_factory=list)
    #: self-referral attempts first, then staff purchases; newest first
    flagged_orders: list[FlaggedOrder] = field(default_factory=list)
    #: how many orders of each reason were flagged in the window (the list may be cut short)
    flagged_counts: dict[AttributionReason, int] = field(default_factory=dict)

    @property
    def self_referrals(self) -> list[FlaggedOrder]:
        return [o for o in self.flagged_orders if o.reason is AttributionReason.SELF_REFERRAL]

    @property
    def staff_purchases(self) -> list[FlaggedOrder]:
        return [o for o in self.flagged_orders if o.reason is not AttributionReason.SELF_REFERRAL]


def _with_owner(grouped: Any) -> Select[Any]:
    """The grouped rows with their link's code and its owner's name."""
    return (
        select(grouped, ReferralLink.code, User.name)
        .join(ReferralLink, ReferralLink.id == grouped.c.link_id)
        .join(User, User.id == ReferralLink.user_id)
    )


def fraud_signals(window: Window) -> FraudSignals:
    """The activity finance should look at in the window, worst first. Six statements."""
    clicks = func.count()
    day = bucket_sql(window, Period.DAY)
    daily = (
        select(Click.link_id, day.label("day"), Click.ip_hash)
        .where(*counted_clicks(window))
        .subquery()
    )
    per_visitor_day = func.count()
    repeated = (
        select(daily.c.link_id, daily.c.day, daily.c.ip_hash, per_visitor_day.label("clicks"))
        .group_by(daily.c.link_id, daily.c.day, daily.c.ip_hash)
        .having(per_visitor_day >= SAME_VISITOR_CLICKS_PER_DAY)
        .subquery()
    )
    repeated_rows = db.session.execute(
        _with_owner(repeated)
        .order_by(repeated.c.clicks.desc(), repeated.c.day.desc(), repeated.c.link_id)
        .limit(FRAUD_ROWS)
    )

    unique = func.count(distinct(visitor()))
    concentrated = (
        select(Click.link_id, clicks.label("clicks"), unique.label("visitors"))
        .where(*counted_clicks(window))
        .group_by(Click.link_id)
        .having(clicks >= FEW_VISITORS_MIN_CLICKS)
        .having(clicks >= unique * FEW_VISITORS_CLICKS_PER_VISITOR)
        .subquery()
    )
    concentrated_rows = db.session.execute(
        _with_owner(concentrated)
        .order_by(concentrated.c.clicks.desc(), concentrated.c.link_id)
        .limit(FRAUD_ROWS)
    )

    daily = rollup.daily_traffic(window, rollup.rolled_through())
    bots = func.sum(daily.c.bots)
    visits = func.sum(daily.c.clicks) + bots
    bot_heavy = (
        select(daily.c.link_id, visits.label("visits"), bots.label("bots"))
        .group_by(daily.c.link_id)
        .having(visits >= BOT_SHARE_MIN_CLICKS)
        .having(bots * 10_000 >= visits * BOT_SHARE_MIN_BPS)
        .subquery()
    )
    bot_rows = db.session.execute(
        _with_owner(bot_heavy)
        .order_by(bot_heavy.c.bots.desc(), bot_heavy.c.link_id)
        .limit(FRAUD_ROWS)
    )

    sold_links = select(Order.referral_link_id).where(*counted_orders(window))
    per_source = (
        select(
            Click.link_id,
            Click.referrer_domain.label("source"),
            clicks.label("clicks"),
            unique.label("visitors"),
        )
        .where(*counted_clicks(window))
        .group_by(Click.link_id, Click.referrer_domain)
        .having(clicks >= NO_ORDERS_MIN_CLICKS)
        .subquery()
    )
    quiet_rows = db.session.execute(
        _with_owner(per_source)
        .where(per_source.c.link_id.not_in(sold_links))
        .order_by(per_source.c.clicks.desc(), per_source.c.link_id, per_source.c.source)
        .limit(FRAUD_ROWS)
    )

    flagged, flagged_counts = _flagged_orders(window)
    return FraudSignals(
        [
            RepeatedVisitor(link_id, code, owner, as_date(day), ip_hash, count)
            for link_id, day, ip_hash, count, code, owner in repeated_rows
        ],
        [
            FewVisitors(link_id, code, owner, count, visitors)
            for link_id, count, visitors, code, owner in concentrated_rows
        ],
        [
            BotShare(link_id, code, owner, int(count), int(bot_count))
            for link_id, count, bot_count, code, owner in bot_rows
        ],
        [
            NoOrders(link_id, code, owner, source or "", count, visitors)
            for link_id, source, count, visitors, code, owner in quiet_rows
        ],
        flagged,
        flagged_counts,
    )


def _flagged_orders(
    window: Window,
) -> tuple[list[FlaggedOrder], dict[AttributionReason, int]]:
    """Orders created in the window whose attribution was flagged (self-referral attempts,
    then staff purchases, newest first), with how many of each there were. One statement."""
    buyer = aliased(User)
    by_email = aliased(User)
    self_referral = AttributionReason.SELF_REFERRAL.value
    rows = db.session.execute(
        select(
            Order.id,
            Order.number,
            Order.created_at,
            Order.status,
            Order.attribution_reason,
            Order.customer_email,
            func.coalesce(buyer.name, by_email.name),
            Order.total_amount,
            Order.currency,
            func.count().over(partition_by=Order.attribution_reason),
        )
        .outerjoin(buyer, buyer.id == Order.buyer_id)
        .outerjoin(by_email, by_email.email == func.lower(Order.customer_email))
        .where(
            Order.attribution_flagged.is_(true()),
            Order.created_at >= window.start,
            Order.created_at < window.end,
        )
        .order_by(
            case((Order.attribution_reason == self_referral, 0), else_=1),
            Order.created_at.desc(),
            Order.id.desc(),
        )
        .limit(FRAUD_ROWS)
    )
    orders: list[FlaggedOrder] = []
    counts: dict[AttributionReason, int] = {}
    for order_id, number, created, status, reason, email, person, amount, currency, count in rows:
        known = _reason(reason)
        counts[known] = count
        orders.append(
            FlaggedOrder(
                order_id, number, created, status, known, email, person, Money(amount, currency)
            )
        )
    return orders, counts


def _reason(value: str) -> AttributionReason:
    try:
        return AttributionReason(value)
    except ValueError:  # a reason this version does not know: a staff purchase, for display
        return AttributionReason.EMPLOYEE_BUYER
