"""The rules history (issue 15, item 6): every change to a perk's rules, a commission rule or
a gift programme is a new version on the public page, with its dates and what changed, in
the reader's language, without who changed it."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, func, select

from perks import rule_history
from perks.catalog import services as catalog
from perks.catalog.models import LimitPeriod, PerkKind
from perks.catalog.services import PerkData
from perks.commissions import leavers, tax
from perks.commissions import services as commissions
from perks.commissions.models import LeaverPolicy, RuleKind, RuleScope, TierMeasure
from perks.db import utcnow
from perks.errors import ValidationFailed
from perks.extensions import db
from perks.i18n import company_date
from perks.money import Money
from perks.people.models import Role
from perks.recognition import gifts
from perks.recognition import services as occasions
from perks.recognition.gifts import ProgrammeData
from perks.recognition.models import Occasion, OccasionKind
from perks.referrals import returning
from perks.referrals.models import ReturningCustomerSettings
from perks.rule_history import RuleVersion
from perks.shop.models import Order
from tests import factories
from tests.helpers import login, text_of
from tests.unit.commissions.helpers import pay, referred_order


def perk_data(**changes: object) -> PerkData:
    values: dict[str, object] = {"title_vi": "Vé xem phim", "title_en": "Cinema ticket"}
    return PerkData(**(values | changes))  # type: ignore[arg-type]


def page(client, locale: str = "en") -> str:  # type: ignore[no-untyped-def]
    client.post("/language", data={"locale": locale})
    response = client.get("/rules/history")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def percent_rule(rate_bps: int, start: date, product_id: int | None = None) -> commissions.RuleData:
    """A percentage commission rule from ``start``: for ``product_id``, or the default."""
    return commissions.RuleData(
        scope=RuleScope.PRODUCT if product_id is not None else RuleScope.DEFAULT,
        product_id=product_id,
        kind=RuleKind.PERCENT,
        rate_bps=rate_bps,
        effective_from=start,
    )


def versions(subject: str, subject_id: int) -> list[dict[str, object]]:
    return list(
        db.session.scalars(
            select(RuleVersion.terms)
            .where(RuleVersion.subject == subject, RuleVersion.subject_id == subject_id)
            .order_by(RuleVersion.number)
        )
    )


def test_a_perk_change_is_a_new_version_showing_what_changed_and_not_who(client):
    hr = factories.UserFactory(roles={Role.HR}, name="Lê Thị Nhân Sự")
    sales = factories.DepartmentFactory(name="Kinh doanh")
    perk = catalog.create_perk(perk_data(), actor=hr)
    catalog.publish_perk(perk.id, actor=hr)
    changed = perk_data(
        department_ids=frozenset({sales.id}),
        min_tenure_days=90,
        per_person_limit=2,
        limit_period=LimitPeriod.MONTH,
    )
    catalog.update_perk(perk.id, changed, actor=hr)
    catalog.update_perk(perk.id, changed, actor=hr)  # nothing changes: no new version
    assert [v["status"] for v in versions(rule_history.PERK, perk.id)] == [
        "draft",
        "published",
        "published",
    ]
    login(client, factories.UserFactory())
    html = page(client)
    perks_section = html.split('data-subject="perk"')[1].split('data-testid="rules-section"')[0]
    assert perks_section.count('data-testid="rule-version"') == 3
    assert "Cinema ticket" in html
    assert "Status: Draft → Published" in html
    assert "Departments: all → Kinh doanh" in html  # narrowed, not widened
    assert '<dd class="col-sm-8 mb-1">no limit</dd>' in html  # the stock of version 1
    assert ">none<" not in html
    assert "Minimum tenure (days): 0 → 90" in html
    assert "Limit period: ever → per calendar month" in html
    assert "Limit per person: 1 → 2" in html
    assert "in force" in html
    assert "Lê Thị Nhân Sự" not in html
    vi = page(client, "vi")
    assert "Vé xem phim" in vi
    assert "Thâm niên tối thiểu (ngày): 0 → 90" in vi
    assert "Phòng ban: tất cả → Kinh doanh" in vi


def test_a_draft_perk_is_not_shown(client):
    hr = factories.UserFactory(roles={Role.HR})
    catalog.create_perk(perk_data(title_en="Secret plan"), actor=hr)
    login(client, factories.UserFactory())
    html = page(client)
    assert "Secret plan" not in html


def test_a_rule_made_before_versions_were_kept_gets_its_old_terms_as_the_first_version(client):
    finance = factories.UserFactory(roles={Role.FINANCE})
    rule = factories.CommissionRuleFactory(rate_bps=1000)  # no version kept
    commissions.revise_rule(
        rule.id,
        percent_rule(1200, date(2020, 1, 1)),
        actor=finance,
    )
    kept = versions(rule_history.COMMISSION_RULE, rule.id)
    assert [v["rate_bps"] for v in kept] == [1000, 1200]
    first = db.session.scalars(
        select(RuleVersion).where(RuleVersion.subject_id == rule.id).order_by(RuleVersion.number)
    ).first()
    assert first is not None
    assert first.recorded_at.date() == rule.created_at.date()
    login(client, factories.UserFactory())
    assert "Rate: 10% → 12%" in page(client)


def test_a_new_version_of_an_applied_commission_rule_joins_its_history(app):
    finance = factories.UserFactory(roles={Role.FINANCE})
    product = factories.ProductFactory(price_amount=2_000_000)
    rule = commissions.create_rule(percent_rule(500, date(2020, 1, 1), product.id), actor=finance)
    pay(referred_order(product))
    today = company_date(utcnow())
    newer = commissions.revise_rule(
        rule.id,
        commissions.RuleData(
            scope=RuleScope.PRODUCT,
            product_id=product.id,
            kind=RuleKind.FLAT,
            flat_amount=150_000,
            currency="VND",
            effective_from=today,
        ),
        actor=finance,
    )
    commissions.end_rule(newer.id, today + timedelta(days=30), actor=finance)
    kept = versions(rule_history.COMMISSION_RULE, rule.id)
    assert [(v["version"], v["kind"], v["effective_to"]) for v in kept] == [
        (1, "percent", None),
        (2, "flat", None),
        (2, "flat", (today + timedelta(days=30)).isoformat()),
    ]
    assert kept[0]["target"] == {"vi": product.name_vi, "en": product.name_en}
    assert versions(rule_history.COMMISSION_RULE, newer.id) == []


def test_a_gift_programme_change_and_pause_are_versions(client):
    hr = factories.UserFactory(roles={Role.HR})
    occasions.add_vietnamese_calendar(actor=hr)
    tet = db.session.scalars(select(Occasion).where(Occasion.key == "tet")).one()
    perk = factories.PerkFactory(kind=PerkKind.GIFT, per_person_limit=None, title_en="Hamper")
    data = ProgrammeData(
        name_vi="Quà Tết",
        name_en="Tết gift",
        occasion_id=tet.id,
        perk_id=perk.id,
        days_ahead=7,
        message_vi="Chúc mừng năm mới!",
        message_en="Happy new year!",
        unit_cost=Money(800_000, "VND"),
        budget=Money(8_000_000, "VND"),
    )
    programme = gifts.create_programme(data, actor=hr)
    gifts.update_programme(
        programme.id,
        ProgrammeData(**(vars(data) | {"budget": Money(6_000_000, "VND"), "days_ahead": 5})),
        actor=hr,
    )
    gifts.set_programme_active(programme.id, False, actor=hr)
    assert db.session.scalar(select(func.count()).select_from(RuleVersion)) == 3
    login(client, factories.UserFactory())
    html = page(client)
    assert "Tết gift" in html
    assert "Hamper" in html  # the first version in full
    assert "Budget per occasion year: ₫8,000,000 → ₫6,000,000" in html
    assert "Days ahead: 7 → 5" in html
    assert "Active: yes → no" in html
    assert "Ngân sách mỗi năm" in page(client, "vi")


def test_saving_an_older_perk_unchanged_keeps_one_version_dated_when_it_was_made(app):
    hr = factories.UserFactory(roles={Role.HR})
    perk = factories.PerkFactory(  # no version
        title_vi="Vé xem phim", title_en="Cinema ticket", value_vi="", value_en=""
    )
    catalog.update_perk(perk.id, perk_data(per_person_limit=1), actor=hr)
    kept = db.session.scalars(select(RuleVersion).where(RuleVersion.subject_id == perk.id)).all()
    assert [(v.number, v.recorded_at.date()) for v in kept] == [(1, perk.created_at.date())]


def test_a_programme_of_points_keeps_its_points_in_every_version(client):
    hr = factories.UserFactory(roles={Role.HR})
    occasions.add_vietnamese_calendar(actor=hr)
    birthday = db.session.scalars(select(Occasion).where(Occasion.key == "birthday")).one()
    data = ProgrammeData(
        name_vi="Điểm sinh nhật",
        name_en="Birthday points",
        occasion_id=birthday.id,
        perk_id=None,
        points=100,
        days_ahead=0,
        message_vi="Chúc mừng sinh nhật!",
        message_en="Happy birthday!",
        unit_cost=Money(0, "VND"),
        budget=None,
    )
    programme = gifts.create_programme(data, actor=hr)
    gifts.update_programme(programme.id, ProgrammeData(**(vars(data) | {"points": 150})), actor=hr)
    assert [v["points"] for v in versions("gift_programme", programme.id)] == [100, 150]
    login(client, factories.UserFactory())
    assert "Points: 100 → 150" in page(client)


def test_a_commission_rules_version_is_dated_by_its_terms_not_by_when_it_was_written(client):
    """A rule written today to take effect from 23 May read "since today, in force" above
    "Effective from 23 May"."""
    finance = factories.UserFactory(roles={Role.FINANCE})
    commissions.create_rule(percent_rule(500, date(2026, 5, 23)), actor=finance)
    login(client, factories.UserFactory(locale="en"))

    page = text_of(client.get("/rules/history"))

    written = f"written on {company_date(utcnow()):%d/%m/%Y}"
    assert written in page
    assert "Effective from 23 May 2026" in page
    assert f"since {company_date(utcnow()):%d/%m/%Y}, in force" not in page


def test_a_perks_price_in_points_value_and_terms_are_part_of_its_history(client):
    """A reward going from 500 to 2,000 points, or a perk from "30% off, every day" to "10%
    off, weekends only", left no version: its terms did not keep them."""
    hr = factories.UserFactory(roles={Role.HR})
    data = perk_data(points_price=500, value_vi="Giảm 30%", value_en="30% off", terms_en="Daily")
    perk = catalog.create_perk(data, actor=hr)
    catalog.publish_perk(perk.id, actor=hr)
    count = len(versions(rule_history.PERK, perk.id))
    catalog.update_perk(
        perk.id,
        perk_data(points_price=2000, value_vi="Giảm 30%", value_en="30% off", terms_en="Daily"),
        actor=hr,
    )
    catalog.update_perk(
        perk.id,
        perk_data(
            points_price=2000, value_vi="Giảm 10%", value_en="10% off", terms_en="Weekends only"
        ),
        actor=hr,
    )
    assert len(versions(rule_history.PERK, perk.id)) == count + 2
    login(client, factories.UserFactory())
    shown = text_of_history(client, "en")
    assert "Price in points: 500 → 2,000" in shown
    assert "Value: 30% off → 10% off" in shown
    assert "Terms: Daily → Weekends only" in shown
    assert "Giảm 30% → Giảm 10%" in text_of_history(client, "vi")


