"""What a person is told of changes others make to their account.

A sign-in address changed by HR (on the person's page, by an import or through the API) is
told to the OLD address: whoever changes it can then send a sign-in link to the new one and
take the account over, and every later e-mail (a password changed) goes to the new address.
The old address is the only place its owner still hears of it.
"""

from __future__ import annotations

from perks import audit
from perks.db import utcnow
from perks.extensions import db
from perks.mail import send_email
from perks.people.models import User
from perks.urls import absolute_url


def tell_address_changed(person: User, old_email: str, *, actor: User | None) -> None:
    """E-mail ``old_email`` that ``person``'s sign-in address is now their current one (a row
    in the outbox, sent after the commit), in their language, naming who changed it. Only
    for someone who has used the account (has a password): an invitation's address corrected
    before anyone signed in tells no stranger anything. Every change is in the audit log with
    both addresses (``people.email_changed``): the trail of an account taken over through
    its address. Raises nothing."""
    if not old_email or old_email == person.email:
        return
    audit.record(
        "people.email_changed",
        actor=actor,
        target=person,
        changes=audit.changes({"email": old_email}, {"email": person.email}),
    )
    if not person.password_hash:
        return
    send_email(
        old_email,
        "email_changed",
        locale=person.locale,
        user=person,
        old_email=old_email,
        changed_by=actor.name if actor is not None else None,
        changed_at=utcnow(),
        link=absolute_url("auth.login"),
    )


def tell_addresses_changed(changes: list[tuple[int, str]], *, actor: User | None) -> None:
    """``tell_address_changed`` for each (person id, old address) of ``changes``, the people
    read in one statement. Raises nothing."""
    if not changes:
        return
    people = {
        person.id: person
        for person in db.session.scalars(
            db.select(User).where(User.id.in_([user_id for user_id, _old in changes]))
        )
    }
    for user_id, old_email in changes:
        person = people.get(user_id)
        if person is not None:
            tell_address_changed(person, old_email, actor=actor)
