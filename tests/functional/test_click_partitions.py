"""Clicks that can hold years (PostgreSQL): ``click`` is partitioned by company-time month,
partitions are made ahead by the scheduled maintenance, and a month past the retention is
dropped a partition at a time, only once its days are rolled up into ``click_day``; the
stats pages and attribution read the same before and after."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select, text

from perks.extensions import db
from perks.i18n import company_today, company_zone
from perks.jobs import BEAT_SCHEDULE
from perks.referrals import partitions, rollup, services, stats
from perks.referrals.attribution import attribute_order, dump_referral_cookie
from perks.referrals.models import Click, ClickDay, ClickRollup
from perks.referrals.partitions import add_months, partition_name
from perks.referrals.periods import Window
from perks.shop.models import Order
from tests.factories import ClickFactory, ReferralLinkFactory, UserFactory
from tests.helpers import is_postgres, login
from tests.unit.referrals.helpers import sell


@pytest.fixture(autouse=True)
def postgres_only(app):  # type: ignore[no-untyped-def]
    if not is_postgres(app):
        pytest.skip("PostgreSQL only: SQLite keeps the plain click table (no partitions)")


def local(day: date, hour: int) -> datetime:
    """``hour`` o'clock company time on ``day``, in UTC."""
    return datetime.combine(day, time(hour), company_zone()).astimezone(UTC)


def where_clicks_are() -> dict[str, int]:
    rows = db.session.execute(
        text("SELECT tableoid::regclass::text, count(*) FROM click GROUP BY 1")
    ).all()
    return {str(name): int(count) for name, count in rows}


def test_clicks_go_into_monthly_partitions_made_ahead_by_a_scheduled_task():
    assert BEAT_SCHEDULE["maintain-click-partitions"]["task"] == (
        "perks.referrals.maintain_click_partitions"
    )
    assert partitions.is_partitioned()
    this_month = company_today().replace(day=1)

    partitions.maintain_click_partitions()
    again = partitions.maintain_click_partitions()  # idempotent

    assert again.created == []
    assert again.dropped == []
    months = set(partitions.partition_months())
    assert {add_months(this_month, n) for n in range(partitions.AHEAD_MONTHS + 1)} <= months
    # A month later, the month after the last one is made.
    later = partitions.maintain_click_partitions(today=add_months(this_month, 1))
    assert add_months(this_month, partitions.AHEAD_MONTHS + 1) in partitions.partition_months()
    assert later.dropped == []

    link = ReferralLinkFactory()
    ClickFactory(link_id=link.id)
    next_month = add_months(this_month, 1)
    ClickFactory(link_id=link.id, clicked_at=local(next_month, 0))  # 00:00 company time
    ClickFactory(link_id=link.id, clicked_at=local(next_month, 0) - timedelta(seconds=1))
    db.session.commit()
    assert where_clicks_are() == {
        f"click_partitions.{partition_name(this_month)}": 2,
        f"click_partitions.{partition_name(next_month)}": 1,
    }


def attributed(cookie: str, clicked_at: datetime) -> tuple[object, ...]:
    """Whom an order placed an hour after the click would earn for, and why."""
    found = attribute_order(
        cookie, None, "khach@example.com", None, clicked_at + timedelta(hours=1)
    )
    return (
        found.link.id if found.link else None,
        found.reason.value,
        found.flagged,
        found.click_id,
    )


def company(window: Window) -> tuple[object, ...]:
    page = stats.company_stats(window, page=1, per_page=50)
    return (page.departments, page.people.items, page.people.total, page.total, page.series)


