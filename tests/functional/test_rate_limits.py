"""Rate limits that a mutation check found untested: placing an order (each one opens a Stripe
Checkout session) and using a code at the perk counter (each try guesses a code). Removing
either limit passed every test; the order counter's lookups and the login were tested."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from perks.extensions import limiter
from perks.people.models import Role
from tests import factories
from tests.helpers import login


@pytest.fixture
def limited(app: Flask, app_factory) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    limited = app_factory(
        RATELIMIT_ENABLED=True,
        REDEEM_RATE_LIMIT="2 per minute",
        CHECKOUT_RATE_LIMIT="2 per minute",
    )
    with limited.app_context():
        limiter.reset()
    yield limited
    with limited.app_context():
        limiter.reset()


def test_using_codes_at_the_perk_counter_is_rate_limited(limited):
    counter = limited.test_client()
    login(counter, factories.UserFactory(roles={Role.REDEEMER}))
    tries = [counter.post("/redeem/use", data={"code": f"GUESS{n}"}) for n in range(3)]
    assert [answer.status_code == 429 for answer in tries] == [False, False, True]


def test_placing_orders_is_rate_limited(limited):
    shopper = limited.test_client()
    tries = [shopper.post("/shop/checkout", data={}) for _ in range(3)]
    assert [answer.status_code == 429 for answer in tries] == [False, False, True]
