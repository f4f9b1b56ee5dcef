"""Commission pages: my earnings (only mine), finance's lists, adjustments and rules; the
``verify-ledger`` and ``tick`` commands."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from perks.audit import AuditEvent
from perks.commissions import lifecycle
from perks.commissions.models import (
    Commission,
    CommissionRule,
    CommissionState,
    EntryKind,
    LedgerEntry,
    RuleScope,
)
from perks.db import utcnow
from perks.extensions import db
from perks.i18n import company_date
from perks.money import Money
from perks.people.models import Role
from perks.shop import orders
from perks.shop.models import DisputeStatus
from tests import factories
from tests.helpers import counting_statements, is_postgres, login, text_of
from tests.racing import all_at_once
from tests.submissions import rule_form
from tests.unit.commissions.helpers import (
    Payroll,
    commissions_of,
    dispute,
    pay,
    redeem,
    referred_order,
    refund_to,
    tick,
)

S = CommissionState


@pytest.fixture
def rule(app) -> CommissionRule:  # type: ignore[no-untyped-def]
    return factories.CommissionRuleFactory(rate_bps=1000)


# --- my earnings -------------------------------------------------------------------------------


def test_an_employee_sees_only_their_own_commissions(client, rule):
    me = factories.UserFactory()
    colleague = factories.UserFactory()
    mine = referred_order(employee=me, customer_name="Lê Thị Hoa", customer_email="hoa@ex.com")
    theirs = referred_order(employee=colleague)
    for order in (mine, theirs):
        pay(order)
    login(client, me)
    page = client.get("/earnings")
    assert page.status_code == 200
    text = text_of(page)
    assert mine.number in text
    assert theirs.number not in text
    assert "Hoa" in text  # the customer's first name, nothing more
    assert "Lê Thị Hoa" not in text
    assert "hoa@ex.com" not in text
    assert len(re.findall(r'data-testid="commission"', page.get_data(as_text=True))) == 1


def test_earnings_show_totals_by_state_and_why(client, rule):
    me = factories.UserFactory()
    earned = referred_order(employee=me)
    refunded = referred_order(employee=me)
    for order in (earned, refunded):
        pay(order)
    redeem(earned)
    refund_to(refunded, refunded.total_amount)
    # the page dates the refund in company time: from 17:00 UTC on a month's last day it is
    # already the next month there
    refunded_on = company_date(utcnow())
    login(client, me)
    page = client.get("/earnings")
    html = page.get_data(as_text=True)
    total = re.search(r'data-testid="total-earned">(.*?)</div>\s*</div>', html, re.S)
    assert total is not None
    assert "₫240,000" in total.group(1)
    text = text_of(page)
    month = refunded_on.strftime("%b")  # "Voided: order refunded on <date>."
    assert re.search(rf"Voided: order refunded on \d+ {month} \d{{4}}\.", text)
    assert "payable from" in text
    assert 'data-testid="earnings-chart"' in html
    assert 'data-testid="earnings-chart-phone"' in html
    # the axis says "₫100K", short; the bars' tooltips keep the exact amount
    assert re.search(r">₫\d+K</text>", html)
    assert "Earned: ₫240,000</title>" in html


def test_the_paid_card_says_what_was_paid_and_what_was_taken_back_since(client, rule):
    """Paid 240,000 ₫ and then refunded in full, a commission made the "Paid" card read ₫0
    beside a balance of -₫240,000: it summed what commissions are worth now."""
    from perks.finance import payouts
    from perks.i18n import company_today
    from tests.unit.finance.helpers import finance_person, make_payable

    me = factories.UserFactory()
    order = referred_order(employee=me)
    pay(order)
    redeem(order)
    make_payable()
    finance = finance_person()
    batch = payouts.draft_batch(company_today(), actor=finance)
    payouts.approve_batch(batch.id, actor=finance_person())
    payouts.mark_batch_paid(batch.id, "PAYROLL-1", actor=finance)
    db.session.expire_all()
    refund_to(db.session.get(type(order), order.id), order.total_amount)
    login(client, me)

    html = client.get("/earnings").get_data(as_text=True)

    paid = re.search(r'data-testid="total-paid">(.*?)</div>\s*</div>', html, re.S)
    assert paid is not None
    assert "₫240,000" in paid.group(1)
    assert "₫240,000 taken back since" in re.sub(r"<[^>]+>", " ", paid.group(1))
    assert "-₫240,000" in html  # the balance: what comes off the next payout


def test_earnings_name_the_product_in_the_readers_language(client, rule):
    me = factories.UserFactory(locale="en")
    product = factories.ProductFactory(name_vi="Tour Hạ Long 2 ngày", name_en="Ha Long 2-day tour")
    order = referred_order(product, employee=me)  # the customer bought in Vietnamese
    order.lines[0].product_name = "Tour Hạ Long 2 ngày"
    db.session.commit()
    pay(order)
    login(client, me)
    text = text_of(client.get("/earnings"))
    assert "Ha Long 2-day tour" in text
    assert "Tour Hạ Long 2 ngày" not in text


def test_a_commission_on_hold_has_its_own_total(client, rule):
    me = factories.UserFactory()
    disputed = referred_order(employee=me)
    pay(disputed)
    redeem(disputed)
    login(client, me)
    assert 'data-testid="total-on_hold"' not in client.get("/earnings").get_data(as_text=True)

    dispute(disputed, DisputeStatus.OPEN)
    html = client.get("/earnings").get_data(as_text=True)
    total = re.search(r'data-testid="total-on_hold">(.*?)</div>\s*</div>', html, re.S)
    assert total is not None
    assert "₫240,000" in total.group(1)
    earned = re.search(r'data-testid="total-earned">(.*?)</div>\s*</div>', html, re.S)
    assert earned is not None
    assert "₫0" in earned.group(1)


def test_an_employee_sees_adjustments_with_their_reasons(client):
    finance = factories.UserFactory(roles={Role.FINANCE})
    me = factories.UserFactory()
    login(client, finance)
    response = client.post(
        "/finance/commissions/adjustments",
        data={"user_id": me.id, "currency": "VND", "amount": "-50.000", "reason": "Double count"},
    )
    assert response.status_code == 302
    client.post("/logout")
    login(client, me)
    text = text_of(client.get("/earnings"))
    assert "Double count" in text
    assert "-₫50,000" in text


def test_the_earnings_page_costs_the_same_number_of_queries_for_3_or_30_commissions(client, rule):
    me = factories.UserFactory()
    login(client, me)

    def count_for(orders: int) -> int:
        for _ in range(orders):
            order = referred_order(employee=me)
            pay(order)
            redeem(order)
        with counting_statements() as statements:
            assert client.get("/earnings").status_code == 200
        return len(statements)

    few = count_for(3)
    many = count_for(27)
    assert few == many


def test_a_persons_figures_on_the_earnings_page_are_read_in_one_statement(client, rule):
    """The earnings page is opened daily (PERFORMANCE.md P7): its totals, balance, chart,
    payouts, adjustments and the tax withheld cost one round trip, not seven."""
    from perks.commissions import ledger, queries
    from perks.i18n import company_today
    from tests.unit.finance.helpers import finance_person

    me = factories.UserFactory()
    for _ in range(3):
        order = referred_order(employee=me)
        pay(order)
        redeem(order)
    ledger.record_adjustment(me.id, Money(-5_000, "VND"), "Double count", actor=finance_person())
    db.session.commit()
    me_id, today = me.id, company_today()

    with counting_statements() as statements:
        mine = queries.my_earnings(me_id, today, "VND")

    assert len(statements) == 1
    assert mine.mine.count == 3
    assert [a.reason for a in mine.adjustments] == ["Double count"]
    assert sum(mine.monthly.earned) == sum(b.amount for b in mine.balances) + 5_000


def test_the_commission_lists_cost_the_same_for_3_or_30_paid_commissions_partly_refunded(
    client, rule
):
    """Each paid commission partly refunded since its payout asked the database, in its
    explanation, what was taken back after it was paid: one statement a row, on the
    earnings page and on finance's list."""
    from perks.finance import payouts
    from perks.i18n import company_today
    from tests.unit.finance.helpers import finance_person, make_payable

    me = factories.UserFactory()
    finance = finance_person()
    reader = client.application.test_client()
    login(client, me)
    login(reader, finance)

    def counts_for(orders: int) -> list[int]:
        sold = []
        for _ in range(orders):
            order = referred_order(employee=me)
            pay(order)
            redeem(order)
            sold.append(order)
        make_payable()
        batch = payouts.draft_batch(company_today(), actor=finance)
        payouts.approve_batch(batch.id, actor=finance_person())
        payouts.mark_batch_paid(batch.id, f"PAYROLL-{orders}", actor=finance)
        db.session.expire_all()
        for order in sold:
            refund_to(db.session.get(type(order), order.id), order.total_amount // 2)
        counts = []
        for browser, url in ((client, "/earnings"), (reader, "/finance/commissions")):
            with counting_statements() as statements:
                html = browser.get(url).get_data(as_text=True)
            assert "taken back after the order was refunded" in html
            counts.append(len(statements))
        return counts

    assert counts_for(3) == counts_for(27)


def test_a_refund_between_the_draft_and_the_payment_is_explained_as_taken_back_later(client, rule):
    """The batch pays what it held when it was drafted: a part refunded after the draft and
    before the payment was not netted in it, so it comes off the next payout, as the
    explanation and the "taken back since paid" total must say (and the ledger shows)."""
    from perks.commissions import ledger
    from perks.finance import payouts
    from perks.i18n import company_today
    from tests.unit.finance.helpers import finance_person, make_payable

    me = factories.UserFactory(locale="vi")
    finance = finance_person()
    order = referred_order(employee=me)
    pay(order)
    redeem(order)
    make_payable()
    batch = payouts.draft_batch(company_today(), actor=finance)
    payouts.approve_batch(batch.id, actor=finance_person())
    refund_to(order, order.total_amount // 2)  # after the draft, before the payment
    payouts.mark_batch_paid(batch.id, "PAYROLL-1", actor=finance)
    db.session.expire_all()
    [commission] = commissions_of(order)
    assert commission.state is S.PAID
    taken = commission.original_amount - commission.amount
    assert taken > 0
    # the ledger: the whole commission was paid, the reversal still counts against me
    assert ledger.balance(me.id, commission.currency) == Money(-taken, commission.currency)

    login(client, me)
    page = client.get("/earnings").get_data(as_text=True)
    why = re.search(r'data-testid="why">([^<]*)<', page)
    assert why is not None
    amount = Money(taken, commission.currency)
    from flask_babel import force_locale

    from perks.money import format_money

    with force_locale("vi"):
        shown = format_money(amount)
    assert "trước khi chi trả" not in why.group(1), why.group(1)
    assert shown in why.group(1)
    taken_back_total = re.search(r'data-testid="taken-back-since-paid"[^>]*>(.*?)</', page, re.S)
    assert taken_back_total is not None
    assert shown in taken_back_total.group(1)


# --- finance -----------------------------------------------------------------------------------


def test_the_finance_pages_cost_the_same_number_of_queries_for_3_or_30_commissions(client, rule):
    login(client, factories.UserFactory(roles={Role.FINANCE}))
    pages = ["/finance/commissions", "/finance/commissions/flagged", "/finance/commission-rules"]

    def counts_for(orders: int) -> list[int]:
        for n in range(orders):
            person = factories.UserFactory(department=factories.DepartmentFactory())
            order = referred_order(employee=person, attribution_flagged=n % 3 == 0)
            pay(order)
            factories.CommissionRuleFactory(
                scope=RuleScope.PRODUCT, product_id=order.lines[0].product_id
            )
        counts = []
        for url in pages:
            with counting_statements() as statements:
                assert client.get(url).status_code == 200
            counts.append(len(statements))
        return counts

    assert counts_for(3) == counts_for(27)


def test_finance_filters_commissions_by_state_person_department_product_and_period(client, rule):
    sales = factories.DepartmentFactory(name="Sales")
    ana = factories.UserFactory(name="Ana Sales", department=sales)
    bao = factories.UserFactory(name="Bao Other")
    tour = factories.ProductFactory(name_en="Tour")
    first = referred_order(tour, employee=ana)
    second = referred_order(employee=bao)
    pay(first)
    pay(second)
    redeem(first)
    login(client, factories.UserFactory(roles={Role.FINANCE}))

    def numbers(query: str) -> set[str]:
        text = text_of(client.get(f"/finance/commissions?{query}"))
        return {n for n in (first.number, second.number) if n in text}

    assert numbers("") == {first.number, second.number}
    assert numbers("state=earned") == {first.number}
    assert numbers(f"person={bao.id}") == {second.number}
    assert numbers(f"department={sales.id}") == {first.number}
    assert numbers(f"product={tour.id}") == {first.number}
    today = company_date(utcnow())
    assert numbers(f"start={today.isoformat()}&end={today.isoformat()}") == {
        first.number,
        second.number,
    }
    assert numbers(f"end={(today - timedelta(days=1)).isoformat()}") == set()
    assert client.get("/finance/commissions?state=nonsense").status_code == 400
    assert client.get("/finance/commissions?start=yesterday").status_code == 400


def test_a_period_ending_before_it_starts_is_refused_saying_so(client, rule):
    """It showed an empty list and zero totals, as if nothing had been paid (the report and
    the exports refuse the same period)."""
    pay(referred_order())
    officer = factories.UserFactory(roles={Role.FINANCE}, locale="vi")
    login(client, officer)
    answer = client.get("/finance/commissions?start=2026-12-31&end=2026-01-01")
    assert answer.status_code == 400
    assert "Ngày kết thúc không được sớm hơn ngày bắt đầu." in text_of(answer)
    assert client.get("/finance/commissions?start=2026-01-01&end=2026-01-01").status_code == 200


def test_finance_finds_the_person_by_name_e_mail_or_employee_number(client, rule):
    ana = factories.UserFactory(name="Ana Sales", employee_number="NV-77")
    bao = factories.UserFactory(name="Bao Other")
    factories.UserFactory(name="Bao Second")
    first, second = referred_order(employee=ana), referred_order(employee=bao)
    pay(first)
    pay(second)
    login(client, factories.UserFactory(roles={Role.FINANCE}))

    def numbers(person: str) -> set[str]:
        answer = client.get("/finance/commissions", query_string={"person": person})
        assert answer.status_code == 200, person
        text = text_of(answer)
        return {n for n in (first.number, second.number) if n in text}

    assert numbers("nv-77") == {first.number}
    assert numbers(bao.email.upper()) == {second.number}
    assert numbers("bao oth") == {second.number}
    assert numbers(f"Whatever <{ana.email}>") == {first.number}
    # the field shows the person back, and that text finds them again
    html = client.get("/finance/commissions", query_string={"person": "ana"}).get_data(as_text=True)
    assert f"Ana Sales &lt;{ana.email}&gt;" in html
    several = client.get("/finance/commissions?person=bao")
    assert several.status_code == 400
    assert "Several people match" in text_of(several)
    nobody = client.get("/finance/commissions?person=zzz-nobody")
    assert nobody.status_code == 400
    assert "Nobody matches" in text_of(nobody)
    assert client.get("/finance/commissions?person=%25").status_code == 400


def test_the_person_search_takes_a_whole_name_that_is_also_part_of_another(client, rule):
    """With "Nguyễn Văn An" and "Nguyễn Văn Anh" in the company, typing "nguyen van an" (or
    the name in full) matched both: "type more of the name" could never pick An."""
    an = factories.UserFactory(name="Nguyễn Văn An")
    factories.UserFactory(name="Nguyễn Văn Anh")
    order = referred_order(employee=an)
    pay(order)
    login(client, factories.UserFactory(roles={Role.FINANCE}))

    for typed in ("nguyen van an", "Nguyễn Văn An", " NGUYỄN  VĂN AN "):
        answer = client.get("/finance/commissions", query_string={"person": typed})
        assert answer.status_code == 200, typed
        assert order.number in text_of(answer)
    several = client.get("/finance/commissions", query_string={"person": "nguyen van"})
    assert several.status_code == 400
    assert "Several people match" in text_of(several)


def test_finance_totals_follow_the_filters(client, rule):
    a = referred_order()
    b = referred_order()
    pay(a)
    pay(b)
    redeem(a)
    login(client, factories.UserFactory(roles={Role.FINANCE}))
    html = client.get("/finance/commissions?state=earned").get_data(as_text=True)
    totals = re.search(r'data-testid="finance-totals">(.*?)</table>', html, re.S).group(1)
    assert "₫240,000" in totals
    assert "₫480,000" not in totals


def test_finance_sees_flagged_orders(client, rule):
    flagged = referred_order(attribution_flagged=True, attribution_reason="self_referral")
    mismatched = referred_order()
    pay(flagged)
    orders.record_payment(mismatched, Money(1, "VND"), payment_intent_id="pi_x", charge_id=None)
    db.session.commit()
    login(client, factories.UserFactory(roles={Role.FINANCE}))
    text = text_of(client.get("/finance/commissions/flagged"))
    assert flagged.number in text
    assert mismatched.number in text
    assert "Payment mismatch" in text


def test_flagged_orders_say_why_in_the_readers_language_not_the_stored_code(client):
    factories.OrderFactory(attribution_flagged=True, attribution_reason="self_referral")
    factories.OrderFactory(attribution_flagged=True, attribution_reason="employee_buyer")
    login(client, factories.UserFactory(roles={Role.FINANCE}, locale="vi"))
    html = client.get("/finance/commissions/flagged").get_data(as_text=True)
    reasons = re.findall(r'data-testid="attribution-reason">([^<]*)<', html)
    assert sorted(reasons) == ["Nhân viên mua hàng", "Tự giới thiệu"]
    assert "self_referral" not in html
    assert "employee_buyer" not in html


def test_flagged_orders_come_a_page_at_a_time_newest_first(client):
    from perks.commissions.queries import FLAGGED_PER_PAGE

    numbers = [
        factories.OrderFactory(attribution_flagged=True, attribution_reason="employee_buyer").number
        for _ in range(FLAGGED_PER_PAGE + 1)
    ]
    login(client, factories.UserFactory(roles={Role.FINANCE}))
    first = client.get("/finance/commissions/flagged").get_data(as_text=True)
    assert first.count('data-testid="flagged-order"') == FLAGGED_PER_PAGE
    assert 'href="/finance/commissions/flagged?page=2"' in first
    second = client.get("/finance/commissions/flagged?page=2").get_data(as_text=True)
    assert second.count('data-testid="flagged-order"') == 1
    assert numbers[0] in second  # the oldest comes last
    assert client.get("/finance/commissions/flagged?page=x").status_code == 200


def test_an_adjustment_needs_a_reason_and_a_valid_amount(client):
    person = factories.UserFactory()
    login(client, factories.UserFactory(roles={Role.FINANCE}))
    url = "/finance/commissions/adjustments"
    no_reason = client.post(
        url, data={"user_id": person.id, "currency": "VND", "amount": "10.000", "reason": ""}
    )
    assert no_reason.status_code == 400
    bad = client.post(
        url, data={"user_id": person.id, "currency": "VND", "amount": "1.5", "reason": "x"}
    )
    assert bad.status_code == 400
    zero = client.post(
        url, data={"user_id": person.id, "currency": "VND", "amount": "0", "reason": "x"}
    )
    assert zero.status_code == 400
    assert "other than zero" in text_of(zero)
    nobody = client.post(
        url, data={"user_id": 999_999, "currency": "VND", "amount": "5", "reason": "x"}
    )
    assert nobody.status_code == 400
    assert db.session.scalars(select(LedgerEntry)).all() == []


def test_an_adjustment_is_audited(client):
    person = factories.UserFactory()
    finance = factories.UserFactory(roles={Role.FINANCE})
    login(client, finance)
    response = client.post(
        "/finance/commissions/adjustments",
        data={"user_id": person.id, "currency": "USD", "amount": "$12.50", "reason": "Bonus"},
    )
    assert response.status_code == 302
    entry = db.session.scalars(select(LedgerEntry)).one()
    assert (entry.kind, entry.amount, entry.currency, entry.reason) == (
        EntryKind.ADJUSTMENT,
        1250,
        "USD",
        "Bonus",
    )
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "commissions.adjustment")
    ).one()
    assert event.actor_id == finance.id
    assert event.details["reason"] == "Bonus"


