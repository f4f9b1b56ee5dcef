"""Points under simultaneous requests (PostgreSQL): kudos sent at the same moment by one giver
never give more than the allowance, rewards bought at the same moment never spend more than
the points received, and several hosts settling the month write each entry once. Each thread
has its own app context, so its own session and connection; a barrier releases them
together. SQLite serialises writers, so these prove nothing there and are skipped."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select, update

from perks.errors import Conflict
from perks.extensions import db
from perks.people.models import Role
from perks.recognition import kudos, points
from perks.recognition.kudos import PointsSettingsData
from perks.recognition.points_models import Kudos, PointsEntry, PointsEntryKind
from perks.recognition.points_verify import verify_points
from tests.factories import CompanyValueFactory, PerkFactory, UserFactory
from tests.helpers import is_postgres
from tests.racing import all_at_once, waiting_on_a_lock

pytestmark = pytest.mark.postgres_only

THREADS = 6
DAY = date(2027, 3, 10)
APRIL = date(2027, 4, 1)


@pytest.fixture
def postgres(app):  # type: ignore[no-untyped-def]
    if not is_postgres(app):
        pytest.skip("racing requests need PostgreSQL (row locks); set TEST_DATABASE_URL")
    hr = UserFactory(roles={Role.HR}, active=False)
    kudos.update_points_settings(PointsSettingsData(100, {}, 100, 1_000), actor=hr)
    return app


def test_simultaneous_kudos_never_exceed_the_allowance(postgres):
    giver = UserFactory()
    colleagues = [UserFactory().id for _ in range(THREADS)]
    value_id = CompanyValueFactory().id
    giver_id = giver.id
    db.session.remove()

    def give(n: int) -> None:
        me = db.session.get(type(giver), giver_id)
        kudos.give_kudos(me, colleagues[n], 30, value_id, "Cảm ơn!", today=DAY)

    outcome = all_at_once(postgres, range(THREADS), give)

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=3, LimitReached=3)  # 3 × 30 of 100
    assert points.allowance_left(giver_id, "2027-03") == 10
    credits = db.session.scalar(
        select(func.count()).where(
            PointsEntry.user_id == giver_id, PointsEntry.kind == PointsEntryKind.ALLOWANCE
        )
    )
    assert credits == 1
    assert db.session.scalar(select(func.count()).select_from(Kudos)) == 3
    assert verify_points().ok


def test_simultaneous_rewards_never_spend_more_than_was_received(postgres):
    person = UserFactory()
    value = CompanyValueFactory()
    for _ in range(2):
        kudos.give_kudos(UserFactory(), person.id, 50, value.id, "Giỏi lắm!", today=DAY)
    reward_ids = [PerkFactory(points_price=30, per_person_limit=None).id for _ in range(THREADS)]
    person_id = person.id
    db.session.remove()

    def spend(n: int) -> None:
        me = db.session.get(type(person), person_id)
        kudos.spend_points(reward_ids[n], me, today=DAY)

    outcome = all_at_once(postgres, range(THREADS), spend)

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=3, LimitReached=3)  # 3 × 30 of 100
    assert points.received_balance(person_id) == 10
    assert verify_points().ok


def test_hosts_settling_the_month_together_write_each_entry_once(postgres):
    value = CompanyValueFactory()
    givers = [UserFactory() for _ in range(4)]
    for giver in givers:
        kudos.give_kudos(giver, UserFactory().id, 25, value.id, "Cảm ơn!", today=DAY)
    db.session.remove()

    outcome = all_at_once(postgres, range(THREADS), lambda _host: points.settle_months(APRIL))

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=THREADS)
    expired = db.session.scalars(
        select(PointsEntry.points).where(PointsEntry.kind == PointsEntryKind.EXPIRED)
    ).all()
    assert expired == [-75] * 4
    april = db.session.scalar(
        select(func.count()).where(
            PointsEntry.kind == PointsEntryKind.ALLOWANCE, PointsEntry.month == "2027-04"
        )
    )
    assert april == 8  # every active person once
    assert verify_points().ok


def test_a_kudos_tapped_twice_at_once_is_given_once(postgres):
    giver = UserFactory()
    colleague_id, value_id, giver_id = UserFactory().id, CompanyValueFactory().id, giver.id
    db.session.remove()

    def give(_tap: int) -> int:
        me = db.session.get(type(giver), giver_id)
        return kudos.give_kudos(me, colleague_id, 20, value_id, "Cảm ơn!", today=DAY).id

    outcome = all_at_once(postgres, range(3), give)

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=3)
    assert len(set(outcome.results)) == 1  # each tap is told of the same kudos
    assert db.session.scalar(select(func.count()).select_from(Kudos)) == 1
    assert points.received_balance(colleague_id) == 20
    assert points.allowance_left(giver_id, "2027-03") == 80
    assert verify_points().ok


def test_a_reward_bought_while_hr_raises_its_price_is_not_sold_at_the_old_one(postgres):
    """HR saves a new price (the perk's row locked, not yet committed) just as a person
    presses Spend on the page that showed the old one: their purchase waits for the save
    and is refused, rather than going through at the old price after the new one stood."""
    from perks.catalog.models import Claim, Perk
    from tests.processes import wait_for

    person = UserFactory()
    kudos.give_kudos(UserFactory(), person.id, 50, CompanyValueFactory().id, "Giỏi!", today=DAY)
    reward = PerkFactory(points_price=10, per_person_limit=None, total_stock=5)
    reward_id, person_id = reward.id, person.id
    db.session.commit()

    # HR's save (``update_perk`` locks the perk's row and changes it), not committed yet
    db.session.execute(update(Perk).where(Perk.id == reward_id).values(points_price=40))
    bought: dict[str, object] = {}

    def spend() -> None:
        with postgres.app_context():
            try:
                me = db.session.get(type(person), person_id)
                bought["claim"] = kudos.spend_points(reward_id, me, today=DAY, offered_price=10).id
            except Conflict as refused:
                bought["refused"] = refused.message
            finally:
                db.session.remove()

    thread = threading.Thread(target=spend)
    thread.start()
    wait_for(lambda: waiting_on_a_lock(postgres), what="the purchase to wait for HR's save")
    db.session.commit()  # the new price stands
    thread.join(timeout=60)

    assert "refused" in bought, "bought at the old price after the new one was saved"
    assert points.received_balance(person_id) == 50
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 0
    assert verify_points().ok
