"""Vietnamese personal income tax (thuế TNCN) as data: each person's tax profile and the
dated withholding rates finance keeps.

A ``TaxProfile`` says what the law needs to know about a person paid commissions: their tax
code (mã số thuế), whether they are resident, whether they hold a labour contract of three
months or more (then commissions are salary income: payroll taxes them, nothing is withheld
here), the year whose commitment form (mẫu 08/CK-TNCN) is on file, and, for payees outside
payroll, the bank account a transfer goes to. Only finance reads and writes profiles; a person
sees their own.

A ``WithholdingRate`` is one dated row: from ``effective_from`` on, payments in ``currency``
to residents (or non-residents) of ``threshold_amount`` or more are withheld ``rate_bps``.
Rows are only added; the row in force on a payment day is the latest one starting on or
before it. The migration seeds Circular 111/2013's rates.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from perks.db import Base, TimestampMixin, utcnow
from perks.money import money_column

if TYPE_CHECKING:
    from perks.people.models import User


class TaxProfile(TimestampMixin, Base):
    """What withholding and the payroll and bank files need to know about one person."""

    __tablename__ = "tax_profile"
    __table_args__ = (
        CheckConstraint(
            "commitment_year IS NULL OR (commitment_year >= 2000 AND commitment_year <= 2200)",
            name="commitment_year",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    #: mã số thuế: 10 digits, or 13 written "0123456789-001"; "" while unknown
    tax_code: Mapped[str] = mapped_column(String(14), default="")
    #: resident in Vietnam for tax (183 days or more in the year, or a home here)
    resident: Mapped[bool] = mapped_column(Boolean, default=True)
    #: holds a labour contract of three months or more: commissions are salary income
    long_contract: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the year whose commitment form (mẫu 08/CK-TNCN) is on file, if any
    commitment_year: Mapped[int | None] = mapped_column(Integer)
    #: for payees outside payroll: where the bank transfer goes
    bank_account_number: Mapped[str] = mapped_column(String(34), default="")
    bank_name: Mapped[str] = mapped_column(String(120), default="")
    account_holder: Mapped[str] = mapped_column(String(120), default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: 1 when written, one more at each change (SQLAlchemy's ``version_id_col``): the form
    #: sends back the version it showed, and a save from an older one is refused
    #: (``perks.commissions.tax.save_tax_profile``), so two finance people editing the same
    #: profile cannot overwrite each other unseen
    version: Mapped[int] = mapped_column(Integer)

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy reads it once)

    def commitment_on_file(self, year: int) -> bool:
        """The commitment form of ``year`` is on file and counts: whoever signs it must have
        a tax code (Circular 111/2013, art. 25 §1.i), so without one it does not."""
        return self.commitment_year == year and bool(self.tax_code)


class WithholdingRate(Base):
    """A withholding rate in force from a day on, for residents or non-residents."""

    __tablename__ = "withholding_rate"
    __table_args__ = (
        UniqueConstraint("effective_from", "resident", "currency"),
        CheckConstraint("rate_bps >= 0 AND rate_bps < 10000", name="rate"),
        CheckConstraint("threshold_amount >= 0", name="threshold"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: first day (company time zone) a payment is withheld at this rate
    effective_from: Mapped[date] = mapped_column(Date)
    resident: Mapped[bool] = mapped_column(Boolean)
    #: basis points of the payment (1000 = 10 %); under 100 % so something is always paid
    rate_bps: Mapped[int] = mapped_column(Integer)
    #: a payment of at least this much (minor units) is withheld; 0: every payment
    threshold_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="VND")
    #: where it comes from ("Circular 111/2013, art. 25")
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    threshold = money_column("threshold_amount")
