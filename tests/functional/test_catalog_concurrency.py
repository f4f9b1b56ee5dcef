"""What must happen once happens once, however many people try at the same moment.

On PostgreSQL: stock and per-person limits under simultaneous claims, a claim scanned at
several counters, a seat declined twice, a draw made by several hosts' ticks. Each thread has
its own app context, so its own session and connection; a barrier releases them together.
SQLite serialises writers, so these prove nothing there and are skipped.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from perks.catalog.claims import claim_perk, redeem_claim
from perks.catalog.draws import (
    close_entries,
    decline_seat,
    draw_entries,
    draws_due,
    enter_draw,
    enter_public_value,
    open_draw,
    run_draw,
    verify_draw,
)
from perks.catalog.models import (
    Allocation,
    Claim,
    ClaimStatus,
    CodeMode,
    Draw,
    EntryOutcome,
    LimitPeriod,
    Perk,
    PerkCode,
    PerkKind,
)
from perks.catalog.services import archive_perk, import_codes
from perks.db import locked, utcnow
from perks.errors import Conflict
from perks.extensions import db
from perks.people.models import Role, User
from tests.factories import PerkFactory, UserFactory
from tests.helpers import PUBLIC_VALUE, make_draw
from tests.processes import wait_for
from tests.racing import Outcome, all_at_once, waiting_on_a_lock

pytestmark = pytest.mark.postgres_only

TODAY = date(2026, 11, 30)


def person(user_id: int) -> User:
    return db.session.get(User, user_id)


def claim_together(app: Flask, perk_id: int, user_ids: list[int]) -> Outcome:
    """Every user id in its own thread, released at once, claims the perk; results are codes."""
    return all_at_once(
        app, user_ids, lambda who: claim_perk(perk_id, who, today=TODAY).code, prepare=person
    )


def watch_stock(app: Flask, perk_id: int) -> Callable[[], list[int]]:
    """Read the perk's remaining stock over and over; the returned function stops and tells."""
    seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        with app.app_context():
            while not stop.is_set():
                seen.append(
                    db.session.scalar(select(Perk.remaining_stock).where(Perk.id == perk_id))
                )
                db.session.rollback()
            db.session.remove()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()

    def stopped() -> list[int]:
        stop.set()
        thread.join(timeout=30)
        return seen

    return stopped


def claims_of(perk: Perk) -> list[Claim]:
    return list(db.session.scalars(select(Claim).where(Claim.perk_id == perk.id)))


def test_200_people_claiming_50_in_stock_at_once_get_exactly_50(crowded_app):
    perk = PerkFactory(total_stock=50)
    people = [user.id for user in UserFactory.create_batch(200)]

    stopped = watch_stock(crowded_app, perk.id)
    outcome = claim_together(crowded_app, perk.id, people)
    seen = stopped()

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=50, SoldOut=150)
    assert len(set(outcome.results)) == 50, "a code was handed out twice"
    db.session.refresh(perk)
    assert perk.remaining_stock == 0
    assert seen, "the stock was never read during the claims"
    assert min(seen) >= 0
    claims = claims_of(perk)
    assert len(claims) == 50
    assert len({c.user_id for c in claims}) == 50
    assert len({c.code for c in claims}) == 50


def test_200_people_claiming_from_a_pool_of_50_codes_never_share_a_code(crowded_app):
    codes = [f"POOL-{n:03d}" for n in range(50)]
    perk = PerkFactory(code_mode=CodeMode.POOL, codes=codes)
    people = [user.id for user in UserFactory.create_batch(200)]

    outcome = claim_together(crowded_app, perk.id, people)

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=50, SoldOut=150)
    assert sorted(outcome.results) == codes
    handed = dict(
        db.session.execute(
            select(PerkCode.code, PerkCode.claim_id).where(PerkCode.perk_id == perk.id)
        ).all()
    )
    assert None not in handed.values()
    assert len(set(handed.values())) == 50
    assert {c.id: c.code for c in claims_of(perk)} == {cid: code for code, cid in handed.items()}