# --- rules -------------------------------------------------------------------------------------


def test_finance_previews_then_creates_a_rule(client):
    product = factories.ProductFactory()
    login(client, factories.UserFactory(roles={Role.FINANCE}))
    form = rule_form(scope="product", product_id=product.id, rate="2,5", submit="", preview="1")
    preview = client.post("/finance/commission-rules/new", data=form)
    assert preview.status_code == 200
    assert "A ₫2,000,000 order line of 1 unit would earn ₫50,000." in text_of(preview)
    assert db.session.scalars(select(CommissionRule)).all() == []
    created = client.post(
        "/finance/commission-rules/new", data=rule_form(scope="product", product_id=product.id)
    )
    assert created.status_code == 302
    saved = db.session.scalars(select(CommissionRule)).one()
    assert (saved.product_id, saved.rate_bps, saved.version) == (product.id, 500, 1)
    assert db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "commissions.rule_created")
    ).one()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"rate": "101"}, "between 0 and 100%"),
        ({"rate": "abc"}, "Enter a percentage"),
        ({"kind": "flat", "flat": "50.000"}, "Choose the currency"),
        ({"cap": "10.000"}, "Choose the currency"),
        ({"scope": "product"}, "Choose the product"),
        ({"effective_to": "2000-01-01"}, "The last day cannot be before the first day"),
    ],
)
def test_a_bad_rule_is_refused_with_a_reason(client, fields, message):
    login(client, factories.UserFactory(roles={Role.FINANCE}))
    response = client.post("/finance/commission-rules/new", data=rule_form(**fields))
    assert response.status_code == 400
    assert message in text_of(response)
    assert db.session.scalars(select(CommissionRule)).all() == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"scope": "product"}, "Choose the product"),
        ({"effective_to": "2000-01-01"}, "The last day cannot be before the first day"),
        ({"tier_measure": "count", "tiers": "10 = 3\n10 = 4"}, "its own threshold"),
    ],
)
def test_a_rule_that_cannot_be_saved_is_not_previewed(client, fields, message):
    """The preview showed "would earn ₫100,000" for a rule Save then refused."""
    login(client, factories.UserFactory(roles={Role.FINANCE}))
    form = rule_form(submit="", preview="1", **fields)
    response = client.post("/finance/commission-rules/new", data=form)
    assert response.status_code == 400
    assert message in text_of(response)
    assert "order line of 1 unit would earn" not in text_of(response)
    assert db.session.scalars(select(CommissionRule)).all() == []


