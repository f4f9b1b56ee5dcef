"""Commissions driven by signed Stripe webhooks: every event delivered again (and again, in
any order) changes no figure, and the ledger stays true."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from perks.commissions.models import Commission, CommissionState, LedgerEntry
from perks.commissions.verify import verify_ledger
from perks.extensions import db
from perks.shop.redemption import redeem_order
from tests import factories
from tests import stripe_fixtures as sf
from tests.unit.commissions.helpers import Payroll, referred_order, tick

S = CommissionState


def figures() -> tuple[list, list]:
    db.session.expire_all()
    commissions = [
        (c.order_id, c.state, c.amount, c.earned_amount, c.reversed_amount, c.refunded_base_amount)
        for c in db.session.scalars(select(Commission).order_by(Commission.id))
    ]
    entries = [
        (e.user_id, e.kind, e.amount)
        for e in db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))
    ]
    return commissions, entries


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_redelivering_every_webhook_changes_no_figure(client, seed):
    factories.CommissionRuleFactory(rate_bps=1000)
    redeemer = factories.UserFactory(roles={factories.Role.REDEEMER})
    employee = factories.UserFactory()
    refunded = referred_order(employee=employee)
    disputed = referred_order(employee=employee)
    kept = referred_order(employee=employee)
    events = []

    def deliver(evt):  # type: ignore[no-untyped-def]
        events.append(evt)
        assert sf.deliver(client, evt).status_code == 200

    for order in (refunded, disputed, kept):
        deliver(sf.event("checkout.session.completed", sf.checkout_session(order)))
    for order in (refunded, disputed, kept):
        db.session.refresh(order)
        redeem_order(order.redemption_code, redeemer)
    deliver(sf.event("charge.refunded", sf.charge(refunded, amount_refunded=1_000_000)))
    tick()
    Payroll().pay_out()
    deliver(sf.event("charge.refunded", sf.charge(refunded, amount_refunded=2_400_000)))
    deliver(sf.event("charge.dispute.created", sf.dispute(disputed)))
    deliver(sf.event("charge.dispute.closed", sf.dispute(disputed, status="lost")))

    before = figures()
    states = {order_id: state for order_id, state, *_ in before[0]}
    assert states == {refunded.id: S.PAID, disputed.id: S.PAID, kept.id: S.PAID}
    assert verify_ledger().ok

    again = list(events)
    random.Random(seed).shuffle(again)
    for evt in again + events:
        assert sf.deliver(client, evt).status_code == 200
    assert figures() == before
    assert verify_ledger().ok
