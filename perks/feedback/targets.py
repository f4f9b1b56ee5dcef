"""Service targets: when an item is due, the scheduled job that tells owners of new items and
escalates overdue ones, and the public answer times.

Targets are counted in Vietnamese working days (``perks.feedback.working_days``) from the day
an item arrived. An item not acknowledged by the end of its acknowledge-by day, or not
answered (or declined) by the end of its answer-by day, is overdue once the next working day
begins (a weekend or holiday after the target day is not late yet: an answer given on it
counts in time): the owner's manager is
told, once per target (HR's items, and an owner without a manager: the administrators).
Each run does all that is due and marks what it did with a conditional update, so a missed
run is caught up and two hosts running it at once tell nobody twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from statistics import median

from sqlalchemy import select, update

from perks.db import affected_rows, transaction
from perks.extensions import db
from perks.feedback.items import LIST_ORDER, acting_owner, hr_people
from perks.feedback.models import OPEN_STATES, FeedbackItem, FeedbackStatus
from perks.feedback.working_days import add_working_days, working_days_between
from perks.folding import name_order
from perks.notifications import link, notify
from perks.people.models import Department, Role, User
from perks.people.services import people_with_role


def acknowledge_by(item: FeedbackItem) -> date:
    return add_working_days(item.received_on, item.acknowledge_days)


def answer_by(item: FeedbackItem) -> date:
    return add_working_days(item.received_on, item.answer_days)


def missed_targets(item: FeedbackItem, today: date) -> list[str]:
    """The targets ``item`` is past on ``today``: "acknowledge" while it is not acknowledged
    after its acknowledge-by day, "answer" while it is still open after its answer-by day
    (acknowledged or not). Raises nothing."""
    if item.status not in OPEN_STATES:
        return []
    missed = []
    if item.acknowledged_on is None and past(item.received_on, item.acknowledge_days, today):
        missed.append("acknowledge")
    if past(item.received_on, item.answer_days, today):
        missed.append("answer")
    return missed


def past(received_on: date, days: int, today: date) -> bool:
    """Whether a target of ``days`` working days from ``received_on`` is missed on ``today``:
    once a working day beyond it has begun. The weekend after a Friday target is not late
    yet, as an answer given on it counts in time (``answer_times``)."""
    return working_days_between(received_on, today) > days


def overdue(item: FeedbackItem, today: date) -> str | None:
    """ "acknowledge" or "answer" when ``item`` is past that target on ``today`` (the first
    missed), else None."""
    return next(iter(missed_targets(item, today)), None)


def _escalate_to(item: FeedbackItem) -> list[User]:
    """The acting owner's manager (``items.acting_owner``); for HR's items, an item whose
    owner has left, and an owner without an active manager: the administrators."""
    owner = acting_owner(item)
    if owner is not None and owner.manager_id is not None:
        manager = db.session.get(User, owner.manager_id)
        if manager is not None and manager.active:
            return [manager]
    return people_with_role(Role.ADMIN)


def _claim(item_id: int, flag: str) -> bool:
    """Set ``flag`` on the item if no run has: True for the run that set it."""
    column = getattr(FeedbackItem, flag)
    result = db.session.execute(
        update(FeedbackItem)
        .where(FeedbackItem.id == item_id, column.is_(False))
        .values({flag: True})
        .execution_options(synchronize_session=False)
    )
    return affected_rows(result) == 1


@dataclass
class SweepResult:
    owners_told: int = 0
    escalated: int = 0


def sweep(today: date) -> SweepResult:
    """Tell owners of the items that arrived (an anonymous item from the day after it
    arrived), and escalate every overdue item not yet escalated for that target. Idempotent.
    Raises nothing of its own."""
    result = SweepResult()
    with transaction():
        waiting = db.session.scalars(
            select(FeedbackItem)
            .where(FeedbackItem.status.in_(OPEN_STATES))
            .where(
                (FeedbackItem.owner_told.is_(False))
                | (FeedbackItem.acknowledge_escalated.is_(False))
                | (FeedbackItem.answer_escalated.is_(False))
            )
            .order_by(*LIST_ORDER)  # the notifications' order tells nothing either
        ).all()
        # locked in id order, as a sending locks its day's items (``items.open_item``): in
        # the list's order, a sweep and a sending at once could each hold what the other needs
        db.session.execute(
            select(FeedbackItem.id)
            .where(FeedbackItem.id.in_([item.id for item in waiting]))
            .order_by(FeedbackItem.id)
            .with_for_update()
        ).all()
        # per answerer (None: HR), the senders of their new items (None: anonymous)
        new_for: dict[int | None, list[int | None]] = defaultdict(list)
        for item in waiting:
            due = not item.anonymous or item.received_on < today
            if not item.owner_told and due and _claim(item.id, "owner_told"):
                answerer = acting_owner(item)  # None: HR's, or an owner who has left
                new_for[answerer.id if answerer is not None else None].append(item.sender_id)
            # each target once: an item never acknowledged is escalated again when its
            # answer-by day passes too
            for late in missed_targets(item, today):
                flag = f"{late}_escalated"
                if getattr(item, flag) or not _claim(item.id, flag):
                    continue
                answerer = acting_owner(item)
                for person in _escalate_to(item):
                    notify(
                        person,
                        "feedback_overdue",
                        {
                            "subject": item.subject,
                            "owner": answerer.name if answerer is not None else "HR",
                            "target": late,
                        },
                        url=link("feedback.answer_times"),
                    )
                result.escalated += 1
        for owner_id, senders in new_for.items():
            owners = [db.session.get(User, owner_id)] if owner_id is not None else hr_people()
            for owner in owners:
                # never told of their own item (an HR person's to HR, an owner's to their
                # own department)
                count = sum(1 for sender_id in senders if sender_id != owner.id) if owner else 0
                if owner is not None and owner.active and count:
                    notify(
                        owner,
                        "feedback_received",
                        {"count": count},
                        url=link("feedback.inbox_page"),
                    )
            result.owners_told += len(senders)
    return result


# --- the public answer times ----------------------------------------------------------------


@dataclass(frozen=True)
class Median:
    """A median of working days; ``at_least`` when items still waiting may raise it."""

    days: float
    at_least: bool


def waiting_median(done: list[int], waiting: list[int]) -> Median | None:
    """The median of the days items took (``done``) and the days items still waiting have
    waited so far (``waiting``): leaving the waiting ones out would make a department that
    never acknowledges most of its items look fast. It is exact unless a waiting item sits at
    or below the middle, where its wait, still growing, could raise it: then it is a lower
    bound (``at_least``). None without items. Raises nothing."""
    every = sorted(done + waiting)
    if not every:
        return None
    middle = every[len(every) // 2]  # the upper of the two middles of an even count
    return Median(median(every), at_least=any(days <= middle for days in waiting))


@dataclass
class DepartmentTimes:
    """One department's answer times (working days), without names."""

    name: str
    received: int = 0
    acknowledge_days: list[int] = field(default_factory=list)
    answer_days: list[int] = field(default_factory=list)
    #: the working days items still open have waited so far, for an acknowledgement and for
    #: an answer
    acknowledge_waiting: list[int] = field(default_factory=list)
    answer_waiting: list[int] = field(default_factory=list)
    within_target: int = 0
    #: items still waiting for an answer past their answer-by day: targets already missed
    overdue: int = 0
    #: items declined (with a reason), which decides them too: in time or not
    declined: int = 0
    #: the answer targets (working days) its items arrived with, which the share is measured
    #: against (HR may change a department's target; an item keeps the one it came with)
    answer_targets: set[int] = field(default_factory=set)
    published: list[FeedbackItem] = field(default_factory=list)

    @property
    def answer_target_range(self) -> tuple[int, int] | None:
        """The fewest and most working days its items had to be answered in; None without
        items."""
        if not self.answer_targets:
            return None
        return min(self.answer_targets), max(self.answer_targets)

    @property
    def answered(self) -> int:
        return len(self.answer_days)

    @property
    def median_acknowledge(self) -> Median | None:
        return waiting_median(self.acknowledge_days, self.acknowledge_waiting)

    @property
    def median_answer(self) -> Median | None:
        """Of the items answered and those still open (a declined one is not answered)."""
        return waiting_median(self.answer_days, self.answer_waiting)

    @property
    def share_within_target(self) -> float | None:
        """Of the items whose answer target is decided (answered or declined, or still
        waiting past their answer-by day), the share answered or declined in time: an item
        left unanswered counts against its department, never for it, and declining it late
        does not make it count for it. None while none is decided."""
        decided = self.answered + self.declined + self.overdue
        return self.within_target / decided if decided else None


