"""Telling employees what happens to their commissions, through the notification centre
(the paid one is finance's, with the payout: ``perks.finance.notifications``).

Each is written inside the caller's unit of work (``perks.notifications.notify``: the
notification, and the e-mail through the outbox if the person wants it), so nobody is told
about a redemption, refund or dispute that was rolled back, and a mail server that is down
never fails it. One notification per person and order and change, none for zero and none
for people who have left.

A commission is talked about once it is earned (its order was used): until then it is only
pending on the earnings page, so a refund or dispute of an order not yet used tells nobody.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence

from sqlalchemy import select

from perks.commissions.models import Commission, VoidReason
from perks.extensions import db
from perks.i18n import company_date
from perks.money import Money
from perks.notifications import link, notify
from perks.people.models import User
from perks.shop.models import Order
from perks.urls import absolute_url

#: the kinds of ``perks.notifications.kinds`` for what happens to a commission after earning
VOIDED = "commission_voided"
ON_HOLD = "commission_on_hold"
RELEASED = "commission_released"
CLAWED_BACK = "commission_clawed_back"
PAYABLE = "commission_payable"


def commissions_earned(order: Order, commissions: Sequence[Commission]) -> None:
    """Tell each employee what ``order`` earned them (one notification per person, none
    for zero), with the earnings e-mail if they want it.

    Flushes only, never commits; raises nothing about mail delivery.
    """
    per_person: dict[int, list[Commission]] = defaultdict(list)
    for commission in commissions:
        if commission.amount > 0:
            per_person[commission.user_id].append(commission)
    people = _active_people(per_person)
    for user_id, earned in per_person.items():
        person = people.get(user_id)
        if person is None:
            continue
        total = sum((c.value for c in earned), Money.zero(order.currency))
        payable_at = earned[0].payable_at
        assert payable_at is not None  # set when a commission is earned
        notify(
            person,
            "commission_earned",
            {"amount": total, "number": order.number, "date": company_date(payable_at)},
            url=link("commissions.my_earnings"),
            email={
                "order": order,
                "commissions": earned,
                "total": total,
                "payable_at": payable_at,
                "earnings_url": absolute_url("commissions.my_earnings"),
            },
        )


def commissions_changed(
    order: Order,
    kind: str,
    changes: Sequence[tuple[Commission, int]],
    reason: VoidReason | None = None,
) -> None:
    """Tell each employee that their earned commissions on ``order`` changed as ``kind``
    says (``VOIDED``, ``ON_HOLD``, ``RELEASED``, ``CLAWED_BACK``): ``changes`` pairs each
    commission with the amount concerned (minor units); one notification per person with
    their sum, none for zero, none for a commission not yet earned.

    Flushes only, never commits; raises nothing about mail delivery.
    """
    totals: dict[int, int] = defaultdict(int)
    for commission, amount in changes:
        if amount > 0 and commission.earned_at is not None:
            totals[commission.user_id] += amount
    people = _active_people(totals)
    for user_id, total in totals.items():
        person = people.get(user_id)
        if person is None:
            continue
        params: dict[str, object] = {
            "number": order.number,
            "amount": Money(total, order.currency),
        }
        if reason is not None:
            params["reason"] = reason
        notify(person, kind, params, url=link("commissions.my_earnings"))


def commissions_payable(moved: Sequence[tuple[int, str, int]]) -> None:
    """Tell each person whose commissions the daily release made payable: ``moved`` is
    (person, currency, amount) per commission; one notification per person for the run, with
    their sums per currency, none for zero.

    Flushes only, never commits; raises nothing about mail delivery.
    """
    sums: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counts: dict[int, int] = defaultdict(int)
    for user_id, currency, amount in moved:
        if amount > 0:
            sums[user_id][currency] += amount
            counts[user_id] += 1
    people = _active_people(sums)
    for user_id in sorted(sums):
        person = people.get(user_id)
        if person is None:
            continue
        amounts = [Money(total, currency) for currency, total in sorted(sums[user_id].items())]
        notify(
            person,
            PAYABLE,
            {"amounts": amounts, "count": counts[user_id]},
            url=link("commissions.my_earnings"),
        )


def _active_people(user_ids: Collection[int]) -> dict[int, User]:
    if not user_ids:
        return {}
    return {
        person.id: person
        for person in db.session.scalars(select(User).where(User.id.in_(list(user_ids))))
        if person.active
    }
