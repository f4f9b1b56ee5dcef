"""Stripe events as received: each stored once, with what it did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, DateTime, Enum, ForeignKey, Integer, String, Text, column, table
from sqlalchemy.orm import Mapped, mapped_column

from perks.db import Base, utcnow
from perks.i18n import LabelledEnum

#: what each event type the app acts on means, for the pages that list events (the event's
#: ``detail`` is the app's own record, kept in English for the audit)
EVENT_DESCRIPTIONS = {
    "checkout.session.completed": _l("The customer finished checkout"),
    "checkout.session.async_payment_succeeded": _l("A delayed payment arrived"),
    "checkout.session.async_payment_failed": _l("A delayed payment failed"),
    "checkout.session.expired": _l("The checkout expired unpaid"),
    "charge.refunded": _l("Stripe refunded the payment, in part or in full"),
    "charge.dispute.created": _l("The customer disputed the payment"),
    "charge.dispute.updated": _l("The dispute changed"),
    "charge.dispute.funds_withdrawn": _l("Stripe withdrew the disputed amount"),
    "charge.dispute.funds_reinstated": _l("Stripe gave back the disputed amount"),
    "charge.dispute.closed": _l("The dispute is closed"),
}


def event_description(event_type: str) -> str:
    """What an event of ``event_type`` means, in the reader's language ("" for a type the
    app does not act on)."""
    description = EVENT_DESCRIPTIONS.get(event_type)
    return str(description) if description is not None else ""


class EventOutcome(LabelledEnum):
    # it changed an order
    APPLIED = "applied", _l("Applied")
    # the order already reflected it (out of order, or replayed)
    NO_CHANGE = "no_change", _l("No change")
    # a type we do not handle, or not about one of our orders
    IGNORED = "ignored", _l("Ignored")
    # amount or currency disagreed with the order: never fulfilled
    MISMATCH = "mismatch", _l("Amount mismatch")


#: the shop's orders, as much as the event log names them: the table ``StripeEvent.order_id``
#: refers to (payments sit below the shop and never import it; ARCHITECTURE.md)
ORDERS = table("shop_order", column("id", Integer), column("number", String))


class StripeEvent(Base):
    """One Stripe event, stored under its unique id in the same transaction as its effects."""

    __tablename__ = "stripe_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Stripe's id ("evt_..."): unique, so a second delivery is recognised
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(80), index=True)
    livemode: Mapped[bool] = mapped_column(default=False)
    #: when Stripe created the event
    stripe_created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("shop_order.id"), index=True)
    outcome: Mapped[EventOutcome] = mapped_column(
        Enum(
            EventOutcome,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    #: what it did, in words (English, for the admins' event log)
    detail: Mapped[str] = mapped_column(Text, default="")
    #: how many times an admin replayed it
    replays: Mapped[int] = mapped_column(Integer, default=0)