def test_changing_an_applied_rule_adds_a_version_and_keeps_the_old_terms(client, rule):
    pay(referred_order())
    login(client, factories.UserFactory(roles={Role.FINANCE}))
    tomorrow = company_date(utcnow()) + timedelta(days=1)
    response = client.post(
        f"/finance/commission-rules/{rule.id}/revise",
        data=rule_form(rate="12", effective_from=tomorrow.isoformat(), row_version=1),
    )
    assert response.status_code == 302
    db.session.expire_all()
    rules = db.session.scalars(select(CommissionRule).order_by(CommissionRule.id)).all()
    assert [(r.version, r.rate_bps, r.effective_to) for r in rules] == [
        (1, 1000, company_date(utcnow())),
        (2, 1200, None),
    ]
    assert rules[1].supersedes_id == rule.id
    again = client.post(
        f"/finance/commission-rules/{rule.id}/revise",
        data=rule_form(
            rate="13", effective_from=(tomorrow + timedelta(days=1)).isoformat(), row_version=2
        ),
    )
    assert again.status_code == 409
    assert "A newer version replaced this rule" in text_of(again)


def test_changing_a_rule_nobody_used_edits_it_in_place(client, rule):
    login(client, factories.UserFactory(roles={Role.FINANCE}))
    response = client.post(
        f"/finance/commission-rules/{rule.id}/revise", data=rule_form(rate="7", row_version=1)
    )
    assert response.status_code == 302
    db.session.expire_all()
    (only,) = db.session.scalars(select(CommissionRule)).all()
    assert (only.id, only.version, only.rate_bps) == (rule.id, 1, 700)


