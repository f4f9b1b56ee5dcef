"""HR's fairness report: for one year, how gifts, awards (and, once the points ledger is
connected, points) are spread over the company's active people, per department, location,
employment type and gender (where HR recorded it), per head and against the gift budgets;
and who received nothing.

* The population is the active people who had joined by the year's end and by today (one
  imported ahead of their hire date is not with the company yet), optionally narrowed by a
  department, a location or an employment type; a group's head count is its people, and
  its gifts and awards are theirs: gifts of the occasion year, awards approved in the year.
* Nobody is singled out (``_few``): a group of fewer than ``MIN_GROUP`` people, or with
  fewer than ``MIN_GROUP`` who received anything (the page names those who received nothing,
  so the group's figures would be those few's), is merged into one "other groups" line; when
  that line itself is too few, the smallest named groups join it until it is not. A
  population too few shows no figures at all, and so does a filter that leaves out too few of
  a broader report's people (its figures, taken from that report's, would be theirs: 5 of a
  department in Hà Nội and 1 in Đà Nẵng, "the department" less "the department in Hà Nội").
* Per head: gifts and awards per person to two decimals, cost per person rounded down to
  the currency's unit (a residue of less than one đồng per person is not shown).
* A fixed number of statements, whatever the number of people, gifts or groups.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from itertools import combinations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from perks.extensions import db
from perks.folding import alphabetical, name_order
from perks.i18n import company_today, day_start
from perks.money import Money
from perks.people.models import EmploymentType, User, roles_if_asked
from perks.recognition.gifts import programmes
from perks.recognition.models import Gift, GiftProgramme, Nomination, NominationState
from perks.recognition.points_models import PointsEntry, PointsEntryKind
from perks.tabular import neutralise

#: the ledger's entries that bring a person points
RECEIVED_GAINS = (PointsEntryKind.RECEIVED, PointsEntryKind.GIFT, PointsEntryKind.AWARD)

#: the fewest people a line of the report may count
MIN_GROUP = 5

TWO_PLACES = Decimal("0.01")


def _sums(amounts: dict[str, int]) -> list[Money]:
    return [Money(amount, currency) for currency, amount in sorted(amounts.items())]


@dataclass
class Tally:
    """What a set of people received in the year."""

    headcount: int = 0
    #: people who received anything (a gift, an award or points)
    receivers: int = 0
    gifts: int = 0
    #: currency -> minor units
    cost: dict[str, int] = field(default_factory=dict)
    awards: int = 0
    #: points received in the year (``points_received``); None only for an empty tally
    points: int | None = None

    def add(self, other: Tally) -> None:
        self.headcount += other.headcount
        self.receivers += other.receivers
        self.gifts += other.gifts
        self.awards += other.awards
        for currency, amount in other.cost.items():
            self.cost[currency] = self.cost.get(currency, 0) + amount
        if other.points is not None:
            self.points = (self.points or 0) + other.points


@dataclass(frozen=True)
class Line:
    """One group of a dimension (or the merged "other groups")."""

    label: str
    tally: Tally
    #: the "other groups" line
    merged: bool = False

    @property
    def gift_cost(self) -> list[Money]:
        return _sums(self.tally.cost)

    def _per_head(self, count: int) -> Decimal:
        if not self.tally.headcount:
            return Decimal(0)
        return (Decimal(count) / self.tally.headcount).quantize(TWO_PLACES, ROUND_HALF_UP)

    @property
    def gifts_per_head(self) -> Decimal:
        return self._per_head(self.tally.gifts)

    @property
    def awards_per_head(self) -> Decimal:
        return self._per_head(self.tally.awards)

    @property
    def cost_per_head(self) -> list[Money]:
        """Rounded down to the currency's unit."""
        heads = self.tally.headcount or 1
        return [Money(m.amount // heads, m.currency) for m in self.gift_cost]

    @property
    def points_per_head(self) -> Decimal | None:
        return None if self.tally.points is None else self._per_head(self.tally.points)


@dataclass(frozen=True)
class Dimension:
    key: str
    title: object
    lines: list[Line]


@dataclass(frozen=True)
class ProgrammeBudget:
    """A gift programme's gifts of the year against its budget (and its departments')."""

    programme: GiftProgramme
    gifts: int
    spent: Money
    #: (department name, its budget, what its gifts cost)
    departments: list[tuple[str, Money, Money]]


@dataclass(frozen=True)
class Filters:
    department_id: int | None = None
    location: str | None = None
    employment_type: EmploymentType | None = None


@dataclass(frozen=True)
class Report:
    year: int
    filters: Filters
    total: Line
    #: empty when the population has fewer than ``MIN_GROUP`` people
    dimensions: list[Dimension]
    programmes: list[ProgrammeBudget]
    #: active people of the population who received nothing in the year, by name (HR only)
    nothing: list[User]
    #: the filters leave out too few of a broader report's people (``_few``)
    narrows_too_little: bool = False

    @property
    def too_few(self) -> bool:
        return self.total.tally.headcount < MIN_GROUP

    @property
    def withheld(self) -> bool:
        """No figures are shown: they would be a few people's."""
        return _few(self.total.tally) or self.narrows_too_little


def points_received(year: int, person_ids: Sequence[int]) -> dict[int, int]:
    """The points each person received in ``year`` (company time): kudos received, gifts of
    points and awards' points, from the points ledger (one grouped query; what they spent is
    not subtracted)."""
    if not person_ids:
        return {}
    rows = db.session.execute(
        select(PointsEntry.user_id, func.sum(PointsEntry.points))
        .where(
            PointsEntry.kind.in_(RECEIVED_GAINS),
            PointsEntry.created_at >= day_start(date(year, 1, 1)),
            PointsEntry.created_at < day_start(date(year + 1, 1, 1)),
        )
        .group_by(PointsEntry.user_id)
    )
    wanted = set(person_ids)
    return {user_id: int(total) for user_id, total in rows if user_id in wanted}


DIMENSIONS: tuple[tuple[str, object, Callable[[User], str]], ...] = (
    (
        "department",
        _l("Department"),
        lambda p: p.department.name if p.department else str(_l("No department")),
    ),
    ("location", _l("Location"), lambda p: p.location or str(_l("No location"))),
    ("employment_type", _l("Employment type"), lambda p: str(p.employment_type.label)),
    (
        "gender",
        _l("Gender"),
        lambda p: str(p.gender.label) if p.gender else str(_l("Not recorded")),
    ),
)


def _few(tally: Tally, minimum: int = MIN_GROUP) -> bool:
    """Whether figures of these people would single someone out: fewer than ``minimum`` of
    them, or fewer than ``minimum`` who received anything (the others are named as having
    received nothing)."""
    return tally.headcount < minimum or 0 < tally.receivers < minimum


def merge_small(groups: dict[str, Tally], minimum: int = MIN_GROUP) -> list[Line]:
    """The groups as lines, by label, every group too few (``_few``) merged into one "other
    groups" line at the end; when that line is too few, the smallest named groups join it
    until it is not (or none is left). Raises nothing."""
    big = {label: t for label, t in groups.items() if not _few(t, minimum)}
    other = Tally()
    merged_any = False
    for tally in groups.values():
        if tally.headcount and _few(tally, minimum):
            other.add(tally)
            merged_any = True
    while merged_any and _few(other, minimum) and big:
        smallest = min(big, key=lambda label: (big[label].headcount, label))
        other.add(big.pop(smallest))
    lines = [Line(label, big[label]) for label in sorted(big, key=name_order)]
    if merged_any:
        lines.append(Line(str(_l("Other groups")), other, merged=True))
    return lines


FILTER_NAMES = ("department_id", "location", "employment_type")


def _keeps(filters: Filters, person: User) -> bool:
    return (
        (filters.department_id is None or person.department_id == filters.department_id)
        and (not filters.location or person.location == filters.location)
        and (filters.employment_type is None or person.employment_type is filters.employment_type)
    )


def _everyone(joined_by: date) -> list[User]:
    """The active people with the company on ``joined_by`` (hired then or before, or with no
    hire date recorded), by name."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.active.is_(True),
                or_(User.hire_date.is_(None), User.hire_date <= joined_by),
            )
            .order_by(*alphabetical(User.name), User.id)
            .options(roles_if_asked())
        )
    )


def _narrows_too_little(filters: Filters, everyone: list[User], tallies: dict[int, Tally]) -> bool:
    """Whether dropping some of the filters (a broader report HR may ask for) adds people too
    few (``_few``) to be shown apart: the two reports' difference would be theirs."""
    chosen = [name for name in FILTER_NAMES if getattr(filters, name) not in (None, "")]
    for size in range(len(chosen)):
        for kept in combinations(chosen, size):
            broader = Filters(**{name: getattr(filters, name) for name in kept})
            left_out = Tally()
            for person in everyone:
                if _keeps(broader, person) and not _keeps(filters, person):
                    left_out.add(tallies[person.id])
            if left_out.headcount and _few(left_out):
                return True
    return False


def _tallies(year: int, people: Iterable[User]) -> dict[int, Tally]:
    tallies = {person.id: Tally(headcount=1) for person in people}
    rows = db.session.execute(
        select(Gift.user_id, Gift.currency, func.count(), func.sum(Gift.cost_amount))
        .where(Gift.occasion_year == year)
        .group_by(Gift.user_id, Gift.currency)
    )
    for user_id, currency, count, cost in rows:
        if user_id in tallies:
            tallies[user_id].gifts += count
            tallies[user_id].cost[currency] = tallies[user_id].cost.get(currency, 0) + int(cost)
    awards = db.session.execute(
        select(Nomination.nominee_id, func.count())
        .where(
            Nomination.state == NominationState.APPROVED,
            Nomination.decided_on >= date(year, 1, 1),
            Nomination.decided_on <= date(year, 12, 31),
        )
        .group_by(Nomination.nominee_id)
    )
    for user_id, count in awards:
        if user_id in tallies:
            tallies[user_id].awards += count
    points = points_received(year, list(tallies))
    for user_id, tally in tallies.items():
        tally.points = points.get(user_id, 0)
        tally.receivers = int(bool(tally.gifts or tally.awards or tally.points))
    return tallies


def _programme_budgets(year: int) -> list[ProgrammeBudget]:
    spent: dict[int, dict[int | None, tuple[int, int]]] = defaultdict(dict)
    rows = db.session.execute(
        select(Gift.programme_id, Gift.department_id, func.count(), func.sum(Gift.cost_amount))
        .where(Gift.occasion_year == year)
        .group_by(Gift.programme_id, Gift.department_id)
    )
    for programme_id, department_id, count, cost in rows:
        spent[programme_id][department_id] = (count, int(cost))
    lines = []
    for programme in programmes():
        per_department = spent.get(programme.id, {})
        lines.append(
            ProgrammeBudget(
                programme=programme,
                gifts=sum(count for count, _ in per_department.values()),
                spent=Money(sum(cost for _, cost in per_department.values()), programme.currency),
                departments=[
                    (
                        budget.department.name,
                        Money(budget.amount, programme.currency),
                        Money(
                            per_department.get(budget.department_id, (0, 0))[1], programme.currency
                        ),
                    )
                    for budget in programme.department_budgets
                ],
            )
        )
    return lines


def report(year: int, filters: Filters | None = None, *, today: date | None = None) -> Report:
    """The fairness report of ``year`` for the active people ``filters`` keep who had joined
    by the year's end and by ``today`` (the company's today). Raises nothing."""
    filters = filters or Filters()
    everyone = _everyone(min(date(year, 12, 31), today or company_today()))
    all_tallies = _tallies(year, everyone)
    people = [person for person in everyone if _keeps(filters, person)]
    tallies = {person.id: all_tallies[person.id] for person in people}
    total = Tally()
    for tally in tallies.values():
        total.add(tally)
    narrows_too_little = _narrows_too_little(filters, everyone, all_tallies)
    dimensions: list[Dimension] = []
    if not _few(total) and not narrows_too_little:
        for key, title, group_of in DIMENSIONS:
            groups: dict[str, Tally] = defaultdict(Tally)
            for person in people:
                groups[group_of(person)].add(tallies[person.id])
            dimensions.append(Dimension(key, title, merge_small(groups)))
    nothing = [
        p
        for p in people
        if not tallies[p.id].gifts and not tallies[p.id].awards and not tallies[p.id].points
    ]
    return Report(
        year=year,
        filters=filters,
        total=Line(str(_l("Everyone")), total),
        dimensions=dimensions,
        programmes=_programme_budgets(year),
        nothing=nothing,
        narrows_too_little=narrows_too_little,
    )


def to_csv(report: Report) -> str:
    """The report's groups as CSV (a header row, then a row per line of each dimension, the
    "Everyone" line last; costs in their currency's major unit, as finance's exports write
    them, with their currency), in the request's language. UTF-8 with a BOM, so that Excel
    reads the Vietnamese names; a group's name that could start a formula is written with a
    leading ``'``. The list of people who received nothing is not in it: it stays on the page.
    Raises nothing."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            str(_l("Dimension")),
            str(_l("Group")),
            str(_l("People")),
            str(_l("Gifts")),
            str(_l("Gift cost")),
            str(_l("Currency")),
            str(_l("Awards")),
            str(_l("Points")),
        ]
    )
    for dimension in report.dimensions:
        for line in [*dimension.lines, report.total]:
            costs: list[Money | None] = [*line.gift_cost] or [None]
            for cost in costs:
                writer.writerow(
                    [
                        str(dimension.title),
                        neutralise(line.label),
                        line.tally.headcount,
                        line.tally.gifts,
                        cost.to_decimal() if cost else 0,
                        cost.currency if cost else "",
                        line.tally.awards,
                        "" if line.tally.points is None else line.tally.points,
                    ]
                )
    return out.getvalue()
