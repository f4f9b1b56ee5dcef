"""Sign-in, invitations, password changes. Each public function is one unit of work."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from perks import audit
from perks.auth import tokens
from perks.auth.models import UserSession, hash_session_key, new_session_key
from perks.auth.session import session_expiry
from perks.db import affected_rows, transaction, utcnow
from perks.errors import NotPermitted, ValidationFailed
from perks.extensions import db
from perks.i18n import LOCALES
from perks.mail import send_email
from perks.people.models import User, new_session_token, normalise_email
from perks.people.services import ensure_may_manage
from perks.urls import absolute_url

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128


def hash_password(password: str) -> str:
    """``password`` hashed with the app's ``PASSWORD_HASH_METHOD`` (scrypt; production refuses
    any other)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


@functools.cache
def _dummy_hash(method: str) -> str:
    """Checked against when the e-mail is unknown, so both failures take the same time."""
    return generate_password_hash("perks-timing-equaliser", method=method)


class InvalidCredentials(NotPermitted):
    """Wrong e-mail or password (deliberately the same message for both)."""

    status_code = 401
    default_message = _l("The e-mail or password is not correct.")


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def check_password_rules(password: str) -> None:
    """Raises ValidationFailed if ``password`` is too short or too long."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(str(_l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)))
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(str(_l("Use at most %(n)d characters.", n=MAX_PASSWORD_LENGTH)))


#: how long ended sessions are kept, as a record of when each one ended, before the purge
KEEP_ENDED_SESSIONS = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A person and the key of the session just opened for them (for the cookie)."""

    user: User
    session_key: str


def sign_in(email: str, password: str, *, remember: bool = False, user_agent: str = "") -> SignedIn:
    """Check the e-mail and password and open a session for this browser.

    Raises:
        InvalidCredentials: unknown e-mail, wrong password, no password yet, or deactivated.
    """
    with transaction():
        user = find_user_by_email(email)
        if user is None or not user.password_hash:
            check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
            raise InvalidCredentials()
        if not check_password_hash(user.password_hash, password) or not user.active:
            raise InvalidCredentials()
        user.last_login_at = utcnow()
        key = _open_session(user, remember=remember, user_agent=user_agent)
        return SignedIn(user, key)


def _open_session(user: User, *, remember: bool, user_agent: str) -> str:
    """Add a session for ``user`` (flush-free helper); its key, for the cookie."""
    now = utcnow()
    key = new_session_key()
    db.session.add(
        UserSession(
            key_hash=hash_session_key(key),
            user_id=user.id,
            user_stamp=user.session_token,
            created_at=now,
            last_seen_at=now,
            expires_at=session_expiry(current_app.config, remember=remember, now=now),
            user_agent=user_agent[:200],
            remember=remember,
        )
    )
    user.attach_session(key)
    return key


def sign_out(user: User, session_key: str) -> None:
    """End the session ``session_key`` of ``user`` on every host (a copy of its cookie is
    refused from now on). An unknown or already ended session changes nothing."""
    with transaction():
        db.session.execute(
            update(UserSession)
            .where(
                UserSession.key_hash == hash_session_key(session_key),
                UserSession.user_id == user.id,
                UserSession.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )


def _end_every_session(user: User) -> None:
    """Rotate the person's credential stamp and revoke their open sessions (flush-free).

    The new stamp alone ends every session (the loader compares it); revoking the rows
    records when they ended.
    """
    user.session_token = new_session_token()
    if user.id is None:  # not written yet: no session to revoke
        return
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def purge_ended_sessions(now: datetime | None = None) -> int:
    """Delete sessions that expired or were revoked more than ``KEEP_ENDED_SESSIONS`` ago;
    how many. Idempotent, safe on several hosts at once."""
    cutoff = (now or utcnow()) - KEEP_ENDED_SESSIONS
    with transaction():
        result = db.session.execute(
            delete(UserSession).where(
                or_(UserSession.expires_at < cutoff, UserSession.revoked_at < cutoff)
            )
        )
        return affected_rows(result)


def send_invitation(user: User, *, actor: User) -> None:
    """E-mail ``user`` a link to set their password (re-inviting sends a fresh link).

    Raises:
        ValidationFailed: the person is deactivated.
        NotPermitted: HR inviting someone with finance or admin rights (the link sets a new
            password: only an administrator may).
    """
    ensure_may_manage(actor, user)
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
        link=absolute_url("auth.accept_invitation", token=token),
    )
    audit.record("auth.invitation_sent", actor=actor, target=user)


