"""The points ledger: the only code that writes ``PointsEntry`` rows, and the balances,
which are sums of them (``perks.recognition.points_models`` says what each kind means).

* ``credit_allowance``: a person's allowance of a month, once per (person, month) (a partial
  unique index says so), lazily at their first kudos of the month or by the monthly job;
* ``expire_allowances``: what is left of each ended month's allowance goes, one ``expired``
  entry per (person, month); idempotent, catches up every month a run missed, safe on
  several hosts (the person's row lock and the unique index);
* ``append_entry``: one entry (flush only), for kudos, gifts of points and rewards.

Months are the company's calendar months ("2026-12"), in its time zone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from perks.db import paginate, transaction, utcnow
from perks.extensions import db
from perks.people.models import User
from perks.recognition import services
from perks.recognition.points_models import (
    ALLOWANCE_KINDS,
    RECEIVED_KINDS,
    PointsEntry,
    PointsEntryKind,
)

log = logging.getLogger(__name__)

#: how many entries a page of a person's history shows
HISTORY_LENGTH = 50


def month_of(day: date) -> str:
    """The month ``day`` is in, as the ledger writes it: "2026-12"."""
    return f"{day.year:04d}-{day.month:02d}"


@dataclass(frozen=True)
class Balances:
    """A person's two accounts: ``allowance_left`` of the month (what is credited and not
    given; the allowance still to credit when it is not yet), ``received`` to spend."""

    allowance_left: int
    received: int
    credited: bool


def allowance_for(person: User, settings: services.Settings | None = None) -> int:
    """The points ``person`` may give each month: the most of the company's allowance and
    their roles' (none for an inactive person). Raises nothing."""
    if not person.active:
        return 0
    settings = settings or services.current_settings()
    by_role = [settings.role_allowances.get(role.value) for role in person.roles]
    return max([settings.monthly_allowance, *(points for points in by_role if points is not None)])


def append_entry(
    *,
    user_id: int,
    kind: PointsEntryKind,
    points: int,
    month: str | None = None,
    kudos_id: int | None = None,
    gift_id: int | None = None,
    claim_id: int | None = None,
    nomination_id: int | None = None,
    reason: str = "",
) -> PointsEntry:
    """Add one entry to the caller's unit of work (flushes, never commits). The database
    checks the sign and the references for the kind."""
    entry = PointsEntry(
        user_id=user_id,
        kind=kind,
        points=points,
        month=month,
        kudos_id=kudos_id,
        gift_id=gift_id,
        claim_id=claim_id,
        nomination_id=nomination_id,
        reason=reason,
        created_at=utcnow(),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def append_entries(entries: Sequence[PointsEntry]) -> None:
    """Add entries their caller has dated themselves, in the order given (flushes, never
    commits): the demo's past months (``perks.demo_recognition``), written at once. The
    database checks each one's sign and references as ``append_entry``'s."""
    db.session.add_all(entries)
    db.session.flush()


def lock_person(user_id: int) -> User | None:
    """Lock the person's row for the rest of the transaction (PostgreSQL): their balances
    change one transaction at a time. Flush only."""
    return db.session.scalar(
        select(User)
        .where(User.id == user_id)
        .with_for_update(of=User)
        .execution_options(populate_existing=True)
    )


def credited(user_id: int, month: str) -> bool:
    return (
        db.session.scalar(
            select(PointsEntry.id).where(
                PointsEntry.user_id == user_id,
                PointsEntry.kind == PointsEntryKind.ALLOWANCE,
                PointsEntry.month == month,
            )
        )
        is not None
    )


def credit_allowance(person: User, month: str) -> PointsEntry | None:
    """Credit ``person``'s allowance of ``month`` unless it is (flush only). The caller holds
    the person's row lock (``lock_person``), so no other transaction credits it meanwhile;
    the unique index would refuse a second credit all the same. None when nothing was
    credited: already, or an allowance of 0."""
    if credited(person.id, month):
        return None
    points = allowance_for(person)
    if points <= 0:
        return None
    return append_entry(
        user_id=person.id, kind=PointsEntryKind.ALLOWANCE, points=points, month=month
    )


def allowance_left(user_id: int, month: str) -> int:
    """The ledger's sum of the person's allowance entries of ``month``."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
            PointsEntry.user_id == user_id,
            PointsEntry.kind.in_(ALLOWANCE_KINDS),
            PointsEntry.month == month,
        )
    )
    return int(total or 0)


def received_balance(user_id: int) -> int:
    """The ledger's sum of the person's received points: what they may spend."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
            PointsEntry.user_id == user_id, PointsEntry.kind.in_(RECEIVED_KINDS)
        )
    )
    return int(total or 0)


