"""Two finance people changing one commission rule: a save from a page opened before the
other's change (its terms, its tiers, or its last day) is refused in the person's language,
with nothing of it written, and the form shows the rule as it is now with what they had
entered; a save from the rule as it is works. On PostgreSQL, two saves from the same page
racing: one is saved, the other refused, and an applied rule gets one new version, not two."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from perks.commissions.models import CommissionRule, CommissionTier, TierMeasure
from perks.db import utcnow
from perks.extensions import db
from perks.i18n import company_date
from tests import factories
from tests.helpers import is_postgres, signed_in, text_of
from tests.stale_saves import GuardedForm, audit_events
from tests.unit.commissions.helpers import pay, referred_order
from tests.unit.finance.helpers import finance_person


def change_page(rule_id: int) -> GuardedForm:
    return GuardedForm(
        f"/finance/commission-rules/{rule_id}/revise",
        field="row_version",
        audited=("commissions.rule_changed", "commissions.rule_versioned"),
    )


def shown_form(client: FlaskClient, rule_id: int) -> dict[str, str]:
    """Open the rule's change page; what its form will send back, as it shows it."""
    page = client.get(f"/finance/commission-rules/{rule_id}/revise").get_data(as_text=True)
    version = change_page(rule_id).version_in(page)
    assert version is not None, "the form carries the row version it shows"
    rate = re.search(r'<input[^>]*name="rate"[^>]*value="([^"]*)"', page)
    first = re.search(r'<input[^>]*name="effective_from"[^>]*value="([^"]*)"', page)
    assert rate is not None
    assert first is not None
    return {
        "scope": "default",
        "product_id": "0",
        "category_id": "0",
        "audience": "everyone",
        "employment_type": "",
        "department_id": "0",
        "group_id": "0",
        "kind": "percent",
        "rate": rate.group(1),
        "flat": "",
        "cap": "",
        "currency": "",
        "tier_measure": "",
        "tiers": "",
        "effective_from": first.group(1),
        "effective_to": "",
        "note": "",
        "preview_amount": "",
        "preview_quantity": "1",
        "submit": "Save",
        "row_version": version,
    }


def rule_changes() -> int:
    return audit_events("commissions.rule_changed", "commissions.rule_versioned")