def test_terms_kept_only_since_the_latest_version_make_no_version_of_their_own(app):
    """A version recorded before a perk's value was kept: saving the perk unchanged adds no
    version, and the history shows no change from nothing to its value."""
    hr = factories.UserFactory(roles={Role.HR})
    perk = catalog.create_perk(perk_data(value_en="30% off"), actor=hr)
    catalog.publish_perk(perk.id, actor=hr)
    [*_, latest] = db.session.scalars(
        select(RuleVersion).where(RuleVersion.subject_id == perk.id).order_by(RuleVersion.number)
    ).all()
    latest.terms = {
        k: v for k, v in latest.terms.items() if k not in {"value", "terms", "points_price"}
    }
    db.session.commit()
    count = len(versions(rule_history.PERK, perk.id))
    catalog.update_perk(perk.id, perk_data(value_en="30% off"), actor=hr)
    assert len(versions(rule_history.PERK, perk.id)) == count
    catalog.update_perk(perk.id, perk_data(value_en="30% off", per_person_limit=3), actor=hr)
    [*_, newest] = rule_history.histories(rule_history.PERK)[perk.id]
    assert set(newest.changes) == {"per_person_limit"}


def text_of_history(client, locale: str) -> str:  # type: ignore[no-untyped-def]
    client.post("/language", data={"locale": locale})
    return text_of(client.get("/rules/history"))


