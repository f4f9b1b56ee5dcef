"""Audit events: who did which privileged action, to what, when.

``record`` adds an event to the current session; it is committed (or rolled back) with the
service's own transaction, so an action and its audit trail are never separated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import has_request_context, request
from flask_babel import gettext
from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from perks.db import Base, utcnow
from perks.errors import ChangedMeanwhile
from perks.extensions import db

if TYPE_CHECKING:
    from perks.people.models import User


class AuditEvent(Base):
    """One privileged action. Rows are only ever added."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    #: dotted name, e.g. "people.import", "auth.roles_changed"
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip_address: Mapped[str] = mapped_column(String(64), default="")

    actor: Mapped[User | None] = relationship(lazy="joined")


def record(
    action: str,
    *,
    actor: User | None,
    target: object | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the current unit of work (flushes, never commits)."""
    event = AuditEvent(
        action=action,
        actor_id=actor.id if actor is not None else None,
        target_type=type(target).__name__ if target is not None else "",
        target_id=key_of(target) if target is not None else "",
        details=details,
        ip_address=(request.remote_addr or "") if has_request_context() else "",
    )
    db.session.add(event)
    db.session.flush()
    return event


def key_of(target: object) -> str:
    """The ``target_id`` of an event about ``target``: its ``id``, or for a row keyed
    otherwise (a department's feedback desk, keyed by its department) its primary key; ""
    for an object not yet flushed, or not a row. Raises nothing."""
    identity = getattr(target, "id", None)
    if identity is None:
        state = sa_inspect(target, raiseerr=False)
        key = getattr(state, "identity", None)
        identity = key[0] if key is not None and len(key) == 1 else None
    return "" if identity is None else str(identity)


def last_actor(target: Any, action_prefix: str) -> User | None:
    """Who recorded the latest event about ``target`` whose action starts with
    ``action_prefix`` (``"shop.product_"``; a whole action name matches itself), for a
    "someone changed this after you opened it" message; None when nobody did, or the system.
    Raises nothing."""
    event = db.session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.target_type == type(target).__name__,
            AuditEvent.target_id == key_of(target),
            AuditEvent.action.startswith(action_prefix),
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return event.actor if event is not None else None


def changed_meanwhile(target: Any, action_prefix: str) -> ChangedMeanwhile:
    """The refusal of a save from a page opened before someone else changed ``target``,
    naming who last changed it (``last_actor``) when the audit log knows. Raises nothing."""
    editor = last_actor(target, action_prefix)
    if editor is None:
        return ChangedMeanwhile()
    return ChangedMeanwhile(
        gettext(
            "%(name)s changed this after you opened it, so your changes were not saved. Check "
            "what it is now and make your changes again.",
            name=editor.name,
        )
    )


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """What changed between two snapshots of the same fields, as the audit log keeps it:
    ``{"price_amount": [1000, 2000]}`` (before, after), fields that stayed the same left out.
    Raises ``KeyError`` when ``before`` lacks a field of ``after``."""
    return {key: [before[key], after[key]] for key in after if before[key] != after[key]}


def record_each(
    action: str,
    *,
    actor: User | None,
    target_type: str,
    details_by_id: Iterable[tuple[int, dict[str, Any]]],
) -> int:
    """Add one event per ``(target id, details)``, as ``record`` would one by one, in one
    statement (an import's thousands of changes); return how many. Flushes, never commits."""
    ip_address = (request.remote_addr or "") if has_request_context() else ""
    now = utcnow()
    rows = [
        {
            "created_at": now,
            "actor_id": actor.id if actor is not None else None,
            "action": action,
            "target_type": target_type,
            "target_id": str(target_id),
            "details": details,
            "ip_address": ip_address,
        }
        for target_id, details in details_by_id
    ]
    if rows:
        db.session.execute(insert(AuditEvent), rows)
    return len(rows)