def test_the_same_codes_imported_several_times_at_once_enter_the_pool_once(crowded_app):
    """A double-clicked import, or two HR people pasting the partner's list: one import adds
    the codes, the others list them as already in the pool (in any case), and none fails."""
    hr_id = UserFactory(roles={Role.HR}).id
    perk_id = PerkFactory(code_mode=CodeMode.POOL, codes=["A-001"]).id
    lists = ["HL-001\nHL-002\nHL-003", "hl-001\nhl-002\nhl-003"] * 4

    outcome = all_at_once(
        crowded_app,
        lists,
        lambda prepared: import_codes(perk_id, prepared[0], actor=prepared[1]),
        prepare=lambda text: (text, person(hr_id)),
        locale="en",
    )

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=1, ValidationFailed=7)
    assert outcome.results == [3]
    pool = db.session.scalars(select(PerkCode.code).where(PerkCode.perk_id == perk_id)).all()
    assert sorted(code.upper() for code in pool) == ["A-001", "HL-001", "HL-002", "HL-003"]


def test_one_person_claiming_a_once_a_month_perk_20_times_at_once_gets_one(crowded_app):
    perk = PerkFactory(total_stock=None, per_person_limit=1, limit_period=LimitPeriod.MONTH)
    person = UserFactory()

    outcome = claim_together(crowded_app, perk.id, [person.id] * 20)

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=1, LimitReached=19)
    [claim] = claims_of(perk)
    assert (claim.user_id, claim.period_key, claim.slot) == (person.id, "2026-11", 1)


def test_one_person_claiming_20_times_at_once_takes_one_unit_of_stock(crowded_app):
    perk = PerkFactory(total_stock=10, per_person_limit=1, limit_period=LimitPeriod.MONTH)
    person = UserFactory()

    outcome = claim_together(crowded_app, perk.id, [person.id] * 20)

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=1, LimitReached=19)
    db.session.refresh(perk)
    assert perk.remaining_stock == 9
    assert db.session.scalar(select(func.count()).where(Claim.perk_id == perk.id)) == 1


def test_one_person_claiming_a_twice_a_month_perk_20_times_at_once_gets_two(crowded_app):
    perk = PerkFactory(total_stock=None, per_person_limit=2, limit_period=LimitPeriod.MONTH)
    someone = UserFactory()

    outcome = claim_together(crowded_app, perk.id, [someone.id] * 20)

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=2, LimitReached=18)
    assert sorted(c.slot for c in claims_of(perk)) == [1, 2]


def test_without_a_limit_per_person_simultaneous_claims_all_succeed(crowded_app):
    perk = PerkFactory(total_stock=None, per_person_limit=None)
    someone = UserFactory()

    outcome = claim_together(crowded_app, perk.id, [someone.id] * 20)

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=20)
    assert sorted(c.slot for c in claims_of(perk)) == list(range(1, 21))


def test_a_claim_scanned_at_several_counters_at_once_is_redeemed_once(crowded_app):
    claim = claim_perk(PerkFactory().id, UserFactory(), today=TODAY)
    reference = claim.reference
    redeemers = [user.id for user in UserFactory.create_batch(20, roles={Role.REDEEMER})]

    outcome = all_at_once(
        crowded_app,
        redeemers,
        lambda who: redeem_claim(reference, who).used_by_id,
        prepare=person,
    )

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=1, Conflict=19)
    db.session.refresh(claim)
    assert (claim.status, claim.used_by_id) == (ClaimStatus.USED, outcome.results[0])