def test_an_expired_month_is_dropped_once_rolled_up_and_stats_and_attribution_stay():
    zone = company_zone()
    today = company_today()
    this_month = today.replace(day=1)
    expired = add_months(this_month, -(partitions.MIN_RETENTION_MONTHS + 2))
    kept = add_months(this_month, -2)
    owner = UserFactory()
    link = ReferralLinkFactory(user=owner)
    other = ReferralLinkFactory()
    old_day = expired + timedelta(days=4)
    old = [ClickFactory(link_id=link.id, clicked_at=local(old_day, 9)) for _ in range(3)]
    ClickFactory(link_id=link.id, clicked_at=local(old_day, 10), ip_hash=old[0].ip_hash)
    ClickFactory(link_id=link.id, clicked_at=local(old_day, 11), is_bot=True)
    ClickFactory(link_id=other.id, clicked_at=local(expired + timedelta(days=20), 8))
    recent = ClickFactory(link_id=link.id, clicked_at=local(kept + timedelta(days=9), 9))
    ClickFactory(link_id=other.id, clicked_at=local(today - timedelta(days=1), 9))
    old_order = sell(
        link, paid_at=local(old_day, 12), referral_click_id=old[0].id, attribution_reason="cookie"
    )
    recent_order = sell(link, paid_at=local(kept + timedelta(days=9), 12))
    db.session.commit()
    old_clicked_at, recent_clicked_at = old[0].clicked_at, recent.clicked_at
    old_cookie = dump_referral_cookie(link.id, old[0].id, old_clicked_at)
    recent_cookie = dump_referral_cookie(link.id, recent.id, recent_clicked_at)

    # No partition went back that far: the old clicks (and the one two months ago) wait in
    # the default one; a month's move into its partition when it is made.
    assert where_clicks_are()["click_partitions.click_default"] == 7
    assert partitions.create_partition(expired, zone) is True
    placed = where_clicks_are()
    assert placed[f"click_partitions.{partition_name(expired)}"] == 6
    assert placed["click_partitions.click_default"] == 1

    # Past its retention but not rolled up: kept.
    waiting = partitions.maintain_click_partitions()
    assert waiting.waiting == [partition_name(expired)]
    assert waiting.dropped == []
    assert expired in partitions.partition_months()

    # Rolled up as the hourly task did then, and up to yesterday now.
    month_after = add_months(expired, 1)
    rollup.roll_up_clicks(today=month_after + timedelta(days=1), since=expired)
    rollup.roll_up_clicks(today=today)
    assert rollup.rolled_through() == today - timedelta(days=1)

    def figures() -> tuple[object, ...]:
        db.session.expire_all()
        year = Window(today - timedelta(days=364), today, zone)
        then = Window(expired, month_after - timedelta(days=1), zone)
        summaries = {
            (row.day, row.link_id): (row.clicks, row.visitors, row.bots)
            for row in db.session.scalars(select(ClickDay).where(ClickDay.day < month_after))
        }
        return (
            company(year),
            company(then),
            stats.my_links(owner, year),
            stats.link_detail(link.id, owner, year),
            summaries,
            [
                (o.referral_link_id, o.referral_click_id, o.attribution_reason)
                for o in db.session.scalars(select(Order).order_by(Order.id))
            ],
            attributed(old_cookie, old_clicked_at),
            attributed(recent_cookie, recent_clicked_at),
        )

    before = figures()
    assert before[1][3].clicks == 5  # 4 human clicks on the old day, 1 on the 20th
    assert before[4][(old_day, link.id)] == (4, 3, 1)
    assert before[6] == (link.id, "cookie", False, old[0].id)

    done = partitions.maintain_click_partitions()

    assert done.dropped == [partition_name(expired)]
    assert expired not in partitions.partition_months()
    assert db.session.scalar(select(func.count()).select_from(Click)) == 2  # the recent two
    state = db.session.get(ClickRollup, rollup.STATE_ID)
    assert state is not None
    assert state.raw_from == add_months(this_month, -partitions.MIN_RETENTION_MONTHS)
    assert figures() == before
    # A roll-up asked to go back that far leaves the summaries of dropped days alone.
    assert rollup.roll_up_clicks(today=month_after + timedelta(days=1), since=expired).days == 0
    assert figures() == before
    assert {old_order.id, recent_order.id} == set(db.session.scalars(select(Order.id)))
    # Nothing left to drop: a second run changes nothing.
    assert partitions.maintain_click_partitions().dropped == []


def test_a_links_all_time_clicks_stay_when_its_old_months_are_dropped(client):
    """The links and share pages show each link's clicks since it was made: a month past the
    retention leaves ``click`` for ``click_day``, and the count must not go down with it."""
    today = company_today()
    this_month = today.replace(day=1)
    expired = add_months(this_month, -(partitions.MIN_RETENTION_MONTHS + 2))
    owner = UserFactory()
    link = ReferralLinkFactory(user=owner, label="Zalo group")
    old_day = expired + timedelta(days=4)
    for hour in (9, 10, 11):
        ClickFactory(link_id=link.id, clicked_at=local(old_day, hour))
    ClickFactory(link_id=link.id, clicked_at=local(old_day, 12), is_bot=True)
    ClickFactory(link_id=link.id, clicked_at=local(today - timedelta(days=1), 9))
    db.session.commit()
    partitions.create_partition(expired, company_zone())
    rollup.roll_up_clicks(today=add_months(expired, 1) + timedelta(days=1), since=expired)
    rollup.roll_up_clicks(today=today)
    login(client, owner)

    def shown() -> tuple[int, int]:
        db.session.expire_all()
        [row] = services.my_links(owner)
        return row.clicks, services.human_clicks(link.id)

    assert shown() == (4, 4)
    assert partitions.maintain_click_partitions().dropped == [partition_name(expired)]
    assert shown() == (4, 4)
    page = client.get("/links").get_data(as_text=True)
    assert re.search(r'data-testid="link-clicks">4<', page)
    share = client.get(f"/links/{link.id}").get_data(as_text=True)
    assert re.search(r'data-testid="share-clicks">4<', share)
