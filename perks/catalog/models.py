"""Perks, their code pools, claims, and fair draws."""

from __future__ import annotations

import enum
import secrets
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from perks.db import Base, BilingualMixin, TimestampMixin, utcnow
from perks.folding import alphabetical
from perks.i18n import LabelledEnum, company_zone
from perks.people.models import Department

if TYPE_CHECKING:
    from perks.people.models import User


def _enum(cls: type[enum.Enum], length: int = 24) -> Enum:
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class PerkKind(LabelledEnum):
    # a partner's code: unique from a pool, or one shared code
    DISCOUNT_CODE = "discount_code", _l("Discount code")
    # staff price on the company's own services
    INTERNAL_VOUCHER = "internal_voucher", _l("Staff voucher")
    EXPERIENCE = "experience", _l("Experience")  # limited seats, e.g. a resort trip
    GIFT = "gift", _l("Gift")  # granted by recognition, never claimed


class PerkCategory(LabelledEnum):
    TRAVEL = "travel", _l("Travel")
    FOOD_DRINK = "food_drink", _l("Food and drink")
    WELLNESS = "wellness", _l("Health and wellness")
    SHOPPING = "shopping", _l("Shopping")
    LEARNING = "learning", _l("Learning")
    ENTERTAINMENT = "entertainment", _l("Entertainment")
    SERVICES = "services", _l("Our services")
    OTHER = "other", _l("Other")


class PerkStatus(LabelledEnum):
    DRAFT = "draft", _l("Draft")
    PUBLISHED = "published", _l("Published")
    ARCHIVED = "archived", _l("Archived")


class LimitPeriod(LabelledEnum):
    EVER = "ever", _l("ever")
    YEAR = "year", _l("per calendar year")
    MONTH = "month", _l("per calendar month")


class Allocation(LabelledEnum):
    FIRST_COME = "first_come", _l("First come, first served")
    DRAW = "draw", _l("Fair draw")


class CodeMode(LabelledEnum):
    # one unique code per claim, from an imported list; stock = unused codes
    POOL = "pool", _l("Unique codes from a pool")
    SHARED = "shared", _l("One shared code")  # everyone gets the same code
    # the claim's own reference is the voucher number
    VOUCHER = "voucher", _l("A voucher number per claim")


class ClaimStatus(LabelledEnum):
    CLAIMED = "claimed", _l("Claimed")
    USED = "used", _l("Used")
    EXPIRED = "expired", _l("Expired")
    CANCELLED = "cancelled", _l("Cancelled")


class DrawStatus(LabelledEnum):
    # taking entries; the seed's hash is public, the seed is not
    OPEN = "open", _l("Open for entries")
    # entries frozen and their hash published; waiting for the public value (method 2)
    CLOSED = "closed", _l("Entries closed")
    DRAWN = "drawn", _l("Drawn")  # seed revealed, winners and waiting list fixed


class EntryOutcome(LabelledEnum):
    PENDING = "pending", _l("Entered")
    WON = "won", _l("Won")
    WAITING = "waiting", _l("Waiting list")
    DECLINED = "declined", _l("Declined")
    #: offered a seat, which its person could not take (``DrawEntry.passed_over`` says why):
    #: the seat went to the next entry in the order
    LAPSED = "lapsed", _l("Passed over")


class PassedOver(LabelledEnum):
    """Why an entry offered a seat did not take it (its outcome is ``lapsed``): the only
    reasons there are. Who may enter is settled when they enter, and a perk's audience and
    window stay as they are while a draw of it is under way."""

    LEFT = "left", _l("No longer with the company.")
    LIMIT = "limit", _l("Has as many of this perk as its limit allows.")
    NO_STOCK = "no_stock", _l("Sold out.")


# Claim references and voucher numbers: no 0/O/1/I/L, easy to read out at a counter.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


#: "PK" and a reference's 8 characters, without its dashes
REFERENCE_LENGTH = 10


