"""E-mails to employees about their commissions (the paid e-mail comes with payouts).

Sent inside the caller's unit of work (the outbox in development; SMTP otherwise), so no
e-mail goes out for a redemption that was rolled back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from flask import current_app, has_request_context, url_for

from perks.auth.models import User
from perks.commissions.models import Commission
from perks.extensions import db
from perks.mail import send_email
from perks.money import Money
from perks.shop.models import Order


def _absolute(endpoint: str, **values: Any) -> str:
    """An absolute URL in a request (or with SERVER_NAME), else the path (the command line)."""
    if has_request_context() or current_app.config.get("SERVER_NAME"):
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context():
        return url_for(endpoint, **values)


def commissions_earned(order: Order, commissions: Sequence[Commission]) -> None:
    """Tell each employee what ``order`` earned them (one e-mail per person, none for zero).

    Raises:
        smtplib.SMTPException, OSError: the SMTP server refused (the caller rolls back).
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
            earnings_url=_absolute("commissions.my_earnings"),
        )
