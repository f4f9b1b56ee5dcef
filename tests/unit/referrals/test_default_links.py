"""Everyone active gets a default link when they join (added by HR, the CSV import or the
first-admin command) or come back (re-activated): people announce it (``people_activated``),
referrals listen. Nobody waits for a first visit of the links page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from perks.auth.admin import ensure_admin
from perks.extensions import db
from perks.people import imports
from perks.people.models import Role, User
from perks.people.services import PersonData, create_person, deactivate_person, reactivate_person
from perks.referrals import services
from perks.referrals.models import Destination, ReferralLink
from tests.factories import ReferralLinkFactory, UserFactory

PASSWORD = "a long enough password"


def default_links(user_id: int) -> list[ReferralLink]:
    return list(
        db.session.scalars(
            select(ReferralLink).where(ReferralLink.user_id == user_id, ReferralLink.is_default)
        )
    )


def test_a_person_added_by_hr_has_a_default_link_to_the_storefront(app):
    hr = UserFactory(roles={Role.HR})
    person = create_person(PersonData(email="Moi@Example.com", name="Người Mới"), actor=hr)

    [link] = default_links(person.id)
    assert link.destination is Destination.STOREFRONT
    assert (link.label, link.paused) == ("", False)


def test_a_re_activated_person_gets_a_default_link_if_they_had_none(app):
    hr = UserFactory(roles={Role.HR})
    returning = UserFactory(active=False)
    kept = UserFactory(active=False)
    old = ReferralLinkFactory(user=kept, is_default=True)

    reactivate_person(returning, actor=hr)
    reactivate_person(kept, actor=hr)

    assert len(default_links(returning.id)) == 1
    assert [link.id for link in default_links(kept.id)] == [old.id]


def test_deactivating_makes_no_link_and_reactivating_twice_makes_one(app):
    hr = UserFactory(roles={Role.HR})
    person = create_person(PersonData(email="di@example.com", name="Đi Rồi Về"), actor=hr)
    deactivate_person(person, actor=hr)
    reactivate_person(person, actor=hr)
    reactivate_person(person, actor=hr)
    assert len(default_links(person.id)) == 1


def test_the_csv_import_gives_active_people_their_link_and_inactive_ones_none(app):
    hr = UserFactory(roles={Role.HR})
    away = UserFactory(email="ve@example.com", name="Về Lại", active=False)
    text = (
        "email,name,active\n"
        "a@example.com,Người A,yes\n"
        "b@example.com,Người B,no\n"
        "ve@example.com,Về Lại,yes\n"
    )

    imports.apply_import(text, actor=hr, filename="people.csv")

    by_email = dict(db.session.execute(select(User.email, User.id)).all())
    people = dict(
        db.session.execute(
            select(ReferralLink.user_id, func.count())
            .where(ReferralLink.is_default)
            .group_by(ReferralLink.user_id)
        ).all()
    )
    assert people.get(by_email["a@example.com"]) == 1
    assert by_email["b@example.com"] not in people
    assert people.get(away.id) == 1
    # importing the same file again changes nothing, links included
    imports.apply_import(text, actor=hr, filename="people.csv")
    assert (
        db.session.scalar(
            select(func.count()).select_from(ReferralLink).where(ReferralLink.is_default)
        )
        == 2
    )


def test_the_first_admin_gets_a_default_link_once(app):
    admin, created = ensure_admin("boss@example.com", name="Sếp", password=PASSWORD)
    again, created_again = ensure_admin("boss@example.com", name="Sếp", password=PASSWORD)
    assert (created, created_again) == (True, False)
    assert admin.id == again.id
    assert len(default_links(admin.id)) == 1


def test_only_the_new_codes_that_clash_are_drawn_again(app, monkeypatch):
    ReferralLinkFactory(code="abcdefg")
    people = [UserFactory() for _ in range(3)]
    # the first code is taken and the third drawn twice: those two alone draw again (the
    # first twice, as its next code is still taken); nothing more is drawn
    codes = iter(["abcdefg", "bbbbbbb", "bbbbbbb", "abcdefg", "ccccccc", "ddddddd"])
    monkeypatch.setattr(
        services, "new_link_codes", lambda count: [next(codes) for _ in range(count)]
    )

    assert services.give_default_links([person.id for person in people]) == 3
    db.session.commit()

    assert [link.code for p in people for link in default_links(p.id)] == [
        "ddddddd",
        "bbbbbbb",
        "ccccccc",
    ]
    assert next(codes, None) is None
    assert services.give_default_links([person.id for person in people]) == 0


def test_codes_that_keep_clashing_end_in_an_error_not_in_someone_left_without_a_link(
    app, monkeypatch
):
    ReferralLinkFactory(code="abcdefg")
    people = [UserFactory() for _ in range(2)]
    draws: list[int] = []

    def always_taken(count):
        draws.append(count)
        return ["abcdefg"] * count

    monkeypatch.setattr(services, "new_link_codes", always_taken)

    with pytest.raises(IntegrityError):
        services.give_default_links([person.id for person in people])
    db.session.rollback()

    # every attempt but the last left the taken code out; the last let it raise
    assert draws == [2] * services.CODE_ATTEMPTS
    assert [default_links(person.id) for person in people] == [[], []]
