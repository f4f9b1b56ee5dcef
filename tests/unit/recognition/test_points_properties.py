"""Random points stories: whatever happens, every balance is its ledger sum, none goes below
zero, each step does what a model of the rules predicts, and verify-points agrees.

A story is a sequence of allowance credits, gifts of points, kudos (to oneself, over the
allowance or over the per-pair limit included), rewards (one with a stock of two) and month
ends, over three people."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from perks.errors import LimitReached, SoldOut, ValidationFailed
from perks.extensions import db
from perks.money import Money
from perks.people.models import Role
from perks.recognition import gifts, kudos, points
from perks.recognition.gifts import Due
from perks.recognition.kudos import PointsSettingsData
from perks.recognition.points_models import ALLOWANCE_KINDS, RECEIVED_KINDS, PointsEntry
from perks.recognition.points_verify import verify_points
from tests import factories
from tests.helpers import clean_database
from tests.unit.recognition.helpers import occasion, programme_data

PEOPLE = 3
ALLOWANCE = 100
PAIR_LIMIT = 60
GIFT_POINTS = 25
PRICES = (30, 20)  # the second reward has a stock of two

person = st.integers(0, PEOPLE - 1)
events = st.lists(
    st.one_of(
        st.tuples(st.just("credit")),
        st.tuples(st.just("gift"), person, st.integers(2027, 2029)),
        st.tuples(st.just("kudos"), person, person, st.integers(1, 80)),
        st.tuples(st.just("reward"), person, st.integers(0, len(PRICES) - 1)),
        st.tuples(st.just("month end")),
    ),
    max_size=30,
)


def _ledger(user_id: int, kinds: tuple, month: str | None = None) -> int:
    query = select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
        PointsEntry.user_id == user_id, PointsEntry.kind.in_(kinds)
    )
    if month is not None:
        query = query.where(PointsEntry.month == month)
    return int(db.session.scalar(query) or 0)


def _month_after(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


@pytest.mark.usefixtures("app")
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(story=events)
def test_every_balance_is_its_ledger_sum_and_never_negative(story):
    db.session.remove()
    clean_database()
    hr = factories.UserFactory(roles={Role.HR}, active=False)
    kudos.update_points_settings(
        PointsSettingsData(ALLOWANCE, {}, pair_monthly_limit=PAIR_LIMIT, point_value=100),
        actor=hr,
    )
    people = [factories.UserFactory() for _ in range(PEOPLE)]
    value = factories.CompanyValueFactory()
    programme = gifts.create_programme(
        programme_data(
            occasion("womens_day").id,
            None,
            name_vi="Điểm 8/3",
            name_en="8 March points",
            points=GIFT_POINTS,
            unit_cost=Money(0, "VND"),
        ),
        actor=hr,
    )
    rewards = [
        factories.PerkFactory(points_price=PRICES[0], per_person_limit=None),
        factories.PerkFactory(points_price=PRICES[1], per_person_limit=None, total_stock=2),
    ]

    today = date(2027, 1, 3)
    # the model: allowance left per (person, month), received per person
    left: dict[tuple[int, str], int] = defaultdict(int)
    credited: set[tuple[int, str]] = set()
    received = [0] * PEOPLE
    pairs: dict[tuple[int, int, str], int] = defaultdict(int)
    gifted: set[tuple[int, int]] = set()
    stock = [None, 2]

    for step, event in enumerate(story):
        month = points.month_of(today)
        kind = event[0]
        if kind == "credit":
            points.credit_allowances(today)
            for index in range(PEOPLE):
                if (index, month) not in credited:
                    credited.add((index, month))
                    left[(index, month)] += ALLOWANCE
        elif kind == "gift":
            _, index, year = event
            granted = gifts._grant(Due(programme, people[index], date(year, 3, 8)), today)
            assert granted == ((index, year) not in gifted)
            if granted:
                gifted.add((index, year))
                received[index] += GIFT_POINTS
        elif kind == "kudos":
            _, giver, recipient, amount = event
            # a kudos credits the month's allowance first, unless it is refused
            lazily = 0 if (giver, month) in credited else ALLOWANCE
            expected = (
                giver != recipient
                and amount <= left[(giver, month)] + lazily
                and pairs[(giver, recipient, month)] + amount <= PAIR_LIMIT
            )
            try:
                # each kudos its own message: the same one again is a double tap, given once
                kudos.give_kudos(
                    people[giver],
                    people[recipient].id,
                    amount,
                    value.id,
                    f"Cảm ơn! {step}",
                    today=today,
                )
            except (ValidationFailed, LimitReached):
                assert not expected
            else:
                assert expected
                credited.add((giver, month))
                left[(giver, month)] += lazily - amount
                received[recipient] += amount
                pairs[(giver, recipient, month)] += amount
        elif kind == "reward":
            _, index, which = event
            price = PRICES[which]
            expected = received[index] >= price and stock[which] != 0
            try:
                kudos.spend_points(rewards[which].id, people[index], today=today)
            except (LimitReached, SoldOut):
                assert not expected
            else:
                assert expected
                received[index] -= price
                if stock[which] is not None:
                    stock[which] -= 1
        else:  # month end
            today = _month_after(today)
            points.expire_allowances(today)
            for key in list(left):
                left[key] = 0

        month = points.month_of(today)
        for index, someone in enumerate(people):
            assert _ledger(someone.id, RECEIVED_KINDS) == received[index] >= 0
            assert _ledger(someone.id, ALLOWANCE_KINDS, month) == left[(index, month)] >= 0
            assert _ledger(someone.id, ALLOWANCE_KINDS) == sum(
                amount for (who, _), amount in left.items() if who == index
            )
            balances = points.balances(someone, today)
            assert balances.received == received[index]
            if balances.credited:
                assert balances.allowance_left == left[(index, month)]

    report = verify_points()
    assert report.problems == []
    for index, someone in enumerate(people):
        if someone.id in report.balances:
            assert report.balances[someone.id][1] == received[index]
