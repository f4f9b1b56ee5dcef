"""A manager's home shows their team: each direct report with the perks they used and what
their referral links brought (clicks, orders, commissions earned) over the last 30 days, in
a few grouped statements whatever the team's size; in English and Vietnamese."""

from __future__ import annotations

import re

from perks.catalog import claims
from perks.extensions import db
from perks.people.models import Role, User
from perks.referrals.models import ReferralLink
from tests import factories
from tests.factories import add_clicks
from tests.helpers import counting_statements, text_of
from tests.unit.finance.helpers import pay, redeem, referred_order


def report_of(manager: User, name: str, **fields: object) -> User:
    return factories.UserFactory(name=name, manager=manager, **fields)


def used_a_perk(person: User) -> None:
    claim = claims.claim_perk(factories.PerkFactory().id, person)
    claims.redeem_claim(claim.reference, factories.UserFactory(roles={Role.REDEEMER}))


def referred_and_earned(person: User, price: int) -> None:
    """A customer clicked ``person``'s link, bought for ``price`` ₫, and used it: 10 %
    earned."""
    order = referred_order(person, factories.ProductFactory(price_amount=price))
    link = db.session.get(ReferralLink, order.referral_link_id)
    assert link is not None
    add_clicks(link, 3)
    pay(order)
    redeem(order)


def test_a_manager_sees_each_direct_report_with_perks_used_and_referral_results(client, login_as):
    factories.CommissionRuleFactory()  # 10 % of every line
    manager = login_as(Role.EMPLOYEE, Role.MANAGER, locale="en")
    sales = factories.DepartmentFactory(name="Sales")
    lan = report_of(manager, "An Thị Lan", department=sales)
    binh = report_of(manager, "Bùi Văn Bình", active=False)
    report_of(factories.UserFactory(), "Someone Else")  # another manager's report
    used_a_perk(lan)
    used_a_perk(lan)
    referred_and_earned(lan, 1_000_000)

    response = client.get("/")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-testid="home-team"' in page
    assert "Someone Else" not in page
    html_cards = re.findall(r'data-testid="team-member" data-user-id="(\d+)"', page)
    assert html_cards == [str(lan.id), str(binh.id)]  # by name
    text = text_of(response)
    assert "An Thị Lan Sales Perks used 2 Clicks 3 Orders 1 Commissions earned ₫100,000" in text
    assert "Bùi Văn Bình Inactive — Perks used 0 Clicks 0 Orders 0 Commissions earned —" in text
    assert "over the last 30 days" in text


def test_a_manager_without_reports_is_told_so_and_others_see_no_team(client, login_as):
    login_as(Role.MANAGER)
    assert 'data-testid="home-team-empty"' in client.get("/").get_data(as_text=True)

    client.post("/logout")
    login_as(Role.EMPLOYEE)
    assert 'data-testid="home-team"' not in client.get("/").get_data(as_text=True)


def test_the_team_speaks_vietnamese(client, login_as, vietnamese):
    factories.CommissionRuleFactory()
    manager = login_as(Role.MANAGER, locale="vi")
    lan = report_of(manager, "An Thị Lan")
    referred_and_earned(lan, 1_000_000)

    text = text_of(client.get("/"))

    assert f"{vietnamese('Perks used')} 0" in text
    assert f"{vietnamese('Commissions earned')} 100.000 ₫" in text
    assert (
        vietnamese(
            "Your direct reports, over the last %(days)d days: perks used and what their referral "
            "links brought.",
            days=30,
        )
        in text
    )


def test_the_team_costs_the_same_statements_for_two_or_ten_people(client, login_as):
    factories.CommissionRuleFactory()
    manager = login_as(Role.MANAGER)

    def statements_with(people: int) -> int:
        for index in range(people):
            person = report_of(manager, f"Người {people}-{index}")
            used_a_perk(person)
            referred_and_earned(person, 100_000)
        with counting_statements() as statements:
            response = client.get("/")
        assert response.status_code == 200
        return len(statements)

    assert statements_with(2) == statements_with(8)


def test_no_nomination_is_offered_for_a_report_whose_leaving_date_has_come(client, login_as):
    """The leavers' task deactivates them later today; the nomination form already leaves
    them out, so the team card offers no nomination it would refuse."""
    from perks.i18n import company_today
    from perks.recognition.models import Award

    db.session.add(Award(name_vi="Sáng kiến", name_en="Idea", points=10))
    db.session.commit()
    manager = login_as(Role.MANAGER, locale="en")
    staying = report_of(manager, "An Thị Lan")
    leaving = report_of(manager, "Bùi Văn Bình", leaving_date=company_today())

    page = client.get("/").get_data(as_text=True)

    offered = re.findall(r"/awards/nominate\?person=(\d+)", page)
    assert offered == [str(staying.id)]
    assert (
        str(leaving.id)
        not in client.get("/awards/nominate")
        .get_data(as_text=True)
        .split('name="nominee_id"')[1]
        .split("</select>")[0]
    )


def test_no_nomination_is_offered_while_no_award_takes_nominations(client, login_as):
    # each card offered "Nominate for an award", and the form said no award takes any
    from perks.recognition.models import Award

    manager = login_as(Role.MANAGER, locale="en")
    lan = report_of(manager, "An Thị Lan")
    db.session.add(Award(name_vi="Cũ", name_en="Old", points=10, active=False))
    db.session.commit()

    assert "/awards/nominate?person=" not in client.get("/").get_data(as_text=True)

    db.session.add(Award(name_vi="Sáng kiến", name_en="Idea", points=10))
    db.session.commit()

    assert f"/awards/nominate?person={lan.id}" in client.get("/").get_data(as_text=True)
