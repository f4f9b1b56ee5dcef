"""Read-only queries behind the administration pages."""

from __future__ import annotations

from datetime import datetime

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select

from perks.audit import AuditEvent
from perks.db import paginate
from perks.errors import NotFound
from perks.extensions import db
from perks.folding import alphabetical
from perks.mail import MessageStatus, OutboxMessage
from perks.people.models import User, roles_if_asked

PER_PAGE = 50
#: the audit log's "Who" for events no person did: the scheduled tasks, the command line
SYSTEM = "system"


def audit_actors() -> list[User]:
    actor_ids = select(AuditEvent.actor_id).where(AuditEvent.actor_id.is_not(None)).distinct()
    return list(
        db.session.scalars(
            select(User)
            .where(User.id.in_(actor_ids))
            .order_by(*alphabetical(User.name), User.id)
            .options(roles_if_asked())
        )
    )


def audit_events(
    *,
    actor: str | None,
    action: str,
    start: datetime | None,
    end: datetime | None,
    page: int,
) -> Pagination:
    """The events, newest first; ``action`` is one action's code (``people.created``) or, ending
    with a dot, an area's prefix (``people.``), every action of the area; ``actor`` a person's
    id, or ``SYSTEM`` for what no person did."""
    query = select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    if actor == SYSTEM:
        query = query.where(AuditEvent.actor_id.is_(None))
    elif actor:
        query = query.where(AuditEvent.actor_id == int(actor))
    if action.endswith("."):
        query = query.where(AuditEvent.action.startswith(action, autoescape=True))
    elif action:
        query = query.where(AuditEvent.action == action)
    if start:
        query = query.where(AuditEvent.created_at >= start)
    if end:
        query = query.where(AuditEvent.created_at < end)
    return paginate(query, page, PER_PAGE)


def outbox_messages(*, page: int, status: MessageStatus | None = None) -> Pagination:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    return paginate(query, page, PER_PAGE)


def message_counts() -> dict[MessageStatus, int]:
    """How many messages are in each delivery state."""
    rows = db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    return {status: count for status, count in rows}  # noqa: C416 - rows are Row objects


def outbox_message(message_id: int) -> OutboxMessage:
    """Raises NotFound."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound()
    return message
