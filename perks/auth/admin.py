"""Bootstrapping the first administrator from the command line."""

from __future__ import annotations

from flask_babel import gettext as _
from werkzeug.security import check_password_hash

from perks import audit
from perks.auth.services import find_user_by_email, set_password
from perks.db import transaction
from perks.errors import ValidationFailed
from perks.extensions import db
from perks.people.events import announce_activated
from perks.people.models import Role, User, normalise_email


def ensure_admin(email: str, *, name: str, password: str) -> tuple[User, bool]:
    """Create an active admin with ``password``, or give an existing person the admin role
    and that password. Running it twice changes nothing the second time.

    Raises:
        ValidationFailed: a bad e-mail, an empty name or a password that breaks the rules.
    """
    email = normalise_email(email)
    if "@" not in email:
        raise ValidationFailed(_("Enter a valid e-mail address."))
    name = " ".join(name.split())
    if not name:
        raise ValidationFailed(_("Enter a name."))
    with transaction():
        user = find_user_by_email(email)
        created = user is None
        if user is None:
            user = User(email=email, name=name)
            db.session.add(user)
        activated = created or not user.active
        user.active = True
        user.set_roles(user.roles | {Role.ADMIN, Role.EMPLOYEE})
        if not (user.password_hash and check_password_hash(user.password_hash, password)):
            set_password(user, password)
        db.session.flush()
        audit.record("auth.admin_ensured", actor=None, target=user)
        if activated:
            announce_activated([user])  # their default referral link, in this transaction
        return user, created
