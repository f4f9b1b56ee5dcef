"""E-mails to employees about their commissions (the paid e-mail is finance's, with the
payout: ``perks.finance.notifications``).

Written to the outbox inside the caller's unit of work and sent after its commit
(``perks.mail``), so no e-mail goes out for a redemption that was rolled back, and a mail
server that is down never fails the redemption.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from perks.commissions.models import Commission
from perks.extensions import db
from perks.mail import send_email
from perks.money import Money
from perks.people.models import User
from perks.shop.models import Order
from perks.urls import absolute_url


def commissions_earned(order: Order, commissions: Sequence[Commission]) -> None:
    """Tell each employee what ``order`` earned them (one e-mail per person, none for zero).

    Flushes only, never commits; raises nothing about mail delivery.
    """
    per_person: dict[int, list[Commission]] = defaultdict(list)
    for commission in commissions:
        if commission.amount > 0:
            per_person[commission.user_id].append(commission)
    for user_id, earned in per_person.items():
        person = db.session.get(User, user_id)
        if person is None or not person.active:
            continue
        send_email(
            person.email,
            "commission_earned",
            locale=person.locale,
            person=person,
            order=order,
            commissions=earned,
            total=sum((c.value for c in earned), Money.zero(order.currency)),
            payable_at=earned[0].payable_at,
            earnings_url=absolute_url("commissions.my_earnings"),
        )
