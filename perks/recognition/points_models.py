"""Kudos and points: the company's values, kudos between colleagues and the append-only
points ledger (``perks.recognition.points`` writes it; nothing else does).

Two accounts per person, both sums of ledger entries:

* the **allowance**: points to give, credited once per (person, month) (``allowance``),
  taken by the kudos given (``given``) and, what is left when the month ends, by one
  ``expired`` entry per (person, month). Every allowance entry names its month;
* the **received** points: kudos received (``received``) and gifts of points (``gift``),
  spent on rewards (``reward``). They never expire.

Entries are added, never changed or deleted: an ORM guard below refuses it, and
tests/unit/recognition/test_points_ledger.py scans the source for attempts.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from perks.db import Base, BilingualMixin, TimestampMixin, refuse_changes, utcnow
from perks.i18n import LabelledEnum

if TYPE_CHECKING:
    from perks.people.models import User

#: the longest message a kudos may carry
MAX_KUDOS_MESSAGE = 280


class PointsAccount(LabelledEnum):
    ALLOWANCE = "allowance", _l("Allowance to give")
    RECEIVED = "received", _l("Points received")


class PointsEntryKind(LabelledEnum):
    """What moved points; the sign and the account follow from it (checked by the database)."""

    ALLOWANCE = "allowance", _l("Monthly allowance")  # allowance +, once per (person, month)
    GIVEN = "given", _l("Kudos given")  # allowance −, a kudos
    EXPIRED = "expired", _l("Unspent allowance expired")  # allowance −, once per month
    RECEIVED = "received", _l("Kudos received")  # received +, a kudos
    GIFT = "gift", _l("Gift of points")  # received +, a gift of a programme
    REWARD = "reward", _l("Reward")  # received −, a claim of a perk priced in points
    AWARD = "award", _l("Award")  # received +, an approved nomination

    @property
    def account(self) -> PointsAccount:
        if self in (PointsEntryKind.ALLOWANCE, PointsEntryKind.GIVEN, PointsEntryKind.EXPIRED):
            return PointsAccount.ALLOWANCE
        return PointsAccount.RECEIVED


ALLOWANCE_KINDS = tuple(k for k in PointsEntryKind if k.account is PointsAccount.ALLOWANCE)
RECEIVED_KINDS = tuple(k for k in PointsEntryKind if k.account is PointsAccount.RECEIVED)


class CompanyValue(BilingualMixin, TimestampMixin, Base):
    """One of the company's values (``Tận tâm`` / ``Care``) a kudos names. HR adds and
    renames them; one no longer used is deactivated, never deleted (kudos point at it)."""

    __tablename__ = "company_value"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name_vi: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def name(self) -> str:
        return self.localized("name")


class Kudos(Base):
    """Points a colleague gave another from their monthly allowance, with a message."""

    __tablename__ = "kudos"
    __table_args__ = (
        CheckConstraint("giver_id <> recipient_id", name="not_to_oneself"),
        CheckConstraint("points > 0", name="points"),
        Index("ix_kudos_giver_id_month", "giver_id", "month"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    giver_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    value_id: Mapped[int] = mapped_column(ForeignKey("company_value.id"))
    points: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(String(MAX_KUDOS_MESSAGE))
    #: the month of the allowance it came from, "2026-12" (company time zone)
    month: Mapped[str] = mapped_column(String(7))
    given_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    giver: Mapped[User] = relationship(foreign_keys=[giver_id], lazy="joined")
    recipient: Mapped[User] = relationship(foreign_keys=[recipient_id], lazy="joined")
    value: Mapped[CompanyValue] = relationship(lazy="joined")


def _kind_enum() -> Enum:
    return Enum(
        PointsEntryKind,
        native_enum=False,
        length=12,
        values_callable=lambda e: [m.value for m in e],
    )


class PointsEntry(Base):
    """One movement of points for one person. Rows are only ever added."""

    __tablename__ = "points_entry"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'allowance' AND points > 0 AND month IS NOT NULL)"
            " OR (kind = 'given' AND points < 0 AND month IS NOT NULL AND kudos_id IS NOT NULL)"
            " OR (kind = 'expired' AND points < 0 AND month IS NOT NULL)"
            " OR (kind = 'received' AND points > 0 AND month IS NULL AND kudos_id IS NOT NULL)"
            " OR (kind = 'gift' AND points > 0 AND month IS NULL AND gift_id IS NOT NULL)"
            " OR (kind = 'reward' AND points < 0 AND month IS NULL AND claim_id IS NOT NULL)"
            " OR (kind = 'award' AND points > 0 AND month IS NULL AND nomination_id IS NOT NULL)",
            name="kind_sign",
        ),
        # the allowance is credited, and what is left of it expires, once per person and month
        Index(
            "uq_points_entry_user_id_kind_month",
            "user_id",
            "kind",
            "month",
            unique=True,
            postgresql_where=text("kind IN ('allowance', 'expired')"),
            sqlite_where=text("kind IN ('allowance', 'expired')"),
        ),
        Index("ix_points_entry_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[PointsEntryKind] = mapped_column(_kind_enum())
    #: signed: + into the account, − out of it
    points: Mapped[int] = mapped_column(Integer)
    #: the allowance's month ("2026-12") for allowance entries, else None
    month: Mapped[str | None] = mapped_column(String(7))
    kudos_id: Mapped[int | None] = mapped_column(ForeignKey("kudos.id"), index=True)
    gift_id: Mapped[int | None] = mapped_column(ForeignKey("gift.id"), unique=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id"), unique=True)
    nomination_id: Mapped[int | None] = mapped_column(ForeignKey("nomination.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: a machine code for automatic entries; free words for the rest
    reason: Mapped[str] = mapped_column(Text, default="")

    kudos: Mapped[Kudos | None] = relationship(lazy="select")

    @property
    def account(self) -> PointsAccount:
        return self.kind.account


class PointsLedgerIsAppendOnly(RuntimeError):
    """Code tried to change or delete a points entry: a bug, never user input."""


# An ORM guard: entries are only ever added.
refuse_changes(PointsEntry, PointsLedgerIsAppendOnly, noun="points entry", plural="points entries")