def test_a_seat_declined_twice_at_once_is_passed_on_once(crowded_app):
    perk = PerkFactory(
        allocation=Allocation.DRAW, kind=PerkKind.EXPERIENCE, total_stock=1, per_person_limit=1
    )
    close = utcnow() + timedelta(hours=1)
    draw = open_draw(perk.id, entries_close_at=close, actor=UserFactory(roles={Role.HR}))
    for entrant in UserFactory.create_batch(6):
        enter_draw(perk.id, entrant)
    make_draw(draw.id, close)
    winner = draw_entries(draw.id)[0]
    entry_id = winner.id

    outcome = all_at_once(
        crowded_app,
        [winner.user_id] * 10,
        lambda who: decline_seat(entry_id, who, now=close).id,
        prepare=person,
    )

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=1, Conflict=9)
    db.session.expire_all()
    outcomes = [entry.outcome for entry in draw_entries(draw.id)]
    assert outcomes == [EntryOutcome.DECLINED, EntryOutcome.WON, *[EntryOutcome.WAITING] * 4]
    db.session.refresh(perk)
    assert perk.remaining_stock == 0
    live = select(func.count()).where(Claim.perk_id == perk.id, Claim.slot.is_not(None))
    assert db.session.scalar(live) == 1


def test_a_seat_used_at_the_counter_while_its_winner_declines_it_stays_used(crowded_app):
    perk = PerkFactory(
        allocation=Allocation.DRAW, kind=PerkKind.EXPERIENCE, total_stock=1, per_person_limit=1
    )
    close = utcnow() + timedelta(hours=1)
    draw = open_draw(perk.id, entries_close_at=close, actor=UserFactory(roles={Role.HR}))
    for entrant in UserFactory.create_batch(3):
        enter_draw(perk.id, entrant)
    make_draw(draw.id, close)
    winner = draw_entries(draw.id)[0]
    entry_id, claim_id, winner_id = winner.id, winner.claim_id, winner.user_id
    redeemer_id = UserFactory(roles={Role.REDEEMER}).id
    now = utcnow()

    # The counter marks the seat used (the statement ``redeem_claim`` runs) and has not
    # committed yet when the winner presses "Decline the seat" on their phone.
    db.session.execute(
        update(Claim)
        .where(Claim.id == claim_id, Claim.status == ClaimStatus.CLAIMED)
        .values(status=ClaimStatus.USED, used_at=now, used_by_id=redeemer_id, updated_at=now)
    )
    declined: dict[str, object] = {}

    def decline() -> None:
        with crowded_app.app_context():
            try:
                declined["entry"] = decline_seat(entry_id, person(winner_id), now=close).id
            except Conflict as refused:
                declined["refused"] = refused.message
            finally:
                db.session.remove()

    thread = threading.Thread(target=decline)
    thread.start()
    wait_for(lambda: waiting_on_a_lock(crowded_app), what="the decline to wait for the counter")
    db.session.commit()  # the counter's use goes through
    thread.join(timeout=60)

    assert "refused" in declined, "the used seat was declined and given to the next entrant"
    db.session.expire_all()
    assert db.session.get(Claim, claim_id).status is ClaimStatus.USED
    outcomes = [entry.outcome for entry in draw_entries(draw.id)]
    assert outcomes == [EntryOutcome.WON, EntryOutcome.WAITING, EntryOutcome.WAITING]
    db.session.refresh(perk)
    assert perk.remaining_stock == 0


def test_hosts_making_the_same_due_draw_at_once_make_it_once(crowded_app):
    perk = PerkFactory(
        allocation=Allocation.DRAW, kind=PerkKind.EXPERIENCE, total_stock=2, per_person_limit=1
    )
    draw = open_draw(perk.id, entries_close_at=utcnow() + timedelta(hours=1), actor=UserFactory())
    for entrant in UserFactory.create_batch(5):
        enter_draw(perk.id, entrant)
    db.session.execute(update(Draw).where(Draw.id == draw.id).values(entries_close_at=utcnow()))
    db.session.commit()

    # Like `flask perks tick` on five hosts: each finds the draw due, then freezes its
    # entries; once the public value is in, each makes it.
    hosts = 5
    found = threading.Barrier(hosts)

    def freeze(_nothing: None) -> int:
        due = draws_due()
        found.wait(timeout=60)
        return close_entries(due[0], actor=None).id

    frozen = all_at_once(crowded_app, [None] * hosts, freeze)
    assert frozen.errors == []
    assert frozen.answers == Counter(ok=1, Conflict=4)
    db.session.expire_all()
    hr = UserFactory(roles={Role.HR})
    enter_public_value(draw.id, PUBLIC_VALUE, actor=hr, now=utcnow() + timedelta(days=2))
    ready = threading.Barrier(hosts)
    draw_id = draw.id  # read here: the hosts' threads must not touch this session

    def tick(_nothing: None) -> int:
        ready.wait(timeout=60)
        return run_draw(draw_id, actor=None).id

    outcome = all_at_once(crowded_app, [None] * hosts, tick)

    assert outcome.errors == []
    assert outcome.answers == Counter(ok=1, Conflict=4)
    db.session.expire_all()
    outcomes = [entry.outcome for entry in draw_entries(draw.id)]
    assert outcomes == [EntryOutcome.WON] * 2 + [EntryOutcome.WAITING] * 3
    assert db.session.scalar(select(func.count()).where(Claim.perk_id == perk.id)) == 2
    assert verify_draw(draw.id).ok