def balances(person: User, today: date) -> Balances:
    """The person's balances on ``today``: both sums of the ledger; before the month's
    allowance is credited, what it will be (none before their first day or once their
    leaving date has come). Raises nothing."""
    month = month_of(today)
    is_credited = credited(person.id, month)
    if is_credited:
        left = allowance_left(person.id, month)
    elif person.has_left(today) or (person.hire_date is not None and today < person.hire_date):
        left = 0  # nothing is credited to them (``credit_allowances``), nor given
    else:
        left = allowance_for(person)
    return Balances(left, received_balance(person.id), is_credited)


def history_page(user_id: int, page: int, *, per_page: int = HISTORY_LENGTH) -> Pagination:
    """One page of the person's entries, newest first (a page past the last shows the last).
    Raises nothing."""
    return paginate(
        select(PointsEntry).where(PointsEntry.user_id == user_id).order_by(PointsEntry.id.desc()),
        page,
        per_page,
    )


def credit_allowances(today: date) -> int:
    """Credit the month of ``today`` to every active person who has none yet and is with the
    company on ``today`` (one imported ahead of their hire date is credited from the month
    they start; nobody whose leaving date has come), one transaction each. Idempotent; safe
    on several hosts. Returns how many were credited."""
    month = month_of(today)
    done = set(
        db.session.scalars(
            select(PointsEntry.user_id).where(
                PointsEntry.kind == PointsEntryKind.ALLOWANCE, PointsEntry.month == month
            )
        )
    )
    people = db.session.scalars(
        select(User.id)
        .where(
            User.active.is_(True),
            or_(User.hire_date.is_(None), User.hire_date <= today),
            # not someone whose leaving date has come: active until the leavers' task runs
            # (a month's first day is a common leaving date), or for good as the last
            # administrator
            or_(User.leaving_date.is_(None), User.leaving_date > today),
        )
        .order_by(User.id)
    ).all()
    count = 0
    for user_id in people:
        if user_id in done:
            continue
        try:
            with transaction():
                person = lock_person(user_id)
                if person is not None and credit_allowance(person, month) is not None:
                    count += 1
        except IntegrityError:
            continue  # another host credited it first
    return count


def expire_allowances(today: date) -> int:
    """Write, for every month before ``today``'s, each person's ``expired`` entry of what is
    left of their allowance, one transaction each (the person's row locked: a kudos given
    at midnight is counted first or refused). Idempotent; catches up every missed month;
    safe on several hosts. Returns how many entries were written."""
    current = month_of(today)
    rows = db.session.execute(
        select(PointsEntry.user_id, PointsEntry.month)
        .where(PointsEntry.kind.in_(ALLOWANCE_KINDS), PointsEntry.month < current)
        .group_by(PointsEntry.user_id, PointsEntry.month)
        .having(func.sum(PointsEntry.points) > 0)
        .order_by(PointsEntry.month, PointsEntry.user_id)
    ).all()
    count = 0
    for user_id, month in rows:
        assert month is not None  # allowance entries have one (the check constraint)
        try:
            with transaction():
                lock_person(user_id)
                left = allowance_left(user_id, month)
                if left <= 0:
                    continue
                append_entry(
                    user_id=user_id,
                    kind=PointsEntryKind.EXPIRED,
                    points=-left,
                    month=month,
                    reason="month_ended",
                )
        except IntegrityError:
            continue  # another host wrote it first
        count += 1
    return count


def settle_months(today: date) -> tuple[int, int]:
    """The monthly job: expire what ended months left, then credit this month's allowances.
    Returns (entries expired, allowances credited)."""
    expired = expire_allowances(today)
    credited_now = credit_allowances(today)
    if expired or credited_now:
        log.info("points: %s allowances expired, %s credited", expired, credited_now)
    return expired, credited_now
