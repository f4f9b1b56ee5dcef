"""Telling a person what happened to them, and what they do with what they are told.

:func:`notify` joins the caller's unit of work (flush only): the notification row, and the
e-mail through the outbox when the person's choice for that kind says so, are written with
the change that causes them, so neither exists for a change that rolled back and no mail
leaves before the commit (``perks.mail``). The rest are the person's own services, each one
unit of work.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import insert, select, update
from werkzeug.routing import BuildError

from perks.db import affected_rows, transaction, utcnow
from perks.errors import NotFound, NotPermitted
from perks.extensions import db
from perks.i18n import company_today
from perks.mail import send_email, send_to_each
from perks.notifications import queries
from perks.notifications.kinds import KINDS, PLAIN_EMAIL, reaches
from perks.notifications.models import Notification, NotificationPreference
from perks.notifications.rendering import encode, render
from perks.urls import absolute_url

if TYPE_CHECKING:
    from perks.people.models import User


@dataclass(frozen=True)
class Link:
    """Where a notification leads: an endpoint of this site and its arguments."""

    endpoint: str
    values: Mapping[str, Any] = field(default_factory=dict)


def link(endpoint: str, **values: Any) -> Link:
    """``link("catalog.my_claim", claim_id=3)``: what ``url_for`` takes."""
    return Link(endpoint, values)


def notify(
    person: User,
    kind: str,
    params: Mapping[str, object] | None = None,
    *,
    url: Link,
    email: Mapping[str, object] | None = None,
) -> Notification | None:
    """Tell ``person`` that something of ``kind`` happened; e-mail them too if they want it.
    Nothing (None) for someone who has left the company, unless the kind is meant for
    leavers too (``kinds.reaches``): the callers need not each remember it.

    ``params`` fill the kind's texts when the person reads them (money, dates, ``both(perk,
    "title")``, codes named in the kind's ``choices``, strings, integers); ``email`` is what
    the kind's own e-mail template needs beyond ``person``, ``title``, ``body`` and ``url``
    (the link, absolute). The e-mail says, in its ``List-Unsubscribe`` header and its footer,
    where the person turns it off (their e-mail choices). Flushes only, never commits.

    Raises:
        KeyError: ``kind`` is not in ``KINDS``.
        TypeError: a parameter that cannot be kept as data.
        werkzeug.routing.BuildError: ``url`` names no endpoint of the site.
    """
    spec = KINDS[kind]
    if not reaches(spec, person, company_today()):
        return None
    stored = {name: encode(value) for name, value in (params or {}).items()}
    absolute = absolute_url(url.endpoint, **url.values)  # also proves the link can be built
    notification = Notification(
        user_id=person.id,
        kind=kind,
        params=stored,
        endpoint=url.endpoint,
        url_values=dict(url.values),
    )
    db.session.add(notification)
    db.session.flush()
    if queries.wants_email(person.id, kind):
        with force_locale(person.locale):
            text = render(kind, stored)
        context: dict[str, Any] = {"title": text.title, "body": text.body, "url": absolute}
        if spec.email_template != PLAIN_EMAIL:
            context.update(email or {})
        send_email(
            person.email,
            spec.email_template,
            locale=person.locale,
            unsubscribe=absolute_url("notifications.preferences"),
            person=person,
            **context,
        )
    return notification


def notify_each(
    people: Sequence[User],
    kind: str,
    params: Mapping[str, object] | None = None,
    *,
    url: Link,
) -> int:
    """``notify`` each of ``people`` of the same thing: one notification each, and the e-mail
    to each of them whose choice for ``kind`` says so, written with a few statements whatever
    their number (the notifications in one INSERT, the choices read at once, the e-mail
    rendered once per language and each person's name put in: ``perks.mail.send_to_each``).
    A kind with its own e-mail template is e-mailed a person at a time, as ``notify`` does.
    Those who have left are told nothing, as by ``notify`` (``kinds.reaches``). Flushes only,
    never commits; returns how many people were told.

    Raises:
        KeyError: ``kind`` is not in ``KINDS``.
        TypeError: a parameter that cannot be kept as data.
        werkzeug.routing.BuildError: ``url`` names no endpoint of the site.
    """
    spec = KINDS[kind]
    stored = {name: encode(value) for name, value in (params or {}).items()}
    absolute = absolute_url(url.endpoint, **url.values)  # also proves the link can be built
    today = company_today()
    people = list(  # one each, still with the company unless the kind is for leavers too
        {p.id: p for p in people if reaches(spec, p, today)}.values()
    )
    if not people:
        return 0
    db.session.execute(
        insert(Notification),
        [
            {
                "user_id": person.id,
                "kind": kind,
                "params": stored,
                "endpoint": url.endpoint,
                "url_values": dict(url.values),
            }
            for person in people
        ],
    )
    wanted = queries.wanting_email([person.id for person in people], kind)
    by_locale: dict[str, list[User]] = {}
    for person in people:
        if person.id in wanted:
            by_locale.setdefault(person.locale, []).append(person)
    unsubscribe = absolute_url("notifications.preferences")
    for locale, readers in by_locale.items():
        with force_locale(locale):
            text = render(kind, stored)
        context: dict[str, Any] = {"title": text.title, "body": text.body, "url": absolute}
        if spec.email_template == PLAIN_EMAIL:
            send_to_each(readers, PLAIN_EMAIL, locale=locale, unsubscribe=unsubscribe, **context)
            continue
        for person in readers:
            send_email(
                person.email,
                spec.email_template,
                locale=locale,
                unsubscribe=unsubscribe,
                person=person,
                **context,
            )
    return len(people)


def open_notification(notification_id: int, person: User) -> str:
    """Mark one of the person's notifications read; return the path it leads to.

    Raises:
        NotFound: no such notification, or another person's.
        NotPermitted: its page needs a role the person no longer holds (it is marked read
            all the same; the message says why it does not open).
    """
    with transaction():
        notification = db.session.get(Notification, notification_id)
        if notification is None or notification.user_id != person.id:
            raise NotFound()
        if notification.read_at is None:
            notification.read_at = utcnow()
        endpoint, values = notification.endpoint, dict(notification.url_values)
    try:
        path = url_for(endpoint, **values)
    except BuildError:  # a page that no longer exists: back to the list
        return url_for("notifications.index")
    # the roles its view lets through (``perks.people.access.roles_required``)
    roles = getattr(current_app.view_functions.get(endpoint), "allowed_roles", ())
    if roles and not person.has_role(*roles):
        raise NotPermitted(
            _("That page is no longer open to you: it needs a role you do not hold now.")
        )
    return path


def mark_all_read(person: User, up_to: int | None = None) -> int:
    """Mark every unread notification of the person read, up to the id ``up_to`` when given
    (the newest their list showed: one that came after it stays unread); return how many.
    One UPDATE. Raises nothing of its own."""
    with transaction():
        condition = [Notification.user_id == person.id, Notification.read_at.is_(None)]
        if up_to is not None:
            condition.append(Notification.id <= up_to)
        result = db.session.execute(
            update(Notification)
            .where(*condition)
            .values(read_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return affected_rows(result)


def save_email_choices(
    person: User, by_email: Collection[str], among: Collection[str] | None = None
) -> None:
    """Of the kinds ``among`` (default: every kind), the person gets those in ``by_email`` by
    e-mail and no other (every kind is still in their notifications); the choices for kinds
    outside ``among`` stay as they were. Names outside ``KINDS`` are ignored."""
    with transaction():
        current = {
            p.kind: p
            for p in db.session.scalars(
                select(NotificationPreference).where(NotificationPreference.user_id == person.id)
            )
        }
        for name in KINDS:
            if among is not None and name not in among:
                continue
            wanted = name in by_email
            if name in current:
                current[name].email = wanted
            else:
                db.session.add(NotificationPreference(user_id=person.id, kind=name, email=wanted))
