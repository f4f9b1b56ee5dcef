"""Read-only figures for the HR catalog pages (the services own every write)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from perks.catalog.models import PerkCode
from perks.extensions import db
from perks.people.models import User


@dataclass(frozen=True)
class CodePoolCounts:
    total: int
    used: int

    @property
    def left(self) -> int:
        return self.total - self.used


def code_pool_counts(perk_id: int) -> CodePoolCounts:
    """How many codes a pooled perk has, and how many were handed out, in one query."""
    total, used = db.session.execute(
        select(func.count(), func.count(PerkCode.claim_id)).where(PerkCode.perk_id == perk_id)
    ).one()
    return CodePoolCounts(total=total or 0, used=used or 0)


def staff_locations() -> list[str]:
    """The places active people work in, as the directory spells them (eligibility choices)."""
    return list(
        db.session.scalars(
            select(User.location)
            .where(User.active.is_(True), User.location != "")
            .distinct()
            .order_by(User.location)
        )
    )
