"""Tiered commission rules: the tier a line gets when it is redeemed, line by line, never
retroactively; snapshotted on the commission; the earnings page's progress; the rule form."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update

from perks.commissions import personal
from perks.commissions import services as commissions
from perks.commissions.models import (
    Commission,
    CommissionRule,
    CommissionState,
    RuleAudience,
    RuleKind,
    RuleScope,
    TierMeasure,
)
from perks.commissions.verify import verify_ledger
from perks.db import utcnow
from perks.extensions import db
from perks.people.models import Role
from tests import factories
from tests.helpers import counting_statements, login, text_of
from tests.unit.commissions.helpers import (
    after_holding,
    commissions_of,
    entries_of,
    pay,
    redeem,
    referred_order,
    referred_order_of,
    refund_to,
)

START = date(2020, 1, 1)
S = CommissionState


def tiered_rule(
    measure: TierMeasure, tiers: list[commissions.TierData], **fields: object
) -> CommissionRule:
    finance = factories.UserFactory(roles={Role.FINANCE})
    values: dict[str, object] = {
        "scope": RuleScope.DEFAULT,
        "kind": RuleKind.PERCENT,
        "rate_bps": 500,
        "effective_from": START,
        "tier_measure": measure,
        "tiers": tuple(tiers),
    }
    return commissions.create_rule(commissions.RuleData(**(values | fields)), actor=finance)  # type: ignore[arg-type]


def test_a_tier_boundary_crossed_inside_one_order(app):
    """5 % below 3 lines, 8 % from the 3rd line, 10 % from the 5th: one line redeemed
    earlier this month, then an order of four lines: the 2nd line of the month earns 5 %, the
    3rd and 4th 8 %, the 5th 10 %; the earlier line keeps its 5 %."""
    tiered_rule(
        TierMeasure.COUNT,
        [commissions.TierData(3, rate_bps=800), commissions.TierData(5, rate_bps=1000)],
    )
    me = factories.UserFactory()
    product = factories.ProductFactory(price_amount=1_000_000)
    first = referred_order(product, employee=me)
    pay(first)
    redeem(first)
    big = referred_order_of([(product, 1)] * 4, employee=me)
    pay(big)
    pending = commissions_of(big)
    assert [c.rate_bps for c in pending] == [500] * 4  # the rule's own until redeemed
    assert [c.amount for c in pending] == [50_000] * 4
    redeem(big)
    lines = commissions_of(big)
    assert [c.rate_bps for c in lines] == [500, 800, 800, 1000]
    assert [c.tier_threshold for c in lines] == [None, 3, 3, 5]
    assert [c.amount for c in lines] == [50_000, 80_000, 80_000, 100_000]
    assert all(c.state is S.EARNED for c in lines)
    [earlier] = commissions_of(first)
    assert (earlier.rate_bps, earlier.amount, earlier.tier_threshold) == (500, 50_000, None)
    earn_entries = [amount for kind, amount in entries_of(me) if kind == "earn"]
    assert earn_entries == [50_000, 50_000, 80_000, 80_000, 100_000]
    assert verify_ledger(now=after_holding(60)).problems == []


def test_the_line_that_reaches_an_amount_threshold_earns_the_tier_on_all_of_its_base(app):
    tiered_rule(
        TierMeasure.AMOUNT,
        [commissions.TierData(5_000_000, rate_bps=700)],
        rate_bps=300,
        currency="VND",
    )
    me = factories.UserFactory()
    product = factories.ProductFactory(price_amount=2_400_000)
    earlier = referred_order(product, employee=me)
    pay(earlier)
    redeem(earlier)
    order = referred_order_of([(product, 1), (product, 1)], employee=me)
    pay(order)
    redeem(order)
    # 2.4M before; the first line takes the month to 4.8M (3 %), the second to 7.2M (7 %)
    assert [(c.rate_bps, c.tier_threshold, c.amount) for c in commissions_of(order)] == [
        (300, None, 72_000),
        (700, 5_000_000, 168_000),
    ]
    [commission] = commissions_of(order)[1:]
    assert commission.tier_measure is TierMeasure.AMOUNT


def test_last_months_sales_do_not_count_and_the_pending_terms_are_the_rules(app):
    tiered_rule(TierMeasure.COUNT, [commissions.TierData(2, rate_bps=900)])
    me = factories.UserFactory()
    old = referred_order(employee=me)
    pay(old)
    redeem(old)
    db.session.execute(
        update(Commission)
        .where(Commission.order_id == old.id)
        .values(earned_at=utcnow() - timedelta(days=45), payable_at=utcnow() - timedelta(days=31))
    )
    db.session.commit()
    new = referred_order(employee=me)
    pay(new)
    redeem(new)
    [commission] = commissions_of(new)
    assert (commission.rate_bps, commission.tier_threshold) == (500, None)


def test_a_partial_refund_before_redemption_is_taken_from_the_tier_amount(app):
    tiered_rule(TierMeasure.COUNT, [commissions.TierData(1, rate_bps=1000)])
    me = factories.UserFactory()
    order = referred_order(factories.ProductFactory(price_amount=2_000_000), employee=me)
    pay(order)
    refund_to(order, 500_000)
    [pending] = commissions_of(order)
    assert (pending.original_amount, pending.amount) == (100_000, 75_000)
    redeem(order)
    [commission] = commissions_of(order)
    assert (commission.rate_bps, commission.original_amount, commission.amount) == (
        1000,
        200_000,
        150_000,
    )
    assert entries_of(me) == [("earn", 150_000)]
    assert verify_ledger(now=after_holding(60)).problems == []


def test_the_earnings_page_shows_the_current_tier_and_what_is_left(client):
    tiered_rule(
        TierMeasure.COUNT,
        [commissions.TierData(2, rate_bps=800), commissions.TierData(5, rate_bps=1000)],
    )
    me = factories.UserFactory()
    login(client, me)
    # before a tier, the rate the rule gives is said (it read "the rule's own")
    assert "current rate: 5%, the rule's own" in text_of(client.get("/earnings"))
    for _ in range(2):
        order = referred_order(employee=me)
        pay(order)
        redeem(order)
    page = client.get("/earnings")
    assert page.status_code == 200
    text = text_of(page)
    assert "2 lines sold this month" in text
    assert "current tier: 8%" in text
    assert "3 more lines to the next tier (10%)." in text
    [commission] = commissions_of(order)
    assert "8% (tier from 2 lines sold this month)" in text
    assert commission.rate_bps == 800


def test_tier_progress_asks_once_when_nothing_is_tiered_today_and_only_shows_my_rules(app):
    me = factories.UserFactory()
    now = utcnow()
    # nothing tiered: one look at the rules (the earnings page is opened daily)
    with counting_statements() as statements:
        assert personal.tier_progress(me, now, "VND") == []
    assert len(statements) == 1
    # tiered today, but for another department or in another currency: not mine
    other = factories.DepartmentFactory()
    tiered_rule(
        TierMeasure.COUNT,
        [commissions.TierData(2, rate_bps=800)],
        audience=RuleAudience.DEPARTMENT,
        department_id=other.id,
    )
    tiered_rule(
        TierMeasure.COUNT,
        [commissions.TierData(2, flat_amount=500)],
        kind=RuleKind.FLAT,
        rate_bps=None,
        flat_amount=100,
        currency="USD",
    )
    assert personal.tier_progress(me, now, "VND") == []
    mine = tiered_rule(TierMeasure.COUNT, [commissions.TierData(3, rate_bps=900)])
    [progress] = personal.tier_progress(me, now, "VND")
    assert (progress.rule.id, progress.sold, progress.left) == (mine.id, 0, 3)


#: the new-rule form of a 3 % rule for everyone from START (each test adds its tiers)
TIERED_RULE_FORM = {
    "scope": "default",
    "audience": "everyone",
    "employment_type": "",
    "department_id": 0,
    "group_id": 0,
    "product_id": 0,
    "category_id": 0,
    "kind": "percent",
    "rate": "3",
    "currency": "VND",
    "effective_from": START.isoformat(),
    "submit": "1",
}


def test_finance_writes_tiers_on_the_form_and_bad_tiers_are_refused(client):
    finance = factories.UserFactory(roles={Role.FINANCE})
    login(client, finance)
    form = TIERED_RULE_FORM | {
        "tier_measure": "amount",
        "tiers": "50.000.000 = 5\n20.000.000 = 4",
    }
    assert client.post("/finance/commission-rules/new", data=form).status_code == 302
    rule = db.session.scalar(select(CommissionRule))
    assert rule is not None
    assert [(t.threshold, t.rate_bps) for t in rule.tiers] == [(20_000_000, 400), (50_000_000, 500)]
    rules_page = text_of(client.get("/earnings/rules"))
    assert "from ₫20,000,000 sold in the month: 4%" in rules_page
    assert "The line that reaches a threshold is the first at the new tier" in rules_page
    edit = client.get(f"/finance/commission-rules/{rule.id}/revise").get_data(as_text=True)
    assert "20,000,000 = 4" in edit
    # Changed before anyone earned by it, it is edited in place: tiers that keep their
    # threshold are changed, not replaced (a new row beside the old one broke the
    # (rule, threshold) key: a 500).
    kept = form | {
        "rate": "3,5",
        "tiers": "50.000.000 = 6\n20.000.000 = 4\n90.000.000 = 7",
        "row_version": "1",
    }
    assert client.post(f"/finance/commission-rules/{rule.id}/revise", data=kept).status_code == 302
    db.session.expire_all()
    rule = db.session.get(CommissionRule, rule.id)
    assert (rule.version, rule.rate_bps) == (1, 350)
    assert [(t.threshold, t.rate_bps) for t in rule.tiers] == [
        (20_000_000, 400),
        (50_000_000, 600),
        (90_000_000, 700),
    ]
    fewer = form | {"tiers": "20.000.000 = 4", "row_version": "2"}
    assert client.post(f"/finance/commission-rules/{rule.id}/revise", data=fewer).status_code == 302
    db.session.expire_all()
    rule = db.session.get(CommissionRule, rule.id)
    assert [(t.threshold, t.rate_bps) for t in rule.tiers] == [(20_000_000, 400)]
    # the form is filled as the reader writes amounts, and reads back the same
    finance.locale = "vi"
    db.session.commit()
    vietnamese = client.get(f"/finance/commission-rules/{rule.id}/revise").get_data(as_text=True)
    assert "20.000.000 ₫ = 4" in vietnamese
    finance.locale = "en"
    db.session.commit()
    for tiers, message in [
        ("10 = 5", None),
        ("abc", "Write each tier as a threshold"),
        ("5 = 300", "Enter a rate between 0 and 100%."),
    ]:
        bad = form | {"tier_measure": "count", "tiers": tiers}
        if message is None:
            bad = bad | {"tier_measure": ""}
            message = "Choose what the tiers count."
        response = client.post("/finance/commission-rules/new", data=bad)
        assert response.status_code == 400
        assert message in text_of(response)
    no_currency = form | {"currency": ""}
    response = client.post("/finance/commission-rules/new", data=no_currency)
    assert response.status_code == 400
    assert "Tiers on the amount sold need the rule" in text_of(response)
    assert len(list(db.session.scalars(select(CommissionRule)))) == 1


def test_a_count_of_lines_that_is_no_whole_number_or_too_many_is_refused_not_a_500(client):
    """ "² = 5" passed ``str.isdigit`` and ``int()`` refused it; a count of twenty digits
    did not fit the database: both were server errors."""
    login(client, factories.UserFactory(roles={Role.FINANCE}))
    form = TIERED_RULE_FORM | {"tier_measure": "count"}
    for tiers in ("² = 5", "99999999999999999999 = 5"):
        response = client.post("/finance/commission-rules/new", data=form | {"tiers": tiers})
        assert response.status_code == 400, tiers
        assert "Enter the number of lines as a whole number" in text_of(response), tiers
    assert db.session.scalar(select(CommissionRule)) is None


def test_a_tier_from_one_line_reads_one_line(app):
    """A commission's terms read "tier from 1 lines sold this month"."""
    from flask_babel import force_locale

    from perks.commissions.queries import rate_text

    def terms(threshold: int) -> str:
        commission = Commission(
            currency="VND",
            rule_kind=RuleKind.PERCENT,
            rate_bps=300,
            tier_threshold=threshold,
            tier_measure=TierMeasure.COUNT,
        )
        with app.test_request_context(), force_locale("en"):
            return rate_text(commission)

    assert terms(1) == "3% (tier from 1 line sold this month)"
    assert terms(10) == "3% (tier from 10 lines sold this month)"


def test_a_holding_period_of_one_day_reads_one_day(client, monkeypatch):
    """With COMMISSION_HOLDING_DAYS=1 the earnings and rules pages read "1 days later"."""
    monkeypatch.setitem(client.application.config, "COMMISSION_HOLDING_DAYS", 1)
    login(client, factories.UserFactory())

    earnings = text_of(client.get("/earnings"))
    rules = text_of(client.get("/earnings/rules"))

    assert "It becomes payable 1 day later" in earnings
    assert "1 day later it becomes payable" in rules
    assert "1 days" not in earnings + rules


def test_a_referral_window_of_one_day_reads_one_day(client, monkeypatch):
    """With ATTRIBUTION_WINDOW_DAYS=1 the links page read "within 1 days of clicking it"."""
    monkeypatch.setitem(client.application.config, "ATTRIBUTION_WINDOW_DAYS", 1)
    login(client, factories.UserFactory())

    text = text_of(client.get("/links"))

    assert "within 1 day of clicking it" in text