def answer_times(since: date, today: date) -> list[DepartmentTimes]:
    """Per department (and HR's, for items without one), the items received since ``since``:
    how many, median working days to acknowledge and to answer (items still open count with
    the days they have waited by ``today``), the share answered within
    target (items still open past their answer-by day on ``today`` count as missed), and the
    answered items their owners published. Two statements. Raises nothing."""
    names: dict[int, str] = {
        row.id: row.name for row in db.session.execute(select(Department.id, Department.name))
    }
    items = db.session.scalars(
        select(FeedbackItem).where(FeedbackItem.received_on >= since).order_by(*LIST_ORDER)
    ).all()
    by_department: dict[int | None, DepartmentTimes] = {}
    for item in items:
        times = by_department.get(item.department_id)
        if times is None:
            name = names.get(item.department_id, "") if item.department_id else ""
            times = by_department[item.department_id] = DepartmentTimes(name)
        times.received += 1
        times.answer_targets.add(item.answer_days)
        waited = working_days_between(item.received_on, today) if item.status in OPEN_STATES else 0
        if item.acknowledged_on is not None:
            times.acknowledge_days.append(
                working_days_between(item.received_on, item.acknowledged_on)
            )
        elif item.status in OPEN_STATES:
            times.acknowledge_waiting.append(waited)
        if item.answered_on is not None and item.status in (
            FeedbackStatus.ANSWERED,
            FeedbackStatus.CLOSED,
        ):
            taken = working_days_between(item.received_on, item.answered_on)
            times.answer_days.append(taken)
            times.within_target += taken <= item.answer_days
            if item.published:
                times.published.append(item)
        elif item.status is FeedbackStatus.DECLINED and item.closed_on is not None:
            times.declined += 1
            taken = working_days_between(item.received_on, item.closed_on)
            times.within_target += taken <= item.answer_days
        elif item.status in OPEN_STATES:
            times.answer_waiting.append(waited)
            times.overdue += past(item.received_on, item.answer_days, today)
    for times in by_department.values():
        # the cards say when each was answered: newest answer first, then by subject
        times.published.sort(key=lambda i: (-(i.answered_on or since).toordinal(), i.subject))
    return sorted(by_department.values(), key=lambda t: (t.name == "", name_order(t.name)))
