"""The rating pages: a person rates what they used from the prompt, the perk's and the
product's pages show the figures and the published comments, the owners publish and hide."""

from __future__ import annotations

from sqlalchemy import select

from perks.catalog import claims
from perks.extensions import db
from perks.feedback import items, ratings
from perks.feedback.models import FeedbackItem
from perks.feedback.ratings_models import Rating
from perks.people.models import Role
from tests import factories
from tests.unit.feedback.helpers import redeemed_order, used_claim


def test_an_employee_rates_a_used_perk_from_my_perks(client, login_as):
    person = login_as(Role.EMPLOYEE)
    claim = used_claim(person)
    page = client.get("/my-perks").get_data(as_text=True)
    assert f"/my-perks/{claim.id}/rate" in page
    assert 'data-testid="rating-invitation"' in client.get(f"/my-perks/{claim.id}").get_data(
        as_text=True
    )
    form = client.get(f"/my-perks/{claim.id}/rate")
    assert form.status_code == 200
    # before the rater chooses, the form says what hiding the name does and does not do
    assert "still kept with your account" in form.get_data(as_text=True)
    answer = client.post(
        f"/my-perks/{claim.id}/rate", data={"stars": "4", "comment": "Nice", "hide_name": "y"}
    )
    assert answer.status_code == 302
    rating = db.session.scalars(select(Rating)).one()
    assert (rating.stars, rating.comment, rating.show_name) == (4, "Nice", False)
    assert f"/my-perks/{claim.id}/rate" not in client.get("/my-perks").get_data(as_text=True)
    assert 'data-testid="my-rating"' in client.get(f"/my-perks/{claim.id}").get_data(as_text=True)
    # a second try goes back to the claim, saying it is rated
    assert client.get(f"/my-perks/{claim.id}/rate").status_code == 302


def test_a_low_rating_with_the_name_hidden_gives_the_rater_a_way_to_hrs_answer(
    client, login_as, app
):
    """A 1 or 2 opens an anonymous item to HR; its private link, shown once, is the rater's
    only way back to HR's answer (it used to be thrown away while HR read "the sender is
    told")."""
    person = login_as(Role.EMPLOYEE)
    claim = used_claim(person)
    answer = client.post(
        f"/my-perks/{claim.id}/rate", data={"stars": "2", "comment": "Cold", "hide_name": "y"}
    )
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    link = page.split('data-testid="follow-up-link">')[1].split("<")[0]
    # the rating row keeps its rater (one rating each): the page must not promise otherwise
    warning = page.split('data-testid="follow-up-warning">')[1].split("</div>")[0]
    assert "nothing that leads back to you" not in warning
    assert "kept with your account" in warning
    # thanked once (the heading), not a second time by a message above it
    assert page.split("</head>")[1].count("Thank you for your rating") == 1
    # the language switcher warns before it leaves the link behind (it is not shown again)
    switcher = page.split('action="/language"')[1].split(">")[0]
    assert 'data-confirm="' in switcher
    base = app.config["BASE_URL"].rstrip("/")
    assert link.startswith(f"{base}/feedback/follow-up/")
    item = db.session.scalars(select(FeedbackItem)).one()
    assert item.anonymous
    assert item.sender_id is None
    hr = factories.UserFactory(roles={Role.HR})
    items.acknowledge(item.id, hr)
    items.answer(item.id, hr, "Chúng tôi sẽ đổi nhà cung cấp.")
    followed = client.get(link.removeprefix(base))
    assert followed.status_code == 200
    assert "Chúng tôi sẽ đổi nhà cung cấp." in followed.get_data(as_text=True)


def test_a_rating_without_stars_is_refused_on_the_form(client, login_as):
    person = login_as(Role.EMPLOYEE)
    claim = used_claim(person)
    answer = client.post(f"/my-perks/{claim.id}/rate", data={"comment": "No stars"})
    assert answer.status_code == 400
    assert "1 to 5 stars" in answer.get_data(as_text=True)
    assert db.session.scalar(select(Rating.id)) is None


def test_someone_elses_claim_is_not_found(client, login_as):
    claim = used_claim()
    login_as(Role.EMPLOYEE)
    assert client.get(f"/my-perks/{claim.id}/rate").status_code == 404


def test_a_staff_buyer_rates_a_used_purchase(client, login_as):
    buyer = login_as(Role.EMPLOYEE)
    order = redeemed_order(buyer)
    assert f"/my-orders/{order.id}/rate" in client.get("/my-perks").get_data(as_text=True)
    answer = client.post(f"/my-orders/{order.id}/rate", data={"stars": "5"})
    assert answer.status_code == 302
    assert db.session.scalars(select(Rating.order_id)).all() == [order.id]


