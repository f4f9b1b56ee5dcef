"""``flask perks verify-points``: every points balance recomputed from what moved points.

For each person: their entries of each kind add up to the records behind them (the kudos
they gave per month and received, their gifts of points, their claims bought with points);
each account's running balance, in the order the entries were written, never goes below
zero, nor does any month's allowance; a month's allowance is credited at most once and
expires at most once, and an expired month has nothing left; each kudos has exactly its two
entries. A balance is the sum of the person's entries: these checks prove each one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select

from perks.catalog.models import Claim
from perks.extensions import db
from perks.recognition.models import Gift, Nomination, NominationState
from perks.recognition.points_models import Kudos, PointsEntry, PointsEntryKind

K = PointsEntryKind


@dataclass
class PointsReport:
    entries: int = 0
    people: int = 0
    kudos: int = 0
    #: person -> (allowance left in all open months, received balance)
    balances: dict[int, tuple[int, int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _expected(report: PointsReport) -> dict[tuple[int, PointsEntryKind, str | None], int]:
    """What each (person, kind, month) should sum to, from the kudos, gifts, awards and
    claims."""
    expected: dict[tuple[int, PointsEntryKind, str | None], int] = defaultdict(int)
    for giver_id, recipient_id, month, points in db.session.execute(
        select(Kudos.giver_id, Kudos.recipient_id, Kudos.month, Kudos.points)
    ):
        report.kudos += 1
        expected[(giver_id, K.GIVEN, month)] -= points
        expected[(recipient_id, K.RECEIVED, None)] += points
    for user_id, gift_points in db.session.execute(
        select(Gift.user_id, Gift.points).where(Gift.points.is_not(None))
    ):
        expected[(user_id, K.GIFT, None)] += gift_points or 0
    for user_id, award_points in db.session.execute(
        select(Nomination.nominee_id, Nomination.points).where(
            Nomination.state == NominationState.APPROVED, Nomination.points > 0
        )
    ):
        expected[(user_id, K.AWARD, None)] += award_points
    return expected


def verify_points() -> PointsReport:
    """Recompute every balance from the entries and their records; list each disagreement."""
    report = PointsReport()
    expected = _expected(report)
    sums: dict[tuple[int, PointsEntryKind, str | None], int] = defaultdict(int)
    running: dict[tuple[int, bool], int] = defaultdict(int)
    per_month: dict[tuple[int, str], int] = defaultdict(int)
    once: dict[tuple[int, PointsEntryKind, str], int] = defaultdict(int)
    expired_months: set[tuple[int, str]] = set()
    kudos_entries: dict[int, list[tuple[PointsEntryKind, int, int]]] = defaultdict(list)
    rewards: list[tuple[int, int, int | None]] = []
    query = select(
        PointsEntry.id,
        PointsEntry.user_id,
        PointsEntry.kind,
        PointsEntry.points,
        PointsEntry.month,
        PointsEntry.kudos_id,
        PointsEntry.claim_id,
    ).order_by(PointsEntry.id)
    for entry_id, user_id, kind, points, month, kudos_id, claim_id in db.session.execute(
        query.execution_options(yield_per=1000)
    ):
        report.entries += 1
        allowance = kind in (K.ALLOWANCE, K.GIVEN, K.EXPIRED)
        if kind is not K.ALLOWANCE and kind is not K.REWARD:
            sums[(user_id, kind, month)] += points
        running[(user_id, allowance)] += points
        if running[(user_id, allowance)] < 0:
            account = "allowance" if allowance else "received points"
            report.problems.append(f"person {user_id}: {account} below zero after entry {entry_id}")
        if allowance:
            if month is None:
                report.problems.append(f"points entry {entry_id}: an allowance entry with no month")
                continue
            per_month[(user_id, month)] += points
            if per_month[(user_id, month)] < 0:
                report.problems.append(
                    f"person {user_id}: allowance of {month} below zero after entry {entry_id}"
                )
            if kind in (K.ALLOWANCE, K.EXPIRED):
                once[(user_id, kind, month)] += 1
            if kind is K.EXPIRED:
                expired_months.add((user_id, month))
        if kudos_id is not None:
            kudos_entries[kudos_id].append((kind, user_id, points))
        if kind is K.REWARD:
            rewards.append((user_id, entry_id, claim_id))
    for key in sorted(set(sums) | set(expected), key=str):
        user_id, kind, month = key
        if kind is K.EXPIRED:
            continue
        if sums.get(key, 0) != expected.get(key, 0):
            where = f" in {month}" if month else ""
            report.problems.append(
                f"person {user_id}: {kind.value} entries{where} sum to {sums.get(key, 0)}, "
                f"the records say {expected.get(key, 0)}"
            )
    for (user_id, kind, month), count in sorted(once.items(), key=str):
        if count > 1:
            report.problems.append(f"person {user_id}: {count} {kind.value} entries for {month}")
    for user_id, month in sorted(expired_months):
        if per_month[(user_id, month)] != 0:
            report.problems.append(
                f"person {user_id}: {month} expired with {per_month[(user_id, month)]} left"
            )
    kudos_points = {
        row.id: row.points for row in db.session.execute(select(Kudos.id, Kudos.points))
    }
    for kudos_id, points in kudos_points.items():
        kinds = sorted((kind.value, amount) for kind, _, amount in kudos_entries.get(kudos_id, []))
        if kinds != [("given", -points), ("received", points)]:
            report.problems.append(
                f"kudos {kudos_id}: entries {kinds}, not one given and one received"
            )
    # the claims the reward entries name, joined rather than listed: years of rewards are
    # more ids than one statement takes parameters
    claims = {
        claim_id: (user_id, source)
        for claim_id, user_id, source in db.session.execute(
            select(Claim.id, Claim.user_id, Claim.source)
            .join(PointsEntry, PointsEntry.claim_id == Claim.id)
            .where(PointsEntry.kind == K.REWARD)
        )
    }
    for user_id, entry_id, claim_id in rewards:
        if claims.get(claim_id or 0) != (user_id, "points"):
            report.problems.append(
                f"points entry {entry_id}: a reward without a claim of person {user_id} "
                "bought with points"
            )
    bought = db.session.scalar(
        select(func.count()).select_from(Claim).where(Claim.source == "points")
    )
    if bought != len(rewards):
        report.problems.append(f"{bought} claims bought with points, {len(rewards)} reward entries")
    people = {user_id for user_id, _ in running}
    report.people = len(people)
    report.balances = {
        user_id: (running.get((user_id, True), 0), running.get((user_id, False), 0))
        for user_id in sorted(people)
    }
    return report
