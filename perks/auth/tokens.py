"""Signed, time-limited, single-use tokens for invitations and password resets.

A token carries the user id and a fingerprint of the current password hash, session token
and e-mail address. Setting a password changes both the first, so a used token no longer
matches: single use without storing tokens. A changed address ends the links sent to the old
one (an invitation HR sent to a mistyped address, corrected since).
"""

from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from perks.errors import InvalidToken
from perks.extensions import db
from perks.people.models import User

INVITATION = "invitation"
PASSWORD_RESET = "password-reset"  # noqa: S105 - a token purpose, not a secret


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    """Signs with ``SECRET_KEY``; also opens what ``SECRET_KEY_FALLBACKS`` signed (oldest
    first, the current key last, as Flask orders them for its session)."""
    config = current_app.config
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or ()), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=f"perks.{purpose}")


def _fingerprint(user: User) -> str:
    # the address the link was sent to: a link that went to an address since corrected
    # must not set the password of whoever the account now belongs to
    material = f"{user.password_hash or ''}|{user.session_token}|{user.active}|{user.email}"
    return hashlib.sha256(material.encode()).hexdigest()[:20]


def make_token(user: User, purpose: str) -> str:
    return _serializer(purpose).dumps({"uid": user.id, "fp": _fingerprint(user)})


def max_age(purpose: str) -> int:
    if purpose == INVITATION:
        return current_app.config["INVITATION_MAX_AGE_HOURS"] * 3600
    return current_app.config["PASSWORD_RESET_MAX_AGE_MINUTES"] * 60


def user_for_token(token: str, purpose: str) -> User:
    """The person a valid token was made for.

    Raises:
        InvalidToken: bad signature, expired, made for another purpose, already used, the
            person is deactivated, or their e-mail address changed since it was sent.
    """
    try:
        data = _serializer(purpose).loads(token, max_age=max_age(purpose))
    except BadSignature as error:  # SignatureExpired is a BadSignature
        raise InvalidToken() from error
    if not isinstance(data, dict):
        raise InvalidToken()
    user = db.session.get(User, data.get("uid"))
    if user is None or not user.active or data.get("fp") != _fingerprint(user):
        raise InvalidToken()
    return user
