"""Referral figures: human clicks and unique visitors per link, person, team, department and
company-time bucket; orders, revenue and conversion."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from perks.errors import NotFound, ValidationFailed
from perks.extensions import db
from perks.money import Money
from perks.people.models import Role
from perks.referrals import stats
from perks.referrals.models import Click
from perks.referrals.periods import Period, window_from_args
from perks.referrals.stats import Figures
from perks.shop.models import OrderStatus
from tests.factories import DepartmentFactory, ReferralLinkFactory, UserFactory
from tests.helpers import counting_statements
from tests.unit.referrals.helpers import TODAY, add_clicks, at, sell, window

# --- the window ------------------------------------------------------------------------------


def test_the_window_defaults_to_30_days_by_day_ending_today(app):
    chosen = window_from_args(None, None, today=TODAY)
    assert (chosen.period, chosen.days, chosen.last_day) == (Period.DAY, 30, TODAY)
    assert chosen.first_day == date(2026, 5, 2)


@pytest.mark.parametrize(
    ("period", "days"), [("hour", "30"), ("day", "31"), ("day", "abc"), ("DAY", "30"), ("", "-1")]
)
def test_an_unknown_period_or_number_of_days_is_refused(app, period, days):
    with pytest.raises(ValidationFailed):
        window_from_args(period, days, today=TODAY)


def test_the_window_runs_from_midnight_company_time(app):
    chosen = window("day", "30")
    # midnight in Hồ Chí Minh City is 17:00 UTC the day before
    assert chosen.start == datetime(2026, 5, 1, 17, 0, tzinfo=UTC)
    assert chosen.end == datetime(2026, 5, 31, 17, 0, tzinfo=UTC)


def test_buckets_are_days_weeks_from_monday_or_months(app):
    assert len(window("day", "30").bucket_starts()) == 30
    weeks = window("week", "30").bucket_starts()
    assert weeks[0] == date(2026, 4, 27)  # the Monday before 2 May
    assert weeks[-1] == date(2026, 5, 25)
    assert all(start.weekday() == 0 for start in weeks)
    assert window("month", "90").bucket_starts() == [
        date(2026, 3, 1),
        date(2026, 4, 1),
        date(2026, 5, 1),
    ]
    assert len(window("month", "365").bucket_starts()) == 12  # 1 June 2025 to 31 May 2026


# --- figures ---------------------------------------------------------------------------------


def test_conversion_is_orders_per_unique_visitor_and_unknown_without_visitors():
    assert Figures(clicks=10, visitors=4).conversion_bps == 0
    assert Figures(clicks=400, visitors=100, orders=3).conversion_bps == 300  # 3% of visitors
    assert Figures(clicks=0, visitors=0, orders=2).conversion_bps is None  # typed codes only
    assert Figures(clicks=3, visitors=1, orders=2).conversion_bps == 20_000  # can pass 100%


def test_my_links_count_human_clicks_and_distinct_visitors_per_link_and_in_total(app):
    owner = UserFactory()
    default = ReferralLinkFactory(user=owner, is_default=True)
    zalo = ReferralLinkFactory(user=owner, label="Zalo group")
    quiet = ReferralLinkFactory(user=owner, label="Quiet")
    add_clicks(default, 3, ip_hash="a" * 64)  # one visitor, three clicks
    add_clicks(default, 2)  # two more visitors
    add_clicks(zalo, 4)
    add_clicks(zalo, 1, ip_hash="a" * 64)  # the first visitor again, on another link
    add_clicks(zalo, 5, is_bot=True, user_agent_family="facebookexternalhit")
    add_clicks(zalo, 2, clicked_at=at(TODAY, 3) - timedelta(days=40))  # before the window
    add_clicks(ReferralLinkFactory(), 7)  # someone else's

    result = stats.my_links(owner, window())

    # the default link first, then the newest
    assert [row.link.id for row in result.links] == [default.id, quiet.id, zalo.id]
    figures = {row.link.id: row.figures for row in result.links}
    assert figures[default.id] == Figures(clicks=5, visitors=3)
    assert figures[zalo.id] == Figures(clicks=5, visitors=5)
    assert figures[quiet.id] == Figures()
    assert result.total == Figures(clicks=10, visitors=7)  # visitor "a" counted once
    assert sum(bucket.figures.clicks for bucket in result.series) == 10


def test_a_click_late_in_the_utc_evening_counts_on_the_next_company_day(app):
    link = ReferralLinkFactory()
    add_clicks(link, 1, clicked_at=at(date(2026, 5, 20), 16, 59))  # 23:59 on the 20th
    add_clicks(link, 2, clicked_at=at(date(2026, 5, 20), 17, 0))  # 00:00 on the 21st
    add_clicks(link, 1, clicked_at=at(date(2026, 5, 1), 17, 0))  # 00:00 on 2 May: first day
    add_clicks(link, 1, clicked_at=at(date(2026, 5, 1), 16, 59))  # 1 May: before the window
    add_clicks(link, 1, clicked_at=at(TODAY, 16, 59))  # the last minute of today
    add_clicks(link, 1, clicked_at=at(TODAY, 17, 0))  # tomorrow already

    series = {b.start: b.figures.clicks for b in stats.my_links(link.user, window()).series}

    assert series[date(2026, 5, 20)] == 1
    assert series[date(2026, 5, 21)] == 2
    assert series[date(2026, 5, 2)] == 1
    assert series[TODAY] == 1
    assert sum(series.values()) == 5
    assert list(series) == [date(2026, 5, 2) + timedelta(days=n) for n in range(30)]


def test_weekly_and_monthly_buckets_count_each_visitor_once(app):
    link = ReferralLinkFactory()
    # Monday 18 May 00:30 company time is Sunday 17:30 UTC: it belongs to the week of the 18th
    add_clicks(link, 1, ip_hash="b" * 64, clicked_at=at(date(2026, 5, 17), 17, 30))
    add_clicks(link, 1, ip_hash="b" * 64, clicked_at=at(date(2026, 5, 22), 9))
    add_clicks(link, 1, ip_hash="c" * 64, clicked_at=at(date(2026, 5, 17), 9))  # Sunday 17th
    add_clicks(link, 1, ip_hash="b" * 64, clicked_at=at(date(2026, 4, 30), 18))  # 1 May local

    weeks = {b.start: b.figures for b in stats.my_links(link.user, window("week", "90")).series}
    assert weeks[date(2026, 5, 18)] == Figures(clicks=2, visitors=1)
    assert weeks[date(2026, 5, 11)] == Figures(clicks=1, visitors=1)
    assert weeks[date(2026, 4, 27)] == Figures(clicks=1, visitors=1)

    months = {b.start: b.figures for b in stats.my_links(link.user, window("month", "90")).series}
    assert months[date(2026, 5, 1)] == Figures(clicks=4, visitors=2)
    assert months[date(2026, 4, 1)] == Figures()


# --- one link --------------------------------------------------------------------------------


def test_a_link_shows_where_its_visitors_came_from_and_how_many_bots_it_had(app):
    link = ReferralLinkFactory()
    add_clicks(link, 3, referrer_domain="zalo.me", user_agent_family="Zalo")
    add_clicks(link, 1, referrer_domain="", user_agent_family="Safari")
    add_clicks(link, 2, is_bot=True, user_agent_family="facebookexternalhit")

    detail = stats.link_detail(link.id, link.user, window())

    assert detail.figures == Figures(clicks=4, visitors=4)
    assert [(s.name, s.clicks) for s in detail.referrers] == [("zalo.me", 3), ("", 1)]
    assert [(s.name, s.clicks) for s in detail.browsers] == [("Zalo", 3), ("Safari", 1)]
    assert detail.bot_visits == 2


def test_another_persons_link_is_not_found_even_for_an_admin(app):
    link = ReferralLinkFactory()
    admin = UserFactory(roles={Role.ADMIN, Role.FINANCE})
    with pytest.raises(NotFound):
        stats.link_detail(link.id, admin, window())
    with pytest.raises(NotFound):
        stats.link_detail(999_999, link.user, window())


# --- teams and the company -------------------------------------------------------------------


def test_a_manager_sees_each_direct_report_and_the_team_total(app):
    manager = UserFactory(roles={Role.EMPLOYEE, Role.MANAGER})
    lan = UserFactory(name="Lan", manager=manager)
    minh = UserFactory(name="Minh", manager=manager, active=False)
    quiet = UserFactory(name="Quang", manager=manager)
    outsider = UserFactory(name="Other team")
    add_clicks(ReferralLinkFactory(user=lan), 3, ip_hash="d" * 64)
    add_clicks(ReferralLinkFactory(user=lan), 2)
    add_clicks(ReferralLinkFactory(user=minh), 1, ip_hash="d" * 64)
    add_clicks(ReferralLinkFactory(user=outsider), 9)
    add_clicks(ReferralLinkFactory(user=manager), 4)  # the manager's own: not the team's

    team = stats.team_stats(manager, window())

    assert [(p.name, p.active, p.figures) for p in team.people] == [
        ("Lan", True, Figures(clicks=5, visitors=3)),
        ("Minh", False, Figures(clicks=1, visitors=1)),
        ("Quang", True, Figures()),
    ]
    assert quiet.id in {p.user_id for p in team.people}
    assert team.total == Figures(clicks=6, visitors=3)
    assert sum(b.figures.clicks for b in team.series) == 6


def test_the_company_page_totals_per_department_and_pages_people_by_clicks(app):
    sales = DepartmentFactory(name="Sales")
    people = [UserFactory(name=f"Sales {n}", department=sales) for n in range(3)]
    loner = UserFactory(name="No department")
    for n, person in enumerate(people):
        add_clicks(ReferralLinkFactory(user=person), n + 1)
    add_clicks(ReferralLinkFactory(user=loner), 10)
    UserFactory(name="Nobody clicked", department=sales)

    company = stats.company_stats(window(), page=1, per_page=2)

    assert [(d.name, d.people, d.figures.clicks) for d in company.departments] == [
        (None, 1, 10),
        ("Sales", 3, 6),
    ]
    assert company.total == Figures(clicks=16, visitors=16)
    assert company.people.total == 4
    assert company.people.pages == 2
    assert [(p.name, p.department, p.figures.clicks) for p in company.people.items] == [
        ("No department", None, 10),
        ("Sales 2", "Sales", 3),
    ]
    second = stats.company_stats(window(), page=2, per_page=2)
    assert [p.name for p in second.people.items] == ["Sales 1", "Sales 0"]


def test_the_company_page_breaks_ties_as_vietnamese_is_alphabetised(app):
    # The same clicks: "Ánh" and "Đức" among the As and Ds, not after "Yến" (nor "Đào tạo"
    # after "Ý tưởng")
    for name, department in (("Yến", "Ý tưởng"), ("Đức", "Đào tạo"), ("Ánh", "Ánh sáng")):
        person = UserFactory(name=name, department=DepartmentFactory(name=department))
        add_clicks(ReferralLinkFactory(user=person), 2)

    company = stats.company_stats(window(), page=1, per_page=10)

    assert [p.name for p in company.people.items] == ["Ánh", "Đức", "Yến"]
    assert [d.name for d in company.departments] == ["Ánh sáng", "Đào tạo", "Ý tưởng"]


def test_no_clicks_anywhere_gives_empty_figures(app):
    assert db.session.query(Click).count() == 0
    user = UserFactory()
    result = stats.my_links(user, window())
    assert result.links == []
    assert result.total == Figures()
    assert all(bucket.figures == Figures() for bucket in result.series)


# --- orders, revenue and conversion ------------------------------------------------------------


def test_orders_and_revenue_per_link_per_currency_and_in_total(app):
    owner = UserFactory()
    zalo = ReferralLinkFactory(user=owner, label="Zalo")
    facebook = ReferralLinkFactory(user=owner, label="Facebook")
    add_clicks(zalo, 4)
    add_clicks(facebook, 2)
    sell(zalo, 1_500_000)
    sell(zalo, 2_000_000)
    sell(zalo, 4_500, "USD")  # $45.00: never added to the đồng
    sell(facebook, 900_000, refunded_amount=900_000, status=OrderStatus.REFUNDED)  # still sold
    sell(facebook, 700_000, paid_at=None, status=OrderStatus.PENDING)  # not paid
    sell(facebook, 700_000, mismatch="amount 1 != 700000")  # paid the wrong amount
    sell(facebook, 800_000, paid_at=at(TODAY, 3) - timedelta(days=40))  # before the window
    sell(ReferralLinkFactory(), 5_000_000)  # someone else's
    sell(None, 6_000_000)  # nobody's

    result = stats.my_links(owner, window())

    figures = {row.link.id: row.figures for row in result.links}
    assert figures[zalo.id] == Figures(
        clicks=4,
        visitors=4,
        orders=3,
        revenue=(Money(3_500_000, "VND"), Money(4_500, "USD")),
    )
    assert figures[zalo.id].conversion_bps == 7_500
    assert figures[facebook.id] == Figures(2, 2, 1, (Money(900_000, "VND"),))
    assert result.total == Figures(6, 6, 4, (Money(4_400_000, "VND"), Money(4_500, "USD")))
    today = {b.start: b.figures for b in result.series}[TODAY]
    assert (today.orders, today.revenue) == (4, (Money(4_400_000, "VND"), Money(4_500, "USD")))
    assert sum(b.figures.orders for b in result.series) == 4


def test_an_order_counts_on_the_company_day_and_bucket_it_was_paid(app):
    link = ReferralLinkFactory()
    sell(link, 100_000, paid_at=at(date(2026, 5, 17), 16, 59))  # Sunday 23:59 local
    sell(link, 200_000, paid_at=at(date(2026, 5, 17), 17, 0))  # Monday 18 May 00:00 local
    sell(link, 300_000, paid_at=at(date(2026, 4, 30), 17, 30))  # 1 May local

    days = {b.start: b.figures for b in stats.my_links(link.user, window("day", "30")).series}
    assert days[date(2026, 5, 17)].revenue == (Money(100_000, "VND"),)
    assert days[date(2026, 5, 18)].revenue == (Money(200_000, "VND"),)
    assert days[date(2026, 5, 2)].orders == 0
    weeks = {b.start: b.figures for b in stats.my_links(link.user, window("week", "90")).series}
    assert weeks[date(2026, 5, 11)].orders == 1
    assert weeks[date(2026, 5, 18)].orders == 1
    months = {b.start: b.figures for b in stats.my_links(link.user, window("month", "90")).series}
    assert months[date(2026, 5, 1)] == Figures(0, 0, 3, (Money(600_000, "VND"),))


def test_a_link_page_counts_only_that_links_orders(app):
    owner = UserFactory()
    link = ReferralLinkFactory(user=owner)
    add_clicks(link, 5)
    sell(link, 250_000)
    sell(ReferralLinkFactory(user=owner), 990_000)

    detail = stats.link_detail(link.id, owner, window())

    assert detail.figures == Figures(5, 5, 1, (Money(250_000, "VND"),))
    assert detail.figures.conversion_bps == 2_000


def test_a_team_sums_its_peoples_orders_and_revenue_per_currency(app):
    manager = UserFactory(roles={Role.EMPLOYEE, Role.MANAGER})
    lan = UserFactory(name="Lan", manager=manager)
    minh = UserFactory(name="Minh", manager=manager)
    add_clicks(ReferralLinkFactory(user=lan), 10)
    sell(ReferralLinkFactory(user=lan), 1_000_000)
    sell(ReferralLinkFactory(user=minh), 2_500, "USD")  # orders from a typed code: no clicks
    sell(ReferralLinkFactory(user=manager), 9_000_000)  # the manager's own: not the team's

    team = stats.team_stats(manager, window())

    people = {p.name: p.figures for p in team.people}
    assert people["Lan"] == Figures(10, 10, 1, (Money(1_000_000, "VND"),))
    assert people["Minh"] == Figures(0, 0, 1, (Money(2_500, "USD"),))
    assert people["Minh"].conversion_bps is None
    assert team.total == Figures(10, 10, 2, (Money(1_000_000, "VND"), Money(2_500, "USD")))


def test_the_company_page_lists_people_and_departments_with_orders_but_no_clicks(app):
    sales = DepartmentFactory(name="Sales")
    quiet = DepartmentFactory(name="Quiet")
    clicker = UserFactory(name="Clicker", department=sales)
    seller = UserFactory(name="Seller", department=quiet)
    add_clicks(ReferralLinkFactory(user=clicker), 3)
    sell(ReferralLinkFactory(user=clicker), 400_000)
    sell(ReferralLinkFactory(user=seller), 1_200_000)
    sell(ReferralLinkFactory(user=seller), 3_000, "USD")

    company = stats.company_stats(window(), page=1, per_page=10)

    assert [(d.name, d.people, d.figures) for d in company.departments] == [
        ("Sales", 1, Figures(3, 3, 1, (Money(400_000, "VND"),))),
        ("Quiet", 0, Figures(0, 0, 2, (Money(1_200_000, "VND"), Money(3_000, "USD")))),
    ]
    assert [(p.name, p.figures) for p in company.people.items] == [
        ("Clicker", Figures(3, 3, 1, (Money(400_000, "VND"),))),
        ("Seller", Figures(0, 0, 2, (Money(1_200_000, "VND"), Money(3_000, "USD")))),
    ]
    assert company.people.total == 2
    assert company.total == Figures(3, 3, 3, (Money(1_600_000, "VND"), Money(3_000, "USD")))
    assert stats.company_stats(window(), page=2, per_page=1).people.items[0].name == "Seller"
    beyond = stats.company_stats(window(), page=5, per_page=1).people  # shows the last
    assert ([p.name for p in beyond.items], beyond.page, beyond.total) == (["Seller"], 2, 2)


def test_a_persons_a_links_and_a_teams_figures_cost_a_few_statements_each(app):
    # Clicks and orders are each read once and counted per key, per bucket and in all
    # (``_breakdown``): the pages people open daily (P7) do not ask three times.
    manager = UserFactory(roles={Role.EMPLOYEE, Role.MANAGER})
    lan = UserFactory(name="Lan", manager=manager)
    link = ReferralLinkFactory(user=lan)
    add_clicks(link, 3)
    sell(link, 1_000_000)
    sell(ReferralLinkFactory(user=lan), 2_500, "USD")
    # the people and the link loaded before counting, as a page has them already
    assert (manager.name, lan.name, link.user_id) == (manager.name, "Lan", lan.id)

    counted = {}
    for name, figures in (
        ("links", lambda: stats.my_links(lan, window())),
        ("link", lambda: stats.link_detail(link.id, lan, window())),
        ("team", lambda: stats.team_stats(manager, window())),
    ):
        with counting_statements() as statements:
            figures()
        counted[name] = len(statements)

    # my links: the links, the clicks, the orders; one link: it, its bots, its clicks, its
    # orders, its referrers, its browsers; a team: the clicks, the orders, the people
    assert counted == {"links": 3, "link": 6, "team": 3}
