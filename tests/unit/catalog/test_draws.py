"""Fair draws: a committed seed, one entry each, a result anyone can recompute."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from flask_babel import force_locale
from jinja2 import TemplateNotFound
from sqlalchemy import func, select, update

from perks.catalog.claims import mark_claim_used
from perks.catalog.draws import (
    METHOD,
    commitment_of,
    decline_seat,
    draw_entries,
    draw_order,
    draws_due,
    enter_draw,
    entry_score,
    open_draw,
    public_seed,
    run_draw,
    verify_draw,
)
from perks.catalog.models import (
    Allocation,
    Claim,
    ClaimStatus,
    Draw,
    DrawEntry,
    DrawStatus,
    EntryOutcome,
    Perk,
    PerkKind,
)
from perks.db import utcnow
from perks.errors import Conflict, NotEligible, NotFound, ValidationFailed
from perks.extensions import db
from perks.people.models import Role
from tests.factories import DepartmentFactory, DrawFactory, PerkFactory, UserFactory

SEED = "5f1c0e2a9b7d4c3e8f6a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a"
OTHER_SEED = "5f1c0e2a9b7d4c3e8f6a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6b"
KEYS = [f"K{n:02d}ABCDEFG"[:10] for n in range(20)]


@pytest.fixture(autouse=True)
def _in_english(app, _app_context):  # type: ignore[no-untyped-def]
    """Messages are asserted in English (outside a request the default language applies)."""
    with force_locale("en"):
        yield


def draw_perk(seats: int = 2, **fields: object) -> Perk:
    return PerkFactory(
        allocation=Allocation.DRAW, kind=PerkKind.EXPERIENCE, total_stock=seats, **fields
    )


def opened(perk: Perk, **options: object) -> tuple[Draw, datetime]:
    """Open a draw on ``perk`` whose entries close in an hour; return it and the closing time."""
    close = utcnow() + timedelta(hours=1)
    hr = UserFactory(roles={Role.HR})
    return open_draw(perk.id, entries_close_at=close, actor=hr, **options), close


def entries_by_user(draw: Draw) -> dict[int, DrawEntry]:
    return {entry.user_id: entry for entry in draw_entries(draw.id)}


# --- the method -----------------------------------------------------------------------------


def test_the_order_is_the_entries_sorted_by_the_hash_of_seed_and_key():
    assert draw_order("seed-1", ["A", "B", "C", "D"]) == ["D", "C", "A", "B"]
    scores = {key: hashlib.sha256(f"{SEED}:{key}".encode()).hexdigest() for key in KEYS}
    assert draw_order(SEED, KEYS) == sorted(KEYS, key=scores.__getitem__)
    assert entry_score(SEED, KEYS[0]) == scores[KEYS[0]]
    assert "SHA-256(seed + ':' + key)" in METHOD


def test_the_same_seed_and_entries_give_the_same_order_whatever_order_they_come_in():
    first = draw_order(SEED, KEYS)
    assert draw_order(SEED, list(reversed(KEYS))) == first
    assert draw_order(SEED, KEYS[7:] + KEYS[:7]) == first
    assert draw_order(SEED, iter(sorted(KEYS, key=str.lower))) == first


def test_a_different_seed_gives_a_different_order():
    assert draw_order("seed-2", ["A", "B", "C", "D"]) == ["D", "B", "C", "A"]
    assert draw_order(OTHER_SEED, KEYS) != draw_order(SEED, KEYS)
    assert draw_order(OTHER_SEED, KEYS)[:3] != draw_order(SEED, KEYS)[:3]


def test_changing_one_entry_changes_the_result():
    changed = ["K99ZZZZZZZ", *KEYS[1:]]
    before, after = draw_order(SEED, KEYS), draw_order(SEED, changed)
    assert after != before
    assert KEYS[0] in before
    assert KEYS[0] not in after
    assert after.index("K99ZZZZZZZ") != before.index(KEYS[0])


def test_an_entrys_place_among_the_others_depends_only_on_the_seed_and_its_own_key():
    # Nobody's entry (not even one added at the last minute) can reorder the others.
    before = draw_order(SEED, KEYS)
    after = draw_order(SEED, [*KEYS, "LATECOMER1"])
    assert [key for key in after if key != "LATECOMER1"] == before


def test_deprioritised_entries_come_after_all_the_others():
    recent = set(KEYS[:5])
    order = draw_order(SEED, KEYS, recent)
    assert set(order[-5:]) == recent
    assert order[:15] == draw_order(SEED, KEYS[5:])
    assert order[15:] == draw_order(SEED, KEYS[:5])


def test_duplicate_keys_count_once():
    assert draw_order(SEED, KEYS + KEYS) == draw_order(SEED, KEYS)


# --- opening and entering -------------------------------------------------------------------


def test_opening_a_draw_commits_to_a_secret_seed():
    perk = draw_perk(seats=3)
    draw, _close = opened(perk, decline_days=5, show_names=True)
    assert draw.status is DrawStatus.OPEN
    assert draw.seats == 3
    assert len(draw.seed) == 64
    assert draw.commitment == hashlib.sha256(draw.seed.encode()).hexdigest()
    assert draw.commitment == commitment_of(draw.seed)
    assert public_seed(draw) is None


def test_a_draw_opens_only_on_a_published_draw_perk_and_once_at_a_time():
    with pytest.raises(Conflict):
        opened(PerkFactory(total_stock=2))  # first come
    perk = draw_perk()
    opened(perk)
    with pytest.raises(Conflict, match="already open"):
        opened(perk)


def test_entries_must_close_in_the_future():
    with pytest.raises(ValidationFailed):
        open_draw(
            draw_perk().id,
            entries_close_at=utcnow() - timedelta(minutes=1),
            actor=UserFactory(roles={Role.HR}),
        )


def test_each_person_enters_once():
    perk = draw_perk()
    opened(perk)
    person = UserFactory()
    entry = enter_draw(perk.id, person)
    assert entry.outcome is EntryOutcome.PENDING
    assert len(entry.key) == 10
    with pytest.raises(Conflict, match="already entered"):
        enter_draw(perk.id, person)
    assert db.session.scalar(select(func.count()).select_from(DrawEntry)) == 1


def test_eligibility_applies_to_entries():
    perk = draw_perk(departments=[DepartmentFactory(name="Sales")])
    opened(perk)
    with pytest.raises(NotEligible, match=r"^Only for Sales\.$"):
        enter_draw(perk.id, UserFactory(department=None))


def test_no_entries_after_the_close():
    perk = draw_perk()
    _draw, close = opened(perk)
    with pytest.raises(Conflict, match="closed"):
        enter_draw(perk.id, UserFactory(), now=close)
    with pytest.raises(Conflict, match="closed"):
        enter_draw(perk.id, UserFactory(), now=close + timedelta(days=1))


def test_a_perk_without_an_open_draw_cannot_be_entered():
    with pytest.raises(NotFound):
        enter_draw(draw_perk().id, UserFactory())


# --- the draw -------------------------------------------------------------------------------


def test_the_draw_is_made_only_after_entries_close():
    perk = draw_perk()
    draw, close = opened(perk)
    enter_draw(perk.id, UserFactory())
    with pytest.raises(Conflict, match="still open"):
        run_draw(draw.id, actor=None, now=close - timedelta(seconds=1))
    assert public_seed(db.session.get(Draw, draw.id)) is None


def test_a_full_draw_gives_the_seats_to_the_first_entries_and_lists_the_rest_in_order():
    perk = draw_perk(seats=2)
    draw, close = opened(perk, decline_days=3)
    people = [UserFactory() for _ in range(5)]
    for person in people:
        enter_draw(perk.id, person)

    made = run_draw(draw.id, actor=None, now=close)
    assert made.status is DrawStatus.DRAWN
    assert public_seed(made) == made.seed
    keys = [entry.key for entry in draw_entries(draw.id)]
    assert made.result == draw_order(made.seed, keys)

    entries = {entry.key: entry for entry in draw_entries(draw.id)}
    winners = [entries[key] for key in made.result[:2]]
    waiting = [entries[key] for key in made.result[2:]]
    assert [(e.position, e.outcome) for e in winners] == [
        (1, EntryOutcome.WON),
        (2, EntryOutcome.WON),
    ]
    assert [(e.position, e.outcome) for e in waiting] == [
        (3, EntryOutcome.WAITING),
        (4, EntryOutcome.WAITING),
        (5, EntryOutcome.WAITING),
    ]
    for winner in winners:
        claim = db.session.get(Claim, winner.claim_id)
        assert (claim.user_id, claim.source, claim.status) == (
            winner.user_id,
            "draw",
            ClaimStatus.CLAIMED,
        )
        assert claim.code == claim.reference
        assert winner.decide_by is not None
    assert all(e.claim_id is None and e.decide_by is None for e in waiting)
    db.session.refresh(perk)
    assert perk.remaining_stock == 0
    assert verify_draw(draw.id).ok


def test_a_draw_is_made_once():
    perk = draw_perk()
    draw, close = opened(perk)
    enter_draw(perk.id, UserFactory())
    run_draw(draw.id, actor=None, now=close)
    with pytest.raises(Conflict, match="already been made"):
        run_draw(draw.id, actor=None, now=close)
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 1


def test_a_winner_who_can_no_longer_take_the_seat_is_passed_over():
    perk = draw_perk(seats=1)
    draw, close = opened(perk)
    people = [UserFactory() for _ in range(3)]
    for person in people:
        enter_draw(perk.id, person)
    # Whoever the draw puts first has left the company by the time it is made.
    order = draw_order(draw.seed, [e.key for e in draw_entries(draw.id)])
    first = next(e for e in draw_entries(draw.id) if e.key == order[0])
    first.user.active = False
    db.session.commit()

    run_draw(draw.id, actor=None, now=close)
    outcomes = [e.outcome for e in draw_entries(draw.id)]
    assert outcomes == [EntryOutcome.LAPSED, EntryOutcome.WON, EntryOutcome.WAITING]
    assert verify_draw(draw.id).ok


# --- verification ---------------------------------------------------------------------------


def made_draw(entrants: int = 4, seats: int = 2) -> Draw:
    perk = draw_perk(seats=seats)
    draw, close = opened(perk)
    for _ in range(entrants):
        enter_draw(perk.id, UserFactory())
    return run_draw(draw.id, actor=None, now=close)


def test_verify_draw_prints_the_seed_and_succeeds_on_an_untouched_draw(runner):
    draw = made_draw()
    result = runner.invoke(args=["perks", "verify-draw", str(draw.id)])
    assert result.exit_code == 0, result.output
    assert draw.seed in result.output
    assert draw.commitment in result.output
    assert "SHA-256(seed) equals the commitment: yes" in result.output
    assert "Recomputed order equals the published one: yes" in result.output


def test_a_tampered_result_fails_verification(runner):
    draw = made_draw()
    swapped = [draw.result[1], draw.result[0], *draw.result[2:]]
    db.session.execute(update(Draw).where(Draw.id == draw.id).values(result=swapped))
    db.session.commit()

    check = verify_draw(draw.id)
    assert check.commitment_matches
    assert not check.order_matches
    assert check.expected_order == [swapped[1], swapped[0], *swapped[2:]]
    result = runner.invoke(args=["perks", "verify-draw", str(draw.id)])
    assert result.exit_code == 1, result.output
    assert "Recomputed order equals the published one: NO" in result.output


def test_a_replaced_seed_fails_verification(runner):
    draw = made_draw()
    db.session.execute(update(Draw).where(Draw.id == draw.id).values(seed=OTHER_SEED))
    db.session.commit()

    assert not verify_draw(draw.id).commitment_matches
    result = runner.invoke(args=["perks", "verify-draw", str(draw.id)])
    assert result.exit_code == 1, result.output
    assert "SHA-256(seed) equals the commitment: NO" in result.output


def test_a_changed_entry_fails_verification():
    draw = made_draw()
    entry = draw_entries(draw.id)[0]
    entry.key = "FORGED0000"
    db.session.commit()
    assert not verify_draw(draw.id).order_matches


def test_verify_draw_of_an_unknown_draw_fails(runner):
    result = runner.invoke(args=["perks", "verify-draw", "424242"])
    assert result.exit_code == 1


# --- the seed stays secret until the draw ---------------------------------------------------


def test_the_seed_cannot_be_read_before_the_draw(runner):
    perk = draw_perk()
    draw, close = opened(perk)
    enter_draw(perk.id, UserFactory())
    assert public_seed(draw) is None
    assert draw.commitment == hashlib.sha256(draw.seed.encode()).hexdigest()

    with pytest.raises(Conflict, match="not been made"):
        verify_draw(draw.id)
    result = runner.invoke(args=["perks", "verify-draw", str(draw.id)])
    assert result.exit_code == 1
    assert draw.seed not in result.output

    made = run_draw(draw.id, actor=None, now=close)
    assert public_seed(made) == made.seed
    assert commitment_of(public_seed(made)) == made.commitment


def _draw_page_rule(app) -> str | None:  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/draws/<") and "GET" in (rule.methods or ()):
            return rule.rule
    return None


def test_the_draw_page_shows_the_commitment_but_not_the_seed_until_the_draw(app, client, login_as):
    rule = _draw_page_rule(app)
    if rule is None:
        pytest.skip("the employee draw page (/draws/<id>) is not built yet")
    login_as(Role.EMPLOYEE)
    perk = draw_perk()
    draw, close = opened(perk, show_names=True)
    url = f"/draws/{draw.id}"

    try:
        page = client.get(url)
    except TemplateNotFound as missing:
        pytest.skip(f"the employee draw page's template ({missing.name}) is not built yet")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert draw.commitment in html
    assert draw.seed not in html

    run_draw(draw.id, actor=None, now=close)
    html = client.get(url).get_data(as_text=True)
    assert draw.seed in html


# --- declining a seat -----------------------------------------------------------------------


def test_a_winner_declining_before_the_deadline_passes_the_seat_to_the_next_in_line():
    perk = draw_perk(seats=1)
    draw, close = opened(perk, decline_days=7)
    for _ in range(3):
        enter_draw(perk.id, UserFactory())
    run_draw(draw.id, actor=None, now=close)
    winner, second, third = draw_entries(draw.id)
    assert (winner.outcome, second.outcome) == (EntryOutcome.WON, EntryOutcome.WAITING)
    winners_claim = winner.claim_id

    decline_seat(winner.id, winner.user, now=close + timedelta(days=7))

    winner, second, third = draw_entries(draw.id)
    assert winner.outcome is EntryOutcome.DECLINED
    declined = db.session.get(Claim, winners_claim)
    assert (declined.status, declined.slot) == (ClaimStatus.CANCELLED, None)
    assert second.outcome is EntryOutcome.WON
    new_claim = db.session.get(Claim, second.claim_id)
    assert (new_claim.user_id, new_claim.source) == (second.user_id, "draw")
    assert third.outcome is EntryOutcome.WAITING
    db.session.refresh(perk)
    assert perk.remaining_stock == 0
    assert verify_draw(draw.id).ok


def test_declining_after_the_deadline_is_refused():
    perk = draw_perk(seats=1)
    draw, close = opened(perk, decline_days=2)
    for _ in range(2):
        enter_draw(perk.id, UserFactory())
    run_draw(draw.id, actor=None, now=close)
    winner = draw_entries(draw.id)[0]
    with pytest.raises(Conflict, match="deadline"):
        decline_seat(winner.id, winner.user, now=close + timedelta(days=2, seconds=1))
    assert draw_entries(draw.id)[0].outcome is EntryOutcome.WON
    assert db.session.get(Claim, winner.claim_id).status is ClaimStatus.CLAIMED


def test_only_ones_own_winning_entry_can_be_declined():
    perk = draw_perk(seats=1)
    draw, close = opened(perk)
    for _ in range(2):
        enter_draw(perk.id, UserFactory())
    run_draw(draw.id, actor=None, now=close)
    winner, waiting = draw_entries(draw.id)
    with pytest.raises(NotFound):
        decline_seat(winner.id, waiting.user, now=close)
    with pytest.raises(Conflict, match="Only a winning entry"):
        decline_seat(waiting.id, waiting.user, now=close)


def test_a_seat_already_used_cannot_be_declined():
    perk = draw_perk(seats=1)
    draw, close = opened(perk)
    for _ in range(2):
        enter_draw(perk.id, UserFactory())
    run_draw(draw.id, actor=None, now=close)
    winner, waiting = draw_entries(draw.id)
    mark_claim_used(winner.claim_id, winner.user)
    with pytest.raises(Conflict, match=r"^This claim is used\.$"):
        decline_seat(winner.id, winner.user, now=close)
    winner, waiting = draw_entries(draw.id)
    assert (winner.outcome, waiting.outcome) == (EntryOutcome.WON, EntryOutcome.WAITING)
    db.session.refresh(perk)
    assert perk.remaining_stock == 0


def test_a_declined_seat_with_nobody_waiting_goes_back_to_stock():
    perk = draw_perk(seats=1)
    draw, close = opened(perk)
    enter_draw(perk.id, UserFactory())
    run_draw(draw.id, actor=None, now=close)
    [winner] = draw_entries(draw.id)
    decline_seat(winner.id, winner.user, now=close)
    db.session.refresh(perk)
    assert perk.remaining_stock == 1


# --- fairness across rounds -----------------------------------------------------------------


def test_recent_winners_go_after_everyone_else_in_the_next_round():
    perk = draw_perk(seats=2, per_person_limit=None)
    people = [UserFactory() for _ in range(5)]
    first, close = opened(perk)
    for person in people:
        enter_draw(perk.id, person)
    run_draw(first.id, actor=None, now=close)
    first_winners = {e.user_id for e in draw_entries(first.id) if e.outcome is EntryOutcome.WON}
    assert len(first_winners) == 2

    # Two more seats for the next round.
    perk.total_stock, perk.remaining_stock = 4, 2
    db.session.commit()
    second, close = opened(perk, recent_winner_draws=1)
    for person in people:
        enter_draw(perk.id, person)
    made = run_draw(second.id, actor=None, now=close)

    entries = draw_entries(second.id)
    assert {e.user_id for e in entries if e.deprioritised} == first_winners
    assert {e.user_id for e in entries[-2:]} == first_winners
    second_winners = {e.user_id for e in entries if e.outcome is EntryOutcome.WON}
    assert len(second_winners) == 2
    assert not second_winners & first_winners
    keys = [e.key for e in entries]
    assert made.result == draw_order(made.seed, keys, [e.key for e in entries if e.deprioritised])
    assert verify_draw(second.id).ok


def test_without_the_fairness_setting_recent_winners_are_not_set_back():
    perk = draw_perk(seats=1, per_person_limit=None)
    people = [UserFactory() for _ in range(3)]
    first, close = opened(perk)
    for person in people:
        enter_draw(perk.id, person)
    run_draw(first.id, actor=None, now=close)
    perk.total_stock, perk.remaining_stock = 2, 1
    db.session.commit()
    second, close = opened(perk, recent_winner_draws=0)
    for person in people:
        enter_draw(perk.id, person)
    run_draw(second.id, actor=None, now=close)
    assert not any(e.deprioritised for e in draw_entries(second.id))


# --- the daily tick -------------------------------------------------------------------------


def test_the_daily_tick_makes_a_due_draw_once(runner):
    perk = draw_perk(seats=1)
    draw, _close = opened(perk)
    for _ in range(2):
        enter_draw(perk.id, UserFactory())
    not_due = DrawFactory()
    assert draws_due() == []
    db.session.execute(
        update(Draw)
        .where(Draw.id == draw.id)
        .values(entries_close_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()
    assert draws_due() == [draw.id]

    first = runner.invoke(args=["perks", "tick"])
    assert first.exit_code == 0, first.output
    assert "Draws made: 1" in first.output
    second = runner.invoke(args=["perks", "tick"])
    assert second.exit_code == 0, second.output
    assert "Draws made: 0" in second.output

    made = db.session.get(Draw, draw.id)
    assert made.status is DrawStatus.DRAWN
    assert db.session.get(Draw, not_due.id).status is DrawStatus.OPEN
    assert [e.outcome for e in draw_entries(draw.id)] == [EntryOutcome.WON, EntryOutcome.WAITING]
    assert verify_draw(draw.id).ok


def test_a_draw_cannot_open_without_seats(app):
    from datetime import timedelta

    from perks.catalog import draws
    from perks.catalog.models import Allocation, PerkKind
    from perks.db import utcnow
    from perks.errors import Conflict
    from tests.factories import PerkFactory, UserFactory

    perk = PerkFactory(allocation=Allocation.DRAW, kind=PerkKind.EXPERIENCE, total_stock=0)
    with pytest.raises(Conflict, match="No seats"):
        draws.open_draw(perk.id, entries_close_at=utcnow() + timedelta(days=1), actor=UserFactory())
