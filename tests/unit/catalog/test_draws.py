"""Fair draws: a committed seed, one entry each, a result anyone can recompute."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from flask_babel import force_locale
from jinja2 import TemplateNotFound
from sqlalchemy import func, select, update

from perks.catalog import draws as draws_module
from perks.catalog.claims import mark_claim_used
from perks.catalog.draws import (
    METHOD,
    close_entries,
    commitment_of,
    company_date,
    decline_seat,
    draw_entries,
    draw_order,
    draws_due,
    enter_draw,
    enter_public_value,
    entries_hash_of,
    entry_key,
    entry_score,
    final_order,
    new_entry_key,
    open_draw,
    public_seed,
    run_draw,
    verify_draw,
    waiting_for_public_value,
)
from perks.catalog.models import (
    Allocation,
    Claim,
    ClaimStatus,
    Draw,
    DrawEntry,
    DrawStatus,
    EntryOutcome,
    PassedOver,
    Perk,
    PerkKind,
)
from perks.catalog.tasks import run_due_draws
from perks.db import utcnow
from perks.errors import Conflict, NotEligible, NotFound, ValidationFailed
from perks.extensions import db
from perks.i18n import company_today
from perks.notifications.models import Notification
from perks.people.models import EmploymentType, Role
from tests.factories import DepartmentFactory, DrawFactory, PerkFactory, UserFactory
from tests.helpers import PUBLIC_VALUE, make_draw, text_of

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


def drawn_on(close: datetime) -> datetime:
    """When ``make_draw`` makes a draw whose entries closed at ``close``: the next day, once the
    public value of the day after the close is published."""
    return close + timedelta(days=1)


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

    made = make_draw(draw.id, close)
    assert made.status is DrawStatus.DRAWN
    assert public_seed(made) == made.seed
    keys = [entry.key for entry in draw_entries(draw.id)]
    assert made.result == final_order(made.seed, made.entries_hash, PUBLIC_VALUE, keys)

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
    make_draw(draw.id, close)
    with pytest.raises(Conflict, match="already been made"):
        run_draw(draw.id, actor=None, now=close + timedelta(days=1))
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 1


def test_a_winner_who_can_no_longer_take_the_seat_is_passed_over():
    perk = draw_perk(seats=1)
    draw, close = opened(perk)
    people = [UserFactory() for _ in range(3)]
    for person in people:
        enter_draw(perk.id, person)
    # Whoever the draw puts first has left the company by the time it is made.
    frozen = close_entries(draw.id, actor=None, now=close)
    keys = [e.key for e in draw_entries(draw.id)]
    order = final_order(draw.seed, frozen.entries_hash, PUBLIC_VALUE, keys)
    first = next(e for e in draw_entries(draw.id) if e.key == order[0])
    first.user.active = False
    db.session.commit()

    hr = UserFactory(roles={Role.HR})
    enter_public_value(draw.id, PUBLIC_VALUE, actor=hr, now=drawn_on(close))
    run_draw(draw.id, actor=None, now=drawn_on(close))
    entries = draw_entries(draw.id)
    assert [(e.outcome, e.passed_over) for e in entries] == [
        (EntryOutcome.LAPSED, PassedOver.LEFT),
        (EntryOutcome.WON, None),
        (EntryOutcome.WAITING, None),
    ]
    assert verify_draw(draw.id).ok


def test_a_winner_whose_leaving_date_has_come_is_passed_over_though_still_active():
    """The daily task deactivates leavers some time after midnight: a draw made on the
    leaving day before it runs gave the seat to someone no longer with the company."""
    perk = draw_perk(seats=1)
    draw, close = opened(perk)
    for _ in range(3):
        enter_draw(perk.id, UserFactory())
    frozen = close_entries(draw.id, actor=None, now=close)
    keys = [e.key for e in draw_entries(draw.id)]
    order = final_order(draw.seed, frozen.entries_hash, PUBLIC_VALUE, keys)
    first = next(e for e in draw_entries(draw.id) if e.key == order[0])
    first.user.leaving_date = company_date(drawn_on(close))
    db.session.commit()

    hr = UserFactory(roles={Role.HR})
    enter_public_value(draw.id, PUBLIC_VALUE, actor=hr, now=drawn_on(close))
    run_draw(draw.id, actor=None, now=drawn_on(close))
    assert [(e.outcome, e.passed_over) for e in draw_entries(draw.id)] == [
        (EntryOutcome.LAPSED, PassedOver.LEFT),
        (EntryOutcome.WON, None),
        (EntryOutcome.WAITING, None),
    ]
    assert verify_draw(draw.id).ok


def test_who_may_win_is_settled_at_entry_not_by_changes_to_the_person_before_the_draw():
    """HR moving the person the draw puts first to another department (or place, or
    contract) between the close and the draw passed them over: only leaving the company
    (or the limit, or no stock) does."""
    sales, support = DepartmentFactory(name="Sales"), DepartmentFactory(name="Support")
    perk = draw_perk(seats=1, departments=[sales])
    draw, close = opened(perk)
    for _ in range(3):
        enter_draw(perk.id, UserFactory(department=sales))
    frozen = close_entries(draw.id, actor=None, now=close)
    keys = [e.key for e in draw_entries(draw.id)]
    first_key = final_order(draw.seed, frozen.entries_hash, PUBLIC_VALUE, keys)[0]
    first = next(e for e in draw_entries(draw.id) if e.key == first_key)
    first.user.department = support
    first.user.location = "Huế"
    db.session.commit()

    make_draw_from_frozen(frozen, close)
    placed_first = draw_entries(draw.id)[0]
    assert (placed_first.user_id, placed_first.outcome) == (first.user_id, EntryOutcome.WON)


@pytest.mark.parametrize(
    "change",
    [
        {"starts_on": "in a year"},
        {"departments": "another"},
        {"locations": ("Huế",)},
        {"employment_types": frozenset({EmploymentType.CONTRACTOR})},
        {"min_tenure_days": 365},
        {"per_person_limit": 2},
        # a gift is given, never entered: entries would be refused, the seats given away (a
        # gift is never allocated by draw: it would be first come)
        {"kind": PerkKind.GIFT, "allocation": Allocation.FIRST_COME},
    ],
)
def test_who_may_have_a_perk_and_from_when_stay_as_they_are_while_its_draw_is_under_way(
    change,
):
    from perks.catalog.services import perk_data_of, update_perk

    perk = draw_perk(seats=2)
    draw, close = opened(perk)
    enter_draw(perk.id, UserFactory())
    hr = UserFactory(roles={Role.HR})
    before = perk_data_of(perk)
    if change.get("starts_on"):
        change = {"starts_on": company_date(close) + timedelta(days=365)}
    if change.get("departments"):
        change = {"department_ids": frozenset({DepartmentFactory(name="Another").id})}
    with pytest.raises(Conflict, match="who may have it, from when"):
        update_perk(perk.id, replace(before, **change), actor=hr)
    db.session.expire_all()
    assert perk_data_of(db.session.get(Perk, perk.id)) == before
    # a change of its description is fine
    update_perk(perk.id, replace(before, description_en="Three days by the sea."), actor=hr)
    # and once drawn, anything is
    make_draw(draw.id, close)
    update_perk(perk.id, replace(before, **change), actor=hr)


def test_a_public_value_with_characters_that_look_like_others_is_refused():
    """An invisible character, or a digit of another script, shows as the published value
    while the draw hashes another: tried by the thousand, one puts a chosen entry first."""
    draw, close = frozen_draw()
    hr = UserFactory(roles={Role.HR})
    for lookalike in ("582\u200b14", "\ufeff58214", "58214\u2060", "58\u0662\u0661\u0664"):
        with pytest.raises(ValidationFailed, match="Latin letters, digits and signs only"):
            enter_public_value(draw.id, lookalike, actor=hr, now=drawn_on(close))
    assert db.session.get(Draw, draw.id).public_value is None
    # full-width digits, as some phone keyboards type them, are the digits they show
    enter_public_value(draw.id, "５８２１４", actor=hr, now=drawn_on(close))
    assert db.session.get(Draw, draw.id).public_value == "58214"


def test_someone_who_declined_their_seat_is_not_set_back_as_a_recent_winner():
    perk = draw_perk(seats=1, per_person_limit=None)
    draw, close = opened(perk)
    people = [UserFactory() for _ in range(3)]
    for person in people:
        enter_draw(perk.id, person)
    made = make_draw(draw.id, close)
    winner = next(e for e in draw_entries(made.id) if e.outcome is EntryOutcome.WON)
    decline_seat(winner.id, winner.user, now=drawn_on(close))
    took_it = next(e for e in draw_entries(made.id) if e.outcome is EntryOutcome.WON)

    db.session.get(Perk, perk.id).remaining_stock = 1  # one more seat, for the next draw
    db.session.commit()
    again, close_again = opened(perk, recent_winner_draws=1)
    for person in people:
        enter_draw(perk.id, person)
    close_entries(again.id, actor=None, now=close_again)
    set_back = {e.user_id for e in draw_entries(again.id) if e.deprioritised}
    assert set_back == {took_it.user_id}


def test_an_older_draws_entry_with_the_same_key_stops_no_entry_of_a_new_one():
    old = made_draw(entrants=1, seats=1)
    perk = draw_perk(seats=1)
    new, _close = opened(perk)
    old_entry = draw_entries(old.id)[0]
    db.session.execute(
        update(DrawEntry)
        .where(DrawEntry.id == old_entry.id)
        .values(key=entry_key(new.commitment, 1))
    )
    db.session.commit()
    entered = enter_draw(perk.id, UserFactory())
    assert entered.key == entry_key(new.commitment, 1)


# --- verification ---------------------------------------------------------------------------


def made_draw(entrants: int = 4, seats: int = 2) -> Draw:
    perk = draw_perk(seats=seats)
    draw, close = opened(perk)
    for _ in range(entrants):
        enter_draw(perk.id, UserFactory())
    return make_draw(draw.id, close)


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

    made = make_draw(draw.id, close)
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

    make_draw(draw.id, close)
    html = client.get(url).get_data(as_text=True)
    assert draw.seed in html


def test_the_page_of_a_draw_nobody_entered_says_so_once_entries_have_closed(client, login_as):
    login_as(Role.EMPLOYEE)
    draw, close = opened(draw_perk())
    url = f"/draws/{draw.id}"
    assert "No entries yet." in text_of(client.get(url))
    make_draw(draw.id, close)
    page = text_of(client.get(url))
    assert "Nobody entered this draw." in page
    assert "No entries yet." not in page


# --- declining a seat -----------------------------------------------------------------------


def test_a_winner_declining_before_the_deadline_passes_the_seat_to_the_next_in_line():
    perk = draw_perk(seats=1)
    draw, close = opened(perk, decline_days=7)
    for _ in range(3):
        enter_draw(perk.id, UserFactory())
    make_draw(draw.id, close)
    winner, second, third = draw_entries(draw.id)
    assert (winner.outcome, second.outcome) == (EntryOutcome.WON, EntryOutcome.WAITING)
    winners_claim = winner.claim_id

    decline_seat(winner.id, winner.user, now=drawn_on(close) + timedelta(days=7))

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
    make_draw(draw.id, close)
    winner = draw_entries(draw.id)[0]
    with pytest.raises(Conflict, match="deadline"):
        decline_seat(winner.id, winner.user, now=drawn_on(close) + timedelta(days=2, seconds=1))
    assert draw_entries(draw.id)[0].outcome is EntryOutcome.WON
    assert db.session.get(Claim, winner.claim_id).status is ClaimStatus.CLAIMED


def test_only_ones_own_winning_entry_can_be_declined():
    perk = draw_perk(seats=1)
    draw, close = opened(perk)
    for _ in range(2):
        enter_draw(perk.id, UserFactory())
    make_draw(draw.id, close)
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
    make_draw(draw.id, close)
    winner, waiting = draw_entries(draw.id)
    mark_claim_used(winner.claim_id, winner.user)
    with pytest.raises(Conflict, match=r"^This claim is used\.$"):
        decline_seat(winner.id, winner.user, now=close)
    winner, waiting = draw_entries(draw.id)
    assert (winner.outcome, waiting.outcome) == (EntryOutcome.WON, EntryOutcome.WAITING)
    db.session.refresh(perk)
    assert perk.remaining_stock == 0


def test_a_seat_past_its_last_day_cannot_be_declined_before_the_expiry_run():
    """Between the company's midnight and the run that marks it expired, a seat whose perk
    ended yesterday is over: declining it would hand the next in line a seat already ended,
    with "You won"."""
    perk = draw_perk(seats=1)
    draw, close = opened(perk, decline_days=30)
    for _ in range(2):
        enter_draw(perk.id, UserFactory())
    make_draw(draw.id, close)
    winner, waiting = draw_entries(draw.id)
    yesterday = company_today() - timedelta(days=1)
    db.session.execute(update(Perk).where(Perk.id == perk.id).values(ends_on=yesterday))
    db.session.execute(
        update(Claim).where(Claim.id == winner.claim_id).values(expires_on=yesterday)
    )
    db.session.commit()

    with pytest.raises(Conflict, match=r"^This claim ended on "):
        decline_seat(winner.id, winner.user, now=drawn_on(close))

    winner, waiting = draw_entries(draw.id)
    assert (winner.outcome, waiting.outcome) == (EntryOutcome.WON, EntryOutcome.WAITING)
    assert db.session.get(Claim, winner.claim_id).status is ClaimStatus.CLAIMED
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 1
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.kind == "draw_won", Notification.user_id == waiting.user_id)
        )
        == 0
    )


def test_a_declined_seat_with_nobody_waiting_goes_back_to_stock():
    perk = draw_perk(seats=1)
    draw, close = opened(perk)
    enter_draw(perk.id, UserFactory())
    make_draw(draw.id, close)
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
    make_draw(first.id, close)
    first_winners = {e.user_id for e in draw_entries(first.id) if e.outcome is EntryOutcome.WON}
    assert len(first_winners) == 2

    # Two more seats for the next round.
    perk.total_stock, perk.remaining_stock = 4, 2
    db.session.commit()
    second, close = opened(perk, recent_winner_draws=1)
    for person in people:
        enter_draw(perk.id, person)
    made = make_draw(second.id, close)

    entries = draw_entries(second.id)
    assert {e.user_id for e in entries if e.deprioritised} == first_winners
    assert {e.user_id for e in entries[-2:]} == first_winners
    second_winners = {e.user_id for e in entries if e.outcome is EntryOutcome.WON}
    assert len(second_winners) == 2
    assert not second_winners & first_winners
    keys = [e.key for e in entries]
    later = [e.key for e in entries if e.deprioritised]
    assert made.entries_hash == entries_hash_of(keys, later)
    assert made.result == final_order(made.seed, made.entries_hash, PUBLIC_VALUE, keys, later)
    assert verify_draw(second.id).ok


def test_without_the_fairness_setting_recent_winners_are_not_set_back():
    perk = draw_perk(seats=1, per_person_limit=None)
    people = [UserFactory() for _ in range(3)]
    first, close = opened(perk)
    for person in people:
        enter_draw(perk.id, person)
    make_draw(first.id, close)
    perk.total_stock, perk.remaining_stock = 2, 1
    db.session.commit()
    second, close = opened(perk, recent_winner_draws=0)
    for person in people:
        enter_draw(perk.id, person)
    make_draw(second.id, close)
    assert not any(e.deprioritised for e in draw_entries(second.id))


# --- the daily tick -------------------------------------------------------------------------


def test_the_daily_tick_freezes_a_closed_draw_waits_for_its_value_then_makes_it_once(runner):
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
    assert "Draw entries frozen: 1" in first.output
    assert "Draws made: 0" in first.output
    frozen = db.session.get(Draw, draw.id, populate_existing=True)
    assert frozen.status is DrawStatus.CLOSED
    assert frozen.waits_for_public_value
    assert waiting_for_public_value() == [frozen]
    # The scheduled job waits too, however often it runs.
    assert run_due_draws() == 0
    waiting = runner.invoke(args=["perks", "tick"])
    assert "Draw entries frozen: 0" in waiting.output
    assert "Draws made: 0" in waiting.output

    # Its day comes (the day after the close it was opened with, an hour from then).
    published = utcnow() + timedelta(days=2)
    enter_public_value(draw.id, PUBLIC_VALUE, actor=UserFactory(roles={Role.HR}), now=published)
    assert waiting_for_public_value() == []
    made_run = runner.invoke(args=["perks", "tick"])
    assert made_run.exit_code == 0, made_run.output
    assert "Draws made: 1" in made_run.output
    again = runner.invoke(args=["perks", "tick"])
    assert "Draws made: 0" in again.output

    made = db.session.get(Draw, draw.id, populate_existing=True)
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


# --- draws nobody can rig (method 2) --------------------------------------------------------


def frozen_draw(entrants: int = 5, seats: int = 2) -> tuple[Draw, datetime]:
    """A draw whose entries have closed and been frozen; the public value is not in yet."""
    perk = draw_perk(seats=seats)
    draw, close = opened(perk)
    for _ in range(entrants):
        enter_draw(perk.id, UserFactory())
    return close_entries(draw.id, actor=None, now=close), close


def test_entry_keys_are_made_from_the_commitment_and_the_entry_number():
    perk = draw_perk()
    draw, _close = opened(perk)
    entries = [enter_draw(perk.id, UserFactory()) for _ in range(4)]
    assert [e.number for e in entries] == [1, 2, 3, 4]
    assert [e.key for e in entries] == [entry_key(draw.commitment, n) for n in (1, 2, 3, 4)]
    expected = hashlib.sha256(f"{draw.commitment}:3".encode()).hexdigest()[:10].upper()
    assert entries[2].key == expected


def test_opening_names_the_public_value_of_a_day_after_the_close():
    perk = draw_perk()
    draw, close = opened(perk, public_value_source="Giải đặc biệt XSMB, xosomienbac.vn")
    assert draw.method == 2
    assert draw.public_value_source == "Giải đặc biệt XSMB, xosomienbac.vn"
    assert draw.public_value_date == company_date(close) + timedelta(days=1)
    assert draw.public_value is None
    assert draw.entries_hash is None


@pytest.mark.parametrize("days_after_close", [0, -1])
def test_a_public_value_known_by_the_close_is_refused(days_after_close):
    close = utcnow() + timedelta(days=3)
    with pytest.raises(ValidationFailed, match="a day after the day entries close"):
        open_draw(
            draw_perk().id,
            entries_close_at=close,
            public_value_date=company_date(close) + timedelta(days=days_after_close),
            actor=UserFactory(roles={Role.HR}),
        )


def test_closing_freezes_the_sorted_entries_and_publishes_their_hash():
    draw, close = frozen_draw(entrants=3)
    keys = sorted(e.key for e in draw_entries(draw.id))
    text = "".join(f"{key} 0\n" for key in keys)
    assert draw.status is DrawStatus.CLOSED
    assert draw.entries_hash == hashlib.sha256(text.encode()).hexdigest()
    assert draw.entries_frozen_at.replace(tzinfo=None) == close.replace(tzinfo=None)
    with pytest.raises(Conflict, match="already frozen"):
        close_entries(draw.id, actor=None, now=close)


def test_entries_frozen_late_use_the_public_value_of_the_day_after_the_freeze():
    perk = draw_perk()
    draw, close = opened(perk)
    stated = draw.public_value_date
    late = close + timedelta(days=3)  # the scheduled run was down
    frozen = close_entries(draw.id, actor=None, now=late)
    assert frozen.public_value_date == company_date(late) + timedelta(days=1)
    assert frozen.public_value_date > stated
    made = make_draw_from_frozen(frozen, late)
    assert verify_draw(made.id).value_after_close


def test_entries_cannot_be_frozen_before_they_close():
    perk = draw_perk()
    draw, close = opened(perk)
    with pytest.raises(Conflict, match="still open"):
        close_entries(draw.id, actor=None, now=close - timedelta(seconds=1))


def test_after_the_close_nobody_can_enter_and_the_draw_waits_for_the_public_value():
    draw, close = frozen_draw()
    with pytest.raises(Conflict, match="closed"):
        enter_draw(draw.perk_id, UserFactory(), now=close + timedelta(days=1))
    with pytest.raises(Conflict, match="waits for the public value"):
        run_draw(draw.id, actor=None, now=drawn_on(close))
    hr = UserFactory(roles={Role.HR})
    # Not before the value's day: nobody may pretend to know it.
    with pytest.raises(ValidationFailed, match="not published yet"):
        enter_public_value(draw.id, PUBLIC_VALUE, actor=hr, now=close)
    with pytest.raises(ValidationFailed):
        enter_public_value(draw.id, "   ", actor=hr, now=drawn_on(close))
    assert db.session.get(Draw, draw.id).public_value is None
    enter_public_value(draw.id, " 58 214 ", actor=hr, now=drawn_on(close))
    assert db.session.get(Draw, draw.id).public_value == PUBLIC_VALUE
    assert run_draw(draw.id, actor=None, now=drawn_on(close)).status is DrawStatus.DRAWN
    with pytest.raises(Conflict, match="already been made"):
        enter_public_value(draw.id, "11111", actor=hr, now=drawn_on(close))


def test_the_public_value_cannot_be_entered_before_the_entries_are_frozen():
    perk = draw_perk()
    draw, close = opened(perk)
    with pytest.raises(Conflict, match="frozen"):
        enter_public_value(
            draw.id, PUBLIC_VALUE, actor=UserFactory(roles={Role.HR}), now=drawn_on(close)
        )


def test_the_result_is_a_function_of_public_data_fixed_before_the_value_was_known():
    draw, close = frozen_draw(entrants=6, seats=2)
    public_at_close = {
        "commitment": draw.commitment,
        "entries_hash": draw.entries_hash,
        "keys": sorted(e.key for e in draw_entries(draw.id)),
    }
    made = make_draw_from_frozen(draw, close)
    # Recomputed from what the page publishes, nothing else: the same order.
    assert made.result == final_order(
        made.seed, public_at_close["entries_hash"], PUBLIC_VALUE, public_at_close["keys"]
    )
    assert commitment_of(made.seed) == public_at_close["commitment"]
    assert sorted(e.key for e in draw_entries(draw.id)) == public_at_close["keys"]
    assert verify_draw(draw.id).ok


def make_draw_from_frozen(draw: Draw, close: datetime, value: str = PUBLIC_VALUE) -> Draw:
    hr = UserFactory(roles={Role.HR})
    enter_public_value(draw.id, value, actor=hr, now=drawn_on(close))
    return run_draw(draw.id, actor=None, now=drawn_on(close))


def test_an_operator_who_knows_the_seed_cannot_tell_at_the_close_who_will_win():
    # At the close the operator knows the seed, the keys and the entries hash, but not the
    # public value: depending on it, any entry may come first.
    keys = [entry_key(commitment_of(SEED), n) for n in range(1, 6)]
    entries_hash = entries_hash_of(keys)
    firsts = {final_order(SEED, entries_hash, f"{v:05d}", keys)[0] for v in range(0, 100_000, 997)}
    assert firsts == set(keys)
    # And choosing an entry's key to win is no longer possible: its key is fixed by its number.
    assert entry_key(commitment_of(SEED), 6) == entry_key(commitment_of(SEED), 6)
    assert final_order(SEED, entries_hash, PUBLIC_VALUE, keys) != final_order(
        SEED, entries_hash, "58215", keys
    )


def test_an_entry_added_after_the_close_stops_the_draw_and_fails_verification(runner):
    draw, close = frozen_draw(entrants=4)
    # The operator slips in an entry by hand, with the next key the method would give.
    sneaked = DrawEntry(
        draw_id=draw.id,
        user_id=UserFactory().id,
        number=5,
        key=entry_key(draw.commitment, 5),
        entered_at=close,
    )
    db.session.add(sneaked)
    db.session.commit()
    hr = UserFactory(roles={Role.HR})
    enter_public_value(draw.id, PUBLIC_VALUE, actor=hr, now=drawn_on(close))
    with pytest.raises(Conflict, match="changed after they were frozen"):
        run_draw(draw.id, actor=None, now=drawn_on(close))
    assert db.session.get(Draw, draw.id).status is DrawStatus.CLOSED


def test_an_entry_removed_after_the_close_stops_the_draw():
    draw, close = frozen_draw(entrants=4)
    db.session.delete(draw_entries(draw.id)[0])
    db.session.commit()
    with pytest.raises(Conflict, match="changed after they were frozen"):
        make_draw_from_frozen(draw, close)


def test_an_entry_whose_key_was_chosen_stops_the_draw():
    draw, close = frozen_draw(entrants=4)
    entry = draw_entries(draw.id)[0]
    entry.key = "CHOSEN0001"
    db.session.commit()
    with pytest.raises(Conflict, match="changed after they were frozen"):
        make_draw_from_frozen(draw, close)


def tampered(change) -> tuple[Draw, object]:  # type: ignore[no-untyped-def]
    """A made method 2 draw after ``change(draw)`` was written to the database."""
    draw, close = frozen_draw(entrants=5, seats=2)
    made = make_draw_from_frozen(draw, close)
    assert verify_draw(made.id).ok
    change(made)
    db.session.commit()
    return made, verify_draw(made.id)


def test_verify_draw_explains_a_method_2_draw_and_succeeds(runner):
    draw, close = frozen_draw()
    made = make_draw_from_frozen(draw, close)
    result = runner.invoke(args=["perks", "verify-draw", str(made.id)])
    assert result.exit_code == 0, result.output
    for line in (
        "method 2",
        f"Entries hash {made.entries_hash}",
        f"Public value {PUBLIC_VALUE} (",
        "SHA-256(seed) equals the commitment: yes",
        "Entry keys are those of entries 1 to n of the commitment: yes",
        "SHA-256 of the entries equals the published entries hash: yes",
        "The public value is of a day after entries closed: yes",
        "Recomputed order equals the published one: yes",
        "Places and winners follow the order: yes",
    ):
        assert line in result.output


def test_verify_draw_detects_a_changed_entry(runner):
    def change(draw: Draw) -> None:
        entry = draw_entries(draw.id)[-1]
        db.session.execute(
            update(Draw).where(Draw.id == draw.id).values(result=[*draw.result[:-1], "CHOSEN0001"])
        )
        entry.key = "CHOSEN0001"

    made, check = tampered(change)
    assert (check.keys_match, check.entries_hash_matches) == (False, False)
    result = runner.invoke(args=["perks", "verify-draw", str(made.id)])
    assert result.exit_code == 1
    assert "SHA-256 of the entries equals the published entries hash: NO" in result.output


def test_verify_draw_detects_a_changed_winner(runner):
    def change(draw: Draw) -> None:
        winner, _second, third = draw_entries(draw.id)[:3]
        winner.outcome, third.outcome = EntryOutcome.WAITING, EntryOutcome.WON

    made, check = tampered(change)
    assert check.order_matches
    assert not check.outcomes_match
    assert not check.ok
    result = runner.invoke(args=["perks", "verify-draw", str(made.id)])
    assert result.exit_code == 1
    assert "Places and winners follow the order: NO" in result.output


def test_verify_draw_detects_a_swapped_place_or_public_value():
    def swap_places(draw: Draw) -> None:
        first, last = draw_entries(draw.id)[0], draw_entries(draw.id)[-1]
        first.position, last.position = last.position, first.position

    assert not tampered(swap_places)[1].outcomes_match

    def change_value(draw: Draw) -> None:
        # The seed is random, so any one other value gives the same order of five entries one
        # time in 120: take the first value whose order differs, as a forger would hope not to.
        keys = draw.result
        assert draw.entries_hash is not None
        draw.public_value = next(
            value
            for value in (f"{n:05d}" for n in range(58215, 58315))
            if final_order(draw.seed, draw.entries_hash, value, keys) != keys
        )

    assert not tampered(change_value)[1].order_matches

    def change_date(draw: Draw) -> None:
        draw.public_value_date = company_date(draw.entries_close_at)

    assert tampered(change_date)[1].value_after_close is False


def test_hr_sees_the_draws_waiting_for_a_public_value():
    waiting, _close = frozen_draw()
    other, close = frozen_draw()
    make_draw_from_frozen(other, close)
    opened(draw_perk())
    assert waiting_for_public_value() == [waiting]


# --- old draws (method 1) keep verifying ----------------------------------------------------


def old_draw(entrants: int = 4, seats: int = 2, *, make: bool = True) -> Draw:
    """A draw made the old way, as before method 2: random keys, no frozen list, no public
    value, made as soon as entries closed (``make=False``: left open, entries closed)."""
    close = utcnow() - timedelta(minutes=1)
    draw = DrawFactory(
        method=1,
        perk=draw_perk(seats=seats),
        entries_close_at=close,
        public_value_source=None,
        public_value_date=None,
    )
    for _ in range(entrants):
        db.session.add(
            DrawEntry(
                draw_id=draw.id,
                user_id=UserFactory().id,
                key=new_entry_key(),
                entered_at=close - timedelta(hours=1),
            )
        )
    db.session.commit()
    return run_draw(draw.id, actor=None, now=close) if make else draw


def test_an_old_draw_still_open_at_the_upgrade_is_made_by_the_tick_without_a_value(runner):
    draw = old_draw(make=False)
    result = runner.invoke(args=["perks", "tick"])
    assert "Draw entries frozen: 0" in result.output
    assert "Draws made: 1" in result.output
    made = db.session.get(Draw, draw.id, populate_existing=True)
    assert (made.status, made.method, made.entries_hash) == (DrawStatus.DRAWN, 1, None)
    assert verify_draw(made.id).ok


def test_an_old_draw_is_made_and_verified_by_the_old_method(runner):
    made = old_draw()
    keys = [e.key for e in draw_entries(made.id)]
    assert made.result == draw_order(made.seed, keys)
    assert made.entries_hash is None
    assert made.public_value is None
    check = verify_draw(made.id)
    assert check.ok
    assert (check.keys_match, check.entries_hash_matches, check.value_after_close) == (
        None,
        None,
        None,
    )
    result = runner.invoke(args=["perks", "verify-draw", str(made.id)])
    assert result.exit_code == 0, result.output
    assert "method 1" in result.output
    assert str(METHOD) in result.output
    assert "Entries hash" not in result.output


def test_an_old_draw_made_before_the_upgrade_still_verifies_and_tampering_still_shows():
    made = old_draw(entrants=5)
    assert made.method == 1
    assert verify_draw(made.id).ok
    entry = draw_entries(made.id)[0]
    entry.key = "FORGED0000"
    db.session.commit()
    assert not verify_draw(made.id).ok


def test_the_old_draw_page_explains_the_old_method(client, login_as):
    login_as(Role.EMPLOYEE)
    made = old_draw()
    html = client.get(f"/draws/{made.id}").get_data(as_text=True)
    assert "Each entry gets a random public key" in html
    assert "This draw was made by the first method" in html
    assert '"method": 1' in html


def test_the_draw_page_publishes_everything_to_recompute_a_method_2_draw(client, login_as):
    login_as(Role.EMPLOYEE)
    draw, close = frozen_draw()
    html = client.get(f"/draws/{draw.id}").get_data(as_text=True)
    assert draw.entries_hash in html
    assert "Not entered yet: the draw waits for it." in html
    assert draw.seed not in html
    made = make_draw_from_frozen(draw, close)
    html = client.get(f"/draws/{made.id}").get_data(as_text=True)
    for published in (made.seed, made.entries_hash, PUBLIC_VALUE, made.public_value_source):
        assert published in html
    assert "Why nobody can steer it" in html


@pytest.mark.parametrize("frozen", [False, True])
def test_a_draw_under_way_keeps_its_perks_allocation_and_stock(frozen):
    from perks.catalog.services import PerkData, update_perk

    hr = UserFactory(roles={Role.HR})
    draw, _close = frozen_draw() if frozen else opened(draw_perk(seats=2))
    perk = draw.perk
    same = {
        "title_vi": perk.title_vi,
        "title_en": perk.title_en,
        "kind": perk.kind,
        "code_mode": perk.code_mode,
    }
    for change in (
        {"allocation": Allocation.FIRST_COME, "total_stock": 2},
        {"allocation": Allocation.DRAW, "total_stock": 5},
    ):
        with pytest.raises(Conflict, match="draw of this perk is under way"):
            update_perk(perk.id, PerkData(**same, **change), actor=hr)  # type: ignore[arg-type]
    db.session.refresh(perk)
    assert (perk.allocation, perk.total_stock) == (Allocation.DRAW, 2)
    # the rest of the perk may still change
    update_perk(
        perk.id,
        PerkData(
            **{**same, "title_en": "A night by the sea"}, allocation=Allocation.DRAW, total_stock=2
        ),  # type: ignore[arg-type]
        actor=hr,
    )
    assert db.session.get(Perk, perk.id).title_en == "A night by the sea"


def test_a_draw_that_would_be_made_after_the_perk_ends_is_refused():
    close = utcnow() + timedelta(hours=1)
    perk = draw_perk(ends_on=company_date(close))  # "the last day to enter", HR thought
    hr = UserFactory(roles={Role.HR})
    with pytest.raises(ValidationFailed, match="before the draw can be made"):
        open_draw(perk.id, entries_close_at=close, actor=hr)
    assert db.session.scalar(select(func.count()).select_from(Draw)) == 0

    perk.ends_on = company_date(close) + timedelta(days=1)  # the public value's day
    db.session.commit()
    draw = open_draw(perk.id, entries_close_at=close, actor=hr)
    enter_draw(perk.id, UserFactory())
    make_draw(draw.id, close)
    assert [e.outcome for e in draw_entries(draw.id)] == [EntryOutcome.WON]


def test_a_draw_under_way_keeps_its_perk_open_until_it_can_be_made():
    from perks.catalog.services import PerkData, update_perk

    hr = UserFactory(roles={Role.HR})
    draw, close = opened(draw_perk(seats=2))
    perk = draw.perk
    same = {
        "title_vi": perk.title_vi,
        "title_en": perk.title_en,
        "kind": perk.kind,
        "code_mode": perk.code_mode,
        "allocation": Allocation.DRAW,
        "total_stock": 2,
    }
    with pytest.raises(Conflict, match="its last day cannot come before that"):
        update_perk(perk.id, PerkData(**same, ends_on=company_date(close)), actor=hr)  # type: ignore[arg-type]
    update_perk(perk.id, PerkData(**same, ends_on=draw.public_value_date), actor=hr)  # type: ignore[arg-type]
    assert db.session.get(Perk, perk.id).ends_on == draw.public_value_date


def test_a_perk_with_a_draw_under_way_cannot_be_archived():
    from perks.catalog.services import archive_perk

    hr = UserFactory(roles={Role.HR})
    draw, close = opened(draw_perk(seats=1))
    enter_draw(draw.perk_id, UserFactory())
    with pytest.raises(Conflict, match="archive the perk once the draw is made"):
        archive_perk(draw.perk_id, actor=hr)

    make_draw(draw.id, close)  # still published: the entrant gets the seat
    assert [e.outcome for e in draw_entries(draw.id)] == [EntryOutcome.WON]
    archive_perk(draw.perk_id, actor=hr)


def test_someone_over_the_limit_cannot_enter_the_next_draw():
    from perks.errors import LimitReached

    perk = draw_perk(seats=1, per_person_limit=1)
    draw, close = opened(perk)
    winner = UserFactory()
    enter_draw(perk.id, winner)
    make_draw(draw.id, close)
    perk.remaining_stock = 1
    db.session.commit()

    opened(perk)
    with pytest.raises(LimitReached):
        enter_draw(perk.id, winner)
    enter_draw(perk.id, UserFactory())


def test_a_public_value_cannot_be_typed_in_before_the_time_its_source_publishes_it():
    """In the morning, XSMB's page still shows yesterday's prize, known when entries closed:
    typed in then, the draw would be made at once with it."""
    from datetime import time

    from perks.i18n import company_zone

    perk = draw_perk()
    close = utcnow() + timedelta(hours=1)
    hr = UserFactory(roles={Role.HR})
    draw = open_draw(
        perk.id,
        entries_close_at=close,
        public_value_time=draws_module.DEFAULT_PUBLIC_VALUE_TIME,
        actor=hr,
    )
    assert draw.public_value_time == time(18, 40)
    close_entries(draw.id, actor=None, now=close)
    day = draw.public_value_date
    published = datetime.combine(day, time(18, 40), tzinfo=company_zone())
    assert draw.public_value_published_at == published
    for early in (
        datetime.combine(day, time(0, 5), tzinfo=company_zone()),
        published - timedelta(minutes=1),
    ):
        with pytest.raises(ValidationFailed, match="cannot be typed in before"):
            enter_public_value(draw.id, PUBLIC_VALUE, actor=hr, now=early)
    assert db.session.get(Draw, draw.id).public_value is None
    enter_public_value(draw.id, PUBLIC_VALUE, actor=hr, now=published)
    assert db.session.get(Draw, draw.id).public_value == PUBLIC_VALUE


def test_entrants_get_the_commitment_and_the_entries_hash_by_e_mail_as_they_are_fixed():
    """Without a copy outside the server, whoever runs it could, once the public value is
    known, rewrite the seed, the commitment, the keys and the entries hash consistently."""
    from perks.mail import OutboxMessage
    from perks.notifications.models import Notification

    perk = draw_perk(seats=1, title_en="Resort weekend")
    draw, close = opened(perk)
    person = UserFactory()
    entry = enter_draw(perk.id, person)
    receipt = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == person.email)
    ).one()
    assert draw.commitment in receipt.body_text
    assert entry.key in receipt.body_text

    frozen = close_entries(draw.id, actor=None, now=close)
    kinds = db.session.scalars(
        select(Notification.kind).where(Notification.user_id == person.id).order_by(Notification.id)
    ).all()
    assert kinds == ["draw_entered", "draw_entries_frozen"]
    mails = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.recipient == person.email)
        .order_by(OutboxMessage.id)
    ).all()
    assert frozen.entries_hash in mails[-1].body_text


def test_an_entrant_who_has_left_is_not_told_the_entries_are_frozen():
    """Someone deactivated since they entered cannot sign in: the notification and its
    e-mail would lead them to a page they cannot open (their entry is passed over)."""
    from perks.mail import OutboxMessage
    from perks.notifications.models import Notification

    perk = draw_perk(seats=1)
    draw, close = opened(perk)
    stays, leaves = UserFactory(), UserFactory()
    enter_draw(perk.id, stays)
    enter_draw(perk.id, leaves)
    leaves.active = False
    db.session.commit()

    close_entries(draw.id, actor=None, now=close)
    told = db.session.scalars(
        select(Notification.user_id).where(Notification.kind == "draw_entries_frozen")
    ).all()
    assert told == [stays.id]
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.recipient == leaves.email)
        )
        == 1  # the receipt of the entry only
    )


def test_an_entrant_whose_leaving_date_has_come_is_not_told_the_entries_are_frozen():
    """Still active until the leavers' task runs (the tick freezes the entries first; for
    good as the last administrator), they are passed over at the draw: the notification and
    its e-mail would tell them of a draw they can no longer win."""
    from perks.i18n import company_date
    from perks.notifications.models import Notification

    perk = draw_perk(seats=1)
    draw, close = opened(perk)
    stays, leaves = UserFactory(), UserFactory()
    enter_draw(perk.id, stays)
    enter_draw(perk.id, leaves)
    leaves.leaving_date = company_date(close)
    db.session.commit()

    close_entries(draw.id, actor=None, now=close)
    told = db.session.scalars(
        select(Notification.user_id).where(Notification.kind == "draw_entries_frozen")
    ).all()
    assert told == [stays.id]


def test_freezing_thirty_entries_costs_the_statements_of_three():
    """The freeze told each entrant the hash with a notification and an e-mail of their own,
    several statements and three template renderings each, in the freeze's one transaction:
    10,000 entrants took minutes, past the web worker's timeout, so HR's button rolled back
    every time. Now they are told in a few statements whatever their number."""
    from perks.mail import OutboxMessage
    from tests.helpers import counting_statements

    def freeze(entrants: int) -> int:
        perk = draw_perk()
        draw, close = opened(perk)
        people = [UserFactory(locale="en" if n % 3 else "vi") for n in range(entrants)]
        for person in people:
            enter_draw(perk.id, person)
        db.session.expire_all()
        with counting_statements() as statements:
            close_entries(draw.id, actor=None, now=close)
        told = db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.kind == "draw_entries_frozen",
                Notification.user_id.in_([p.id for p in people]),
            )
        )
        assert told == entrants
        mailed = db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.recipient.in_([p.email for p in people]))
        )
        assert mailed == 2 * entrants  # the receipt of the entry, then the hash
        return len(statements)

    assert freeze(30) == freeze(3)


def test_declining_a_seat_costs_the_same_with_thirty_waiting_as_with_three():
    """A winner's decline read every entry of the draw, with its person, to find the first
    on the waiting list: 0.5-0.8 s of the winner's request at 10,000 entries. Now it reads
    the waiting list one entry at a time, until someone takes the seat."""
    from sqlalchemy import event

    def decline(waiting: int) -> int:
        perk = draw_perk(seats=1)
        draw, close = opened(perk)
        for _ in range(waiting + 1):
            enter_draw(perk.id, UserFactory())
        close_entries(draw.id, actor=None, now=close)
        later = close + timedelta(days=1)
        enter_public_value(draw.id, "58214", actor=UserFactory(roles={Role.HR}), now=later)
        run_draw(draw.id, actor=None, now=later)
        entries = draw_entries(draw.id)
        winner_id, first_waiting_id = entries[0].id, entries[1].id
        user_type, user_id = type(entries[0].user), entries[0].user_id
        db.session.expunge_all()  # every entry read from here on is counted
        person = db.session.get(user_type, user_id)
        loaded: list[DrawEntry] = []

        def count(entry: DrawEntry, _context: object) -> None:
            loaded.append(entry)

        event.listen(DrawEntry, "load", count)
        try:
            decline_seat(winner_id, person, now=later)
        finally:
            event.remove(DrawEntry, "load", count)
        db.session.expire_all()
        assert db.session.get(DrawEntry, first_waiting_id).outcome is EntryOutcome.WON
        return len(loaded)

    assert decline(30) == decline(3)  # entries read from the database
