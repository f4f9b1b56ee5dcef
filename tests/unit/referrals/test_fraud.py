"""Fraud signals finance reviews: one visitor clicking many times a day, many clicks from
few visitors, links visited mostly by bots, many clicks from one source and no order, and
flagged order attributions (self-referral attempts, staff purchases)."""

from __future__ import annotations

from datetime import date, timedelta

from perks.money import Money
from perks.referrals import fraud
from perks.referrals.attribution import AttributionReason
from perks.referrals.periods import window_from_args
from perks.shop.models import OrderStatus
from tests.factories import OrderFactory, ReferralLinkFactory, UserFactory
from tests.unit.referrals.helpers import TODAY, add_clicks, at, sell, window


def test_many_clicks_in_one_company_day_from_one_visitor_are_flagged(app):
    flagged = ReferralLinkFactory()
    spread = ReferralLinkFactory()
    below = ReferralLinkFactory()
    add_clicks(flagged, fraud.SAME_VISITOR_CLICKS_PER_DAY, ip_hash="e" * 64)
    add_clicks(below, fraud.SAME_VISITOR_CLICKS_PER_DAY - 1, ip_hash="e" * 64)
    add_clicks(below, 5, ip_hash="e" * 64, is_bot=True)  # bots do not make it a signal
    # the same number, but across midnight company time (17:00 UTC)
    add_clicks(spread, 25, ip_hash="f" * 64, clicked_at=at(date(2026, 5, 20), 16, 30))
    add_clicks(spread, 25, ip_hash="f" * 64, clicked_at=at(date(2026, 5, 20), 17, 30))

    signals = fraud.fraud_signals(window_from_args(None, "30", today=TODAY))

    assert [(r.link_id, r.day, r.ip_hash, r.clicks) for r in signals.repeated_visitors] == [
        (flagged.id, TODAY, "e" * 64, fraud.SAME_VISITOR_CLICKS_PER_DAY)
    ]
    assert signals.repeated_visitors[0].owner == flagged.user.name
    assert signals.repeated_visitors[0].code == flagged.code


def test_many_clicks_from_few_visitors_are_flagged(app):
    flagged = ReferralLinkFactory()
    fine = ReferralLinkFactory()
    for n in range(10):  # 100 clicks from 10 visitors: 10 each
        add_clicks(flagged, 10, ip_hash=f"{n:064x}")
    for n in range(11):  # 99 clicks from 11 visitors: 9 each
        add_clicks(fine, 9, ip_hash=f"{n:064x}")

    signals = fraud.fraud_signals(window())

    assert [
        (r.link_id, r.clicks, r.visitors, r.clicks_per_visitor) for r in signals.few_visitors
    ] == [(flagged.id, 100, 10, 10)]


def test_links_visited_mostly_by_bots_are_flagged(app):
    flagged = ReferralLinkFactory()
    fine = ReferralLinkFactory()
    few = ReferralLinkFactory()
    add_clicks(flagged, 10, is_bot=True)
    add_clicks(flagged, 10)
    add_clicks(fine, 9, is_bot=True)
    add_clicks(fine, 11)
    add_clicks(few, 19, is_bot=True)  # under the minimum number of visits

    signals = fraud.fraud_signals(window())

    assert [(r.link_id, r.visits, r.bots, r.share_bps) for r in signals.bot_shares] == [
        (flagged.id, 20, 10, 5_000)
    ]
    assert signals.flagged_orders == []


def test_clicks_outside_the_fraud_window_are_not_flagged(app):
    link = ReferralLinkFactory()
    add_clicks(link, 60, ip_hash="e" * 64, clicked_at=at(TODAY, 3) - timedelta(days=8))
    assert (
        fraud.fraud_signals(
            window_from_args(None, "7", choices=fraud.FRAUD_DAYS, today=TODAY)
        ).repeated_visitors
        == []
    )
    assert (
        len(
            fraud.fraud_signals(
                window_from_args(None, "30", choices=fraud.FRAUD_DAYS, today=TODAY)
            ).repeated_visitors
        )
        == 1
    )


def test_links_with_many_clicks_from_one_source_and_no_orders_are_flagged(app):
    quiet = ReferralLinkFactory()
    selling = ReferralLinkFactory()
    spread = ReferralLinkFactory()
    add_clicks(quiet, fraud.NO_ORDERS_MIN_CLICKS, referrer_domain="spam.example")
    add_clicks(selling, fraud.NO_ORDERS_MIN_CLICKS, referrer_domain="zalo.me")
    sell(selling, 100_000)
    add_clicks(spread, fraud.NO_ORDERS_MIN_CLICKS - 1, referrer_domain="a.example")
    add_clicks(spread, fraud.NO_ORDERS_MIN_CLICKS - 1, referrer_domain="b.example")

    signals = fraud.fraud_signals(window())

    assert [(r.link_id, r.source, r.clicks, r.visitors) for r in signals.no_orders] == [
        (quiet.id, "spam.example", fraud.NO_ORDERS_MIN_CLICKS, fraud.NO_ORDERS_MIN_CLICKS)
    ]
    assert signals.no_orders[0].owner == quiet.user.name


def test_self_referral_attempts_and_staff_purchases_are_listed_for_finance(app):
    UserFactory(name="Lan", email="lan@example.com")
    minh = UserFactory(name="Minh")
    sell(
        None,
        500_000,
        attribution_flagged=True,
        attribution_reason=AttributionReason.EMPLOYEE_BUYER.value,
        customer_email="Lan@Example.com",
        created_at=at(TODAY, 2),
    )
    OrderFactory(
        attribution_reason=AttributionReason.SELF_REFERRAL.value,
        attribution_flagged=True,
        customer_email="LAN@example.com",
        created_at=at(TODAY, 1),
    )
    OrderFactory(
        attribution_reason=AttributionReason.EMPLOYEE_BUYER.value,
        attribution_flagged=True,
        buyer_id=minh.id,
        customer_email="minh.private@example.com",
        created_at=at(TODAY, 4),
    )
    OrderFactory(attribution_reason="cookie", created_at=at(TODAY, 1))  # not flagged
    OrderFactory(  # too long ago
        attribution_reason=AttributionReason.SELF_REFERRAL.value,
        attribution_flagged=True,
        created_at=at(TODAY, 1) - timedelta(days=40),
    )

    signals = fraud.fraud_signals(window())

    assert [(o.reason, o.person, o.status) for o in signals.flagged_orders] == [
        (AttributionReason.SELF_REFERRAL, "Lan", OrderStatus.PENDING),
        (AttributionReason.EMPLOYEE_BUYER, "Minh", OrderStatus.PENDING),
        (AttributionReason.EMPLOYEE_BUYER, "Lan", OrderStatus.PAID),
    ]
    assert signals.flagged_counts == {
        AttributionReason.SELF_REFERRAL: 1,
        AttributionReason.EMPLOYEE_BUYER: 2,
    }
    assert [o.person for o in signals.self_referrals] == ["Lan"]
    assert len(signals.staff_purchases) == 2
    assert signals.flagged_orders[2].total == Money(500_000, "VND")
