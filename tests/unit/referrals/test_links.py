"""Employees' links: one default link each, more to products and categories, unique codes,
pausing, and nobody else's links."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from perks.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from perks.extensions import db
from perks.referrals import services
from perks.referrals.models import (
    LINK_CODE_ALPHABET,
    Destination,
    ReferralLink,
    new_link_codes,
)
from perks.referrals.services import create_link, ensure_default_link, set_link_paused
from tests.factories import (
    ClickFactory,
    ProductCategoryFactory,
    ProductFactory,
    ReferralLinkFactory,
    UserFactory,
)


def links_of(user) -> list[ReferralLink]:  # type: ignore[no-untyped-def]
    return list(db.session.scalars(select(ReferralLink).where(ReferralLink.user_id == user.id)))


# --- the default link ------------------------------------------------------------------------


def test_the_default_link_is_made_once_and_leads_to_the_storefront(app):
    person = UserFactory()
    first = ensure_default_link(person)
    again = ensure_default_link(person)
    assert first.id == again.id
    assert first.is_default
    assert first.destination is Destination.STOREFRONT
    assert len(first.code) == 7
    assert set(first.code) <= set(LINK_CODE_ALPHABET)
    assert len(links_of(person)) == 1


def test_codes_drawn_at_once_use_every_character_in_every_place():
    codes = new_link_codes(20_000)
    assert len(codes) == 20_000
    assert len(set(codes)) == 20_000  # 31^7 codes: a repeat here is a broken draw
    for place in range(7):
        seen = Counter(code[place] for code in codes)
        assert set(seen) == set(LINK_CODE_ALPHABET)
        # about 645 each; far below or above means some characters are favoured
        assert min(seen.values()) > 450
        assert max(seen.values()) < 850
    assert new_link_codes(0) == []


def test_the_database_refuses_a_second_default_link(app):
    person = UserFactory()
    ensure_default_link(person)
    db.session.add(ReferralLink(user_id=person.id, code="second1", is_default=True))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    # Other links are not limited by it.
    ReferralLinkFactory(user=person)
    ReferralLinkFactory(user=person)
    assert len(links_of(person)) == 3


def test_a_deactivated_person_gets_no_new_default_link(app):
    with pytest.raises(NotPermitted):
        ensure_default_link(UserFactory(active=False))


def test_every_active_person_can_be_given_a_default_link_at_once(app):
    people = [UserFactory() for _ in range(3)]
    ensure_default_link(people[0])
    UserFactory(active=False)
    assert services.ensure_default_links() == 2
    assert services.ensure_default_links() == 0
    for person in people:
        assert sum(link.is_default for link in links_of(person)) == 1


def test_a_code_already_taken_is_replaced_by_a_fresh_one(app, monkeypatch):
    taken = ReferralLinkFactory(code="abcdefg")
    codes = iter(["abcdefg", "abcdefg", "hjkmnpq"])
    monkeypatch.setattr(services, "new_link_code", lambda: next(codes))
    link = ensure_default_link(UserFactory())
    assert link.code == "hjkmnpq"
    assert taken.code == "abcdefg"


# --- more links ------------------------------------------------------------------------------


def test_an_employee_makes_links_to_a_product_and_a_category(app):
    person = UserFactory()
    product = ProductFactory()
    category = ProductCategoryFactory()
    to_product = create_link(
        person, label="  Zalo   group ", destination=Destination.PRODUCT, destination_id=product.id
    )
    to_category = create_link(
        person, label="Facebook post", destination=Destination.CATEGORY, destination_id=category.id
    )
    assert (to_product.label, to_product.destination_id) == ("Zalo group", product.id)
    assert (to_category.destination, to_category.is_default) == (Destination.CATEGORY, False)
    assert to_product.code != to_category.code


def test_a_storefront_link_ignores_any_page_id(app):
    link = create_link(
        UserFactory(), label="Flyer", destination=Destination.STOREFRONT, destination_id=42
    )
    assert link.destination_id is None


@pytest.mark.parametrize(
    ("destination", "make_id"),
    [
        (Destination.PRODUCT, lambda: 999_999),
        (Destination.PRODUCT, lambda: ProductFactory(active=False).id),
        (Destination.PRODUCT, lambda: None),
        (Destination.CATEGORY, lambda: 999_999),
    ],
    ids=["missing-product", "product-off-sale", "no-product", "missing-category"],
)
def test_a_link_to_a_page_that_is_not_on_sale_is_refused(app, destination, make_id):
    with pytest.raises(ValidationFailed):
        create_link(UserFactory(), label="x", destination=destination, destination_id=make_id())


@pytest.mark.parametrize("label", ["", "   ", "x" * 81])
def test_a_link_needs_a_label_of_at_most_80_characters(app, label):
    with pytest.raises(ValidationFailed):
        create_link(
            UserFactory(), label=label, destination=Destination.STOREFRONT, destination_id=None
        )


def test_a_deactivated_person_makes_no_links(app):
    with pytest.raises(NotPermitted):
        create_link(
            UserFactory(active=False),
            label="x",
            destination=Destination.STOREFRONT,
            destination_id=None,
        )


def test_nobody_has_more_than_the_maximum_number_of_links(app, monkeypatch):
    monkeypatch.setattr(services, "MAX_LINKS_PER_PERSON", 2)
    person = UserFactory()
    for n in range(2):
        create_link(person, label=f"{n}", destination=Destination.STOREFRONT, destination_id=None)
    with pytest.raises(Conflict):
        create_link(person, label="3", destination=Destination.STOREFRONT, destination_id=None)


# --- reading and pausing ---------------------------------------------------------------------


def test_another_persons_link_is_not_found(app):
    link = ReferralLinkFactory()
    with pytest.raises(NotFound):
        services.own_link(link.id, UserFactory())
    with pytest.raises(NotFound):
        set_link_paused(link.id, UserFactory(), paused=True)
    assert services.own_link(link.id, link.user) == link


def test_pausing_and_resuming_twice_changes_nothing_more(app):
    link = ReferralLinkFactory()
    assert set_link_paused(link.id, link.user, paused=True).paused
    assert set_link_paused(link.id, link.user, paused=True).paused
    assert not set_link_paused(link.id, link.user, paused=False).paused


def test_my_links_counts_human_clicks_default_link_first(app):
    person = UserFactory()
    product = ProductFactory()
    default = ensure_default_link(person)
    to_product = create_link(
        person, label="Zalo", destination=Destination.PRODUCT, destination_id=product.id
    )
    for _ in range(3):
        ClickFactory(link_id=to_product.id)
    ClickFactory(link_id=to_product.id, is_bot=True, user_agent_family="facebookexternalhit")
    ClickFactory(link_id=ReferralLinkFactory().id)  # someone else's

    rows = services.my_links(person)

    assert [row.link.id for row in rows] == [default.id, to_product.id]
    assert [row.clicks for row in rows] == [0, 3]
    assert [row.destination_name for row in rows] == [None, product.name]


def test_a_link_to_a_product_taken_off_sale_leads_to_the_storefront(app):
    person = UserFactory()
    product = ProductFactory()
    link = create_link(
        person, label="x", destination=Destination.PRODUCT, destination_id=product.id
    )
    assert services.link_details(link)[1].endpoint == "shop.product"
    product.active = False
    db.session.commit()
    assert services.link_details(link)[1] == services.STOREFRONT
