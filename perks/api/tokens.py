"""API tokens: made by admins (service tokens) or by people (their own read tokens), shown
once, kept as the SHA-256 of the secret, checked in constant time, revocable."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from perks import audit
from perks.api.models import PERSONAL_SCOPES, ApiToken, Scope
from perks.db import take_turns, transaction, utcnow
from perks.errors import NotFound, NotPermitted, PerksError, ValidationFailed
from perks.extensions import db
from perks.i18n import company_date, company_today, day_start
from perks.people.models import Role, User

#: what every secret starts with, so that a leaked one is easy to recognise (secret scanners)
SECRET_PREFIX = "pk_"  # noqa: S105  a marker, not a secret
#: the longest a token may live
MAX_DAYS = 366


class Unauthenticated(PerksError):
    """No token, or one that is unknown, expired or revoked."""

    status_code = 401

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _("A valid API token is needed (Authorization: Bearer)."))


@dataclass(frozen=True)
class NewToken:
    """A token just made, with its secret: the only time the secret is known."""

    token: ApiToken
    secret: str


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_sending() -> str:
    """The token of a token form drawn now (random): the form sent again with it is the token
    it made (``create_service_token``). Raises nothing."""
    return secrets.token_hex(16)


def _secret(owner: User, personal: bool, sending: str | None) -> str:
    """A new token's secret: random, or for a form's ``sending`` one only this server makes
    from it (``SECRET_KEY``), so that the same form sent again names the same token."""
    if not sending:
        return SECRET_PREFIX + secrets.token_urlsafe(32)
    key = str(current_app.config["SECRET_KEY"]).encode()
    made = hmac.new(
        key, f"perks.api-token:{owner.id}:{personal}:{sending}".encode(), hashlib.sha256
    ).digest()
    return SECRET_PREFIX + base64.urlsafe_b64encode(made).rstrip(b"=").decode()


def _made_by_this_form(secret: str) -> ApiToken | None:
    """The token a form sent before made (its secret is ``secret``), if any.

    Raises:
        ValidationFailed: it was revoked since: its secret is not shown again.
    """
    digest = secret_hash(secret)
    take_turns(f"perks.api-token:{digest}")  # the same form sent twice at once: one token
    earlier = db.session.scalar(select(ApiToken).where(ApiToken.secret_sha256 == digest))
    if earlier is not None and earlier.revoked_at is not None:
        raise ValidationFailed(_("This form made a token, revoked since: make a new one."))
    return earlier


def _make(
    label: str,
    scopes: Iterable[str],
    expires_on: date,
    *,
    owner: User,
    personal: bool,
    secret: str | None = None,
) -> NewToken:
    """A token that works through the whole of ``expires_on`` (company time), the last day,
    at most ``MAX_DAYS`` after today."""
    label = label.strip()
    if not label or len(label) > 80:
        raise ValidationFailed(_("Give the token a name of at most 80 characters."))
    chosen = sorted({Scope(scope).value for scope in scopes})
    if not chosen:
        raise ValidationFailed(_("Choose at least one permission."))
    today = company_today()
    if expires_on <= today or (expires_on - today).days > MAX_DAYS:
        raise ValidationFailed(
            _("The expiry date must be after today and within %(days)d days.", days=MAX_DAYS)
        )
    secret = secret or SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        label=label,
        prefix=secret[:10],
        secret_sha256=secret_hash(secret),
        scopes=chosen,
        personal=personal,
        user_id=owner.id,
        # ``expires_on`` is the last day it works, to its end (the company's midnight)
        expires_at=day_start(expires_on + timedelta(days=1)),
    )
    db.session.add(token)
    db.session.flush()
    return NewToken(token, secret)


def create_service_token(
    label: str,
    scopes: Iterable[str],
    expires_on: date,
    *,
    actor: User,
    sending: str | None = None,
) -> NewToken:
    """An admin makes a token for another system; it acts in ``actor``'s name.

    ``sending`` is the token of the form that asks (``new_sending``): the same form sent again
    (a double tap, the answer page reloaded) is the token it made, with the same secret, not a
    second token whose secret nobody saw.

    Raises:
        NotPermitted: ``actor`` is not an admin.
        ValidationFailed: no label, no scope, or an expiry not within ``MAX_DAYS``; or the
            token the same form made was revoked since.
        ValueError: an unknown scope (the form offers only known ones).
    """
    if not actor.has_role(Role.ADMIN):
        raise NotPermitted()
    return _create(label, scopes, expires_on, owner=actor, personal=False, sending=sending)


def create_personal_token(
    label: str,
    scopes: Iterable[str],
    expires_on: date,
    *,
    person: User,
    sending: str | None = None,
) -> NewToken:
    """A person makes a token that reads their own claims, commissions and ledger
    (``sending`` as for ``create_service_token``).

    Raises:
        ValidationFailed: as ``create_service_token``, or a scope a person's token cannot hold.
    """
    chosen = set(scopes)
    if not chosen <= {scope.value for scope in PERSONAL_SCOPES}:
        raise ValidationFailed(_("A personal token can only read your own data."))
    return _create(label, chosen, expires_on, owner=person, personal=True, sending=sending)


def _create(
    label: str,
    scopes: Iterable[str],
    expires_on: date,
    *,
    owner: User,
    personal: bool,
    sending: str | None,
) -> NewToken:
    """The token the form ``sending`` made already, or a new one, audited with what it may
    do and until when.

    Raises:
        ValidationFailed: as ``create_service_token``.
    """
    with transaction():
        secret = _secret(owner, personal, sending)
        earlier = _made_by_this_form(secret) if sending else None
        if earlier is not None:
            return NewToken(earlier, secret)
        made = _make(label, scopes, expires_on, owner=owner, personal=personal, secret=secret)
        audit.record(
            "api.personal_token_created" if personal else "api.token_created",
            actor=owner,
            target=made.token,
            label=made.token.label,
            scopes=made.token.scopes,
            expires_on=expires_on.isoformat(),
        )
        return made


def service_tokens() -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken).where(ApiToken.personal.is_(False)).order_by(ApiToken.id.desc())
        )
    )


def personal_tokens(person: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.personal.is_(True), ApiToken.user_id == person.id)
            .order_by(ApiToken.id.desc())
        )
    )


def revoke_token(token_id: int, *, actor: User) -> ApiToken:
    """Stop a token working at once. An admin revokes service tokens, a person their own.

    Raises:
        NotFound: no such token, or not one ``actor`` may revoke.
    """
    with transaction():
        token = db.session.get(ApiToken, token_id)
        if token is None:
            raise NotFound()
        mine = token.personal and token.user_id == actor.id
        if not mine and not (not token.personal and actor.has_role(Role.ADMIN)):
            raise NotFound()
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            audit.record("api.token_revoked", actor=actor, target=token, label=token.label)
        return token


def last_day(token: ApiToken) -> date:
    """The last company day the token works (it stops at the midnight ending it)."""
    return company_date(token.expires_at - timedelta(microseconds=1))


def maker_may_act(token: ApiToken) -> bool:
    """Whether the token's person still stands behind it: active, and for a service token
    still an admin (a token acts in its maker's name, with no more rights than they hold).
    Checked on every request: a maker given the admin role back has their tokens work again."""
    return token.user.active and (token.personal or Role.ADMIN in token.user.roles)


def is_expired(token: ApiToken, now: datetime) -> bool:
    expires = token.expires_at
    if expires.tzinfo is None:  # SQLite keeps no zone: stored as UTC
        expires = expires.replace(tzinfo=now.tzinfo)
    return now >= expires


def is_live(token: ApiToken, now: datetime) -> bool:
    """Not revoked, not expired, and its maker may still act (``maker_may_act``)."""
    return token.revoked_at is None and not is_expired(token, now) and maker_may_act(token)


def presented_secret(authorization: str | None) -> str | None:
    """The secret an ``Authorization: Bearer <secret>`` header presents (the scheme in any
    case, spaces around the secret ignored), or None when the header is no bearer token.
    Raises nothing."""
    scheme, _sep, secret = (authorization or "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        return None
    return secret


def authenticate(authorization: str | None) -> ApiToken:
    """The live token an ``Authorization: Bearer <secret>`` header names.

    Raises:
        Unauthenticated: no header, an unknown secret, or a token expired, revoked, or whose
            owner was deactivated (or, for a service token, is no longer an admin).
    """
    secret = presented_secret(authorization)
    if secret is None or not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        raise Unauthenticated()
    digest = secret_hash(secret)
    token = db.session.scalar(select(ApiToken).where(ApiToken.secret_sha256 == digest))
    # The lookup is by an unguessable hash; the comparison is constant-time all the same.
    if token is None or not hmac.compare_digest(token.secret_sha256, digest):
        raise Unauthenticated()
    if token.revoked_at is not None or is_expired(token, utcnow()):
        raise Unauthenticated(_("This API token has expired or was revoked."))
    if not token.user.active:
        if token.personal:
            raise Unauthenticated(
                _("This API token no longer works: its owner's account is no longer active.")
            )
        raise Unauthenticated(
            _("This API token no longer works: its maker's account is no longer active.")
        )
    if not maker_may_act(token):
        raise Unauthenticated(_("This API token no longer works: its maker is no longer an admin."))
    return token


def remembered_last_use(token: ApiToken) -> bool:
    """Note when a token was last used, at most once a minute (the caller commits). Returns
    whether it noted it (the caller need not commit otherwise)."""
    now = utcnow()
    last = token.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)
    if last is None or (now - last).total_seconds() > 60:
        token.last_used_at = now
        return True
    return False
