"""Named groups of people that commission rules may target ("Tour partners in Đà Nẵng").

Finance (or an administrator) keeps them on their own page: create a group, add and remove
members. Each change is audited in its own transaction. A group's rules apply to its
members' sales from the moment they are members (rules are matched when an order is paid).
A person reads their own groups, now and before, on the commission rules page
(``memberships_of``, from the audit log's additions and removals).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from perks import audit
from perks.commissions.models import CommissionGroup, CommissionRule, commission_group_member
from perks.db import transaction
from perks.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from perks.extensions import db
from perks.folding import alphabetical, name_key, name_order
from perks.people.models import User
from perks.text import trim

MAX_NAME_LENGTH = 80
#: the audit actions of a membership's start and end
ADDED, REMOVED = "commissions.group_member_added", "commissions.group_member_removed"


@dataclass(frozen=True)
class Membership:
    """A time a person was in a group: ``since`` None when it began before it was recorded,
    ``until`` None while it lasts."""

    group: str
    since: datetime | None
    until: datetime | None


def memberships_of(user_id: int) -> list[Membership]:
    """The person's groups, now and before, the current ones first, then the latest ended
    first: what decides which group rules their sales earn by. Read from the audit log's
    additions and removals of them (two queries). Raises nothing."""
    current = {
        group.id: group.name
        for group in db.session.scalars(
            select(CommissionGroup)
            .join(commission_group_member)
            .where(commission_group_member.c.user_id == user_id)
        )
    }
    event = audit.AuditEvent
    events = db.session.execute(
        select(event.action, event.target_id, event.details, event.created_at)
        .where(
            event.action.in_((ADDED, REMOVED)),
            event.details["user_id"].as_integer() == user_id,
        )
        .order_by(event.id)
    )
    open_since: dict[int, datetime] = {}
    found: list[Membership] = []
    for action, target_id, details, at in events:
        if not target_id.isdigit():
            continue
        group_id = int(target_id)
        name = current.get(group_id) or str(details.get("name", ""))
        if action == ADDED:
            open_since.setdefault(group_id, at)
        else:
            found.append(Membership(name, open_since.pop(group_id, None), at))
    now = [Membership(name, open_since.get(group_id), None) for group_id, name in current.items()]
    return sorted(now, key=lambda m: name_order(m.group)) + found[::-1]


def _groups_by_name() -> list[CommissionGroup]:
    query = select(CommissionGroup).order_by(
        *alphabetical(CommissionGroup.name), CommissionGroup.id
    )
    return list(db.session.scalars(query))


def all_groups() -> list[tuple[CommissionGroup, int, int]]:
    """Every group by name, with how many members and rules it has. Three queries."""
    groups = _groups_by_name()
    members: dict[int, int] = dict(
        db.session.execute(
            select(commission_group_member.c.group_id, func.count()).group_by(
                commission_group_member.c.group_id
            )
        ).all()
    )
    rules: dict[int, int] = {
        int(group_id or 0): int(n)
        for group_id, n in db.session.execute(
            select(CommissionRule.group_id, func.count())
            .where(CommissionRule.group_id.is_not(None))
            .group_by(CommissionRule.group_id)
        ).all()
    }
    return [(g, int(members.get(g.id, 0)), int(rules.get(g.id, 0))) for g in groups]


def group_choices() -> list[tuple[int, str]]:
    return [(g.id, g.name) for g in _groups_by_name()]


def get_group(group_id: int) -> CommissionGroup:
    """Raises NotFound."""
    group = db.session.get(CommissionGroup, group_id)
    if group is None:
        raise NotFound()
    return group


def create_group(name: str, note: str, *, actor: User) -> CommissionGroup:
    """Add an empty group.

    Raises:
        ValidationFailed: an empty or too long name.
        Conflict: a group of that name exists.
    """
    name = " ".join(trim(name or "").split())
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed(_("Enter the group's name (at most 80 characters)."))
    # the few groups' names, compared in Python (``name_key``)
    taken = {name_key(other) for other in db.session.scalars(select(CommissionGroup.name))}
    if name_key(name) in taken:
        raise Conflict(_("A group of that name exists."))
    try:
        with transaction():
            group = CommissionGroup(name=name, note=(note or "").strip()[:200])
            db.session.add(group)
            db.session.flush()
            audit.record("commissions.group_created", actor=actor, target=group, name=name)
            return group
    except IntegrityError as error:
        raise Conflict(_("A group of that name exists.")) from error


def refuse_own_membership(user_id: int, actor: User) -> None:
    """Raises NotPermitted when ``actor`` would change their own membership: a group's rule
    decides what its members' sales earn, so joining or leaving one changes one's own
    commissions, as an adjustment to one's own balance would (another finance person must)."""
    if user_id == actor.id:
        raise NotPermitted(
            _(
                "You cannot put yourself in a commission group or take yourself out of one: "
                "another finance person must."
            )
        )


def add_member(group_id: int, user_id: int, *, actor: User) -> CommissionGroup:
    """Make a person a member (nothing changes if they are one already).

    Raises:
        NotFound: no such group or person.
        NotPermitted: ``actor`` would put themselves in it (``refuse_own_membership``).
    """
    refuse_own_membership(user_id, actor)
    with transaction():
        group = get_group(group_id)
        person = db.session.get(User, user_id)
        if person is None:
            raise NotFound()
        if person not in group.members:
            group.members.append(person)
            db.session.flush()
            audit.record(
                "commissions.group_member_added",
                actor=actor,
                target=group,
                user_id=person.id,
                name=group.name,
            )
        return group


def remove_member(group_id: int, user_id: int, *, actor: User) -> CommissionGroup:
    """Take a person out of a group (nothing changes if they are not in it).

    Raises:
        NotFound: no such group.
        NotPermitted: ``actor`` would take themselves out of it (``refuse_own_membership``).
    """
    refuse_own_membership(user_id, actor)
    with transaction():
        group = get_group(group_id)
        person = next((m for m in group.members if m.id == user_id), None)
        if person is not None:
            group.members.remove(person)
            db.session.flush()
            audit.record(
                "commissions.group_member_removed",
                actor=actor,
                target=group,
                user_id=user_id,
                name=group.name,
            )
        return group