def paid_days_ago(order: Order, days: int, monkeypatch: pytest.MonkeyPatch) -> date:
    """Pay ``order`` as if ``days`` ago; the company day it was paid on."""
    from perks.shop import orders as shop_orders

    moment = utcnow() - timedelta(days=days)
    with monkeypatch.context() as patched:
        patched.setattr(shop_orders, "utcnow", lambda: moment)
        pay(order)
    return company_date(moment)


def test_a_new_version_cannot_start_on_a_past_day_orders_earned_by_the_old_one(app, monkeypatch):
    """Backdated ten days, a version at 20% showed in the history as applying to an order paid
    three days ago, whose commission was 10% by version 1."""
    finance = factories.UserFactory(roles={Role.FINANCE})
    product = factories.ProductFactory(price_amount=2_000_000)

    def at(rate: int, start: date) -> commissions.RuleData:
        return percent_rule(rate, start, product.id)

    rule = commissions.create_rule(at(1000, date(2020, 1, 1)), actor=finance)
    paid_on = paid_days_ago(referred_order(product), 3, monkeypatch)
    for start in (paid_on - timedelta(days=10), paid_on):
        with pytest.raises(ValidationFailed, match="tính hoa hồng theo phiên bản này"):
            commissions.revise_rule(rule.id, at(2000, start), actor=finance)
    # an order paid today too: backdating over it is refused as well, from today is not
    today_order = referred_order(product)
    pay(today_order)
    with pytest.raises(ValidationFailed, match="tính hoa hồng theo phiên bản này"):
        commissions.revise_rule(rule.id, at(2000, paid_on + timedelta(days=1)), actor=finance)
    today = company_date(utcnow())
    new = commissions.revise_rule(rule.id, at(2000, today), actor=finance)
    assert (new.version, new.effective_from) == (2, today)


