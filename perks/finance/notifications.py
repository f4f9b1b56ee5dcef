"""Telling employees about their payouts: the batch that paid them and the tax it withheld
(a notification, and the e-mail if they want it, through ``perks.notifications``).

Written inside the caller's unit of work (marking a batch paid,
``perks.finance.payouts``) and sent after its commit (``perks.mail``), so no e-mail goes out
for a payout that was rolled back, and a mail server that is down never fails the payout.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from perks.extensions import db
from perks.finance.models import PayoutBatch, PayoutLine
from perks.notifications import link, notify
from perks.people.models import User
from perks.urls import absolute_url


def payout_paid(batch: PayoutBatch, lines: Sequence[PayoutLine]) -> None:
    """Tell each person ``batch`` paid what it paid them: one notification (and e-mail) per
    person, every currency they were paid in; the e-mail says whether it comes with their
    wages or by bank transfer (``PayoutLine.paid_by``, set as the batch is paid), and, with
    the wages, whether tax was withheld from it first.

    Flushes only, never commits; raises nothing about mail delivery.
    """
    per_person: dict[int, list[PayoutLine]] = {}
    for line in lines:
        per_person.setdefault(line.user_id, []).append(line)
    if not per_person:
        return
    people = {
        p.id: p for p in db.session.scalars(select(User).where(User.id.in_(list(per_person))))
    }
    earnings_url = absolute_url("commissions.my_earnings")
    for user_id, paid in per_person.items():
        person = people.get(user_id)
        if person is None:
            continue
        amounts = [line.net for line in paid]
        notify(
            person,
            "payout_paid",
            {
                "amounts": amounts,
                "reference": batch.reference,
                "payment": batch.payment_reference,
            },
            url=link("commissions.my_earnings"),
            email={
                "batch": batch,
                "amounts": amounts,
                "earnings_url": earnings_url,
                "by_transfer": all(line.paid_by == "bank" for line in paid),
                # tax comes off what is listed (the gross) before it reaches them
                "withheld": any(line.withheld_amount > 0 for line in paid),
            },
        )


def tax_withheld(batch: PayoutBatch, lines: Sequence[PayoutLine]) -> None:
    """Tell each person ``batch`` withheld tax from what it withheld: one notification (and
    the e-mail if they want it) per line with tax withheld.

    Flushes only, never commits; raises nothing about mail delivery.
    """
    withheld = [line for line in lines if line.withheld_amount > 0]
    if not withheld:
        return
    people = {
        p.id: p
        for p in db.session.scalars(
            select(User).where(User.id.in_([line.user_id for line in withheld]))
        )
    }
    for line in withheld:
        person = people.get(line.user_id)
        if person is None:
            continue
        notify(
            person,
            "tax_withheld",
            {
                "gross": line.gross,
                "withheld": line.withheld,
                "net": line.take_home,
                "reference": batch.reference,
            },
            url=link("commissions.my_earnings"),
        )
