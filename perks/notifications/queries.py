"""Read-only queries behind the notification pages and the bell: always one person's own."""

from __future__ import annotations

from collections.abc import Collection

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select

from perks.db import paginate
from perks.extensions import db
from perks.notifications.kinds import KINDS, is_for
from perks.notifications.models import Notification, NotificationPreference
from perks.people.models import User

PER_PAGE = 25


def unread_count(user_id: int) -> int:
    """How many of the person's notifications are unread (the bell): one statement."""
    return (
        db.session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user_id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def newest_id(user_id: int) -> int | None:
    """The id of the person's newest notification (None: they have none): what a list shown
    now has shown, so that "mark all read" leaves what comes after it unread."""
    return db.session.scalar(
        select(func.max(Notification.id)).where(Notification.user_id == user_id)
    )


def notifications_page(user_id: int, page: int) -> Pagination:
    """The person's notifications, newest first; a page past the last shows the last."""
    query = (
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    return paginate(query, page, PER_PAGE)


def was_told(user_id: int, kind: str, **url_values: int) -> bool:
    """Whether the person has had a notification of ``kind`` leading to a page of these
    (integer) arguments: ``was_told(7, "survey_reminder", survey_id=3)``. One statement."""
    query = select(Notification.id).where(
        Notification.user_id == user_id, Notification.kind == kind
    )
    for name, value in url_values.items():
        query = query.where(Notification.url_values[name].as_integer() == value)
    return db.session.scalar(query.limit(1)) is not None


def email_choices(user_id: int) -> dict[str, bool]:
    """Per kind, whether the person gets it by e-mail: their choice, else the kind's default."""
    rows = db.session.execute(
        select(NotificationPreference.kind, NotificationPreference.email).where(
            NotificationPreference.user_id == user_id
        )
    )
    chosen: dict[str, bool] = dict(rows.all())
    return {name: chosen.get(name, kind.email_by_default) for name, kind in KINDS.items()}


def kinds_for(person: User) -> list[str]:
    """The kinds the person's e-mail choices offer, in ``KINDS`` order: those meant for them,
    and any other they have had (at most one more statement). Raises nothing of its own."""
    verdicts: dict[str | None, bool] = {}  # one check per audience, not per kind
    for kind in KINDS.values():
        if kind.audience not in verdicts:
            verdicts[kind.audience] = is_for(kind, person)
    names = [name for name, kind in KINDS.items() if verdicts[kind.audience]]
    if len(names) < len(KINDS):
        others = [name for name in KINDS if name not in names]
        had = set(
            db.session.scalars(
                select(Notification.kind)
                .where(Notification.user_id == person.id, Notification.kind.in_(others))
                .distinct()
            )
        )
        names = [name for name in KINDS if name in had or name in names]
    return names


def wants_email(user_id: int, kind: str) -> bool:
    """Whether a notification of ``kind`` goes to the person by e-mail too."""
    chosen = db.session.scalar(
        select(NotificationPreference.email).where(
            NotificationPreference.user_id == user_id, NotificationPreference.kind == kind
        )
    )
    return KINDS[kind].email_by_default if chosen is None else chosen


def wanting_email(user_ids: Collection[int], kind: str) -> set[int]:
    """Of ``user_ids``, those a notification of ``kind`` goes to by e-mail too: one statement
    per thousand people."""
    ids = list(user_ids)
    chosen: dict[int, bool] = {}
    for start in range(0, len(ids), 1000):
        rows = db.session.execute(
            select(NotificationPreference.user_id, NotificationPreference.email).where(
                NotificationPreference.kind == kind,
                NotificationPreference.user_id.in_(ids[start : start + 1000]),
            )
        )
        chosen.update((user_id, email) for user_id, email in rows)
    default = KINDS[kind].email_by_default
    return {user_id for user_id in ids if chosen.get(user_id, default)}
