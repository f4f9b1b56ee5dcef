"""The rules' history: every version of each perk's rules, commission rule and gift
programme, and of finance's commission policies (returning customers, leavers), as staff read
it on the public rules history page.

A service that creates or changes such a rule calls ``record_change`` in its own transaction
with the rule's terms before and after (plain JSON values: names, not ids, so a version reads
the same after a department is renamed). A version holds the terms and the moment they took
effect, and nothing about who changed them: the page is public to employees, the audit log
keeps the names for those who may read it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column

from perks.db import Base, utcnow
from perks.extensions import db

#: what a version is of
PERK = "perk"
COMMISSION_RULE = "commission_rule"
GIFT_PROGRAMME = "gift_programme"
#: finance's policies, one each (``subject_id`` ``POLICY_ID``)
RETURNING_CUSTOMERS = "returning_customers"
LEAVERS = "leavers"
POLICY_ID = 1


class RuleVersion(Base):
    """One version of a rule's terms. Rows are only ever added."""

    __tablename__ = "rule_version"
    __table_args__ = (UniqueConstraint("subject", "subject_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``PERK``, ``COMMISSION_RULE``, ``GIFT_PROGRAMME``, ``RETURNING_CUSTOMERS``, ``LEAVERS``
    subject: Mapped[str] = mapped_column(String(32))
    #: the perk's or programme's id; a commission rule's first version's id (its later
    #: versions are rows of their own that supersede it)
    subject_id: Mapped[int] = mapped_column(Integer)
    #: 1, 2, ... per subject
    number: Mapped[int] = mapped_column(Integer)
    #: when these terms took effect
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    terms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


@dataclass(frozen=True)
class Version:
    number: int
    since: datetime
    #: when the next version replaced it; None for the one in force
    until: datetime | None
    terms: dict[str, Any]
    #: field -> (before, after); empty for the first version
    changes: dict[str, tuple[Any, Any]]


def _latest(subject: str, subject_id: int) -> RuleVersion | None:
    return db.session.scalar(
        select(RuleVersion)
        .where(RuleVersion.subject == subject, RuleVersion.subject_id == subject_id)
        .order_by(RuleVersion.number.desc())
        .limit(1)
    )


def record_change(
    subject: str,
    subject_id: int,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    *,
    since: datetime | None = None,
) -> RuleVersion | None:
    """Add the version ``after`` of a rule (flush only); None when its terms did not change.

    A rule made before versions were kept has none yet: its terms ``before`` become its
    first version, dated ``since`` (when it was made). Raises nothing.
    """
    latest = _latest(subject, subject_id)
    kept = dict(latest.terms) if latest is not None else {}
    if before is not None:
        # terms kept only since the latest version was recorded: they were as ``before`` says
        kept = {**{k: v for k, v in before.items() if k not in kept}, **kept}
    if latest is None and before is not None:
        latest = RuleVersion(
            subject=subject,
            subject_id=subject_id,
            number=1,
            recorded_at=since or utcnow(),
            terms=dict(before),
        )
        db.session.add(latest)
    if latest is not None and _same_terms(kept, after):
        db.session.flush()
        return None
    version = RuleVersion(
        subject=subject,
        subject_id=subject_id,
        number=latest.number + 1 if latest is not None else 1,
        recorded_at=utcnow(),
        terms=dict(after),
    )
    db.session.add(version)
    db.session.flush()
    return version


def histories(subject: str) -> dict[int, list[Version]]:
    """Every version of every rule of a kind, oldest first, by subject id (one query).
    Raises nothing."""
    rows = db.session.scalars(
        select(RuleVersion)
        .where(RuleVersion.subject == subject)
        .order_by(RuleVersion.subject_id, RuleVersion.number)
    )
    grouped: dict[int, list[RuleVersion]] = defaultdict(list)
    for row in rows:
        grouped[row.subject_id].append(row)
    return {
        subject_id: as_versions([(row.recorded_at, row.terms) for row in versions])
        for subject_id, versions in grouped.items()
    }


def as_versions(kept: Sequence[tuple[datetime, dict[str, Any]]]) -> list[Version]:
    """Terms as versions 1, 2, ... of one rule, each with what changed from the one before:
    ``kept`` is (since, terms), oldest first. Raises nothing."""
    return [
        Version(
            number=n + 1,
            since=since,
            until=kept[n + 1][0] if n + 1 < len(kept) else None,
            terms=terms,
            changes=_changes(kept[n - 1][1], terms) if n else {},
        )
        for n, (since, terms) in enumerate(kept)
    ]


def _same(before: Any, after: Any) -> bool:
    """Whether a term reads the same: a name kept in one language (as it read to whoever
    saved it, before names were kept in both) is the same as either language of it."""
    if isinstance(before, str) and isinstance(after, Mapping) and set(after) == {"vi", "en"}:
        return before in after.values()
    return bool(before == after)


def _same_terms(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    return before.keys() == after.keys() and all(_same(before[k], after[k]) for k in before)


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """What changed from ``before`` to ``after``; a term ``before`` did not keep yet (kept
    since) is no change, nor is a name kept in both languages that was kept in one."""
    return {
        key: (before.get(key), after.get(key))
        for key in sorted({*before, *after})
        if key in before and not _same(before.get(key), after.get(key))
    }


def version_count(subject: str) -> int:
    """How many versions of rules of a kind are kept. Raises nothing."""
    return (
        db.session.scalar(
            select(func.count()).select_from(RuleVersion).where(RuleVersion.subject == subject)
        )
        or 0
    )
