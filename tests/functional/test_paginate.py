"""A page past the last of a list shows the last page, not an empty list."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from perks import audit
from perks.commissions import queries
from perks.db import page_within, paginate
from perks.extensions import db
from perks.people.models import Role, User
from perks.referrals import stats
from tests import factories
from tests.helpers import login
from tests.unit.commissions.helpers import pay, redeem, referred_order
from tests.unit.referrals.helpers import add_clicks, window


def test_a_page_past_the_last_is_the_last(app: Flask) -> None:
    for n in range(5):
        factories.UserFactory(name=f"Người {n}")
    query = select(User).order_by(User.name)
    assert [p.name for p in paginate(query, 2, 2).items] == ["Người 2", "Người 3"]
    last = paginate(query, 999, 2)
    assert (last.page, [p.name for p in last.items]) == (3, ["Người 4"])
    assert paginate(query, 0, 2).page == 1
    assert paginate(select(User).where(User.id < 0), 5, 2).items == []


def test_the_directory_and_the_audit_log_past_their_last_page(client: FlaskClient) -> None:
    admin = factories.UserFactory(roles={Role.ADMIN, Role.HR}, name="Quản Trị", locale="en")
    last = factories.UserFactory(name="Nguyễn Văn Cuối")
    audit.record("people.created", actor=admin, target=last, roles=["employee"])
    db.session.commit()
    login(client, admin)
    directory = client.get("/people/?page=9999").get_data(as_text=True)
    assert "Nguyễn Văn Cuối" in directory
    log = client.get("/admin/audit?page=9999")
    assert log.status_code == 200
    assert log.get_data(as_text=True).count('data-testid="audit-details"') == 1


def test_lists_counted_elsewhere_past_their_last_page(app: Flask) -> None:
    """The earner's "My commissions", finance's commission list (counted from
    ``commission_total``) and the company's referral statistics kept the page asked for and
    showed nothing."""
    factories.CommissionRuleFactory()
    order = referred_order()
    pay(order)
    redeem(order)
    earner = order.referral_link.user
    mine = queries.commissions_page(earner.id, 9999)
    assert (mine.page, [c.order_id for c in mine.items]) == (1, [order.id])
    everyone = queries.all_commissions(queries.CommissionFilter(), 9999)
    assert (everyone.page, [c.order_id for c in everyone.items]) == (1, [order.id])
    for clicks in (3, 2):
        add_clicks(factories.ReferralLinkFactory(), clicks)
    shown = stats.company_stats(window(), page=9999, per_page=1)
    assert shown.people.total > 1
    assert shown.people.page == shown.people.pages
    assert len(shown.people.items) == 1


def test_page_within() -> None:
    assert [page_within(page, 5, 2) for page in (-1, 0, 1, 3, 4, 999)] == [1, 1, 1, 3, 3, 3]
    assert page_within(7, 0, 20) == 1
