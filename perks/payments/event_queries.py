"""Read-only queries behind the Stripe event log (admins and finance)."""

from __future__ import annotations

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import select
from sqlalchemy.orm import defer

from perks.db import paginate
from perks.errors import NotFound
from perks.extensions import db
from perks.payments.models import ORDERS, EventOutcome, StripeEvent

PER_PAGE = 50


def event_types() -> list[str]:
    """Every event type received, for the filter."""
    return list(db.session.scalars(select(StripeEvent.type).distinct().order_by(StripeEvent.type)))


def stripe_events(*, outcome: EventOutcome | None, event_type: str, page: int) -> Pagination:
    """The newest events first, without their payloads, filtered by outcome and type."""
    query = (
        select(StripeEvent)
        .options(defer(StripeEvent.payload))
        .order_by(StripeEvent.received_at.desc(), StripeEvent.id.desc())
    )
    if outcome is not None:
        query = query.where(StripeEvent.outcome == outcome)
    if event_type:
        query = query.where(StripeEvent.type == event_type)
    return paginate(query, page, PER_PAGE)


def order_numbers(order_ids: set[int]) -> dict[int, str]:
    """The numbers of these orders, in one query."""
    if not order_ids:
        return {}
    rows = db.session.execute(
        select(ORDERS.c.id, ORDERS.c.number).where(ORDERS.c.id.in_(order_ids))
    )
    return {row.id: row.number for row in rows}


def stripe_event(stored_id: int) -> StripeEvent:
    """One stored event, payload included.

    Raises:
        NotFound: no event has this id.
    """
    event = db.session.get(StripeEvent, stored_id)
    if event is None:
        raise NotFound()
    return event
