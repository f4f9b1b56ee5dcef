"""Returning customers against the last-click rule: inside the window the customer stays with
the person they bought through; outside it (or with the window off) the last click wins."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from perks.audit import AuditEvent
from perks.db import utcnow
from perks.extensions import db
from perks.people.models import Role
from perks.referrals import returning
from perks.referrals.attribution import AttributionReason, attribute_order, dump_referral_cookie
from perks.shop.models import Order
from tests import factories
from tests.helpers import login, text_of
from tests.unit.commissions.helpers import commissions_of, pay, redeem, referred_order

EMAIL = "khach.quen@example.com"


def bought_through(person, days_ago: int):  # type: ignore[no-untyped-def]
    """A paid order of ``EMAIL`` through ``person``'s link, ``days_ago`` days ago."""
    order = referred_order(employee=person, customer_email=EMAIL)
    pay(order)
    db.session.execute(
        update(Order)
        .where(Order.id == order.id)
        .values(paid_at=utcnow() - timedelta(days=days_ago))
    )
    db.session.commit()
    return order


def click(link) -> str:  # type: ignore[no-untyped-def]
    return dump_referral_cookie(link.id, None, utcnow())


def set_window(days: int, rate_bps: int | None = None) -> None:
    returning.save_policy(days, rate_bps, actor=factories.UserFactory(roles={Role.FINANCE}))


def test_with_the_window_off_the_last_click_wins(app):
    first, second = factories.UserFactory(), factories.UserFactory()
    bought_through(first, days_ago=2)
    theirs = factories.ReferralLinkFactory(user=second)
    result = attribute_order(click(theirs), None, EMAIL, None, utcnow())
    assert result.link is not None
    assert result.link.id == theirs.id
    assert result.reason is AttributionReason.COOKIE


def test_inside_the_window_a_click_by_someone_else_does_not_steal_the_customer(app):
    set_window(30)
    first, second = factories.UserFactory(), factories.UserFactory()
    earlier = bought_through(first, days_ago=29)
    theirs = factories.ReferralLinkFactory(user=second)
    for cookie, code in [(click(theirs), None), (None, theirs.code), (None, None)]:
        result = attribute_order(cookie, code, "  Khach.Quen@Example.com ", None, utcnow())
        assert result.link is not None
        assert result.link.id == earlier.referral_link_id
        assert result.reason is AttributionReason.RETURNING_CUSTOMER


def test_outside_the_window_the_last_click_wins_again(app):
    set_window(30)
    first, second = factories.UserFactory(), factories.UserFactory()
    bought_through(first, days_ago=31)
    theirs = factories.ReferralLinkFactory(user=second)
    result = attribute_order(click(theirs), None, EMAIL, None, utcnow())
    assert result.link is not None
    assert result.link.id == theirs.id
    assert result.reason is AttributionReason.COOKIE
    # another customer is nobody's returning customer
    assert attribute_order(None, None, "other@example.com", None, utcnow()).link is None


def test_a_paused_link_does_not_keep_the_customer(app):
    set_window(30)
    first, second = factories.UserFactory(), factories.UserFactory()
    earlier = bought_through(first, days_ago=3)
    earlier.referral_link.paused = True
    db.session.commit()
    theirs = factories.ReferralLinkFactory(user=second)
    result = attribute_order(click(theirs), None, EMAIL, None, utcnow())
    assert result.link is not None
    assert result.link.id == theirs.id


def test_a_returning_customers_order_earns_finances_rate_or_the_rules(app):
    factories.CommissionRuleFactory(rate_bps=1000)
    person = factories.UserFactory()
    set_window(60, rate_bps=200)
    again = referred_order(
        employee=person, customer_email=EMAIL, attribution_reason="returning_customer"
    )
    pay(again)
    [commission] = commissions_of(again)
    assert commission.returning_customer
    assert commission.rule_id is None
    assert (commission.rate_bps, commission.amount) == (200, 48_000)
    set_window(60, rate_bps=None)
    by_rule = referred_order(
        employee=person, customer_email=EMAIL, attribution_reason="returning_customer"
    )
    pay(by_rule)
    [commission] = commissions_of(by_rule)
    assert commission.returning_customer
    assert (commission.rate_bps, commission.amount) == (1000, 240_000)


def test_the_report_lines_say_which_commission_was_at_the_returning_customer_rate(client):
    factories.CommissionRuleFactory(rate_bps=1000)
    person = factories.UserFactory(name="Trần Thị Quen")
    set_window(60, rate_bps=200)
    for reason in ("returning_customer", "last_click"):
        order = referred_order(employee=person, customer_email=EMAIL, attribution_reason=reason)
        pay(order)
        redeem(order)
    login(client, factories.UserFactory(roles={Role.FINANCE}, locale="en"))
    client.post("/language", data={"locale": "en"})
    html = client.get("/finance/reports/lines").get_data(as_text=True)
    rates = re.findall(r'data-label="Rate">(.*?)</td>', html, re.S)
    assert sorted(re.sub(r"<[^>]+>|\s", "", rate) for rate in rates) == [
        "10%",
        "2%Returningcustomer",
    ]


def test_finance_sets_the_window_on_its_page_audited_and_everyone_reads_it(client):
    finance = factories.UserFactory(roles={Role.FINANCE})
    login(client, finance)
    page = client.get("/finance/returning-customers")
    assert page.status_code == 200
    assert 'value="0"' in page.get_data(as_text=True)
    saved = client.post("/finance/returning-customers", data={"window_days": "30", "rate": "2,5"})
    assert saved.status_code == 302
    assert returning.current_policy() == returning.ReturningPolicy(30, 250)
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "referrals.returning_customers_changed")
    )
    assert event is not None
    for bad in ({"window_days": "-1", "rate": ""}, {"window_days": "9999"}, {"window_days": "x"}):
        assert client.post("/finance/returning-customers", data=bad).status_code == 400
    assert (
        client.post(
            "/finance/returning-customers", data={"window_days": "5", "rate": "200"}
        ).status_code
        == 400
    )
    assert returning.current_policy() == returning.ReturningPolicy(30, 250)
    rules_page = text_of(client.get("/earnings/rules"))
    assert "stays yours for 30 days after their latest purchase through you" in rules_page
    assert "Their orders earn 2.5% (the returning-customer rate)" in rules_page
    client.post("/logout")
    login(client, factories.UserFactory())
    assert client.get("/finance/returning-customers").status_code == 403


def test_someone_who_has_left_does_not_keep_the_customer(app):
    """Their leaving date has come, but the daily task has not deactivated them yet (or
    cannot: the last administrator stays active). Their order would earn nothing ("left the
    company"), and the colleague whose link the customer clicked lost the sale to them."""
    from perks.i18n import company_today

    set_window(30)
    first, second = factories.UserFactory(), factories.UserFactory()
    bought_through(first, days_ago=3)
    first.leaving_date = company_today()
    db.session.commit()
    theirs = factories.ReferralLinkFactory(user=second)
    result = attribute_order(click(theirs), None, EMAIL, None, utcnow())
    assert result.link is not None
    assert result.link.id == theirs.id
    assert result.reason is AttributionReason.COOKIE