def revise(client: FlaskClient, rule_id: int, form: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(f"/finance/commission-rules/{rule_id}/revise", data=form)


def test_a_save_from_a_page_opened_before_anothers_change_is_refused_and_writes_nothing(app):
    rule = factories.CommissionRuleFactory(rate_bps=1000)
    page = change_page(rule.id)
    first = signed_in(app, finance_person(name="Phạm Thu Hà"))
    second = signed_in(app, finance_person(locale="vi"))
    opened, stale = shown_form(first, rule.id), shown_form(second, rule.id)
    assert opened["row_version"] == stale["row_version"] == "1"

    page.saves(first, opened | {"rate": "7"})
    refused = page.refuses(second, stale | {"note": "Chiến dịch hè"})

    assert "Phạm Thu Hà đã thay đổi quy tắc này sau khi bạn mở trang" in refused.text
    db.session.expire_all()
    saved = db.session.get(CommissionRule, rule.id)
    assert (saved.rate_bps, saved.note, saved.row_version) == (700, "", 2)
    # the form shows the rule as it is now, and what was entered that differs from it
    assert re.search(r'name="rate"[^>]*value="7"', refused.html)
    assert 'value="Chiến dịch hè"' not in refused.html
    assert "Chiến dịch hè" in refused.entered
    assert re.search(
        r"<dd[^>]*>10</dd>", refused.entered
    )  # the rate the page showed, changed since
    assert refused.version == "2"

    # Saved again from the form as it is now, it is saved.
    page.saves(second, shown_form(second, rule.id) | {"note": "Chiến dịch hè"})
    db.session.expire_all()
    saved = db.session.get(CommissionRule, rule.id)
    assert (saved.rate_bps, saved.note) == (700, "Chiến dịch hè")
    assert rule_changes() == 2


def test_a_change_of_the_tiers_alone_refuses_a_save_from_an_older_page(app):
    """Tiers are rows of their own: changing one leaves the rule's row as it was."""
    rule = factories.CommissionRuleFactory(rate_bps=300, tier_measure=TierMeasure.COUNT)
    rule.tiers = [CommissionTier(threshold=10, rate_bps=500)]
    db.session.commit()
    first, second = signed_in(app, finance_person()), signed_in(app, finance_person())
    tiered = {"tier_measure": "count", "tiers": "10 = 5"}
    opened, stale = shown_form(first, rule.id) | tiered, shown_form(second, rule.id) | tiered

    page = change_page(rule.id)
    page.saves(first, opened | {"tiers": "10 = 6"})
    page.refuses(second, stale | {"rate": "4"})

    db.session.expire_all()
    saved = db.session.get(CommissionRule, rule.id)
    assert saved.rate_bps == 300
    assert [(t.threshold, t.rate_bps) for t in saved.tiers] == [(10, 600)]


def test_a_rule_ended_after_the_page_opened_is_not_given_new_terms_unseen(app):
    rule = factories.CommissionRuleFactory(rate_bps=1000)
    pay(referred_order())  # applied: a change is a new version from a later day
    first, second = signed_in(app, finance_person()), signed_in(app, finance_person())
    stale = shown_form(second, rule.id)
    last_day = company_date(utcnow()) + timedelta(days=2)

    ended = first.post(
        f"/finance/commission-rules/{rule.id}/end", data={"last_day": last_day.isoformat()}
    )
    assert ended.status_code == 302
    refused = change_page(rule.id).refuses(second, stale | {"rate": "12"})

    assert "changed this rule after you opened it" in refused.text
    db.session.expire_all()
    assert db.session.scalars(select(CommissionRule.id)).all() == [rule.id]
    assert db.session.get(CommissionRule, rule.id).effective_to == last_day


def test_a_save_without_the_row_version_its_page_showed_is_refused(app):
    rule = factories.CommissionRuleFactory(rate_bps=1000)
    client = signed_in(app, finance_person())
    form = shown_form(client, rule.id)
    del form["row_version"]

    change_page(rule.id).refuses_without_version(client, form | {"rate": "7"})

    db.session.expire_all()
    assert db.session.get(CommissionRule, rule.id).rate_bps == 1000


def _racing_saves(app, applied: bool) -> tuple[int, dict[str, object]]:  # type: ignore[no-untyped-def]
    """Two finance people's pages, opened on the same row version, saved at the same moment,
    each request on its own connection: one is saved (returned, with the rule's id), the
    other refused."""
    rule = factories.CommissionRuleFactory(rate_bps=1000)
    if applied:
        pay(referred_order())
    emails = [finance_person().email, finance_person().email]
    rule_id = rule.id

    saved = change_page(rule_id).raced(
        app, emails, lambda n, client: shown_form(client, rule_id) | {"rate": str(20 + n)}
    )
    return rule_id, saved


def test_two_saves_of_a_rule_nobody_used_at_once_save_one_and_refuse_the_other(app):
    """PostgreSQL: without the lock both would read row version 1 and the last would win."""
    if not is_postgres(app):
        pytest.skip("racing saves need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    rule_id, saved = _racing_saves(app, applied=False)

    with app.app_context():
        rule = db.session.get(CommissionRule, rule_id)
        assert (rule.rate_bps, rule.row_version) == (int(str(saved["rate"])) * 100, 2)
        assert rule_changes() == 1


def test_two_saves_of_an_applied_rule_at_once_add_one_version(app):
    """PostgreSQL: without the lock both saw no newer version and each added one, two
    versions superseding the same rule. With it, the second waits for the first, then finds
    the version it added ("A newer version replaced this rule"): 409."""
    if not is_postgres(app):
        pytest.skip("racing saves need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    rule_id, _ = _racing_saves(app, applied=True)

    with app.app_context():
        newer = db.session.scalars(
            select(CommissionRule).where(CommissionRule.supersedes_id == rule_id)
        ).all()
        assert len(newer) == 1
        assert rule_changes() == 1


def test_a_rule_a_newer_version_replaced_cannot_be_ended_later_over_that_version(app):
    """An applied rule given new terms from a later day ends the day before them; pushing its
    end later would make both versions apply on the same days."""
    rule = factories.CommissionRuleFactory(rate_bps=1000)
    pay(referred_order())  # applied: new terms make a new version
    client = signed_in(app, finance_person(locale="vi"))
    starts = company_date(utcnow()) + timedelta(days=10)
    form = shown_form(client, rule.id) | {"rate": "12", "effective_from": starts.isoformat()}
    assert revise(client, rule.id, form).status_code == 302
    db.session.expire_all()
    assert db.session.get(CommissionRule, rule.id).effective_to == starts - timedelta(days=1)

    page = client.get("/finance/commission-rules").get_data(as_text=True)
    assert f'/finance/commission-rules/{rule.id}/end"' not in page  # no End for it
    assert "Đã được thay bằng phiên bản mới hơn" in page
    ended = client.post(
        f"/finance/commission-rules/{rule.id}/end",
        data={"last_day": (starts + timedelta(days=30)).isoformat()},
        follow_redirects=True,
    )

    assert "hãy kết thúc phiên bản đó" in text_of(ended)
    db.session.expire_all()
    assert db.session.get(CommissionRule, rule.id).effective_to == starts - timedelta(days=1)


def test_a_rule_that_has_ended_is_not_brought_back_by_ending_it_later(app):
    """A page opened before the rule ended still shows End: sent, it gave the rule a later
    last day, bringing it back over the days since it ended, when orders earned by other
    rules (or none), and the history said it applied to them."""
    today = company_date(utcnow())
    rule = factories.CommissionRuleFactory(
        rate_bps=1000,
        effective_from=today - timedelta(days=60),
        effective_to=today - timedelta(days=20),
    )
    client = signed_in(app, finance_person(locale="vi"))

    ended = client.post(
        f"/finance/commission-rules/{rule.id}/end",
        data={"last_day": (today + timedelta(days=30)).isoformat()},
        follow_redirects=True,
    )

    assert "Quy tắc này đã kết thúc" in text_of(ended)
    db.session.expire_all()
    assert db.session.get(CommissionRule, rule.id).effective_to == today - timedelta(days=20)


def test_new_terms_for_a_used_rule_keep_its_last_day(app):
    """A campaign's rule, used, ending in a month: its change page proposed new terms from
    tomorrow with no last day, so the new version, saved as shown, ran on for ever."""
    rule = factories.CommissionRuleFactory(rate_bps=1000)
    pay(referred_order())
    last_day = company_date(utcnow()) + timedelta(days=30)
    rule.effective_to = last_day
    db.session.commit()
    client = signed_in(app, finance_person())

    page = client.get(f"/finance/commission-rules/{rule.id}/revise").get_data(as_text=True)
    assert re.search(rf'name="effective_to"[^>]*value="{last_day.isoformat()}"', page)
    form = shown_form(client, rule.id) | {"rate": "12", "effective_to": last_day.isoformat()}
    assert revise(client, rule.id, form).status_code == 302

    db.session.expire_all()
    newer = db.session.scalars(
        select(CommissionRule).where(CommissionRule.supersedes_id == rule.id)
    ).one()
    assert (newer.rate_bps, newer.effective_to) == (1200, last_day)