def test_the_perk_page_shows_figures_and_published_comments_without_hidden_names(client, login_as):
    hr = factories.UserFactory(roles={Role.HR})
    perk = factories.PerkFactory(per_person_limit=None)
    for stars, comment, show_name in ((5, "Superb", True), (4, "Quiet", False), (2, "", True)):
        claim = used_claim(factories.UserFactory(name=f"Rater {stars}"), perk)
        rating = ratings.rate_claim(claim.id, claim.user, stars, comment, show_name=show_name)
        if comment:
            ratings.set_published(rating.id, True, hr)
    login_as(Role.EMPLOYEE)
    page = client.get(f"/perks/{perk.id}").get_data(as_text=True)
    assert 'data-testid="rating-average">3.7<' in page
    assert "3 ratings" in page
    assert 'data-testid="rating-stars-4">1<' in page
    assert 'data-testid="rating-stars-3">0<' in page
    assert "Superb" in page
    assert "Rater 5" in page
    assert "Quiet" in page
    assert "Rater 4" not in page


def test_the_average_follows_the_readers_language(client, login_as):
    perk = factories.PerkFactory(per_person_limit=None)
    for stars in (5, 4, 4):
        claim = used_claim(perk=perk)
        ratings.rate_claim(claim.id, claim.user, stars, "", show_name=True)
    login_as(Role.EMPLOYEE, locale="vi")
    page = client.get(f"/perks/{perk.id}").get_data(as_text=True)
    assert 'data-testid="rating-average">4,3<' in page


def test_the_product_page_shows_comments_without_any_name(client):
    product = factories.ProductFactory()
    buyer = factories.UserFactory(name="Đỗ Văn Mua")
    rating = ratings.rate_order(
        redeemed_order(buyer, product).id, buyer, 5, "Worth it", show_name=True
    )
    ratings.set_published(rating.id, True, factories.UserFactory(roles={Role.FINANCE}))
    page = client.get(f"/shop/p/{product.slug}").get_data(as_text=True)
    assert "Worth it" in page
    assert "Đỗ Văn Mua" not in page
    assert 'data-testid="rating-count">1 rating<' in page


def test_hr_publishes_and_hides_a_comment_from_the_moderation_page(client, login_as):
    claim = used_claim()
    rating = ratings.rate_claim(claim.id, claim.user, 4, "Good value", show_name=True)
    login_as(Role.HR)
    listing = client.get("/manage/ratings").get_data(as_text=True)
    assert "Good value" in listing
    assert f"/manage/ratings/{rating.id}/publish" in listing
    assert client.post(f"/manage/ratings/{rating.id}/publish").status_code == 303
    db.session.expire_all()
    assert db.session.get(Rating, rating.id).published
    assert "Good value" in client.get(f"/perks/{claim.perk_id}").get_data(as_text=True)
    client.post(f"/manage/ratings/{rating.id}/hide")
    assert "Good value" not in client.get(f"/perks/{claim.perk_id}").get_data(as_text=True)


def test_the_invitation_leads_to_the_rating_form(client, login_as):
    person = login_as(Role.EMPLOYEE)
    perk = factories.PerkFactory()
    claim = claims.claim_perk(perk.id, person)
    client.post(f"/my-perks/{claim.id}/used")
    page = client.get("/notifications").get_data(as_text=True)
    assert "How was it?" in page


def test_a_comment_with_the_name_hidden_is_not_placed_between_the_raters_named_ones(
    client, login_as
):
    # one person rates three perks in a row, hiding their name on the middle one, whose 1 star
    # also opens an anonymous feedback item with the same comment: by moment (or by a
    # sequence's ids) it sat on HR's moderation page between two comments by "Hồ Văn Lộ"
    rater = factories.UserFactory(name="Hồ Văn Lộ")
    titles = ("Cà phê", "Bún chả", "Dầu gội")  # sent in this order; by title Bún chả is first
    perks = [factories.PerkFactory(per_person_limit=None, title_en=t, title_vi=t) for t in titles]
    given = [
        ratings.rate_claim(used_claim(rater, perk).id, rater, stars, comment, show_name=named)
        for perk, stars, comment, named in zip(
            perks,
            (4, 1, 5),
            ("Strong", "Cold and late", "Smells nice"),
            (True, False, True),
            strict=True,
        )
    ]
    ids = [rating.id for rating in given]
    assert ids[1] not in (ids[0] + 1, ids[2] - 1)  # ids carry no order
    login_as(Role.HR)
    listing = client.get("/manage/ratings").get_data(as_text=True)
    places = [listing.index(comment) for comment in ("Cold and late", "Strong", "Smells nice")]
    assert places == sorted(places)  # by day, then by perk: the hidden one first
    assert "Hồ Văn Lộ" in listing
