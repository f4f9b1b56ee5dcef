"""Gift programmes as the recognition tests make them: an occasion of the Vietnamese
calendar, a gift perk, and what HR fills in for a programme."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from perks.catalog.models import Perk, PerkKind
from perks.extensions import db
from perks.money import Money
from perks.people.models import User
from perks.recognition import services
from perks.recognition.gifts import ProgrammeData
from perks.recognition.models import Award, Nomination, Occasion
from tests.factories import PerkFactory, UserFactory


def occasion(key: str) -> Occasion:
    """The Vietnamese calendar's occasion ``key`` (the calendar added if it is not yet)."""
    services.add_vietnamese_calendar(actor=None)
    return db.session.scalars(select(Occasion).where(Occasion.key == key)).one()


def gift_perk(**fields: Any) -> Perk:
    """A gift perk anyone may receive any number of times."""
    return PerkFactory(kind=PerkKind.GIFT, per_person_limit=None, **fields)


def programme_data(occasion_id: int, perk_id: int | None, **fields: Any) -> ProgrammeData:
    """What HR fills in for a gift programme (8/3, 200,000 ₫ a gift, no budget), with
    ``fields``."""
    values = {
        "name_vi": "Quà 8/3",
        "name_en": "8 March gift",
        "occasion_id": occasion_id,
        "perk_id": perk_id,
        "days_ahead": 0,
        "message_vi": "Chúc mừng ngày Quốc tế Phụ nữ!",
        "message_en": "Happy International Women's Day!",
        "unit_cost": Money(200_000, "VND"),
        "budget": None,
        **fields,
    }
    return ProgrammeData(**values)


def idea_nominated_by(manager: User, points: int = 10) -> Nomination:
    """The award "Idea" (``points``), and a pending nomination of one of ``manager``'s team."""
    award = Award(name_vi="Sáng kiến", name_en="Idea", points=points)
    db.session.add(award)
    db.session.commit()
    nomination = Nomination(
        award_id=award.id,
        nominee_id=UserFactory(manager=manager).id,
        nominator_id=manager.id,
        reason="Idea",
    )
    db.session.add(nomination)
    db.session.commit()
    return nomination
