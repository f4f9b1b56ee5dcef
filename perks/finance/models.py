"""Payout batches: which ledger entries a payout pays, netted per person and currency.

A ``PayoutBatch`` is drafted by one finance person for a cut-off day, approved by another
(the database refuses the same person twice), then marked paid with the payment's reference,
which writes one ``payout`` ledger entry per included line. A ``PayoutLine`` is one person's
net in one currency: included (positive, paid with the batch), excluded by finance (with a
reason; its entries wait for the next batch) or carried forward (a net of zero or less, not
paid). A paid line records its gross (``amount``), the taxable part and the tax withheld
(``perks.commissions.tax``): the person receives gross − withheld. A ``PayoutItem`` ties
one ledger entry to its line; ``claimed_entry_id`` is the entry's id while the batch holds
it (an included line of a batch that is not cancelled) and NULL otherwise, and it is
unique: no entry can be held by two batches, whatever runs at once.
"""

from __future__ import annotations

import enum
import secrets
from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from perks import glossary
from perks.db import Base, TimestampMixin
from perks.i18n import LabelledEnum
from perks.money import money_column

if TYPE_CHECKING:
    from perks.people.models import User

#: no 0/O/1/I/L, as in order numbers: references are read aloud and typed into bank portals
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def _enum(cls: type[enum.Enum], length: int = 16) -> Enum:
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


def new_batch_reference(cutoff: date) -> str:
    """The reference payroll and the bank see ("PO-20261130-7Q3M"): the cut-off day and a
    random part, so it reveals no count and never repeats in practice (unique anyway)."""
    suffix = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(4))
    return f"PO-{cutoff:%Y%m%d}-{suffix}"


class BatchStatus(LabelledEnum):
    """draft → approved → paid; draft or approved → cancelled."""

    DRAFT = "draft", _l("Draft")
    APPROVED = "approved", _l("Approved")
    PAID = "paid", glossary.PAID.label  # paid out, as its commissions are (not an order)
    CANCELLED = "cancelled", _l("Cancelled")


class LineStatus(LabelledEnum):
    # paid with the batch
    INCLUDED = "included", _l("Included")
    # left out by finance, with a reason: waits for the next batch
    EXCLUDED = "excluded", _l("Excluded")
    # a net of zero or less: carried forward, nothing paid
    CARRIED = "carried", _l("Carried forward")


