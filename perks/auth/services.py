"""Sign-in, invitations, password changes. Each public function is one unit of work."""

from __future__ import annotations

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from perks import audit
from perks.auth import tokens
from perks.auth.models import LOCALES, User, new_session_token
from perks.db import transaction, utcnow
from perks.errors import NotPermitted, ValidationFailed
from perks.extensions import db
from perks.mail import send_email

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128

# Checked against when the e-mail is unknown, so both failures take the same time.
_DUMMY_HASH = generate_password_hash("perks-timing-equaliser")


class InvalidCredentials(NotPermitted):
    """Wrong e-mail or password (deliberately the same message for both)."""

    status_code = 401
    default_message = _l("The e-mail or password is not correct.")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def check_password_rules(password: str) -> None:
    """Raises ValidationFailed if ``password`` is too short or too long."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(str(_l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)))
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(str(_l("Use at most %(n)d characters.", n=MAX_PASSWORD_LENGTH)))


def authenticate(email: str, password: str) -> User:
    """The active person with this e-mail and password, with the sign-in recorded.

    Raises:
        InvalidCredentials: unknown e-mail, wrong password, no password yet, or deactivated.
    """
    with transaction():
        user = find_user_by_email(email)
        if user is None or not user.password_hash:
            check_password_hash(_DUMMY_HASH, password)
            raise InvalidCredentials()
        if not check_password_hash(user.password_hash, password) or not user.active:
            raise InvalidCredentials()
        user.last_login_at = utcnow()
        return user


def send_invitation(user: User, *, actor: User) -> None:
    """E-mail ``user`` a link to set their password.

    Raises:
        Conflict-free: re-inviting simply sends a fresh link.
        ValidationFailed: the person is deactivated.
    """
    with transaction():
        _send_invitation(user, actor=actor)


def _send_invitation(user: User, *, actor: User | None) -> None:
    if not user.active:
        raise ValidationFailed(str(_l("A deactivated person cannot be invited.")))
    user.invited_at = utcnow()
    token = tokens.make_token(user, tokens.INVITATION)
    send_email(
        user.email,
        "invitation",
        locale=user.locale,
        user=user,
        link=url_for("auth.accept_invitation", token=token, _external=True),
    )
    audit.record("auth.invitation_sent", actor=actor, target=user)


def accept_invitation(token: str, password: str) -> User:
    """Set the first password of an invited person.

    Raises:
        InvalidToken: the link is bad, expired or already used.
        ValidationFailed: the password breaks the rules.
    """
    with transaction():
        user = tokens.user_for_token(token, tokens.INVITATION)
        set_password(user, password)
        audit.record("auth.invitation_accepted", actor=user, target=user)
        return user


def request_password_reset(email: str) -> None:
    """E-mail a reset link if the address belongs to an active person; silent otherwise."""
    with transaction():
        user = find_user_by_email(email)
        if user is None or not user.active:
            return
        token = tokens.make_token(user, tokens.PASSWORD_RESET)
        send_email(
            user.email,
            "password_reset",
            locale=user.locale,
            user=user,
            link=url_for("auth.reset_password", token=token, _external=True),
        )


def reset_password(token: str, password: str) -> User:
    """Set a new password from a reset link; signs the person out everywhere.

    Raises:
        InvalidToken: the link is bad, expired or already used.
        ValidationFailed: the password breaks the rules.
    """
    with transaction():
        user = tokens.user_for_token(token, tokens.PASSWORD_RESET)
        set_password(user, password)
        audit.record("auth.password_reset", actor=user, target=user)
        return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change a password knowing the current one; signs the person out everywhere else.

    Raises:
        InvalidCredentials: the current password is wrong.
        ValidationFailed: the new password breaks the rules.
    """
    with transaction():
        if not user.password_hash or not check_password_hash(user.password_hash, current_password):
            raise InvalidCredentials(str(_l("The current password is not correct.")))
        set_password(user, new_password)
        audit.record("auth.password_changed", actor=user, target=user)


def set_password(user: User, password: str) -> None:
    """Hash and set a new password and rotate the alternative id (flush-free helper).

    Raises:
        ValidationFailed: the password breaks the rules.
    """
    check_password_rules(password)
    user.password_hash = generate_password_hash(password)
    # New alternative id: every cookie issued with the old password stops working.
    user.session_token = new_session_token()


def log_out_everywhere(user: User) -> None:
    """Invalidate every session and remember-me cookie of ``user``."""
    with transaction():
        user.session_token = new_session_token()
        audit.record("auth.logged_out_everywhere", actor=user, target=user)


def set_preferred_locale(user: User, locale: str) -> None:
    """Raises ValidationFailed for a language we do not offer."""
    if locale not in LOCALES:
        raise ValidationFailed()
    with transaction():
        user.locale = locale
