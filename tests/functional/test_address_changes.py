"""A sign-in address changed by someone else is told to the old address: whoever changes it
can send a sign-in link to the new one and take the account over, and from then on every
e-mail about the account (a password changed) goes to the new address."""

from __future__ import annotations

from sqlalchemy import select

from perks.audit import AuditEvent
from perks.extensions import db
from perks.mail import OutboxMessage
from perks.people import imports
from perks.people import services as people_services
from perks.people.models import Role
from tests import factories
from tests.helpers import login, person_form


def mail_to(recipient: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == recipient))
    )


def edited(person, **overrides: object) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """The edit form of ``person`` as its page showed them, with ``overrides``."""
    shown = people_services.shown_fingerprint(person)
    return {**person_form(person, **overrides), "shown": shown}


def test_hr_changing_an_address_tells_the_old_one_in_the_persons_language(app, client):
    hr = factories.UserFactory(roles={Role.HR}, name="Phạm Thị Nhân Sự")
    person = factories.UserFactory(email="lan@congty.vn", name="Lê Thị Lan", locale="vi")
    login(client, hr)

    saved = client.post(
        f"/people/{person.id}/edit", data=edited(person, email="lan.moi@example.com")
    )

    assert saved.status_code == 302, saved.get_data(as_text=True)[:500]
    [told] = mail_to("lan@congty.vn")
    assert told.subject == "Địa chỉ đăng nhập Perks của bạn đã được thay đổi"
    assert "Phạm Thị Nhân Sự" in told.body_text
    assert "lan.moi@example.com" in told.body_text
    assert "báo ngay cho quản trị viên" in told.body_text


def test_an_address_corrected_before_anyone_signed_in_tells_nobody(app, client):
    hr = factories.UserFactory(roles={Role.HR})
    invited = factories.UserFactory(email="typo@congty.vn", password_hash=None)
    login(client, hr)

    saved = client.post(f"/people/{invited.id}/edit", data=edited(invited, email="right@congty.vn"))

    assert saved.status_code == 302
    assert mail_to("typo@congty.vn") == []


def test_an_import_or_the_api_changing_an_address_tells_the_old_one(app):
    hr = factories.UserFactory(roles={Role.HR})
    person = factories.UserFactory(
        email="an@congty.vn", name="Nguyễn Văn An", employee_number="NV7", locale="en"
    )

    imports.import_rows(
        ["employee_number", "email", "name"],
        [["NV7", "an.new@example.com", "Nguyễn Văn An"]],
        actor=hr,
        filename="API: payroll sync",
    )
    db.session.commit()

    [told] = mail_to("an@congty.vn")
    assert told.subject == "Your Perks sign-in address was changed"
    assert "an.new@example.com" in told.body_text
    assert person.email == "an.new@example.com"


def test_the_audit_log_keeps_both_addresses_of_every_change(app, client):
    """The audit said only that the "email" field changed: after an account was taken over
    through a changed address, nobody could read which address it had been moved to, or
    from. Every way an address changes keeps both (an invitation's typo too)."""
    hr = factories.UserFactory(roles={Role.HR})
    invited = factories.UserFactory(email="typo@congty.vn", password_hash=None)
    factories.UserFactory(email="an@congty.vn", name="Nguyễn Văn An", employee_number="NV7")
    login(client, hr)
    client.post(f"/people/{invited.id}/edit", data=edited(invited, email="right@congty.vn"))
    imports.import_rows(
        ["employee_number", "email", "name"],
        [["NV7", "an.new@example.com", "Nguyễn Văn An"]],
        actor=hr,
        filename="API: payroll sync",
    )
    db.session.commit()

    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "people.email_changed")
        .order_by(AuditEvent.id)
    )
    assert [(e.actor_id, e.details["changes"]) for e in events] == [
        (hr.id, {"email": ["typo@congty.vn", "right@congty.vn"]}),
        (hr.id, {"email": ["an@congty.vn", "an.new@example.com"]}),
    ]
