"""Two HR people approving the same nomination at the same time (PostgreSQL): the award's gift
is granted once, one approval wins and the other is refused as already decided. Each thread
has its own app context, so its own session and connection."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from perks.audit import AuditEvent
from perks.catalog.models import Claim, CodeMode, PerkKind
from perks.extensions import db
from perks.mail import OutboxMessage
from perks.people.models import Role, User
from perks.recognition import awards
from perks.recognition.awards import AwardData
from perks.recognition.models import Nomination, NominationState
from tests.factories import PerkFactory, UserFactory
from tests.helpers import is_postgres
from tests.racing import all_at_once

pytestmark = pytest.mark.postgres_only

APPROVERS = 4


def test_racing_approvals_grant_the_award_once(app):
    if not is_postgres(app):
        pytest.skip("racing approvals need PostgreSQL (row locks); set TEST_DATABASE_URL")
    approvers = [UserFactory(roles={Role.HR}).id for _ in range(APPROVERS)]
    manager = UserFactory(roles={Role.MANAGER})
    perk = PerkFactory(
        kind=PerkKind.GIFT, per_person_limit=None, code_mode=CodeMode.POOL, codes=["A", "B", "C"]
    )
    award = awards.create_award(
        AwardData(
            name_vi="Nhân viên xuất sắc tháng",
            name_en="Employee of the month",
            description_vi="Xuất sắc",
            description_en="Outstanding",
            perk_id=perk.id,
            points=100,
        ),
        actor=manager,
    )
    nominee = UserFactory(manager=manager)
    nomination_id = awards.nominate(award.id, nominee.id, "Outstanding", actor=manager).id
    db.session.remove()
    outcome = all_at_once(
        app,
        approvers,
        lambda actor: awards.approve(nomination_id, actor=actor),
        prepare=lambda user_id: db.session.get(User, user_id),
    )

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=1, NominationRefused=APPROVERS - 1)
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 1
    nomination = db.session.get(Nomination, nomination_id)
    assert nomination.state is NominationState.APPROVED
    assert nomination.points == 100
    approved = select(func.count()).where(AuditEvent.action == "recognition.nomination_approved")
    assert db.session.scalar(approved) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
