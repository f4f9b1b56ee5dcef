"""The shop asks its attribution policy who an order earns for; the referral links give it
theirs in ``perks.register_receivers()`` (the shop never imports them)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from perks.referrals.attribution import POLICY
from perks.shop import attribution
from perks.shop.attribution import NO_REFERRALS, AttributionReason

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def no_referrals():  # type: ignore[no-untyped-def]
    attribution.use_policy(NO_REFERRALS)
    yield
    attribution.use_policy(POLICY)


def test_the_app_gives_the_shop_the_referral_links_policy(app):
    assert attribution._policy[0] is POLICY
    assert attribution.typed_code_problem("zzzzzzz") is not None  # an unknown code


def test_without_a_policy_nobody_is_referred_and_no_code_is_a_problem(app, no_referrals):
    decided = attribution.attribute_order("anything", "zzzzzzz", "khach@gmail.com", None, NOW)
    assert (decided.link, decided.reason, decided.flagged) == (None, AttributionReason.NONE, False)
    assert attribution.typed_code_problem("zzzzzzz") is None
