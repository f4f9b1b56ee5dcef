"""``Idempotency-Key``: a write sent again with the same key is answered, not done again.

The key is claimed before the write, in a transaction of its own (a row with no answer yet):
a twin request with the same key sent while the first is still being answered gets a 409
(as Stripe does, and the IETF draft on the header says), never a second write. The first
answer (any status below 500) is then kept for ``WINDOW`` with the hash of the request it
answered; the same key with the same request within that time gets the same answer (marked
``Idempotent-Replayed: true``), with another request a 422. A write that fails (an error
raised: a refusal, a 4xx problem; or a 5xx answer) gives its key back, so the request can be
sent again. A claim left by a
process that died is taken over after ``ABANDONED_AFTER``. Keys belong to a token: two
systems cannot collide. Kept answers older than the window are ignored, replaced when the
key is used again, and deleted by the scheduled ``perks.api.forget_old_keys`` task.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Response, json, request
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from perks import audit
from perks.api.models import ApiToken, IdempotencyKey
from perks.db import transaction, utcnow
from perks.errors import Conflict, ValidationFailed
from perks.extensions import db
from perks.i18n import format_number

WINDOW = timedelta(hours=24)
#: a key claimed this long ago and still without an answer was left by a process that died
ABANDONED_AFTER = timedelta(minutes=5)
HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class KeyReused(ValidationFailed):
    """The key was used for another request."""

    status_code = 422


class KeyInUse(Conflict):
    """A request with the same key is still being answered."""


def request_hash() -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0" + request.full_path.encode("utf-8") + b"\0")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _kept(token: ApiToken, key: str) -> IdempotencyKey | None:
    return db.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.token_id == token.id, IdempotencyKey.key == key)
    )


def _age(kept: IdempotencyKey) -> timedelta:
    created = kept.created_at
    now = utcnow()
    if created.tzinfo is None:
        created = created.replace(tzinfo=now.tzinfo)
    return now - created


def run_once(
    token: ApiToken, action: str, write: Callable[[], Response], **audit_details: object
) -> Response:
    """Answer the request with ``write()``, or with the answer kept for its key.

    After a write that succeeded, an audit event ``action`` (``api.<what>``, named in
    ``perks.admin.audit_details.ACTIONS``) names the token's label (the services record their
    own events too); it is committed with the kept answer, and with what ``write`` flushed
    without committing (one transaction for the write). A 5xx answer rolls that back.

    Raises:
        ValidationFailed: the key is too long.
        KeyReused: the key was used within ``WINDOW`` for another request.
        KeyInUse: a request with the same key is still being answered.
        Whatever ``write`` raises (its key given back first).
    """
    key = (request.headers.get(HEADER) or "").strip()
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            _(
                "The Idempotency-Key is longer than %(n)s characters.",
                n=format_number(MAX_KEY_LENGTH),
            )
        )
    digest = request_hash()
    if key and not _claimed(token, key, digest):
        replay = _kept_answer(token, key, digest)
        if replay is not None:
            return replay
    try:
        response = write()
    except BaseException:
        db.session.rollback()
        if key:
            _give_back(token, key)
        raise
    if response.status_code >= 500:
        db.session.rollback()
        if key:
            _give_back(token, key)
        return response
    # What ``write`` only flushed (the people upsert) is committed here with the audit event
    # and the answer kept for the key.
    with transaction():
        if response.status_code < 400:
            audit.record(
                action,
                actor=token.user,
                target=token,
                token=token.label,
                status=response.status_code,
                **audit_details,
            )
        if key:
            db.session.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.token_id == token.id, IdempotencyKey.key == key)
                .values(status_code=response.status_code, body=response.get_json(silent=True))
            )
    return response


def _in_use() -> str:
    return _(
        "A request with this Idempotency-Key is still being answered; send it again in a "
        "moment to get its answer."
    )


def _claimed(
    token: ApiToken, key: str, digest: str, replacing: IdempotencyKey | None = None
) -> bool:
    """Claim ``key`` for this request; whether it was free. Committed at once on a connection
    of its own (the request's session keeps what it has read: the token and its owner are
    not read again). ``replacing`` (an answer kept longer than the window, or a claim
    abandoned) is deleted first. A new key, the common case, costs this one insert."""
    with db.engine.begin() as connection:
        if replacing is not None:
            connection.execute(delete(IdempotencyKey).where(IdempotencyKey.id == replacing.id))
        # Whose insert went in is read back (``RETURNING``): the driver's row count of an
        # insert on PostgreSQL is not to be trusted (-1).
        claimed = connection.execute(
            _insert_key(connection.dialect.name)
            .values(token_id=token.id, key=key, request_sha256=digest, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["token_id", "key"])
            .returning(IdempotencyKey.id)
        )
        return claimed.first() is not None


def _kept_answer(token: ApiToken, key: str, digest: str) -> Response | None:
    """For a key already claimed: the answer kept for the same request, replayed; or, when
    what is kept has lapsed (an answer older than the window, a claim abandoned), ``None``
    with the key claimed again for this request.

    Raises:
        KeyReused: the key was used within ``WINDOW`` for another request.
        KeyInUse: a request with the same key is still being answered (or claimed it first).
    """
    kept = _kept(token, key)
    if kept is not None and _age(kept) < WINDOW:
        if kept.request_sha256 != digest:
            raise KeyReused(_("This Idempotency-Key was already used for another request."))
        if kept.status_code is not None:
            replay = Response(
                json.dumps(kept.body), status=kept.status_code, mimetype=_mimetype(kept.body)
            )
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        if _age(kept) < ABANDONED_AFTER:
            raise KeyInUse(_in_use())
    if not _claimed(token, key, digest, replacing=kept):
        raise KeyInUse(_in_use())
    return None


def _give_back(token: ApiToken, key: str) -> None:
    """Delete this request's claim on ``key`` (its write failed: it may be sent again)."""
    with db.engine.begin() as connection:
        connection.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.token_id == token.id,
                IdempotencyKey.key == key,
                IdempotencyKey.status_code.is_(None),
            )
        )


def _insert_key(dialect: str) -> Any:
    """``INSERT`` into the kept answers, in the dialect that knows ``ON CONFLICT``."""
    if dialect == "postgresql":
        return postgresql.insert(IdempotencyKey)
    return sqlite.insert(IdempotencyKey)


def _mimetype(body: object) -> str:
    is_problem = isinstance(body, dict) and "status" in body and "title" in body
    return "application/problem+json" if is_problem else "application/json"


def forget_old_keys() -> int:
    """Delete the answers kept longer than ``WINDOW`` (and claims that old); returns how
    many. Idempotent; raises nothing of its own."""
    with transaction():
        result = db.session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - WINDOW)
        )
        return int(getattr(result, "rowcount", 0) or 0)
