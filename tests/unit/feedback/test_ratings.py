"""Ratings: a used claim or a redeemed staff purchase is rated once, by its owner only; the
summary's figures are exact; anonymous ratings name nobody; owners choose the comments shown,
and each choice is audited."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from perks.audit import AuditEvent
from perks.catalog import claims
from perks.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from perks.extensions import db
from perks.feedback import ratings, ratings_queries
from perks.feedback.ratings_models import Rating
from perks.i18n import company_today
from perks.mail import OutboxMessage
from perks.notifications.models import Notification
from perks.people.models import Role
from tests import factories
from tests.unit.feedback.helpers import redeemed_order, used_claim

# --- who may rate, when, how often -----------------------------------------------------------


def test_the_owner_rates_a_used_claim_once(app):
    claim = used_claim()
    rating = ratings.rate_claim(claim.id, claim.user, 4, "  Lovely spa  ", show_name=True)
    assert (rating.stars, rating.comment, rating.perk_id) == (4, "Lovely spa", claim.perk_id)
    with pytest.raises(Conflict):
        ratings.rate_claim(claim.id, claim.user, 5, "", show_name=True)
    assert db.session.scalars(select(Rating.stars)).all() == [4]


def test_the_database_refuses_a_second_rating_of_the_same_claim(app):
    claim = used_claim()
    ratings.rate_claim(claim.id, claim.user, 4, "", show_name=True)
    db.session.add(Rating(claim_id=claim.id, perk_id=claim.perk_id, user_id=claim.user_id, stars=5))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_claim_not_used_yet_cannot_be_rated(app):
    person = factories.UserFactory()
    claim = claims.claim_perk(factories.PerkFactory().id, person)
    with pytest.raises(Conflict):
        ratings.rate_claim(claim.id, person, 5, "", show_name=True)
    assert db.session.scalar(select(Rating.id)) is None


def test_only_the_claims_owner_rates_it(app):
    claim = used_claim()
    with pytest.raises(NotFound):
        ratings.rate_claim(claim.id, factories.UserFactory(), 5, "", show_name=True)


def test_a_given_gift_is_rated_without_being_used(app):
    from perks.catalog.models import PerkKind

    person = factories.UserFactory()
    gift = claims.grant_gift(
        factories.PerkFactory(kind=PerkKind.GIFT), person, today=claims.company_today()
    )
    db.session.commit()
    assert ratings.rate_claim(gift.id, person, 5, "", show_name=True).stars == 5


@pytest.mark.parametrize("stars", [0, 6, -1])
def test_stars_outside_one_to_five_are_refused(app, stars):
    claim = used_claim()
    with pytest.raises(ValidationFailed):
        ratings.rate_claim(claim.id, claim.user, stars, "", show_name=True)


def test_the_buyer_rates_a_redeemed_staff_purchase_once(app):
    buyer = factories.UserFactory()
    order = redeemed_order(buyer)
    rating = ratings.rate_order(order.id, buyer, 3, "OK", show_name=True)
    assert rating.product_id == order.lines[0].product_id
    with pytest.raises(Conflict):
        ratings.rate_order(order.id, buyer, 3, "", show_name=True)
    with pytest.raises(NotFound):
        ratings.rate_order(order.id, factories.UserFactory(), 3, "", show_name=True)


def test_a_paid_order_not_yet_used_cannot_be_rated(app):
    buyer = factories.UserFactory()
    order = factories.OrderFactory(buyer=buyer, paid_at=datetime.now(UTC))
    order.paid_amount = order.total_amount
    order.refresh_status()
    db.session.commit()
    with pytest.raises(Conflict):
        ratings.rate_order(order.id, buyer, 5, "", show_name=True)


# --- the invitations ---------------------------------------------------------------------------


def test_using_a_claim_invites_its_owner_to_rate_it(app):
    claim = used_claim()
    kinds = db.session.scalars(
        select(Notification.kind).where(Notification.user_id == claim.user_id)
    ).all()
    assert kinds == ["rating_invited"]


def test_a_leavers_claim_or_staff_purchase_used_at_the_counter_invites_nobody(app):
    """Someone who has left cannot sign in: the invitation (and its e-mail) would lead them
    to a page they cannot open."""
    holder = factories.UserFactory()
    claim = claims.claim_perk(factories.PerkFactory(per_person_limit=None).id, holder)
    holder.active = False
    db.session.commit()
    with pytest.raises(Conflict):  # the counter refuses a leaver's claim
        claims.redeem_claim(claim.reference, factories.UserFactory(roles={Role.REDEEMER}))
    redeemed_order(factories.UserFactory(active=False))  # bought before leaving, used after
    assert db.session.scalars(select(Notification.kind)).all() == []
    assert db.session.scalars(select(OutboxMessage.id)).all() == []


def test_a_claim_used_on_its_holders_leaving_day_invites_nobody(app):
    """From their leaving date a person is no longer with the company: the daily task
    deactivates them later that day, so the invitation would lead to a page they cannot
    open (as the claim reminders, which say nothing to them either)."""
    holder = factories.UserFactory()
    claim = claims.claim_perk(factories.PerkFactory(per_person_limit=None).id, holder)
    buyer = factories.UserFactory()
    for person in (holder, buyer):
        person.leaving_date = company_today()
    db.session.commit()
    with pytest.raises(Conflict):  # the counter refuses a leaver's claim
        claims.redeem_claim(claim.reference, factories.UserFactory(roles={Role.REDEEMER}))
    redeemed_order(buyer)
    assert db.session.scalars(select(Notification.kind)).all() == []


def test_redeeming_a_staff_purchase_invites_the_buyer_and_a_customer_order_nobody(app):
    buyer = factories.UserFactory()
    redeemed_order(buyer)
    redeemed_order(None)
    rows = db.session.execute(select(Notification.user_id, Notification.kind)).all()
    assert rows == [(buyer.id, "rating_invited_order")]


def test_what_is_left_to_rate_drops_what_was_rated(app):
    person = factories.UserFactory()
    first, second = used_claim(person), used_claim(person)
    order = redeemed_order(person)
    assert {c.id for c in ratings_queries.claims_to_rate(person.id)} == {first.id, second.id}
    assert [o.id for o in ratings_queries.orders_to_rate(person.id)] == [order.id]
    ratings.rate_claim(first.id, person, 5, "", show_name=True)
    ratings.rate_order(order.id, person, 5, "", show_name=True)
    assert [c.id for c in ratings_queries.claims_to_rate(person.id)] == [second.id]
    assert ratings_queries.orders_to_rate(person.id) == []


# --- the summary -------------------------------------------------------------------------------


def test_average_and_distribution_are_exact(app):
    perk = factories.PerkFactory(per_person_limit=None)
    for stars in (5, 5, 4, 2, 1, 5):
        claim = used_claim(perk=perk)
        ratings.rate_claim(claim.id, claim.user, stars, "", show_name=True)
    summary = ratings_queries.perk_summary(perk.id)
    assert summary.count == 6
    assert summary.distribution == ((5, 3), (4, 1), (3, 0), (2, 1), (1, 1))
    assert summary.average == Fraction(22, 6)
    assert summary.average_tenths == 37  # 3.666… rounds half up to 3.7
    assert summary.largest == 3
    empty = ratings_queries.perk_summary(factories.PerkFactory().id)
    assert (empty.count, empty.average, empty.average_tenths) == (0, None, None)


def test_half_a_tenth_rounds_up(app):
    perk = factories.PerkFactory(per_person_limit=None)
    for stars in [5] * 3 + [4] * 17:  # 4.15 exactly
        claim = used_claim(perk=perk)
        ratings.rate_claim(claim.id, claim.user, stars, "", show_name=True)
    assert ratings_queries.perk_summary(perk.id).average_tenths == 42


def test_only_published_comments_show_and_anonymous_ones_name_nobody(app):
    hr = factories.UserFactory(roles={Role.HR})
    perk = factories.PerkFactory(per_person_limit=None)
    named = used_claim(factories.UserFactory(name="Lê Văn Tên"), perk)
    hidden = used_claim(factories.UserFactory(name="Phạm Thị Ẩn"), perk)
    private = used_claim(perk=perk)
    shown = ratings.rate_claim(named.id, named.user, 5, "Great", show_name=True)
    anonymous = ratings.rate_claim(hidden.id, hidden.user, 2, "Too short", show_name=False)
    ratings.rate_claim(private.id, private.user, 3, "Not for the page", show_name=True)
    ratings.set_published(shown.id, True, hr)
    ratings.set_published(anonymous.id, True, hr)
    comments = ratings_queries.perk_summary(perk.id).comments
    assert sorted((c.comment, c.name) for c in comments) == [
        ("Great", "Lê Văn Tên"),
        ("Too short", None),
    ]


# --- moderation --------------------------------------------------------------------------------


def test_publishing_and_hiding_are_audited(app):
    hr = factories.UserFactory(roles={Role.HR})
    claim = used_claim()
    rating = ratings.rate_claim(claim.id, claim.user, 4, "Good", show_name=True)
    ratings.set_published(rating.id, True, hr)
    ratings.set_published(rating.id, False, hr)
    events = db.session.execute(
        select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.details).order_by(AuditEvent.id)
    ).all()
    assert [
        (e.action, e.actor_id, e.details) for e in events if e.action.startswith("feedback")
    ] == [
        ("feedback.rating_published", hr.id, {"published": [False, True]}),
        ("feedback.rating_hidden", hr.id, {"published": [True, False]}),
    ]


def test_finance_moderates_products_but_not_perks(app):
    finance = factories.UserFactory(roles={Role.FINANCE})
    claim = used_claim()
    perk_rating = ratings.rate_claim(claim.id, claim.user, 4, "Good", show_name=True)
    buyer = factories.UserFactory()
    order_rating = ratings.rate_order(redeemed_order(buyer).id, buyer, 4, "Fine", show_name=True)
    with pytest.raises(NotPermitted):
        ratings.set_published(perk_rating.id, True, finance)
    assert ratings.set_published(order_rating.id, True, finance).published


def test_a_rating_without_a_comment_has_nothing_to_publish(app):
    claim = used_claim()
    rating = ratings.rate_claim(claim.id, claim.user, 4, "", show_name=True)
    with pytest.raises(NotFound):
        ratings.set_published(rating.id, True, factories.UserFactory(roles={Role.HR}))


def test_a_low_rating_opens_a_feedback_item_to_hr_named_or_anonymous_as_the_rating_was(app):
    from perks.feedback.models import FeedbackItem, Topic

    named, hidden, happy = (used_claim() for _ in range(3))
    ratings.rate_claim(named.id, named.user, 2, "Cold food", show_name=True)
    ratings.rate_claim(hidden.id, hidden.user, 1, "", show_name=False)
    ratings.rate_claim(happy.id, happy.user, 5, "Great", show_name=True)
    found = db.session.scalars(select(FeedbackItem).order_by(FeedbackItem.anonymous)).all()
    assert [(i.topic, i.about_perk_id, i.anonymous) for i in found] == [
        (Topic.PERK, named.perk_id, False),
        (Topic.PERK, hidden.perk_id, True),
    ]
    assert found[0].sender_id == named.user_id
    assert found[1].sender_id is None


def test_a_low_ratings_item_reads_in_the_raters_language_whatever_the_page(app):
    from perks.feedback.models import FeedbackItem

    perk = factories.PerkFactory(
        per_person_limit=None, title_vi="Vé xem phim", title_en="Cinema ticket"
    )
    claim = used_claim(factories.UserFactory(locale="vi"), perk)
    with force_locale("en"):  # the request's language, not the rater's
        ratings.rate_claim(claim.id, claim.user, 2, "", show_name=True)
    item = db.session.scalars(select(FeedbackItem)).one()
    assert item.subject == "2 sao cho Vé xem phim"
    assert item.text != "No comment."


def test_a_low_rating_of_a_perk_with_a_long_title_opens_its_item_with_a_shortened_subject(app):
    """A perk's title may have 160 characters, a feedback item's subject 120: "1 star for"
    and such a title was refused as too long, and the rating with it ("This is too long.")."""
    from perks.feedback.models import MAX_SUBJECT, FeedbackItem

    title = "Gói khám sức khỏe tổng quát " + "nâng cao " * 14
    perk = factories.PerkFactory(per_person_limit=None, title_vi=title[:160], title_en="Check-up")
    claim = used_claim(factories.UserFactory(locale="vi"), perk)
    ratings.rate_claim(claim.id, claim.user, 1, "Too long a wait", show_name=True)
    item = db.session.scalars(select(FeedbackItem)).one()
    assert len(item.subject) <= MAX_SUBJECT
    assert item.subject.startswith("1 sao cho Gói khám sức khỏe tổng quát nâng cao")
    assert item.subject.endswith("…")
    assert db.session.scalars(select(Rating)).one().stars == 1
