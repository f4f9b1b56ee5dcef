"""Bootstrapping the first administrator from the command line."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from werkzeug.security import check_password_hash

from perks import audit
from perks.auth.services import find_user_by_email, set_password
from perks.db import transaction
from perks.errors import ValidationFailed
from perks.extensions import db
from perks.i18n import format_number
from perks.people.events import announce_activated
from perks.people.models import Role, User, normalise_email, roles_changed

#: ``User.name``'s column, and the people page's limit
MAX_NAME_LENGTH = 120


def ensure_admin(email: str, *, name: str, password: str) -> tuple[User, bool]:
    """Create an active admin with ``password``, or give an existing person the admin role
    and that password. Running it twice changes nothing the second time.

    Raises:
        ValidationFailed: a bad e-mail, an empty or too long name, or a password that breaks
            the rules.
    """
    email = normalise_email(email)
    try:  # the people page's check (WTForms' Email uses this library); it caps the length too
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValidationFailed(_("Enter a valid e-mail address.")) from error
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed(_("Enter a name."))
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed(
            _(
                "%(field)s is longer than %(max)s characters.",
                field=_("Full name"),
                max=format_number(MAX_NAME_LENGTH),
            )
        )
    with transaction():
        user = find_user_by_email(email)
        created = user is None
        if user is None:
            user = User(email=email, name=name)
            db.session.add(user)
        activated = created or not user.active
        before = user.roles
        user.active = True
        user.set_roles(user.roles | {Role.ADMIN, Role.EMPLOYEE})
        password_set = not (
            user.password_hash and check_password_hash(user.password_hash, password)
        )
        if password_set:
            set_password(user, password)
        db.session.flush()
        # what it changed of someone already there: their account reactivated, their password
        # replaced, and their roles, as the people page audits them (``auth.roles_changed``)
        changed = [
            field
            for field, did in (("active", activated and not created), ("password", password_set))
            if did
        ]
        audit.record("auth.admin_ensured", actor=None, target=user, created=created, fields=changed)
        if not created and before != user.roles:
            audit.record(
                "auth.roles_changed", actor=None, target=user, **roles_changed(before, user.roles)
            )
        if activated:
            announce_activated([user])  # their default referral link, in this transaction
        return user, created