class PayoutBatch(TimestampMixin, Base):
    """One payout run: every released ledger entry up to a cut-off day, netted per person."""

    __tablename__ = "payout_batch"
    __table_args__ = (
        # Four eyes, in the database too: whoever drafted a batch cannot approve it.
        CheckConstraint(
            "approved_by_id IS NULL OR approved_by_id <> drafted_by_id", name="four_eyes"
        ),
        CheckConstraint(
            "(status = 'draft' AND approved_at IS NULL AND paid_at IS NULL)"
            " OR (status = 'approved' AND approved_at IS NOT NULL AND paid_at IS NULL)"
            " OR (status = 'paid' AND approved_at IS NOT NULL AND paid_at IS NOT NULL"
            " AND payment_reference <> '')"
            " OR (status = 'cancelled' AND cancelled_at IS NOT NULL AND paid_at IS NULL)",
            name="status",
        ),
        Index("ix_payout_batch_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: what payroll files and the bank transfer quote
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    #: the last day (company time zone) whose entries it pays
    cutoff_date: Mapped[date] = mapped_column(Date)
    #: the end of that day, as a moment: entries written at or before it
    cutoff_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[BatchStatus] = mapped_column(_enum(BatchStatus), default=BatchStatus.DRAFT)
    drafted_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: the bank transfer's or payroll run's reference, given when it is marked paid
    payment_reference: Mapped[str] = mapped_column(String(120), default="")
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    #: 1 when drafted, one more at each change of the batch (SQLAlchemy's ``version_id_col``),
    #: a line left out included (``perks.finance.payouts.exclude_line`` touches the batch), and
    #: a change to the tax profile of someone a draft pays (``payouts.payee_profile_changing``)
    #: or to what it shows of them (``payouts.payee_details_changed``):
    #: the approve form sends back the one its page showed, and an approval from an older one
    #: is refused (``perks.finance.payouts.approve_batch``), so the batch approved is the one
    #: the approver saw
    row_version: Mapped[int] = mapped_column(Integer)

    drafted_by: Mapped[User] = relationship(foreign_keys=[drafted_by_id], lazy="joined")
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id], lazy="joined")
    paid_by: Mapped[User | None] = relationship(foreign_keys=[paid_by_id], lazy="joined")
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])
    lines: Mapped[list[PayoutLine]] = relationship(
        back_populates="batch", order_by="PayoutLine.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012 (SQLAlchemy reads it once)

    @property
    def is_open(self) -> bool:
        """Still holding its entries and not paid: it may be cancelled."""
        return self.status in (BatchStatus.DRAFT, BatchStatus.APPROVED)


class PayoutLine(Base):
    """One person's net in one currency in a batch."""

    __tablename__ = "payout_line"
    __table_args__ = (
        UniqueConstraint("batch_id", "user_id", "currency"),
        CheckConstraint(
            "(status = 'included' AND amount > 0)"
            " OR (status = 'excluded' AND amount > 0 AND exclusion_reason <> '')"
            " OR (status = 'carried' AND amount <= 0)",
            name="status_amount",
        ),
        CheckConstraint(
            "withheld_amount >= 0 AND (withheld_amount = 0 OR withheld_amount < amount)",
            name="withheld",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("payout_batch.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    #: the net of its entries, minor units (positive unless carried forward)
    amount: Mapped[int] = mapped_column(BigInteger)
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[LineStatus] = mapped_column(_enum(LineStatus), default=LineStatus.INCLUDED)
    exclusion_reason: Mapped[str] = mapped_column(Text, default="")
    excluded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    excluded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: the ``payout`` ledger entry written when the batch was paid
    payout_entry_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("ledger_entry.id"), unique=True
    )

    #: set when the batch is paid (``perks.commissions.tax``): how the payment was taxed
    #: ("salary", "withheld", ...; "" until paid), the taxable part and the tax withheld
    tax_treatment: Mapped[str] = mapped_column(String(16), default="")
    taxable_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    withheld_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    #: the rate row applied (withheld or below its threshold)
    withholding_rate_id: Mapped[int | None] = mapped_column(ForeignKey("withholding_rate.id"))
    #: set when the batch is paid: who paid the line, "payroll" (with the wages) or "bank" (by
    #: transfer), as the payee's tax profile said then (``perks.commissions.tax.is_on_payroll``);
    #: a paid batch's files keep each line where it was paid. "" until paid, and for lines
    #: paid before it was kept whose payment does not tell (the payee as they are now decides)
    paid_by: Mapped[str] = mapped_column(String(8), default="")

    batch: Mapped[PayoutBatch] = relationship(back_populates="lines")
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    excluded_by: Mapped[User | None] = relationship(foreign_keys=[excluded_by_id])

    #: the net of its entries: the gross payment
    net = money_column("amount")
    gross = money_column("amount")
    taxable = money_column("taxable_amount")
    withheld = money_column("withheld_amount")

    @property
    def paid_amount(self) -> int:
        """What reaches the person: the gross less the tax withheld."""
        return self.amount - self.withheld_amount

    take_home = money_column("paid_amount")


class PayoutItem(Base):
    """One ledger entry counted in a payout line."""

    __tablename__ = "payout_item"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("payout_batch.id", ondelete="CASCADE"), index=True
    )
    line_id: Mapped[int] = mapped_column(
        ForeignKey("payout_line.id", ondelete="CASCADE"), index=True
    )
    ledger_entry_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("ledger_entry.id"), index=True
    )
    #: the entry's id while this batch holds it; NULL once released (cancelled, excluded or
    #: carried forward). Unique: an entry is held by one batch at most.
    claimed_entry_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("ledger_entry.id"), unique=True
    )
