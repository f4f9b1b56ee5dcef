"""Clicks and paid orders on a fixed day, for the tests of the referral figures (stats, fraud
signals, the daily roll-up)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from perks.referrals.models import ReferralLink
from perks.referrals.periods import Window, window_from_args
from perks.shop.models import Order, OrderStatus
from tests import factories
from tests.factories import OrderFactory, ProductFactory

#: a Sunday; the company is in Asia/Ho_Chi_Minh (UTC+7, no daylight saving)
TODAY = date(2026, 5, 31)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment given in UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def add_clicks(link: ReferralLink, count: int, **fields: object) -> None:
    """``count`` clicks on ``link`` at 03:00 UTC on ``TODAY`` unless told, in one commit."""
    fields.setdefault("clicked_at", at(TODAY, 3))
    factories.add_clicks(link, count, **fields)


def window(period: str = "day", days: str = "30") -> Window:
    return window_from_args(period, days, today=TODAY)


def sell(
    link: ReferralLink | None, amount: int = 1_000_000, currency: str = "VND", **fields: object
) -> Order:
    """A paid order of ``amount`` attributed to ``link``, paid at 03:00 UTC today unless told."""
    fields.setdefault("paid_at", at(TODAY, 3))
    fields.setdefault("status", OrderStatus.PAID)
    fields.setdefault("attribution_reason", "cookie" if link is not None else "none")
    product = ProductFactory(price_amount=amount, currency=currency)
    return OrderFactory(
        product=product,
        referral_link_id=link.id if link is not None else None,
        paid_amount=amount if fields["paid_at"] is not None else None,
        **fields,
    )
