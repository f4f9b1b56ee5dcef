"""The recognition wall: the company's kudos and approved awards, newest first, a page at a
time, and the birthdays and work anniversaries of the coming days (read-only, for everyone).

What stays off the wall:

* a person who opted out of public celebration (``User.public_celebration`` false) never
  appears on it: not their celebrations, not the kudos they gave or received, not their
  awards (they keep their points and gifts; only the wall leaves them out);
* a person who hides their personal dates (``User.hide_personal_dates``) has no birthday or
  work anniversary on it (``services.celebrations``), but their kudos and awards show;
* of an award, only the nominee and the award's name: never the nominator or their reason;
* pending, declined and withdrawn nominations.

A page is a fixed number of statements whatever its rows: the count and the page of the
merged feed (one ``UNION ALL`` of kudos and nominations), then the page's kudos and
nominations by id (their people, values and awards joined).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from math import ceil
from typing import Any, TypeVar

from sqlalchemy import Subquery, func, literal_column, select, union_all
from sqlalchemy.orm import aliased

from perks.db import page_within
from perks.extensions import db
from perks.people.models import User
from perks.recognition import services
from perks.recognition.models import Nomination, NominationState
from perks.recognition.points_models import Kudos

#: entries on a page of the wall
PER_PAGE = 20
#: the days of birthdays and work anniversaries shown, today included
CELEBRATION_DAYS = 7
#: how many of those the wall lists before the kudos (the rest: on the company calendar)
CELEBRATIONS_SHOWN = 6

M = TypeVar("M", Kudos, Nomination)

KUDOS = "kudos"
AWARD = "award"


@dataclass(frozen=True)
class Entry:
    """One entry of the wall: a kudos, or an approved nomination (an award received)."""

    at: datetime
    kudos: Kudos | None = None
    nomination: Nomination | None = None


@dataclass(frozen=True)
class WallPage:
    """A page of the wall's entries, as ``templates/_macros/forms.html``'s ``pager`` reads it."""

    items: list[Entry]
    page: int
    total: int
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(ceil(self.total / self.per_page), 1)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def next_num(self) -> int:
        return self.page + 1


def _columns(kind: str, id_: Any, at: Any) -> tuple[Any, Any, Any]:
    """The feed's columns: the entry's kind, id and moment."""
    return literal_column(f"'{kind}'").label("kind"), id_.label("id"), at.label("at")


def _feed(department_id: int | None) -> Subquery:
    """Kind, id and moment of every entry the wall may show (of ``department_id``'s people:
    the recipient's or nominee's department)."""
    giver, recipient, nominee = aliased(User), aliased(User), aliased(User)
    kudos = (
        select(*_columns(KUDOS, Kudos.id, Kudos.given_at))
        .join(giver, Kudos.giver_id == giver.id)
        .join(recipient, Kudos.recipient_id == recipient.id)
        .where(giver.public_celebration.is_(True), recipient.public_celebration.is_(True))
    )
    awards = (
        select(*_columns(AWARD, Nomination.id, Nomination.decided_at))
        .join(nominee, Nomination.nominee_id == nominee.id)
        .where(
            Nomination.state == NominationState.APPROVED,
            Nomination.decided_at.is_not(None),
            nominee.public_celebration.is_(True),
        )
    )
    if department_id is not None:
        kudos = kudos.where(recipient.department_id == department_id)
        awards = awards.where(nominee.department_id == department_id)
    return union_all(kudos, awards).subquery()


def _by_id(model: type[M], ids: list[int]) -> dict[int, M]:
    """The rows of ``model`` with these ids (no statement for none), by id."""
    if not ids:
        return {}
    return {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(ids)))}


def entries(page: int, *, department_id: int | None = None) -> WallPage:
    """Page ``page`` (1 below the first; a page past the last shows the last, as every list
    does: ``perks.db.paginate``) of the wall's kudos and awards, newest first. Raises
    nothing."""
    feed = _feed(department_id)
    total = db.session.scalar(select(func.count()).select_from(feed)) or 0
    page = page_within(page, total, PER_PAGE)
    rows = db.session.execute(
        select(feed.c.kind, feed.c.id, feed.c.at)
        .order_by(feed.c.at.desc(), feed.c.kind, feed.c.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    kudos = _by_id(Kudos, [row.id for row in rows if row.kind == KUDOS])
    nominations = _by_id(Nomination, [row.id for row in rows if row.kind == AWARD])
    items = [
        Entry(row.at, kudos=kudos[row.id])
        if row.kind == KUDOS
        else Entry(row.at, nomination=nominations[row.id])
        for row in rows
    ]
    return WallPage(items, page, total)


def celebrations(
    today: date, *, department_id: int | None = None, days: int = CELEBRATION_DAYS
) -> list[services.PersonalDate]:
    """The birthdays and work anniversaries colleagues may see from ``today`` for ``days``
    days (``services.celebrations``), of ``department_id``'s people when given.

    Raises:
        ValidationFailed: ``days`` is not from 1 to 366.
    """
    return [
        item
        for item in services.celebrations(today, days)
        if department_id is None or item.person.department_id == department_id
    ]