def test_ending_a_rule(client, rule):
    login(client, factories.UserFactory(roles={Role.FINANCE}))
    today = company_date(utcnow())
    past = client.post(
        f"/finance/commission-rules/{rule.id}/end",
        data={"last_day": (today - timedelta(days=1)).isoformat()},
    )
    assert past.status_code == 302
    db.session.refresh(rule)
    assert rule.effective_to is None
    client.post(f"/finance/commission-rules/{rule.id}/end", data={"last_day": today.isoformat()})
    db.session.refresh(rule)
    assert rule.effective_to == today
    assert client.post("/finance/commission-rules/999999/end", data={}).status_code == 404


def test_staff_read_the_rules_in_force_with_an_example(client, rule):
    login(client, factories.UserFactory())
    text = text_of(client.get("/earnings/rules"))
    assert "a ₫2,000,000 order line earns ₫200,000" in text
    assert "The most specific rule wins" in text
    assert 'href="/earnings/rules"' in client.get("/rules").get_data(as_text=True)


# --- commands ----------------------------------------------------------------------------------


def test_tick_makes_commissions_payable_once(runner, rule):
    order = referred_order()
    pay(order)
    redeem(order)
    db.session.execute(update(Commission).values(payable_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    first = runner.invoke(args=["perks", "tick"])
    assert "Commissions made payable: 1" in first.output
    second = runner.invoke(args=["perks", "tick"])
    assert "Commissions made payable: 0" in second.output
    assert [c.state for c in commissions_of(order)] == [S.PAYABLE]


def test_verify_ledger_agrees_with_a_sound_ledger(runner, rule):
    order = referred_order()
    pay(order)
    redeem(order)
    tick()
    Payroll().pay_out()
    refund_to(order, 1_000_000)
    result = runner.invoke(args=["perks", "verify-ledger"])
    assert result.exit_code == 0, result.output
    assert "The ledger agrees with every commission." in result.output


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"earned_amount": 1}, "earn entries sum to"),
        ({"amount": 1}, "its refunds leave"),
        ({"state": S.PAYABLE}, "payable before its holding period ends"),
        ({"original_amount": 250_000, "amount": 250_000}, "its rule snapshot gives"),
        ({"state": S.PENDING}, "pending but earned"),
    ],
)
def test_verify_ledger_reports_each_disagreement_and_fails(runner, rule, change, complaint):
    order = referred_order()
    pay(order)
    redeem(order)
    db.session.execute(update(Commission).values(**change))
    db.session.commit()
    result = runner.invoke(args=["perks", "verify-ledger"])
    assert result.exit_code == 1
    assert complaint in result.output


