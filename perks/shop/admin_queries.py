"""Read-side queries of the shop's back office (finance and admins) and of the order counter.

Each page runs a fixed number of statements, however many orders there are: the orders list
is one count and one page of orders (no relationship is loaded per row); an order's page
loads its lines, products, people and link with it, then its Stripe events and its refund
requests in one statement each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import defer, joinedload, selectinload

from perks.audit import AuditEvent
from perks.db import paginate
from perks.errors import NotFound
from perks.extensions import db
from perks.payments.models import StripeEvent
from perks.shop import redemption
from perks.shop.models import Order, OrderLine, OrderStatus

ORDERS_PER_PAGE = 50
#: the audit action of a refund request (perks.shop.refunds)
REFUND_REQUESTED = "shop.refund_requested"


@dataclass(frozen=True)
class OrderFilters:
    """What the orders list is narrowed to; empty values filter nothing."""

    #: an order number, a redemption code, or (part of) the customer's e-mail
    q: str = ""
    status: OrderStatus | None = None
    currency: str = ""
    #: only orders with an amount mismatch or a flagged attribution
    attention: bool = False
    #: days in the company's time zone, both included
    date_from: date | None = None
    date_to: date | None = None


def _company_midnight(day: date) -> datetime:
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def _filtered(query: Select[Any], filters: OrderFilters) -> Select[Any]:
    text = filters.q.strip()
    if text:
        # as the counters read them: any case, spaces and dashes aside ("568s-dwty-q8" is
        # the code 568SDWTYQ8, "pk qrrq7q6z" the number PK-QRRQ7Q6Z)
        compact = "".join(text.split()).replace("-", "").upper()
        number = f"PK-{compact[2:]}" if compact.startswith("PK") else compact
        query = query.where(
            or_(
                Order.number == number,
                Order.redemption_code == compact,
                func.lower(Order.customer_email).contains(text.lower(), autoescape=True),
            )
        )
    if filters.status is not None:
        query = query.where(Order.status == filters.status)
    if filters.currency:
        query = query.where(Order.currency == filters.currency)
    if filters.attention:
        query = query.where(or_(Order.mismatch != "", Order.attribution_flagged.is_(True)))
    if filters.date_from is not None:
        query = query.where(Order.created_at >= _company_midnight(filters.date_from))
    if filters.date_to is not None:
        end = _company_midnight(filters.date_to + timedelta(days=1))
        query = query.where(Order.created_at < end)
    return query


def orders_page(filters: OrderFilters, page: int = 1) -> Pagination:
    """The newest orders first, filtered; two statements whatever the page holds.

    Rows carry what the list shows and nothing lazy: the template reads columns only.
    """
    query = _filtered(select(Order).order_by(Order.created_at.desc(), Order.id.desc()), filters)
    return paginate(query, page, ORDERS_PER_PAGE)


def line_counts(order_ids: list[int]) -> dict[int, int]:
    """How many items (quantities summed) each order holds, in one statement."""
    if not order_ids:
        return {}
    rows = db.session.execute(
        select(OrderLine.order_id, func.sum(OrderLine.quantity))
        .where(OrderLine.order_id.in_(order_ids))
        .group_by(OrderLine.order_id)
    )
    return {order_id: int(count or 0) for order_id, count in rows}


def order_for_back_office(order_id: int) -> Order:
    """One order with everything its page shows, loaded together.

    Raises:
        NotFound: no such order.
    """
    order = db.session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .options(
            selectinload(Order.lines).joinedload(OrderLine.product),
            joinedload(Order.buyer),
            joinedload(Order.redeemed_by),
            joinedload(Order.referral_link),
            joinedload(Order.referrer),
        )
    )
    if order is None:
        raise NotFound()
    return order


def stripe_events_of(order_id: int) -> list[StripeEvent]:
    """The Stripe events stored for an order, oldest first, without their payloads."""
    return list(
        db.session.scalars(
            select(StripeEvent)
            .where(StripeEvent.order_id == order_id)
            .options(defer(StripeEvent.payload))
            .order_by(StripeEvent.stripe_created_at, StripeEvent.id)
        )
    )


def refund_requests_of(order_id: int) -> list[AuditEvent]:
    """The refunds asked of Stripe for an order (audit events, with who asked), oldest first."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.action == REFUND_REQUESTED,
                AuditEvent.target_type == Order.__name__,
                AuditEvent.target_id == str(order_id),
            )
            .order_by(AuditEvent.created_at, AuditEvent.id)
        )
    )


# --- the order counter ----------------------------------------------------------------------


def scanned_code(scanned: str) -> str:
    """The redemption code in what a redeemer typed or scanned: the text itself, or from a URL
    the code of its ``?code=`` or of the order page it names (``/shop/orders/<token>``).

    Raises:
        NotFound: a URL of an order page that no order has.
    """
    text = scanned.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return text
    codes = parse_qs(parts.query).get("code")
    if codes:
        return codes[0]
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) >= 3 and segments[:2] == ["shop", "orders"]:
        code = db.session.scalar(select(Order.redemption_code).where(Order.token == segments[2]))
        if code is None:
            raise NotFound(redemption_not_found_message(scanned))
        return code
    return text


def order_for_redeemer(scanned: str) -> Order:
    """The order a redeemer typed or scanned (see ``scanned_code``), with its lines and who
    redeemed it.

    Raises:
        NotFound: nothing was typed, or no order matches.
    """
    order = redemption.find_order_by_code(scanned_code(scanned))
    return _with_lines(order.id)


def redemption_code_of(scanned: str) -> str | None:
    """The redemption code of the order a redeemer typed or scanned (see ``scanned_code``);
    None when no order matches."""
    try:
        return redemption.find_order_by_code(scanned_code(scanned)).redemption_code
    except NotFound:
        return None


def redemption_not_found_message(scanned: str) -> str:
    return _("No order has the code %(code)s.", code=scanned.strip()[:64])


def _with_lines(order_id: int) -> Order:
    order = db.session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.lines), joinedload(Order.redeemed_by))
        .execution_options(populate_existing=True)
    )
    if order is None:  # pragma: no cover - found a moment ago
        raise NotFound()
    return order