def test_a_new_rule_cannot_take_over_past_days_orders_were_paid_on(client, monkeypatch):
    """A product rule at 20% created to start ten days back showed in the history as in force
    on the day an order of that product was paid, whose commission was 10% by the default."""
    finance = factories.UserFactory(roles={Role.FINANCE}, locale="en")
    product = factories.ProductFactory(price_amount=2_000_000)
    commissions.create_rule(percent_rule(1000, date(2020, 1, 1)), actor=finance)
    paid_on = paid_days_ago(referred_order(product), 3, monkeypatch)
    today = company_date(utcnow())

    def product_rule(start: date) -> commissions.RuleData:
        return percent_rule(2000, start, product.id)

    for start in (paid_on - timedelta(days=7), paid_on):
        with pytest.raises(ValidationFailed, match="quy tắc mới sớm nhất"):
            commissions.create_rule(product_rule(start), actor=finance)
    login(client, finance)
    refused = client.post(
        "/finance/commission-rules/new",
        data={
            "scope": "product",
            "audience": "everyone",
            "employment_type": "",
            "department_id": 0,
            "group_id": 0,
            "product_id": product.id,
            "category_id": 0,
            "kind": "percent",
            "rate": "20",
            "currency": "VND",
            "effective_from": paid_on.isoformat(),
            "submit": "1",
        },
    )
    assert refused.status_code == 400
    assert "earned by the rules then in force" in text_of(refused)
    rule = commissions.create_rule(product_rule(paid_on + timedelta(days=1)), actor=finance)
    assert rule.effective_from == paid_on + timedelta(days=1)
    pay(referred_order(product))  # paid today: only from today on now
    with pytest.raises(ValidationFailed):
        commissions.create_rule(product_rule(today - timedelta(days=1)), actor=finance)
    assert commissions.create_rule(product_rule(today), actor=finance).effective_from == today