def new_reference() -> str:
    """A claim reference such as ``PK-7HX4-M2QD`` (about 40 bits of randomness)."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"PK-{chars[:4]}-{chars[4:]}"


perk_department = Table(
    "perk_department",
    Base.metadata,
    Column("perk_id", ForeignKey("perk.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("department.id", ondelete="CASCADE"), primary_key=True),
)


class Perk(BilingualMixin, TimestampMixin, Base):
    """Something staff can claim (or win in a draw): a discount, a voucher, an experience."""

    __tablename__ = "perk"
    __table_args__ = (
        CheckConstraint("remaining_stock IS NULL OR remaining_stock >= 0", name="stock"),
        CheckConstraint("per_person_limit IS NULL OR per_person_limit >= 1", name="limit"),
        CheckConstraint("min_tenure_days >= 0", name="tenure"),
        CheckConstraint("points_price IS NULL OR points_price > 0", name="points_price"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title_vi: Mapped[str] = mapped_column(String(160))
    title_en: Mapped[str] = mapped_column(String(160))
    description_vi: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    #: the partner or vendor offering it ("" for the company's own services)
    partner_name: Mapped[str] = mapped_column(String(120), default="")
    category: Mapped[PerkCategory] = mapped_column(_enum(PerkCategory), default=PerkCategory.OTHER)
    kind: Mapped[PerkKind] = mapped_column(_enum(PerkKind), default=PerkKind.DISCOUNT_CODE)
    #: what staff see as the value, e.g. "Giảm 20%" / "20% off"
    value_vi: Mapped[str] = mapped_column(String(120), default="")
    value_en: Mapped[str] = mapped_column(String(120), default="")
    terms_vi: Mapped[str] = mapped_column(Text, default="")
    terms_en: Mapped[str] = mapped_column(Text, default="")
    #: the name of its image in ``perks.images`` (the database); served by the app
    image_filename: Mapped[str | None] = mapped_column(String(80))
    #: the active window, inclusive, in the company's time zone; claims expire after it
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[PerkStatus] = mapped_column(_enum(PerkStatus), default=PerkStatus.DRAFT)
    code_mode: Mapped[CodeMode] = mapped_column(_enum(CodeMode), default=CodeMode.VOUCHER)
    shared_code: Mapped[str] = mapped_column(String(64), default="")
    #: total seats/vouchers; None is unlimited (pool perks count unused codes instead)
    total_stock: Mapped[int | None] = mapped_column(Integer)
    #: decremented by a conditional UPDATE at each claim, so it can never go below zero
    remaining_stock: Mapped[int | None] = mapped_column(Integer)
    #: None means no limit (no column default: a default would turn None into a number)
    per_person_limit: Mapped[int | None] = mapped_column(Integer)
    limit_period: Mapped[LimitPeriod] = mapped_column(_enum(LimitPeriod), default=LimitPeriod.EVER)
    allocation: Mapped[Allocation] = mapped_column(_enum(Allocation), default=Allocation.FIRST_COME)
    #: eligibility: empty lists mean everyone
    locations: Mapped[list[str]] = mapped_column(JSON, default=list)
    employment_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_tenure_days: Mapped[int] = mapped_column(Integer, default=0)
    #: a reward: the points it costs (``perks.recognition.points.spend_points``); None: not
    #: for points
    points_price: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    departments: Mapped[list[Department]] = relationship(
        secondary=perk_department,
        lazy="selectin",
        order_by=lambda: (*alphabetical(Department.name), Department.id),
    )

    @property
    def title(self) -> str:
        return self.localized("title")

    @property
    def description(self) -> str:
        return self.localized("description")

    @property
    def value(self) -> str:
        return self.localized("value")

    @property
    def terms(self) -> str:
        return self.localized("terms")

    def __repr__(self) -> str:
        return f"<Perk {self.id} {self.title_en or self.title_vi}>"


class PerkCode(Base):
    """One unique code of a pooled perk; handed to at most one claim."""

    __tablename__ = "perk_code"
    __table_args__ = (UniqueConstraint("perk_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    perk_id: Mapped[int] = mapped_column(ForeignKey("perk.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    #: set once, when the code is handed out
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id"), unique=True)


class Claim(TimestampMixin, Base):
    """A perk claimed by (or won by) one person, with the code they show at the counter."""

    __tablename__ = "claim"
    __table_args__ = (
        # At most `per_person_limit` live claims per person per period: each takes a slot.
        UniqueConstraint("perk_id", "user_id", "period_key", "slot"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    perk_id: Mapped[int] = mapped_column(ForeignKey("perk.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    #: unique, unguessable; what the QR code carries and redeemers type
    reference: Mapped[str] = mapped_column(String(16), unique=True, default=new_reference)
    #: the code to show or type at the partner (pool code, shared code or the reference)
    code: Mapped[str] = mapped_column(String(64))
    status: Mapped[ClaimStatus] = mapped_column(_enum(ClaimStatus), default=ClaimStatus.CLAIMED)
    #: "ever", "2026" or "2026-11": the limit period the claim counts in
    period_key: Mapped[str] = mapped_column(String(8))
    #: 1..limit while the claim counts; NULL once cancelled, freeing the slot
    slot: Mapped[int | None] = mapped_column(Integer)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: the last day the claim can be used (the perk's end), if any
    expires_on: Mapped[date | None] = mapped_column(Date)
    #: the day its holder was told that its last day is near (``claims.remind_expiring_claims``)
    reminded_on: Mapped[date | None] = mapped_column(Date)
    #: "draw" when won in a draw, "gift" when given, "points" when bought with points, else
    #: "claim"
    source: Mapped[str] = mapped_column(String(8), default="claim")

    perk: Mapped[Perk] = relationship(lazy="joined")
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="select")
    used_by: Mapped[User | None] = relationship(foreign_keys=[used_by_id], lazy="select")


class Draw(TimestampMixin, Base):
    """A fair draw for a scarce perk: commit to a seed, take entries, reveal, pick."""

    __tablename__ = "draw"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: a recurring perk (a quarterly resort trip) has one draw per round
    perk_id: Mapped[int] = mapped_column(ForeignKey("perk.id", ondelete="CASCADE"), index=True)
    seats: Mapped[int] = mapped_column(Integer)
    entries_close_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: winners must accept or decline within this many days of the draw
    decline_days: Mapped[int] = mapped_column(Integer, default=7)
    #: entries who won this perk in the last N draws go after everyone else (0: off)
    recent_winner_draws: Mapped[int] = mapped_column(Integer, default=0)
    show_names: Mapped[bool] = mapped_column(Boolean, default=False)
    #: SHA-256 (hex) of the seed, published when entries open
    commitment: Mapped[str] = mapped_column(String(64))
    #: secret until the draw; never shown or exported before status is DRAWN
    seed: Mapped[str] = mapped_column(String(64))
    status: Mapped[DrawStatus] = mapped_column(_enum(DrawStatus), default=DrawStatus.OPEN)
    drawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: entry keys in draw order, recorded when drawn
    result: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: how the order is computed (perks.catalog.draws): 1, the seed and random entry keys
    #: (draws opened before entries were frozen); 2, the seed, the frozen entries' hash and a
    #: public value of a later date
    method: Mapped[int] = mapped_column(Integer, default=2)
    #: method 2: where the public value comes from (a named lottery result) and its date,
    #: both published when entries open; the date is after the day entries close
    public_value_source: Mapped[str | None] = mapped_column(String(120))
    public_value_date: Mapped[date | None] = mapped_column(Date)
    #: method 2: the time of day (company time) the source publishes it, if the draw names
    #: one: the value cannot be typed in before (None: from the start of its day)
    public_value_time: Mapped[time | None] = mapped_column(Time)
    #: method 2: the value itself, typed in by HR once published, before the draw
    public_value: Mapped[str | None] = mapped_column(String(64))
    public_value_entered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: method 2: when entries were frozen, and SHA-256 of their sorted list (published then)
    entries_frozen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    entries_hash: Mapped[str | None] = mapped_column(String(64))

    perk: Mapped[Perk] = relationship(lazy="joined")

    @property
    def public_value_published_at(self) -> datetime | None:
        """Method 2: when the public value is published, as the draw names it (the start of
        its day when it names no time); None on method 1 draws."""
        if self.public_value_date is None:
            return None
        return datetime.combine(
            self.public_value_date, self.public_value_time or time.min, tzinfo=company_zone()
        )

    @property
    def waits_for_public_value(self) -> bool:
        """Entries are frozen and the draw cannot be made until HR enters the public value."""
        return self.status is DrawStatus.CLOSED and self.public_value is None

    @property
    def shown_status(self) -> DrawStatus:
        """The status pages show: closed as soon as the entries' closing time has passed
        (entries are refused from then on), before the scheduled run freezes them."""
        close = self.entries_close_at
        if close.tzinfo is None:  # SQLite returns naive datetimes; every stored time is UTC
            close = close.replace(tzinfo=UTC)
        if self.status is DrawStatus.OPEN and utcnow() >= close:
            return DrawStatus.CLOSED
        return self.status


class DrawEntry(Base):
    """One person's entry in a draw."""

    __tablename__ = "draw_entry"
    __table_args__ = (
        UniqueConstraint("draw_id", "user_id"),
        UniqueConstraint("draw_id", "number"),
        UniqueConstraint("draw_id", "key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draw.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    #: public. Method 2: made from the draw's commitment and the entry's number, so the
    #: server cannot choose it; method 1: random. Unique within its draw (an older draw's
    #: entry with the same ten characters would otherwise stop every later entry of this one)
    key: Mapped[str] = mapped_column(String(16))
    #: method 2: 1 for the first entry, 2 for the next... (no gaps); None on method 1 draws
    number: Mapped[int | None] = mapped_column(Integer)
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: True if the person won this perk in one of the last ``recent_winner_draws`` draws
    deprioritised: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[EntryOutcome] = mapped_column(_enum(EntryOutcome), default=EntryOutcome.PENDING)
    #: 1-based place in the draw order (winners first), set at the draw
    position: Mapped[int | None] = mapped_column(Integer)
    decide_by: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id"))
    #: why a ``lapsed`` entry was passed over (None on entries passed over before it was kept)
    passed_over: Mapped[PassedOver | None] = mapped_column(_enum(PassedOver, 16))

    user: Mapped[User] = relationship(lazy="joined")