def accept_invitation(token: str, password: str, *, user_agent: str = "") -> SignedIn:
    """Set the first password of an invited person and open their first session (they
    just proved they hold the invitation and chose the password: no second sign-in). For
    someone who had a password (HR sent a new sign-in link), it is a reset: they are told
    their password changed, as after a reset.

    Raises:
        InvalidToken: the link is bad, expired or already used, or the person has left.
        ValidationFailed: the password breaks the rules.
    """
    with transaction():
        user = tokens.user_for_token(token, tokens.INVITATION)
        had_password = user.password_hash is not None
        set_password(user, password)
        if had_password:  # a new sign-in link from HR: a reset, and told as one
            _tell_password_changed(user)
        user.last_login_at = utcnow()
        key = _open_session(user, remember=False, user_agent=user_agent)
        audit.record("auth.invitation_accepted", actor=user, target=user)
        return SignedIn(user, key)


def request_password_reset(email: str) -> None:
    """E-mail a reset link if the address belongs to an active person; silent otherwise.

    Never raises, and returns the same way for a known and an unknown address: the e-mail
    is a row in the outbox, sent after the commit, so a mail server that is down changes
    nothing here (and tells nobody which addresses have accounts).
    """
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
            link=absolute_url("auth.reset_password", token=token),
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
        _tell_password_changed(user)
        audit.record("auth.password_reset", actor=user, target=user)
        return user


def change_password(
    user: User, current_password: str, new_password: str, *, user_agent: str = ""
) -> str:
    """Change a password knowing the current one. Ends every session of the person and
    opens a new one for this browser: the key of that session.

    Raises:
        InvalidCredentials: the current password is wrong.
        ValidationFailed: the new password breaks the rules, or is the current one.
    """
    with transaction():
        if not user.password_hash or not check_password_hash(user.password_hash, current_password):
            raise InvalidCredentials(str(_l("The current password is not correct.")))
        if new_password == current_password:
            raise ValidationFailed(
                str(_l("Choose a new password: this one is the password you have now."))
            )
        set_password(user, new_password)
        key = _open_session(user, remember=False, user_agent=user_agent)
        _tell_password_changed(user)
        audit.record("auth.password_changed", actor=user, target=user)
        return key


def _tell_password_changed(user: User) -> None:
    """E-mail the person that their password changed (a row in the outbox, sent after the
    commit): someone whose account was taken learns it at once, and how to take it back. Not
    for a first password (an invitation). Raises nothing."""
    send_email(
        user.email,
        "password_changed",
        locale=user.locale,
        user=user,
        changed_at=utcnow(),
        link=absolute_url("auth.forgot_password"),
    )


def set_password(user: User, password: str) -> None:
    """Hash and set a new password and end every session of the person (flush-free helper).

    Raises:
        ValidationFailed: the password breaks the rules.
    """
    check_password_rules(password)
    user.password_hash = hash_password(password)
    # Every cookie issued with the old password stops working, on every host.
    _end_every_session(user)


def log_out_everywhere(user: User) -> None:
    """End every session and remember-me cookie of ``user``, on every host."""
    with transaction():
        _end_every_session(user)
        audit.record("auth.logged_out_everywhere", actor=user, target=user)


def set_preferred_locale(user: User, locale: str) -> None:
    """Raises ValidationFailed for a language we do not offer."""
    if locale not in LOCALES:
        raise ValidationFailed()
    with transaction():
        user.locale = locale
