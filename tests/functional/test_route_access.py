"""Every route, for every role and for anonymous visitors: the expected status.

The table is ``ROUTES`` in tests/routes.py. A route missing from it fails
``test_every_route_is_in_the_table``: each new page must say who may see it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask

from perks.catalog import claims, draws
from perks.catalog.models import CodeMode, PerkKind, PerkStatus
from perks.extensions import db
from perks.feedback import items as feedback_items
from perks.feedback import surveys
from perks.feedback.models import Topic
from perks.feedback.surveys import QuestionData, SurveyData
from perks.feedback.surveys_models import QuestionKind
from perks.mail import OutboxMessage
from perks.payments.models import EventOutcome, StripeEvent
from perks.people import imports
from perks.people.models import Role
from perks.recognition.models import Award, GiftProgramme, Nomination, Occasion, OccasionKind
from tests import factories
from tests.helpers import (
    DatabaseSnapshot,
    clean_database,
    login,
    restore_database,
    snapshot_database,
)
from tests.routes import ANONYMOUS, IGNORED_ENDPOINTS, PUBLIC_REDIRECTS, ROLES, ROUTES


@pytest.fixture(scope="module")
def _samples_built(app: Flask) -> tuple[DatabaseSnapshot, dict[str, Any]]:
    """The samples built once for the module, kept as a snapshot of the database."""
    with app.app_context():
        built = _build_samples()
        snapshot = snapshot_database()
        db.session.remove()
        clean_database()
    return snapshot, built


@pytest.fixture
def samples(_samples_built: tuple[DatabaseSnapshot, dict[str, Any]]) -> dict[str, Any]:
    """One of each record a route's URL names (ids, slugs, tokens): the module's snapshot
    written back into this test's empty database, the same ids every time."""
    snapshot, built = _samples_built
    restore_database(snapshot)
    return built


def _build_samples() -> dict[str, Any]:
    person = factories.UserFactory(name="Trần Thị Mục Tiêu")
    message = OutboxMessage(recipient="a@example.com", subject="Hi", body_text="x", body_html="x")
    db.session.add(message)
    db.session.commit()
    upload = imports.store_upload(
        b"email,name\nx@example.com,X\n",
        filename="people.csv",
        actor=factories.UserFactory(roles={Role.HR}),
    )
    perk = factories.PerkFactory()
    draw = factories.DrawFactory()
    product = factories.ProductFactory()
    link = factories.ReferralLinkFactory(user=person)
    stripe_event = StripeEvent(
        event_id="evt_route_access",
        type="plan.created",
        stripe_created_at=datetime.now(UTC),
        payload={"id": "evt_route_access", "type": "plan.created", "data": {"object": {}}},
        outcome=EventOutcome.IGNORED,
    )
    db.session.add(stripe_event)
    occasion = Occasion(
        kind=OccasionKind.SOLAR, name_vi="Ngày hội gia đình", name_en="Family day", month=6, day=28
    )
    db.session.add(occasion)
    db.session.commit()
    programme = GiftProgramme(
        name_vi="Quà ngày hội",
        name_en="Family day gift",
        occasion_id=occasion.id,
        perk_id=factories.PerkFactory(kind=PerkKind.GIFT).id,
        message_vi="Chúc mừng!",
        message_en="Congratulations!",
        unit_cost_amount=100_000,
    )
    db.session.add(programme)
    db.session.commit()
    manager = factories.UserFactory(roles={Role.MANAGER})
    award = Award(name_vi="Nhân viên xuất sắc", name_en="Star", points=10)
    db.session.add(award)
    db.session.commit()
    nomination = Nomination(
        award_id=award.id,
        nominee_id=factories.UserFactory(manager=manager).id,
        nominator_id=manager.id,
        reason="route table",
    )
    db.session.add(nomination)
    db.session.commit()
    named = feedback_items.send_feedback(person, None, Topic.TOOL, "Wi-Fi", "It drops.")
    anonymous = feedback_items.send_feedback(
        person, None, Topic.POLICY, "Leave", "Unclear.", anonymous=True
    )
    hr = factories.UserFactory(roles={Role.HR})
    survey = surveys.create_survey(SurveyData("Khảo sát", "Pulse"), actor=hr)
    surveys.add_question(
        survey.id, QuestionData(QuestionKind.NPS, "Giới thiệu?", "Recommend us?"), actor=hr
    )
    surveys.open_survey(survey.id, actor=hr)
    closed = surveys.create_survey(SurveyData("Đã đóng", "Closed"), actor=hr)
    surveys.add_question(closed.id, QuestionData(QuestionKind.SCALE, "a", "b"), actor=hr)
    surveys.open_survey(closed.id, actor=hr)
    surveys.close_survey(closed.id, actor=hr)
    return {
        "feedback": named.item.id,
        "feedback_secret": anonymous.follow_up_secret,
        "department": factories.DepartmentFactory().id,
        "survey": survey.id,
        "survey_question": survey.questions[0].id,
        "draft_survey": surveys.create_survey(SurveyData("Nháp", "Draft"), actor=hr).id,
        "closed_survey": closed.id,
        "award": award.id,
        "nomination": nomination.id,
        "value": factories.CompanyValueFactory().id,
        "occasion": occasion.id,
        "programme": programme.id,
        "person": person.id,
        "message": message.id,
        "import": upload.id,
        "job": imports.check_job(upload).token,
        "perk": perk.id,
        "draft_perk": factories.PerkFactory(status=PerkStatus.DRAFT).id,
        "pool_perk": factories.PerkFactory(code_mode=CodeMode.POOL, codes=["P1"]).id,
        "draw_perk": draw.perk_id,
        "draw": draw.id,
        "claim": claims.claim_perk(perk.id, person).id,
        "entry": draws.enter_draw(draw.perk_id, person).id,
        "product": product.slug,
        "product_id": product.id,
        "category_id": product.category_id,
        "order_id": factories.OrderFactory().id,
        "category": product.category.slug,
        "order_token": _paid_order().token,
        "pending_order_token": factories.OrderFactory().token,
        "link": link.id,
        "link_code": link.code,
        "commission_rule": factories.CommissionRuleFactory().id,
        "commission_group": _commission_group(person).id,
        "stripe_event": stripe_event.id,
        "payout_batch": _draft_payout_batch().id,
        "notification": factories.NotificationFactory(user=person).id,
        "rating": _rating(person).id,
    }


