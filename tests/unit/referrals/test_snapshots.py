"""The company stats and fraud signals pages read snapshots: every figure of a snapshot is
what the overview computes from the facts, a fresh snapshot is reused, a stale one computed
again, and the scheduled refresh is idempotent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from perks.db import utcnow
from perks.extensions import db
from perks.referrals import fraud, snapshots, stats
from perks.referrals.attribution import AttributionReason
from perks.referrals.periods import Period, window_from_args
from tests.factories import ReferralLinkFactory, UserFactory
from tests.unit.referrals.helpers import TODAY, add_clicks, at, sell, window


def _story() -> None:
    for n in range(7):
        link = ReferralLinkFactory()
        add_clicks(link, n + 1, ip_hash=f"{n:064x}")
        add_clicks(link, 2, is_bot=True, clicked_at=at(TODAY - timedelta(days=n), 3))
        if n % 2:
            sell(link, amount=100_000 * (n + 1), currency="VND" if n % 3 else "USD")
    noisy = ReferralLinkFactory()
    add_clicks(noisy, fraud.SAME_VISITOR_CLICKS_PER_DAY, ip_hash="e" * 64)
    add_clicks(noisy, 60, is_bot=True)
    buyer = UserFactory()
    sell(
        ReferralLinkFactory(user=buyer),
        attribution_flagged=True,
        attribution_reason=AttributionReason.SELF_REFERRAL.value,
        buyer_id=buyer.id,
        created_at=at(TODAY, 2),
    )


@pytest.mark.parametrize(("period", "days"), [("day", "30"), ("week", "90"), ("month", "365")])
def test_the_company_snapshot_is_the_company_stats_page_by_page(app, monkeypatch, period, days):
    _story()
    monkeypatch.setattr(snapshots, "CHUNK", 2)
    chosen = window(period, days)
    computed = stats.company_stats(chosen, page=1, per_page=1_000)
    everyone = computed.people.items
    assert len(everyone) > 5
    per_page = 3
    shown = []
    for page in range(1, 1 + (len(everyone) + per_page - 1) // per_page):
        snapshot = snapshots.company(chosen, page=page, per_page=per_page)
        assert snapshot.people.total == len(everyone)
        assert len(snapshot.people.items) <= per_page
        assert snapshot.total == computed.total
        assert snapshot.departments == computed.departments
        assert snapshot.series == computed.series
        shown += snapshot.people.items
    assert shown == everyone
    past = snapshots.company(chosen, page=99, per_page=per_page)
    assert past.people.page == past.people.pages
    assert past.people.items == everyone[(past.people.page - 1) * per_page :]


@pytest.mark.parametrize("days", ["7", "30", "90"])
def test_the_fraud_snapshot_is_the_fraud_signals(app, days):
    _story()
    chosen = window_from_args(None, days, choices=fraud.FRAUD_DAYS, today=TODAY)
    computed = fraud.fraud_signals(chosen)
    assert computed.repeated_visitors
    assert computed.flagged_orders
    assert computed.bot_shares
    assert snapshots.fraud_signals(chosen).signals == computed


def test_a_fresh_snapshot_is_reused_and_a_stale_one_computed_again(app):
    app.config["OVERVIEW_SNAPSHOT_MAX_AGE"] = 15
    link = ReferralLinkFactory()
    add_clicks(link, 3)
    chosen = window()
    first = snapshots.company(chosen, page=1, per_page=10)
    assert first.total.clicks == 3
    add_clicks(link, 2)
    again = snapshots.company(chosen, page=1, per_page=10)
    assert (again.total.clicks, again.as_of) == (3, first.as_of)
    db.session.execute(
        update(snapshots.OverviewSnapshot).values(as_of=utcnow() - timedelta(minutes=16))
    )
    db.session.commit()
    later = snapshots.company(chosen, page=1, per_page=10)
    assert later.total.clicks == 5
    assert later.as_of > first.as_of


def test_the_scheduled_refresh_stores_every_window_and_is_idempotent(app):
    app.config["OVERVIEW_SNAPSHOT_MAX_AGE"] = 15
    _story()
    old = snapshots.OverviewSnapshot(
        name="fraud:7:2020-01-01", part=0, as_of=utcnow() - timedelta(days=2), payload="{}"
    )
    db.session.add(old)
    db.session.commit()
    expected = len(stats.STATS_DAYS) * len(Period) + len(fraud.FRAUD_DAYS)
    assert snapshots.refresh_all() == expected
    names = set(db.session.scalars(select(snapshots.OverviewSnapshot.name)))
    assert len(names) == expected
    assert "fraud:7:2020-01-01" not in names
    parts = db.session.scalar(select(func.count()).select_from(snapshots.OverviewSnapshot))
    assert snapshots.refresh_all() == expected
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(snapshots.OverviewSnapshot)) == (
        parts
    )