def test_a_rule_not_yet_applied_cannot_be_moved_back_over_past_days(app, monkeypatch):
    """A product rule at 20% created to start tomorrow (so applied to nothing yet) was
    changed in place to start ten days back: the guard of a new rule was skipped, and the
    history showed it in force on the day an order of that product earned 10% by the
    default."""
    finance = factories.UserFactory(roles={Role.FINANCE})
    product = factories.ProductFactory(price_amount=2_000_000)
    commissions.create_rule(percent_rule(1000, date(2020, 1, 1)), actor=finance)
    paid_on = paid_days_ago(referred_order(product), 3, monkeypatch)
    today = company_date(utcnow())
    rule = commissions.create_rule(
        percent_rule(2000, today + timedelta(days=1), product.id), actor=finance
    )
    for start in (paid_on - timedelta(days=7), paid_on):
        with pytest.raises(ValidationFailed, match="quy tắc mới sớm nhất"):
            commissions.revise_rule(rule.id, percent_rule(2000, start, product.id), actor=finance)
    db.session.refresh(rule)
    assert rule.effective_from == today + timedelta(days=1)
    moved = commissions.revise_rule(
        rule.id, percent_rule(2000, paid_on + timedelta(days=1), product.id), actor=finance
    )
    assert (moved.id, moved.effective_from) == (rule.id, paid_on + timedelta(days=1))


def programme_for(occasion: Occasion, hr) -> int:  # type: ignore[no-untyped-def]
    data = ProgrammeData(
        name_vi=f"Quà {occasion.name_vi}",
        name_en=f"{occasion.name_en} gift",
        occasion_id=occasion.id,
        perk_id=None,
        points=100,
        days_ahead=0,
        message_vi="Chúc mừng!",
        message_en="Congratulations!",
        unit_cost=Money(0, "VND"),
        budget=None,
    )
    return gifts.create_programme(data, actor=hr).id


def test_an_occasion_moved_or_taken_off_the_calendar_is_a_version_of_its_programmes(client):
    """Moving the company picnic from 15/6 to 20/6, or taking it off the calendar, changed
    who gets its gift and when, and left no version: the programme's terms named only the
    occasion."""
    hr = factories.UserFactory(roles={Role.HR})
    picnic = occasions.create_occasion(
        occasions.OccasionData("Dã ngoại", "Company picnic", OccasionKind.SOLAR, 6, 15), actor=hr
    )
    programme_id = programme_for(picnic, hr)
    occasions.add_vietnamese_calendar(actor=hr)
    tet = db.session.scalars(select(Occasion).where(Occasion.key == "tet")).one()
    other_id = programme_for(tet, hr)

    occasions.update_occasion(
        picnic.id,
        occasions.OccasionData("Dã ngoại", "Company picnic", OccasionKind.SOLAR, 6, 20),
        actor=hr,
    )
    occasions.set_active(picnic.id, False, actor=hr)

    kept = versions(rule_history.GIFT_PROGRAMME, programme_id)
    assert [(v["when"]["en"], v["occasion_active"]) for v in kept] == [  # type: ignore[index]
        ("15/6 every year", True),
        ("20/6 every year", True),
        ("20/6 every year", False),
    ]
    assert len(versions(rule_history.GIFT_PROGRAMME, other_id)) == 1  # Tết did not move
    login(client, factories.UserFactory())
    shown = text_of_history(client, "en")
    assert "When: 15/6 every year → 20/6 every year" in shown
    assert "Occasion on the calendar: yes → no" in shown
    assert "Dịp có trên lịch: có → không" in text_of_history(client, "vi")