def _commission_group(person):  # type: ignore[no-untyped-def]
    """A named group of commission rules with ``person`` in it."""
    from perks.commissions.models import CommissionGroup

    group = CommissionGroup(name="Đối tác", note="", members=[person])
    db.session.add(group)
    db.session.commit()
    return group


def _rating(person):  # type: ignore[no-untyped-def]
    """A rating with a comment, of a perk ``person`` used."""
    from perks.feedback import ratings

    used = claims.claim_perk(factories.PerkFactory().id, person)
    claims.mark_claim_used(used.id, person)
    return ratings.rate_claim(used.id, person, 4, "Worth it", show_name=True)


def _draft_payout_batch():  # type: ignore[no-untyped-def]
    """A draft payout batch with no lines, drafted by a finance person of its own."""
    from datetime import date

    from perks.finance.models import PayoutBatch

    batch = PayoutBatch(
        reference="PO-20260101-TEST",
        cutoff_date=date(2026, 1, 1),
        cutoff_at=datetime(2026, 1, 1, 16, 59, tzinfo=UTC),
        drafted_by_id=factories.UserFactory(roles={Role.FINANCE}).id,
    )
    db.session.add(batch)
    db.session.commit()
    return batch


def _paid_order():  # type: ignore[no-untyped-def]
    """A paid order, and a product at a fixed slug the route table adds to the cart."""
    factories.ProductFactory(slug="route-table")
    order = factories.OrderFactory(paid_at=datetime.now(UTC))
    order.paid_amount = order.total_amount
    order.refresh_status()
    db.session.commit()
    return order


def test_every_route_is_in_the_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - IGNORED_ENDPOINTS
    assert endpoints - set(ROUTES) == set(), "add these routes to ROUTES"
    assert set(ROUTES) - endpoints == set(), "these routes no longer exist"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_route_answers_each_role_as_expected(client, samples, endpoint, role):
    route = ROUTES[endpoint]
    if role != ANONYMOUS:
        login(client, factories.UserFactory(roles={Role(role)}))
    url = route.url(samples)
    response = client.open(url, method=route.method, data=route.data or {})
    assert response.status_code == route.expected[role], (endpoint, role, url)
    if response.status_code == 302 and role == ANONYMOUS and endpoint not in PUBLIC_REDIRECTS:
        assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [("shop.category", "/shop/c/no-such-shelf"), ("shop.product", "/shop/p/nope")],
)
def test_a_missing_storefront_slug_is_not_found_for_everyone(client, endpoint, url):
    assert client.get(url).status_code == 404
    login(client, factories.UserFactory(roles={Role.ADMIN}))
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("endpoint", sorted(e for e, r in ROUTES.items() if r.method == "GET"))
def test_every_page_renders_in_vietnamese_and_english_on_an_empty_database(client, endpoint):
    """Signed in as an admin (who may see everything), with nothing else in the database."""
    login(client, factories.UserFactory(roles={Role.ADMIN}))
    route = ROUTES[endpoint]
    missing = defaultdict(lambda: 999_999)
    for locale in ("vi", "en"):
        client.post("/language", data={"locale": locale})
        response = client.get(route.url(missing))
        assert response.status_code < 500, (endpoint, locale)
        if response.status_code == 200 and response.mimetype == "text/html":
            assert f'<html lang="{locale}"' in response.get_data(as_text=True)