def test_ticks_on_several_hosts_at_once_make_each_commission_payable_once(app, rule):
    """PostgreSQL: four ticks racing, each with its own connection; one conditional UPDATE
    decides, so the counts add up to the number of commissions."""
    if not is_postgres(app):
        pytest.skip("racing ticks need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    for _ in range(12):
        order = referred_order()
        pay(order)
        redeem(order)
    db.session.remove()
    later = utcnow() + timedelta(days=15)
    outcome = all_at_once(app, range(4), lambda _host: lifecycle.release_due_commissions(later))

    assert outcome.errors == []
    assert sum(outcome.results) == 12
    states = db.session.scalars(select(Commission.state)).all()
    assert states == [S.PAYABLE] * 12


@pytest.mark.parametrize(
    ("locale", "example", "rate"),
    [
        ("en", "for example -50,000.", "for example 2.5 or 10."),
        ("vi", "ví dụ -50.000.", "ví dụ 2,5"),
    ],
)
def test_the_forms_examples_are_written_as_the_reader_writes_numbers(
    client, login_as, locale, example, rate
):
    login_as(Role.FINANCE, locale=locale)
    assert example in text_of(client.get("/finance/commissions/adjustments"))
    assert rate in text_of(client.get("/finance/commission-rules/new"))


def test_an_employee_sees_neither_a_colleagues_payouts_nor_their_adjustments(client, rule):
    """SECURITY.md: every lookup is scoped to the acting user. Only the commission list was
    checked: the payouts and adjustments on /earnings could show everyone's unnoticed."""
    from perks.commissions.ledger import record_adjustment
    from perks.finance import payouts
    from perks.i18n import company_today
    from tests.unit.finance.helpers import finance_person, payable_order

    me, colleague = factories.UserFactory(), factories.UserFactory()
    drafter, approver = finance_person(), finance_person()
    payable_order(colleague)
    batch = payouts.draft_batch(company_today(), actor=drafter)
    payouts.approve_batch(batch.id, actor=approver)
    payouts.mark_batch_paid(batch.id, "UNC-42", actor=drafter)
    record_adjustment(
        colleague.id, Money(50_000, "VND"), "Thưởng riêng của đồng nghiệp", actor=drafter
    )
    db.session.commit()

    theirs_client = client.application.test_client()
    login(theirs_client, colleague)
    theirs = theirs_client.get("/earnings").get_data(as_text=True)
    assert 'data-testid="payouts"' in theirs  # what the next assertions look for is there
    assert "Thưởng riêng của đồng nghiệp" in theirs
    login(client, me)
    mine = client.get("/earnings").get_data(as_text=True)
    assert 'data-testid="payouts"' not in mine
    assert 'data-testid="adjustments"' not in mine
    assert "Thưởng riêng của đồng nghiệp" not in mine


def test_a_contractors_earnings_page_says_they_are_paid_by_bank_transfer_throughout(client):
    """The page's first lines said "paid with your wages" to everyone, and its tax section
    "paid by bank transfer" to people not on the payroll."""
    from perks.people.models import EmploymentType

    contractor = factories.UserFactory(employment_type=EmploymentType.CONTRACTOR, locale="en")
    login(client, contractor)
    page = text_of(client.get("/earnings"))
    assert "is paid by bank transfer" in page
    assert "paid with your wages" not in page
    staff = client.application.test_client()
    login(staff, factories.UserFactory(locale="en"))
    page = text_of(staff.get("/earnings"))
    assert "is paid with your wages" in page
    assert "bank transfer" not in page


def test_a_cap_of_nothing_is_said_where_the_rule_is_written(client):
    """A rule of 10 % capped at 0 ₫ read "10%" on the rules pages (a zero amount is falsy),
    beside an example earning 0 ₫."""
    factories.CommissionRuleFactory(rate_bps=1000, cap_amount=0, currency="VND")
    login(client, factories.UserFactory(roles={Role.FINANCE}))
    for path in ("/earnings/rules", "/finance/commission-rules"):
        assert "10%, at most ₫0 per order line" in text_of(client.get(path))