@pytest.mark.parametrize("change", ["first come", "archived"])
def test_a_draw_opened_while_hr_changes_its_perk_waits_and_sees_the_change(crowded_app, change):
    """HR saves the perk as first come (or archives it) while a colleague opens its draw: the
    draw must not open on a perk that no longer takes one, where the check of each (no draw
    under way; a published draw perk) was made before the other's commit."""
    perk = PerkFactory(allocation=Allocation.DRAW, kind=PerkKind.EXPERIENCE, total_stock=2)
    perk_id, hr_id = perk.id, UserFactory(roles={Role.HR}).id
    # the save (``update_perk``, ``archive_perk``) has written the row, not committed yet
    values = (
        {"allocation": Allocation.FIRST_COME} if change == "first come" else {"status": "archived"}
    )
    db.session.execute(update(Perk).where(Perk.id == perk_id).values(**values))
    opened: dict[str, object] = {}

    def open_it() -> None:
        with crowded_app.app_context():
            try:
                close = utcnow() + timedelta(hours=1)
                opened["draw"] = open_draw(perk_id, entries_close_at=close, actor=person(hr_id)).id
            except Conflict as refused:
                opened["refused"] = refused.message
            finally:
                db.session.remove()

    thread = threading.Thread(target=open_it)
    thread.start()
    wait_for(
        lambda: waiting_on_a_lock(crowded_app) or not thread.is_alive(),
        what="the opening to wait for the save",
    )
    db.session.commit()
    thread.join(timeout=60)

    assert "refused" in opened, "a draw opened on a perk that no longer takes one"
    assert db.session.scalar(select(func.count()).where(Draw.perk_id == perk_id)) == 0


def test_a_perk_archived_while_its_draw_opens_waits_and_is_refused(crowded_app):
    perk = PerkFactory(allocation=Allocation.DRAW, kind=PerkKind.EXPERIENCE, total_stock=2)
    perk_id, hr_id = perk.id, UserFactory(roles={Role.HR}).id
    # the draw is open (``open_draw`` holds the perk), not committed yet
    locked(Perk, perk_id)
    db.session.add(
        Draw(
            perk_id=perk_id,
            seats=2,
            entries_close_at=utcnow() + timedelta(hours=1),
            seed="0" * 64,
            commitment="1" * 64,
            public_value_source="XSMB",
            public_value_date=utcnow().date() + timedelta(days=2),
        )
    )
    db.session.flush()
    archived: dict[str, object] = {}

    def archive() -> None:
        with crowded_app.app_context():
            try:
                archived["perk"] = archive_perk(perk_id, actor=person(hr_id)).id
            except Conflict as refused:
                archived["refused"] = refused.message
            finally:
                db.session.remove()

    thread = threading.Thread(target=archive)
    thread.start()
    wait_for(lambda: waiting_on_a_lock(crowded_app), what="the archiving to wait for the draw")
    db.session.commit()
    thread.join(timeout=60)

    assert "refused" in archived, "the perk was archived with its draw under way"
    db.session.expire_all()
    assert db.session.get(Perk, perk_id).status.value == "published"
