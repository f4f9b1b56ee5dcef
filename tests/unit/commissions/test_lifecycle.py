"""The commission state machine: every allowed transition, and every refused one."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from perks.commissions import lifecycle
from perks.commissions.lifecycle import TransitionRefused
from perks.commissions.models import Commission, CommissionState, VoidReason
from perks.errors import Conflict

S = CommissionState
HELD_FROM = (S.PENDING, S.EARNED, S.PAYABLE, S.PAID)
NOW = datetime(2026, 5, 3, 9, 0, tzinfo=UTC)

#: written out again here, independently of lifecycle.TRANSITIONS: (source, held_from) → targets
EXPECTED = {
    (S.PENDING, None): {S.EARNED, S.VOIDED, S.ON_HOLD},
    (S.EARNED, None): {S.PAYABLE, S.VOIDED, S.ON_HOLD},
    (S.PAYABLE, None): {S.PAID, S.VOIDED, S.ON_HOLD},
    (S.PAID, None): {S.ON_HOLD},
    (S.VOIDED, None): set(),
    (S.ON_HOLD, S.PENDING): {S.PENDING, S.VOIDED},
    (S.ON_HOLD, S.EARNED): {S.EARNED, S.VOIDED},
    (S.ON_HOLD, S.PAYABLE): {S.PAYABLE, S.VOIDED},
    (S.ON_HOLD, S.PAID): {S.PAID},
}

CASES = [
    (source, held, target, target in allowed)
    for (source, held), allowed in EXPECTED.items()
    for target in CommissionState
]


def commission(state: CommissionState, held: CommissionState | None = None) -> Commission:
    return Commission(
        state=state, held_from_state=held, amount=0, original_amount=0, earned_amount=0
    )


def test_the_expected_table_covers_every_state():
    assert {source for source, _ in EXPECTED} == set(CommissionState)
    assert {held for source, held in EXPECTED if source is S.ON_HOLD} == set(HELD_FROM)


@pytest.mark.parametrize(
    ("source", "held", "target", "allowed"),
    CASES,
    ids=[f"{s.value}{'<' + h.value if h else ''}->{t.value}" for s, h, t, _ in CASES],
)
def test_each_transition_is_allowed_or_refused_as_the_table_says(source, held, target, allowed):
    item = commission(source, held)
    assert lifecycle.can_move(item, target) is allowed
    if allowed:
        lifecycle.move(item, target)
        assert item.state is target
        assert item.held_from_state is None
    else:
        with pytest.raises(TransitionRefused) as refused:
            lifecycle.move(item, target)
        assert isinstance(refused.value, Conflict)
        assert refused.value.source is source
        assert item.state is source
        assert item.held_from_state is held


def test_a_refused_transition_says_what_was_asked_in_words(app):
    with (
        app.test_request_context(headers={"Accept-Language": "en"}),
        pytest.raises(TransitionRefused) as refused,
    ):
        lifecycle.move(commission(S.VOIDED), S.PAID)
    assert refused.value.message == "A commission that is Voided cannot become Paid."
    assert refused.value.status_code == 409


@pytest.mark.parametrize("source", [s for s in CommissionState if s is not S.PENDING])
def test_only_a_pending_commission_can_be_earned(app, source):
    # A commission held since it was earned goes back to earned by a release, never by earning
    # again (that would write a second earn entry).
    item = commission(source, S.EARNED if source is S.ON_HOLD else None)
    with pytest.raises(TransitionRefused):
        lifecycle.earn(item, NOW)
    assert item.earned_at is None


@pytest.mark.parametrize("source", [s for s in CommissionState if s is not S.EARNED])
def test_only_an_earned_commission_becomes_payable_by_the_tick(app, source):
    item = commission(source, S.EARNED if source is S.ON_HOLD else None)
    with pytest.raises(TransitionRefused):
        lifecycle.make_payable(item)
    assert item.state is source


@pytest.mark.parametrize("source", [S.PENDING, S.EARNED])
def test_a_commission_not_yet_payable_cannot_be_paid(app, source):
    with pytest.raises(TransitionRefused):
        lifecycle.mark_paid(commission(source), NOW)


def test_paying_a_payable_commission_dates_it():
    item = commission(S.PAYABLE)
    assert lifecycle.mark_paid(item, NOW) is True
    assert (item.state, item.paid_at) == (S.PAID, NOW)


def test_paying_a_commission_put_on_hold_meanwhile_keeps_the_hold_and_remembers_it_paid():
    item = commission(S.ON_HOLD, S.PAYABLE)
    assert lifecycle.mark_paid(item, NOW) is True
    assert (item.state, item.held_from_state, item.paid_at) == (S.ON_HOLD, S.PAID, NOW)
    lifecycle.release(item)
    assert item.state is S.PAID


@pytest.mark.parametrize(
    ("source", "held"), [(S.VOIDED, None), (S.PAID, None), (S.ON_HOLD, S.PAID)]
)
def test_paying_a_voided_or_paid_commission_changes_nothing(source, held):
    item = commission(source, held)
    assert lifecycle.mark_paid(item, NOW) is False
    assert (item.state, item.held_from_state) == (source, held)


@pytest.mark.parametrize(
    ("source", "held"), [(S.PAID, None), (S.VOIDED, None), (S.ON_HOLD, S.PAID)]
)
def test_a_paid_or_voided_commission_is_never_voided(app, source, held):
    item = commission(source, held)
    with pytest.raises(TransitionRefused):
        lifecycle.void(item, VoidReason.REFUNDED, NOW)
    assert item.void_reason is None


def test_voiding_records_the_reason_and_the_day():
    item = commission(S.EARNED)
    lifecycle.void(item, VoidReason.REFUNDED, NOW)
    assert (item.state, item.void_reason, item.voided_at) == (S.VOIDED, VoidReason.REFUNDED, NOW)


@pytest.mark.parametrize("source", HELD_FROM)
def test_a_hold_remembers_the_state_and_a_release_gives_it_back(source):
    item = commission(source)
    lifecycle.hold(item, NOW)
    assert (item.state, item.held_from_state, item.held_at) == (S.ON_HOLD, source, NOW)
    lifecycle.release(item)
    assert (item.state, item.held_from_state) == (source, None)


@pytest.mark.parametrize(("source", "held"), [(S.VOIDED, None), (S.ON_HOLD, S.EARNED)])
def test_a_voided_or_held_commission_cannot_be_put_on_hold(app, source, held):
    with pytest.raises(TransitionRefused):
        lifecycle.hold(commission(source, held), NOW)


@pytest.mark.parametrize("source", [s for s in CommissionState if s is not S.ON_HOLD])
def test_only_a_held_commission_can_be_released(app, source):
    with pytest.raises(TransitionRefused):
        lifecycle.release(commission(source))


def test_every_state_is_reachable_and_every_transition_listed_is_tested():
    listed = {
        (source, target) for target, sources in lifecycle.TRANSITIONS.items() for source in sources
    }
    expected = {(source, target) for (source, _), targets in EXPECTED.items() for target in targets}
    assert listed == expected
    assert set(itertools.chain.from_iterable(lifecycle.TRANSITIONS.values())) | set(
        lifecycle.TRANSITIONS
    ) == set(CommissionState)
