"""Read-only figures for the HR catalog pages (the services own every write)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from perks.catalog.models import PerkCode
from perks.extensions import db
from perks.folding import name_order
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


def staff_locations(kept: Iterable[str] = ()) -> list[str]:
    """The places active people work in, as the directory spells them (eligibility choices),
    and the places in ``kept`` (those a rule names stay selectable when nobody works there any
    more), alphabetised as Vietnamese is ("Đà Nẵng" among the Ds). Raises nothing."""
    places = db.session.scalars(
        select(User.location).where(User.active.is_(True), User.location != "").distinct()
    )
    return sorted({*places, *kept}, key=name_order)