def test_the_milestones_and_the_founding_day_are_versions_of_the_programmes_they_time(client):
    """New anniversary milestones change who gets a work-anniversary gift; the founding day,
    when the founding-day gift comes. Neither left a version."""
    hr = factories.UserFactory(roles={Role.HR})
    occasions.add_vietnamese_calendar(actor=hr)
    by_key = {o.key: o for o in db.session.scalars(select(Occasion))}
    anniversary = programme_for(by_key["work_anniversary"], hr)
    founding = programme_for(by_key["founding_day"], hr)
    birthday = programme_for(by_key["birthday"], hr)
    today = company_date(utcnow())

    occasions.update_settings(None, (5, 10), today=today, actor=hr)
    occasions.update_settings(date(2015, 6, 1), (5, 10), today=today, actor=hr)

    assert [v["when"]["en"] for v in versions(rule_history.GIFT_PROGRAMME, anniversary)] == [  # type: ignore[index]
        "Each person's hire date, after 1, 3, 5, 10 years",
        "Each person's hire date, after 5, 10 years",
    ]
    assert [v["when"]["vi"] for v in versions(rule_history.GIFT_PROGRAMME, founding)] == [  # type: ignore[index]
        "Ngày thành lập công ty, chưa đặt",
        "Ngày thành lập công ty, 1 tháng 6, 2015",
    ]
    assert len(versions(rule_history.GIFT_PROGRAMME, birthday)) == 1
    login(client, factories.UserFactory())
    assert "after 1, 3, 5, 10 years → Each person's hire date, after 5, 10 years" in (
        text_of_history(client, "en")
    )


def test_finances_policies_and_the_withholding_rates_have_a_public_history(client):
    """The returning-customer window and rate, the leaver policy and the withholding rates
    decide what people earn and are paid; changing them left no public version."""
    finance = factories.UserFactory(roles={Role.FINANCE})
    returning.save_policy(30, None, actor=finance)
    returning.save_policy(60, 1500, actor=finance)
    leavers.set_policy(LeaverPolicy.FORFEIT, actor=finance)
    leavers.set_policy(LeaverPolicy.VEST, actor=finance)
    tax.add_circular_111_rates(finance)
    tax.add_withholding_rate(
        date(2027, 1, 1),
        resident=True,
        rate_bps=1500,
        threshold=Money(3_000_000, "VND"),
        note="",
        actor=finance,
    )
    login(client, factories.UserFactory())

    shown = text_of_history(client, "en")

    assert "Returning-customer window (days): 30 → 60" in shown
    assert "Returning customers' rate: the commission rule's own terms → 15%" in shown
    assert "Leaver policy: Forfeit: voided, with the reason “left the company” → Vest:" in shown
    residents = shown.split("Tax withheld from payouts: residents (VND)")[1]
    assert "Rate: 10% → 15%" in residents
    assert "On payments of at least: ₫2,000,000 → ₫3,000,000" in residents
    assert "Effective from: 1 Oct 2013 → 1 Jan 2027" in residents
    assert "Tax withheld from payouts: non-residents (VND)" in shown
    vietnamese = text_of_history(client, "vi")
    assert "Tỷ lệ cho khách quay lại: theo điều khoản của quy tắc hoa hồng → 15%" in vietnamese
    assert "Thuế khấu trừ khi chi trả: cá nhân cư trú (VND)" in vietnamese


