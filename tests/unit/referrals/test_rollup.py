"""The daily roll-up of clicks behind the company page: complete company-time days only, again
for the last day rolled up, idempotent; readers add the days not rolled up yet from the
clicks themselves, so the figures are the same before and after a roll-up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from perks.extensions import db
from perks.referrals import fraud, rollup, stats
from perks.referrals.models import ClickDay
from perks.referrals.periods import window_from_args
from perks.referrals.stats import Figures
from tests.factories import DepartmentFactory, ReferralLinkFactory, UserFactory
from tests.unit.referrals.helpers import TODAY, add_clicks, at


def rolled() -> dict[tuple[date, int], tuple[int, int, int]]:
    return {
        (row.day, row.link_id): (row.clicks, row.visitors, row.bots)
        for row in db.session.scalars(select(ClickDay))
    }


def test_complete_company_days_are_rolled_up_with_clicks_visitors_and_bots(app):
    link = ReferralLinkFactory()
    other = ReferralLinkFactory()
    may_20 = date(2026, 5, 20)
    add_clicks(link, 3, ip_hash="a" * 64, clicked_at=at(may_20, 2))  # one visitor, 3 clicks
    add_clicks(link, 2, clicked_at=at(may_20, 16, 59))  # 23:59 local: still the 20th
    add_clicks(link, 4, is_bot=True, clicked_at=at(may_20, 5))
    add_clicks(link, 1, clicked_at=at(may_20, 17))  # 00:00 on the 21st, local
    add_clicks(other, 2, clicked_at=at(TODAY - timedelta(days=1), 9))
    add_clicks(other, 5, clicked_at=at(TODAY, 9))  # today: not over yet

    result = rollup.roll_up_clicks(today=TODAY)

    assert (result.first, result.last) == (may_20, TODAY - timedelta(days=1))
    assert rolled() == {
        (may_20, link.id): (5, 3, 4),
        (date(2026, 5, 21), link.id): (1, 1, 0),
        (TODAY - timedelta(days=1), other.id): (2, 2, 0),
    }
    assert rollup.rolled_through() == TODAY - timedelta(days=1)


def test_rolling_up_again_changes_nothing_but_takes_late_clicks_of_the_last_day(app):
    link = ReferralLinkFactory()
    yesterday = TODAY - timedelta(days=1)
    add_clicks(link, 2, clicked_at=at(yesterday - timedelta(days=3), 9))
    add_clicks(link, 1, clicked_at=at(yesterday, 9))
    rollup.roll_up_clicks(today=TODAY)
    before = rolled()

    again = rollup.roll_up_clicks(today=TODAY)
    assert rolled() == before
    assert (again.first, again.last) == (yesterday, yesterday)

    # a click of yesterday written after the roll-up (the batched writer's last flush)
    add_clicks(link, 1, clicked_at=at(yesterday, 16, 30))
    rollup.roll_up_clicks(today=TODAY)
    assert rolled()[(yesterday, link.id)] == (2, 2, 0)

    # the next day's run rolls up the day that ended, and yesterday once more
    nothing_yet = rollup.roll_up_clicks(today=TODAY + timedelta(days=1))
    assert (nothing_yet.first, nothing_yet.last) == (yesterday, TODAY)
    assert rollup.rolled_through() == TODAY


def test_a_period_can_be_rolled_up_again_and_nothing_is_done_without_clicks(app):
    assert rollup.roll_up_clicks(today=TODAY).days == 0
    assert rollup.rolled_through() is None
    link = ReferralLinkFactory()
    add_clicks(link, 1, clicked_at=at(TODAY - timedelta(days=10), 9))
    rollup.roll_up_clicks(today=TODAY)
    add_clicks(link, 1, clicked_at=at(TODAY - timedelta(days=10), 10))  # very late
    assert rolled()[(TODAY - timedelta(days=10), link.id)] == (1, 1, 0)
    rollup.roll_up_clicks(today=TODAY, since=TODAY - timedelta(days=12))
    assert rolled()[(TODAY - timedelta(days=10), link.id)] == (2, 2, 0)


def company(days: str = "30", period: str = "day") -> stats.CompanyStats:
    return stats.company_stats(window_from_args(period, days, today=TODAY), page=1, per_page=10)


def test_the_company_page_is_the_same_before_and_after_a_roll_up(app):
    sales = DepartmentFactory(name="Sales")
    seller = UserFactory(name="Seller", department=sales)
    loner = UserFactory(name="Loner")
    first = ReferralLinkFactory(user=seller)
    second = ReferralLinkFactory(user=seller)
    for offset in range(0, 40, 3):
        day = TODAY - timedelta(days=offset)
        add_clicks(first, 2, ip_hash="b" * 64, clicked_at=at(day, 1))
        add_clicks(second, 1, ip_hash="b" * 64, clicked_at=at(day, 2))
        add_clicks(second, 1, is_bot=True, clicked_at=at(day, 3))
        add_clicks(ReferralLinkFactory(user=loner), 1, clicked_at=at(day, 20))

    def snapshot() -> list[object]:
        result = [company(), company("90", "week"), company("365", "month")]
        return [
            (
                r.total,
                [(d.name, d.people, d.figures) for d in r.departments],
                [(p.name, p.figures) for p in r.people.items],
                r.series,
            )
            for r in result
        ]

    raw = snapshot()
    rollup.roll_up_clicks(today=TODAY - timedelta(days=7))  # partly rolled up
    partly = snapshot()
    rollup.roll_up_clicks(today=TODAY)
    assert partly == raw
    assert snapshot() == raw


def test_company_visitors_are_daily_visitors_added_up(app):
    person = UserFactory(name="Lan")
    zalo = ReferralLinkFactory(user=person)
    facebook = ReferralLinkFactory(user=person)
    # the same visitor on two days, and on two of Lan's links the same day
    add_clicks(zalo, 1, ip_hash="c" * 64, clicked_at=at(TODAY - timedelta(days=2), 9))
    add_clicks(zalo, 1, ip_hash="c" * 64, clicked_at=at(TODAY - timedelta(days=1), 9))
    add_clicks(facebook, 1, ip_hash="c" * 64, clicked_at=at(TODAY - timedelta(days=1), 10))
    rollup.roll_up_clicks(today=TODAY)

    [row] = company().people.items
    assert row.figures == Figures(clicks=3, visitors=3)
    # Lan's own page counts that visitor once
    mine = stats.my_links(person, window_from_args(None, None, today=TODAY))
    assert mine.total == Figures(clicks=3, visitors=1)


def test_bot_shares_on_the_fraud_page_read_rolled_up_days_too(app):
    link = ReferralLinkFactory()
    add_clicks(link, 6, is_bot=True, clicked_at=at(TODAY - timedelta(days=3), 9))
    add_clicks(link, 4, is_bot=True, clicked_at=at(TODAY, 1))
    add_clicks(link, 10, clicked_at=at(TODAY, 2))
    window = window_from_args(None, "30", choices=fraud.FRAUD_DAYS, today=TODAY)
    before = [(r.link_id, r.visits, r.bots) for r in fraud.fraud_signals(window).bot_shares]
    rollup.roll_up_clicks(today=TODAY)
    after = [(r.link_id, r.visits, r.bots) for r in fraud.fraud_signals(window).bot_shares]
    assert before == after == [(link.id, 20, 10)]


def test_the_tick_rolls_up_the_clicks(app, runner):
    add_clicks(ReferralLinkFactory(), 2, clicked_at=datetime.now(UTC) - timedelta(days=3))
    result = runner.invoke(args=["perks", "tick"])
    assert result.exit_code == 0, result.output
    assert "Days of referral clicks rolled up: " in result.output
    assert rollup.rolled_through() is not None
    assert sum(row[0] for row in rolled().values()) == 2
