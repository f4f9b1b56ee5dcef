"""The referral stats pages and the fraud page: who sees what, the figures on them, and a
constant number of SQL statements however many clicks there are (PERFORMANCE.md, P4)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from perks.extensions import db
from perks.people.models import Role, User
from perks.referrals import fraud, stats
from perks.referrals.models import ReferralLink
from perks.shop.models import OrderStatus, Product
from tests import factories
from tests.factories import add_clicks
from tests.helpers import clean_database, counting_statements, login

PAGES = ["/stats/links", "/stats/team", "/stats/company", "/finance/fraud"]


def page(client, url: str, status: int = 200) -> str:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def sell(
    link: ReferralLink, amount: int, currency: str = "VND", product: Product | None = None
) -> None:
    """A paid order of ``amount`` (or of ``product``) attributed to ``link``, paid an hour
    ago."""
    product = product or factories.ProductFactory(price_amount=amount, currency=currency)
    factories.OrderFactory(
        product=product,
        referral_link_id=link.id,
        attribution_reason="cookie",
        status=OrderStatus.PAID,
        paid_at=datetime.now(UTC) - timedelta(hours=1),
        paid_amount=product.price_amount,
    )


def test_an_employee_sees_clicks_visitors_orders_revenue_and_conversion_per_link(client, login_as):
    me = login_as(Role.EMPLOYEE)
    default = factories.ReferralLinkFactory(user=me, is_default=True)
    zalo = factories.ReferralLinkFactory(user=me, label="Zalo group", paused=True)
    add_clicks(default, 3, ip_hash="a" * 64)
    add_clicks(zalo, 2)
    add_clicks(zalo, 4, is_bot=True)
    add_clicks(factories.ReferralLinkFactory(label="Someone else's"), 9)
    sell(zalo, 1_250_000)
    sell(zalo, 1_999, "USD")

    html = page(client, "/stats/links")

    assert "Zalo group" in html
    # named as on the links page ("Default link" there read "My storefront link" here)
    assert "My storefront link" in html
    assert "Paused" in html
    assert f"/r/{zalo.code}" in html
    assert "Someone else" not in html
    assert 'data-testid="total-clicks">5<' in html
    assert 'data-testid="total-visitors">3<' in html
    assert 'data-testid="total-orders">2<' in html
    # each currency on its own line, never added together
    assert '<div class="text-nowrap">₫1,250,000</div><div class="text-nowrap">$19.99</div>' in html
    assert 'data-testid="total-conversion">66.7%<' in html  # 2 orders ÷ 3 visitors
    assert "Conversion is orders ÷ unique visitors." in html
    assert "Orders appear once" not in html
    assert "<svg" in html
    assert "Clicks and unique visitors over time" in html
    assert "Orders over time" in html
    assert " style=" not in html  # CSP: no inline style, the chart included


def test_a_link_page_shows_one_of_my_links(client, login_as):
    me = login_as(Role.EMPLOYEE)
    link = factories.ReferralLinkFactory(user=me, label="Facebook post")
    add_clicks(link, 2, referrer_domain="m.facebook.com", user_agent_family="Facebook")
    add_clicks(link, 1, is_bot=True)

    html = page(client, f"/stats/links/{link.id}?period=week&days=90")

    assert "Facebook post" in html
    assert "m.facebook.com" in html
    assert 'data-testid="total-clicks">2<' in html
    assert "1 visit by a link preview or crawler was redirected but not counted." in html


def test_another_persons_link_is_not_found_even_for_finance_and_admins(client, login_as):
    login_as(Role.FINANCE, Role.ADMIN, Role.MANAGER)
    page(client, f"/stats/links/{factories.ReferralLinkFactory().id}", 404)


@pytest.mark.parametrize("url", [*PAGES, "/stats/links/{link}"])
@pytest.mark.parametrize(
    "query", ["period=hour", "days=31", "days=abc", "period=week&days=1000", "days="]
)
def test_a_period_or_number_of_days_not_offered_is_a_bad_request(client, login_as, url, query):
    me = login_as(Role.ADMIN)
    link = factories.ReferralLinkFactory(user=me)
    status = 200 if query == "days=" else 400  # empty is the default
    if url == "/finance/fraud" and query == "days=31":
        status = 400
    page(client, url.format(link=link.id) + "?" + query, status)


@pytest.mark.parametrize("days", stats.STATS_DAYS)
@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_every_offered_period_renders(client, login_as, period, days):
    me = login_as(Role.ADMIN)
    add_clicks(factories.ReferralLinkFactory(user=me), 2)
    for url in ["/stats/links", "/stats/team", "/stats/company"]:
        page(client, f"{url}?period={period}&days={days}")


def test_a_manager_sees_their_direct_reports_only(client, login_as):
    manager = login_as(Role.EMPLOYEE, Role.MANAGER)
    lan = factories.UserFactory(name="Lan Report", manager=manager)
    other = factories.UserFactory(name="Other Team")
    add_clicks(factories.ReferralLinkFactory(user=lan), 4)
    add_clicks(factories.ReferralLinkFactory(user=other), 7)

    html = page(client, "/stats/team")

    assert "Lan Report" in html
    assert "Other Team" not in html
    assert 'data-testid="total-clicks">4<' in html
    # the company page with everyone's figures is for finance and admins
    page(client, "/stats/company", 403)
    page(client, "/finance/fraud", 403)


@pytest.mark.parametrize(
    ("roles", "tabs"),
    [
        ((Role.EMPLOYEE,), []),
        ((Role.EMPLOYEE, Role.MANAGER), ["/stats/links", "/stats/team"]),
        ((Role.FINANCE,), ["/stats/links", "/stats/company", "/finance/fraud"]),
    ],
)
def test_the_stats_tabs_are_the_pages_the_person_may_open_and_none_for_one(
    client, login_as, roles, tabs
):
    """Someone who sees only their own stats gets no row of tabs holding that one page."""
    login_as(*roles)

    html = page(client, "/stats/links")

    nav = re.search(r'<nav [^>]*aria-label="Referral stats"[^>]*>(.*?)</nav>', html, re.S)
    assert (nav is not None) == bool(tabs)
    if nav:
        assert re.findall(r'href="([^"]+)"', nav.group(1)) == tabs


def test_a_manager_without_reports_is_told_so(client, login_as):
    login_as(Role.MANAGER)
    assert "Nobody reports to you yet." in page(client, "/stats/team")


def test_finance_sees_every_department_and_person(client, login_as):
    login_as(Role.FINANCE)
    sales = factories.DepartmentFactory(name="Sales Dept")
    seller = factories.UserFactory(name="Seller One", department=sales)
    add_clicks(factories.ReferralLinkFactory(user=seller), 3)
    add_clicks(factories.ReferralLinkFactory(user=factories.UserFactory(name="Lone Wolf")), 1)

    html = page(client, "/stats/company")

    assert "Sales Dept" in html
    assert "No department" in html
    assert "Seller One" in html
    assert "Lone Wolf" in html
    assert html.index("Seller One") < html.index("Lone Wolf")  # most clicks first
    assert 'data-testid="departments-chart"' in html
    page(client, "/stats/team", 403)  # finance is not a manager


def test_the_fraud_page_flags_many_clicks_from_one_visitor(client, login_as):
    login_as(Role.FINANCE)
    link = factories.ReferralLinkFactory(user=factories.UserFactory(name="Suspicious Sam"))
    add_clicks(link, fraud.SAME_VISITOR_CLICKS_PER_DAY, ip_hash="9f" * 32)

    html = page(client, "/finance/fraud?days=7")

    assert "Suspicious Sam" in html
    assert f"/r/{link.code}" in html
    assert ("9f" * 6) in html
    assert "Self-referral attempts and staff purchases" in html
    assert 'data-testid="flagged-order"' not in html


def test_the_fraud_page_lists_self_referral_attempts_and_links_without_orders(client, login_as):
    login_as(Role.FINANCE)
    factories.UserFactory(name="Greedy Giang", email="giang@example.com")
    factories.OrderFactory(
        number="PK-SELF0001",
        customer_email="Giang@Example.com",
        attribution_reason="self_referral",
        attribution_flagged=True,
    )
    quiet = factories.ReferralLinkFactory(user=factories.UserFactory(name="Quiet Quan"))
    add_clicks(quiet, fraud.NO_ORDERS_MIN_CLICKS, referrer_domain="clickfarm.example")

    html = page(client, "/finance/fraud")

    assert "PK-SELF0001" in html
    assert "Greedy Giang" in html
    assert "Self-referral" in html
    assert "Self-referral attempts: 1" in html
    assert "Quiet Quan" in html
    assert "clickfarm.example" in html


def test_names_and_labels_are_escaped(client, login_as):
    nasty = '<script>alert("x")</script>'
    me = login_as(Role.EMPLOYEE, Role.MANAGER, Role.FINANCE, name=nasty)
    factories.UserFactory(name=nasty, manager=me)
    link = factories.ReferralLinkFactory(user=me, label=nasty)
    add_clicks(link, fraud.SAME_VISITOR_CLICKS_PER_DAY, ip_hash="1" * 64, referrer_domain=nasty)

    for url in [*PAGES, f"/stats/links/{link.id}"]:
        html = page(client, url)
        assert "<script>alert" not in html, url
        assert "&lt;script&gt;" in html, url


def test_the_pages_speak_vietnamese(client, login_as):
    me = login_as(Role.EMPLOYEE, locale="vi")
    add_clicks(factories.ReferralLinkFactory(user=me), 1)
    html = page(client, "/stats/links")
    assert '<html lang="vi"' in html
    assert "Lượt nhấp và người truy cập riêng biệt theo thời gian" in html
    assert "Clicks and unique visitors over time" not in html


# --- P4: the statements per page do not grow with the clicks --------------------------------


def seed(scale: int) -> tuple[User, dict[str, int]]:
    """A manager who is also finance, with three reports in two departments; each person has
    three links with clicks from repeated visitors, bots and referrers, paid orders in two
    currencies and flagged orders, all times ``scale``."""
    sales = factories.DepartmentFactory(name="Sales")
    support = factories.DepartmentFactory(name="Support")
    viewer = factories.UserFactory(
        roles={Role.EMPLOYEE, Role.MANAGER, Role.FINANCE}, department=sales
    )
    reports = [
        factories.UserFactory(manager=viewer, department=sales if n % 2 else support)
        for n in range(3)
    ]
    now = datetime.now(UTC)
    in_dong = factories.ProductFactory(price_amount=300_000)
    in_dollars = factories.ProductFactory(price_amount=1_500, currency="USD")
    links = []
    for person in [viewer, *reports]:
        for n in range(3):
            link = factories.ReferralLinkFactory(user=person, label=f"Link {n}", is_default=n == 0)
            links.append(link)
            for day in range(5):
                when = now - timedelta(days=day * 6, hours=1)
                add_clicks(link, 2 * scale, clicked_at=when, referrer_domain=f"site{n}.vn")
                add_clicks(link, 6 * scale, clicked_at=when, ip_hash=f"{link.id:064x}")
                add_clicks(link, scale, clicked_at=when, is_bot=True, user_agent_family="Zalo")
            for _ in range(scale if n == 0 else 0):
                sell(link, 0, product=in_dong)
                sell(link, 0, product=in_dollars)
                factories.OrderFactory(
                    product=in_dong, attribution_reason="self_referral", attribution_flagged=True
                )
    return viewer, {"link": links[0].id}


STAT_PAGES = {
    "my links": lambda s: "/stats/links?period=week&days=90",
    "my link": lambda s: f"/stats/links/{s['link']}?period=day&days=30",
    "team": lambda s: "/stats/team?period=month&days=365",
    "company": lambda s: "/stats/company",
    "fraud": lambda s: "/finance/fraud?days=90",
}


def statements_per_page(client, scale: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    viewer, samples = seed(scale)
    login(client, viewer)
    counts = {}
    for name, url in STAT_PAGES.items():
        with counting_statements() as statements:
            response = client.get(url(samples))
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = len(statements)
    client.post("/logout")
    return counts


def test_statements_per_stats_page_do_not_grow_with_ten_times_the_clicks(client):
    small = statements_per_page(client, scale=1)
    db.session.remove()
    clean_database()
    large = statements_per_page(client, scale=10)

    assert large == small
    # (two of them serve the navigation bar: the company's brand, perks.branding, and the
    # bell's count of unread notifications)
    assert small["my links"] <= 10, small
    assert small["team"] <= 10, small
