"""``Idempotency-Key``: a write sent again with the same key is answered, not done again.

The first answer to a key (any status below 500) is kept for ``WINDOW`` with the hash of the
request it answered; the same key with the same request within that time gets the same
answer (marked ``Idempotent-Replayed: true``), with another request a 422. Keys belong to a
token: two systems cannot collide. Kept answers older than the window are ignored, and
replaced when the key is used again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Response, json, request
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from perks import audit
from perks.api.models import ApiToken, IdempotencyKey
from perks.db import transaction, utcnow
from perks.errors import ValidationFailed
from perks.extensions import db

WINDOW = timedelta(hours=24)
HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


class KeyReused(ValidationFailed):
    """The key was used for another request."""

    status_code = 422


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


def _fresh(kept: IdempotencyKey) -> bool:
    created = kept.created_at
    now = utcnow()
    if created.tzinfo is None:
        created = created.replace(tzinfo=now.tzinfo)
    return now - created < WINDOW


def run_once(
    token: ApiToken, action: str, write: Callable[[], Response], **audit_details: object
) -> Response:
    """Answer the request with ``write()``, or with the answer kept for its key.

    After a write that succeeded, an audit event ``action`` (``api.<what>``, named in
    ``perks.admin.audit_details.ACTIONS``) names the token's label (the services record their
    own events too); it is committed with the kept answer, and with what ``write`` flushed
    without committing (one transaction for the request). A 5xx answer rolls that back.

    Raises:
        ValidationFailed: the key is too long.
        KeyReused: the key was used within ``WINDOW`` for another request.
    """
    key = (request.headers.get(HEADER) or "").strip()
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(
            _("The Idempotency-Key is longer than %(n)d characters.", n=MAX_KEY_LENGTH)
        )
    digest = request_hash()
    kept: IdempotencyKey | None = None
    if key:
        kept = _kept(token, key)
        if kept is not None and _fresh(kept):
            if kept.request_sha256 != digest:
                raise KeyReused(_("This Idempotency-Key was already used for another request."))
            replay = Response(
                json.dumps(kept.body), status=kept.status_code, mimetype=_mimetype(kept.body)
            )
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
    # No rollback to end the read: it would make the write read the token and its owner
    # again (each statement sees what is committed: a read holds nothing back).
    response = write()
    if response.status_code >= 500:
        db.session.rollback()
        return response
    # What ``write`` only flushed (the people upsert) is committed here with the audit event
    # and the kept answer; what it committed itself is not undone by a twin's key.
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
            if kept is not None:  # kept longer than the window: replaced
                db.session.execute(
                    delete(IdempotencyKey).where(
                        IdempotencyKey.token_id == token.id, IdempotencyKey.key == key
                    )
                )
            # A twin request that kept its answer a moment earlier wins: the write and its
            # audit event stand, only this answer is not kept (no savepoint needed).
            db.session.execute(
                _insert_key()
                .values(
                    token_id=token.id,
                    key=key,
                    request_sha256=digest,
                    status_code=response.status_code,
                    body=response.get_json(silent=True),
                )
                .on_conflict_do_nothing(index_elements=["token_id", "key"])
            )
    return response


def _insert_key() -> Any:
    """``INSERT`` into the kept answers, in the dialect that knows ``ON CONFLICT``."""
    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(IdempotencyKey)
    return sqlite.insert(IdempotencyKey)


def _mimetype(body: object) -> str:
    is_problem = isinstance(body, dict) and "status" in body and "title" in body
    return "application/problem+json" if is_problem else "application/json"


def forget_old_keys() -> int:
    """Delete the answers kept longer than ``WINDOW`` (a nightly job may call it)."""
    with transaction():
        result = db.session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - WINDOW)
        )
        return int(getattr(result, "rowcount", 0) or 0)
