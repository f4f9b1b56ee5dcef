"""Two HR people editing one person: a save from a page opened before a change of what it
shows (by another HR person, an import, the person choosing their language) is refused in
the reader's language, with nothing of it written, and the form shows the person as they are
with what was entered; a save from the person as they are works. What the page does not show
(sign-ins, sessions, a password, the person's privacy choices) does not make it out of date.
On PostgreSQL, two saves from the same page racing: one is saved, the other refused."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update

from perks.auth import services as auth_services
from perks.errors import ChangedMeanwhile
from perks.extensions import db
from perks.people import services
from perks.people.models import Role, User
from tests import factories
from tests.helpers import is_postgres, person_form, signed_in
from tests.stale_saves import FINGERPRINT, GuardedForm, audit_events

UPDATED = "people.updated"


def hr_person(**fields: object) -> User:
    return factories.UserFactory(roles={Role.HR}, **fields)


def edit_page(person_id: int) -> GuardedForm:
    return GuardedForm(
        f"/people/{person_id}/edit",
        field="shown",
        audited=(UPDATED,),
        version_pattern=FINGERPRINT,
    )


def stored(person_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, person_id)  # type: ignore[return-value]


def test_a_save_from_a_page_opened_before_anothers_save_is_refused_and_writes_nothing(app):
    person = factories.UserFactory(name="Lê Văn An", location="Hà Nội", employee_number="SV1")
    edit = edit_page(person.id)
    first = signed_in(app, hr_person())
    second = signed_in(app, hr_person(locale="vi"))
    opened = edit.opened(first, second)

    edit.saves(first, person_form(person, location="Đà Nẵng", shown=opened))
    refused = edit.refuses(second, person_form(person, employee_number="SV9", shown=opened))

    assert "Có người đã thay đổi thông tin của Lê Văn An sau khi bạn mở trang" in refused.html
    person = stored(person.id)
    assert (person.location, person.employee_number) == ("Đà Nẵng", "SV1")
    # the form shows the person as they are now, and beside it what was entered that differs
    assert 'value="Đà Nẵng"' in refused.html
    assert 'value="SV9"' not in refused.html
    assert "SV9" in refused.entered
    assert "Hà Nội" in refused.entered  # the location the page showed, which the first one changed
    assert "Lê Văn An" not in refused.entered  # the same as saved
    assert refused.version == services.shown_fingerprint(person)

    # Saved again from the form as it is now, it is saved.
    edit.saves(second, person_form(person, employee_number="SV9", shown=refused.version))
    person = stored(person.id)
    assert (person.location, person.employee_number) == ("Đà Nẵng", "SV9")


def test_what_the_page_does_not_show_leaves_it_current(app):
    person = factories.UserFactory(name="Lê Văn An")
    client = signed_in(app, hr_person())
    opened = edit_page(person.id).version_shown(client)

    # the person signs in, signs out everywhere, changes their password and privacy choices
    signed_in(app, person)
    auth_services.log_out_everywhere(person)
    auth_services.set_password(person, "a new long passphrase 2026")
    services.set_privacy(person, hide_personal_dates=True, public_celebration=False)

    edit_page(person.id).saves(client, person_form(person, location="Huế", shown=opened))
    assert stored(person.id).location == "Huế"


@pytest.mark.parametrize("change", ["own language", "bulk update"])
def test_a_change_of_what_the_page_shows_by_anyone_makes_it_out_of_date(app, change):
    person = factories.UserFactory(name="Lê Văn An", locale="vi", location="Hà Nội")
    client = signed_in(app, hr_person())
    opened = edit_page(person.id).version_shown(client)

    if change == "own language":
        auth_services.set_preferred_locale(person, "en")
    else:  # as an import or the API write: one UPDATE, not through the ORM's objects
        db.session.execute(update(User).where(User.id == person.id).values(name="Lê Văn Anh"))
        db.session.commit()

    edit_page(person.id).refuses(client, person_form(person, location="Huế", shown=opened))
    assert stored(person.id).location == "Hà Nội"


def test_a_save_without_the_fingerprint_of_its_page_is_refused(app):
    person = factories.UserFactory(location="Hà Nội")
    client = signed_in(app, hr_person())
    edit_page(person.id).refuses_without_version(client, person_form(person, location="Huế"))
    assert stored(person.id).location == "Hà Nội"


def test_the_service_refuses_a_page_that_showed_other_roles(app):
    person = factories.UserFactory(roles={Role.EMPLOYEE})
    hr = hr_person()
    data = services.person_data_of(person)
    opened = services.shown_fingerprint(person)

    managing = services.PersonData(
        **{**vars(data), "roles": frozenset({Role.EMPLOYEE, Role.MANAGER})}
    )
    services.update_person(person, managing, actor=hr, shown=opened)
    before = audit_events(UPDATED)
    with pytest.raises(ChangedMeanwhile):
        services.update_person(
            person,
            services.PersonData(**{**vars(data), "roles": frozenset({Role.EMPLOYEE, Role.HR})}),
            actor=hr,
            shown=opened,
        )
    assert stored(person.id).roles == {Role.EMPLOYEE, Role.MANAGER}
    assert audit_events(UPDATED) == before


def test_two_saves_from_the_same_page_at_once_save_one_and_refuse_the_other(app):
    """PostgreSQL: both pages showed the same person and are sent at the same moment, each
    request on its own connection; without the check under the lock both would be saved and
    the last would win."""
    if not is_postgres(app):
        pytest.skip("racing saves need PostgreSQL's concurrent writers; set TEST_DATABASE_URL")
    person = factories.UserFactory(name="Lê Văn An")
    person_id, data = person.id, person_form(person)
    emails = [hr_person().email, hr_person().email]

    edit = edit_page(person_id)

    def placed(n: int, client: FlaskClient) -> dict[str, object]:
        return {**data, "location": f"Nơi {n}", "shown": edit.version_shown(client)}

    saved = edit.raced(app, emails, placed)

    with app.app_context():
        assert db.session.get(User, person_id).location == saved["location"]  # type: ignore[union-attr]
        assert audit_events(UPDATED) == 1