def test_a_policy_set_before_versions_were_kept_is_its_first_version(app):
    """A window finance set before the rules history kept policies: its next change shows
    what it was, dated when it was saved."""
    finance = factories.UserFactory(roles={Role.FINANCE})
    returning.save_policy(30, None, actor=finance)
    leavers.set_policy(LeaverPolicy.FORFEIT, actor=finance)
    db.session.execute(delete(RuleVersion))
    saved = db.session.get(ReturningCustomerSettings, 1)
    saved.updated_at = utcnow() - timedelta(days=40)  # type: ignore[union-attr]
    db.session.commit()

    returning.save_policy(45, None, actor=finance)
    leavers.set_policy(LeaverPolicy.FORFEIT, actor=finance)  # unchanged: its first version only

    kept = rule_history.histories(rule_history.RETURNING_CUSTOMERS)[rule_history.POLICY_ID]
    now = utcnow().replace(tzinfo=None)
    assert [(v.terms["window_days"], (now - v.since.replace(tzinfo=None)).days) for v in kept] == [
        (30, 40),
        (45, 0),
    ]
    assert kept[1].changes == {"window_days": (30, 45)}
    assert [v.terms for v in rule_history.histories(rule_history.LEAVERS)[1]] == [
        {"policy": "forfeit"}
    ]


def test_a_rules_product_reads_in_the_readers_language_and_is_no_change_across_languages(client):
    """The product was kept as it read to whoever saved the rule: saved once in each language,
    the history showed a change of product that never happened."""
    finance = factories.UserFactory(roles={Role.FINANCE})
    product = factories.ProductFactory(name_vi="Tour Hạ Long", name_en="Ha Long tour")
    data = percent_rule(500, company_date(utcnow()), product.id)
    rule = commissions.create_rule(data, actor=finance)
    # its first version as it was kept before: the product's name in the saver's language
    [first] = db.session.scalars(select(RuleVersion).where(RuleVersion.subject_id == rule.id))
    first.terms = first.terms | {"target": "Tour Hạ Long"}
    db.session.commit()

    commissions.revise_rule(rule.id, data, actor=finance)  # unchanged: no version
    assert len(versions(rule_history.COMMISSION_RULE, rule.id)) == 1
    commissions.revise_rule(
        rule.id, commissions.RuleData(**(vars(data) | {"rate_bps": 700})), actor=finance
    )
    [*_, newest] = rule_history.histories(rule_history.COMMISSION_RULE)[rule.id]
    assert set(newest.changes) == {"rate_bps"}
    assert newest.terms["target"] == {"vi": "Tour Hạ Long", "en": "Ha Long tour"}
    login(client, factories.UserFactory())
    assert "A product: Ha Long tour" in text_of_history(client, "en")
    vietnamese = text_of_history(client, "vi")
    assert "Tour Hạ Long" in vietnamese
    assert "Ha Long tour" not in vietnamese


def test_a_commission_rules_history_numbers_its_versions_as_its_commissions_do(client):
    """A commission's "v1" named the history's "Version 2" when the rule had been edited
    before its first order: the history numbered every change."""
    finance = factories.UserFactory(roles={Role.FINANCE})
    product = factories.ProductFactory()
    today = company_date(utcnow())

    def at(rate: int) -> commissions.RuleData:
        return percent_rule(rate, today, product.id)

    rule = commissions.create_rule(at(500), actor=finance)
    commissions.revise_rule(rule.id, at(600), actor=finance)  # before any order: in place
    order = referred_order(product)
    pay(order)
    second = commissions.revise_rule(
        rule.id,
        commissions.RuleData(**(vars(at(700)) | {"effective_from": today + timedelta(days=1)})),
        actor=finance,
    )
    commissions.end_rule(second.id, today + timedelta(days=30), actor=finance)
    login(client, factories.UserFactory())

    html = page(client)
    section = html.split('data-subject="commission_rule"')[1].split('data-testid="rules-section"')[
        0
    ]
    headings = re.findall(
        r'data-testid="rule-version"[^>]*>\s*<div class="fw-semibold">\s*(.*?)\s*<span', section
    )
    assert headings == ["Version 2, amended", "Version 2", "Version 1, amended", "Version 1"]
    # version 1 in full, without the terms a percentage rule without tiers does not use
    first = text_of_html(section.split('data-number="1"')[-1])
    assert "Cap no cap" in first
    assert "Flat amount" not in first
    assert "Tiers" not in first
    assert "A commission names the version of the rule it earned by" in html
    assert "Phiên bản 1, đã điều chỉnh" in page(client, "vi")


