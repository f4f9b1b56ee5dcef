"""Employees' referral links and the clicks they bring."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from perks.db import Base, TimestampMixin, utcnow
from perks.i18n import LabelledEnum

if TYPE_CHECKING:
    from perks.people.models import User

#: no 0/O/1/l/I: codes are read aloud and typed from phones
LINK_CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
LINK_CODE_LENGTH = 7
_LINK_CODES = len(LINK_CODE_ALPHABET) ** LINK_CODE_LENGTH


#: every two-character string of the alphabet, by its value in base 31
_PAIRS = tuple(a + b for a in LINK_CODE_ALPHABET for b in LINK_CODE_ALPHABET)
#: random bits read per code: the smallest whole number of bytes above 31^7, less the
#: bits dropped (a draw at or above 31^7 is thrown away, one in five)
_CODE_BYTES = 5
_CODE_SHIFT = _CODE_BYTES * 8 - (_LINK_CODES - 1).bit_length()


def new_link_code() -> str:
    """A short random code (31^7 ≈ 27 billion): unique, and says nothing about its owner."""
    return new_link_codes(1)[0]


def new_link_codes(count: int) -> list[str]:
    """``count`` codes as ``new_link_code`` draws them, from few reads of the system's
    randomness (an import draws a hundred thousand at once).

    Each is one random number below 31^7 (35 random bits, drawn again when they are 31^7 or
    more) written in the alphabet's digits: as uniform as drawing each character.
    """
    codes: list[str] = []
    base = len(_PAIRS)
    while len(codes) < count:
        # a quarter more than needed: few draws are thrown away
        wanted = count - len(codes)
        entropy = secrets.token_bytes(_CODE_BYTES * (wanted + wanted // 4 + 1))
        for start in range(0, len(entropy), _CODE_BYTES):
            number = int.from_bytes(entropy[start : start + _CODE_BYTES]) >> _CODE_SHIFT
            if number >= _LINK_CODES:
                continue
            number, first = divmod(number, base)
            number, second = divmod(number, base)
            number, third = divmod(number, base)
            codes.append(
                _PAIRS[first] + _PAIRS[second] + _PAIRS[third] + LINK_CODE_ALPHABET[number]
            )
            if len(codes) == count:
                break
    return codes


class Destination(LabelledEnum):
    STOREFRONT = "storefront", _l("Storefront")
    CATEGORY = "category", _l("Category")
    PRODUCT = "product", _l("Product")


class ReferralLink(TimestampMixin, Base):
    """One shareable link of one employee, to a page of the storefront kept on the server."""

    __tablename__ = "referral_link"
    __table_args__ = (
        # At most one default link per person, even when two first visits race (migration 0004).
        Index(
            "uq_referral_link_default_user_id",
            "user_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    #: what goes after /r/
    code: Mapped[str] = mapped_column(String(16), unique=True, default=new_link_code)
    #: the employee's own note ("Zalo group", "Facebook post")
    label: Mapped[str] = mapped_column(String(80), default="")
    destination: Mapped[Destination] = mapped_column(
        Enum(
            Destination,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=Destination.STOREFRONT,
    )
    #: the category or product id, for those destinations
    destination_id: Mapped[int | None] = mapped_column(Integer)
    #: every active employee has one default link, to the storefront
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User] = relationship(lazy="joined")


class Click(Base):
    """One visit through a link. Bots are stored (flagged) but never counted or attributed.

    On PostgreSQL the table is partitioned by month of ``clicked_at`` and its primary key is
    ``(id, clicked_at)`` (migration 0029, ``perks.referrals.partitions``); ``id`` alone, from
    its sequence, identifies a click here. Raw clicks are dropped after
    ``CLICK_RETENTION_MONTHS``; their days stay in ``click_day``.
    """

    __tablename__ = "click"
    __table_args__ = (
        Index("ix_click_link_id_clicked_at", "link_id", "clicked_at"),
        # The company and fraud pages and the daily roll-up read a period's clicks: in time
        # order, as they were written (migration 0008).
        Index("ix_click_clicked_at", "clicked_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("referral_link.id"))
    clicked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: HMAC-SHA256 of the IP address with a server secret: counts unique visitors, never the IP
    ip_hash: Mapped[str] = mapped_column(String(64))
    #: "Chrome", "Safari", "Zalo", "facebookexternalhit", ...
    user_agent_family: Mapped[str] = mapped_column(String(40), default="")
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the domain the visitor came from (Referer header), if any
    referrer_domain: Mapped[str] = mapped_column(String(255), default="")


class ClickDay(Base):
    """Each link's clicks of one company-time day, rolled up from ``click`` once the day is
    over (``perks.referrals.rollup``, run by ``flask perks tick``). The company page reads
    these instead of millions of clicks (PERFORMANCE.md, P7)."""

    __tablename__ = "click_day"

    #: the day, company time (``BABEL_DEFAULT_TIMEZONE``)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("referral_link.id"), primary_key=True)
    #: human clicks
    clicks: Mapped[int] = mapped_column(Integer)
    #: distinct IP hashes among the human clicks of that day on that link
    visitors: Mapped[int] = mapped_column(Integer)
    #: clicks by bots and crawlers
    bots: Mapped[int] = mapped_column(Integer)


class ClickRollup(Base):
    """How far ``click_day`` goes: one row (id 1), every day up to ``through`` is rolled up
    (None: nothing yet); raw clicks of the days before ``raw_from`` are dropped (retention,
    ``perks.referrals.partitions``), so those days are never rolled up again."""

    __tablename__ = "click_rollup"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    through: Mapped[date | None] = mapped_column(Date)
    raw_from: Mapped[date | None] = mapped_column(Date)


#: the one row of ``returning_customer_settings``
RETURNING_ROW_ID = 1
#: the longest returning-customer window finance may set (days)
MAX_RETURNING_DAYS = 3650


class ReturningCustomerSettings(TimestampMixin, Base):
    """How long a customer stays with the person whose link they bought through, as finance
    last saved it (one row, or none yet: 0 days, off). See ``perks.referrals.attribution``."""

    __tablename__ = "returning_customer_settings"
    __table_args__ = (
        CheckConstraint(f"id = {RETURNING_ROW_ID}", name="one_row"),
        CheckConstraint(f"window_days >= 0 AND window_days <= {MAX_RETURNING_DAYS}", name="days"),
        CheckConstraint("rate_bps IS NULL OR (rate_bps >= 0 AND rate_bps <= 10000)", name="rate"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: 0: off (the last click wins, always)
    window_days: Mapped[int] = mapped_column(Integer, default=0)
    #: a returning customer's order lines earn this percentage (basis points) instead of the
    #: rule's terms; None: the rule's own terms (tiers included)
    rate_bps: Mapped[int | None] = mapped_column(Integer)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