def text_of_html(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def tiered_rule(tiers: tuple[commissions.TierData, ...], **terms: object) -> commissions.RuleData:
    values: dict[str, object] = {
        "scope": RuleScope.DEFAULT,
        "kind": RuleKind.PERCENT,
        "rate_bps": 300,
        "effective_from": company_date(utcnow()),
        "tier_measure": TierMeasure.AMOUNT,
        "currency": "USD",
        "tiers": tiers,
    }
    return commissions.RuleData(**(values | terms))  # type: ignore[arg-type]


def commission_section(client, locale: str) -> str:  # type: ignore[no-untyped-def]
    html = page(client, locale).split('data-subject="commission_rule"')[1]
    return text_of_html(html.split('data-testid="rules-section"')[0])


def test_a_commission_rules_tiers_read_as_its_rules_page_writes_them(client):
    """A tier from $50,000.00 sold read "From: 5,000,000; Rate: 5%; Flat amount: none": its
    threshold in cents, as a number a hundred times too big, without its currency."""
    finance = factories.UserFactory(roles={Role.FINANCE})
    from_50k = commissions.TierData(5_000_000, rate_bps=500)
    rule = commissions.create_rule(tiered_rule((from_50k,)), actor=finance)
    commissions.revise_rule(
        rule.id,
        tiered_rule((commissions.TierData(5_000_000, rate_bps=600),)),
        actor=finance,
    )
    counted = commissions.create_rule(
        tiered_rule(
            (commissions.TierData(10, flat_amount=50_000),),
            scope=RuleScope.PRODUCT,
            product_id=factories.ProductFactory(name_en="Ha Long tour").id,
            kind=RuleKind.FLAT,
            rate_bps=None,
            flat_amount=30_000,
            currency="VND",
            tier_measure=TierMeasure.COUNT,
        ),
        actor=finance,
    )
    assert counted.tiers
    login(client, factories.UserFactory())

    english = commission_section(client, "en")
    assert (
        "Tiers: from $50,000.00 sold in the month: 5% → from $50,000.00 sold in the month: 6%"
        in english
    )
    assert "Tiers from $50,000.00 sold in the month: 5%" in english  # version 1 in full
    assert "Tiers from 10 lines sold in the month: ₫50,000 per unit" in english
    assert "5,000,000" not in english
    assert "Flat amount: none" not in english
    vietnamese = commission_section(client, "vi")
    assert "từ 50.000,00 US$ bán được trong tháng: 6%" in vietnamese
    assert "từ 10 dòng bán được trong tháng: 50.000 ₫ mỗi đơn vị" in vietnamese


def test_a_commission_rule_given_another_currency_shows_its_old_amounts_in_the_old_one(client):
    """50.000 ₫ per unit, changed to $5.00, read "$500.00 → $5.00": the old amount in the
    new currency."""
    finance = factories.UserFactory(roles={Role.FINANCE})
    flat = commissions.RuleData(
        scope=RuleScope.DEFAULT,
        kind=RuleKind.FLAT,
        flat_amount=50_000,
        cap_amount=100_000,
        currency="VND",
        effective_from=company_date(utcnow()),
    )
    rule = commissions.create_rule(flat, actor=finance)
    dollars = {"flat_amount": 500, "cap_amount": 1_000, "currency": "USD"}
    commissions.revise_rule(rule.id, commissions.RuleData(**(vars(flat) | dollars)), actor=finance)
    login(client, factories.UserFactory())

    english = commission_section(client, "en")
    assert "Flat amount: ₫50,000 → $5.00" in english
    assert "Cap: ₫100,000 → $10.00" in english
    assert "$500.00" not in english
    assert "Số tiền cố định: 50.000 ₫ → 5,00 US$" in commission_section(client, "vi")
