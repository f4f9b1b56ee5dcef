"""Commission rules, commissions and the append-only ledger of what employees earn.

A ``CommissionRule`` says how much an order line earns; a ``Commission`` is one attributed
order line with the rule it got (snapshotted, so every figure explains itself) and its state;
``LedgerEntry`` rows are the money: ``earn`` (+), ``reversal`` (−), ``adjustment`` (±),
``payout`` (−) and ``withholding`` (−, the tax withheld from a payout). Entries are only
ever added (an ORM guard below refuses updates and deletes); a balance is a sum of entries.
The commission row keeps running totals of its own entries (``earned_amount``,
``reversed_amount``) that ``flask perks verify-ledger`` checks against the entries.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from perks import glossary
from perks.db import Base, TimestampMixin, refuse_changes, utcnow
from perks.folding import alphabetical
from perks.i18n import LabelledEnum
from perks.money import Money, money_column, optional_money_column
from perks.people.models import EmploymentType, User

if TYPE_CHECKING:
    from perks.people.models import Department
    from perks.shop.models import Order, OrderLine, Product, ProductCategory


def _enum(cls: type[enum.Enum], length: int = 16) -> Enum:
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


# --- rules -----------------------------------------------------------------------------------


class RuleScope(LabelledEnum):
    """What a rule applies to; the most specific matching rule wins (product > category >
    default)."""

    DEFAULT = "default", _l("Every product")
    CATEGORY = "category", _l("A category")
    PRODUCT = "product", _l("A product")

    @property
    def specificity(self) -> int:
        return {RuleScope.DEFAULT: 0, RuleScope.CATEGORY: 1, RuleScope.PRODUCT: 2}[self]


class RuleAudience(LabelledEnum):
    """Whose sales a rule applies to; after the product/category, the most specific audience
    wins (a named group > a department > an employment type > everyone)."""

    EVERYONE = "everyone", _l("Everyone")
    EMPLOYMENT_TYPE = "employment_type", _l("An employment type")
    DEPARTMENT = "department", _l("A department")
    GROUP = "group", _l("A named group")

    @property
    def specificity(self) -> int:
        return {
            RuleAudience.EVERYONE: 0,
            RuleAudience.EMPLOYMENT_TYPE: 1,
            RuleAudience.DEPARTMENT: 2,
            RuleAudience.GROUP: 3,
        }[self]


class TierMeasure(LabelledEnum):
    """What a tiered rule counts of a person's redeemed sales in a calendar month."""

    COUNT = "count", _l("Number of order lines sold")
    AMOUNT = "amount", _l("Amount sold")


#: the people of each named group (``CommissionGroup.members``)
commission_group_member = Table(
    "commission_group_member",
    Base.metadata,
    Column(
        "group_id",
        ForeignKey("commission_group.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class CommissionGroup(TimestampMixin, Base):
    """A named group of people a commission rule may target ("Tour partners in Đà Nẵng"),
    kept by finance on its own page (every change audited)."""

    __tablename__ = "commission_group"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    note: Mapped[str] = mapped_column(String(200), default="")

    members: Mapped[list[User]] = relationship(
        secondary=commission_group_member,
        order_by=lambda: (*alphabetical(User.name), User.id),
    )


class RuleKind(LabelledEnum):
    PERCENT = "percent", _l("Percentage of the line total")  # basis points of the line total
    FLAT = "flat", _l("Fixed amount per unit")  # a fixed amount per unit bought


class CommissionRule(TimestampMixin, Base):
    """How much an order line earns its referrer, from a day to a day (company time zone).

    Once a commission used a rule, its terms never change: a change is a new row (``version``
    + 1, ``supersedes_id`` the old one) starting on a later day, and the old row ends the day
    before. A rule with a ``currency`` (flat amounts and caps need one) only applies to orders
    in that currency; a percentage without a cap applies to any currency.
    """

    __tablename__ = "commission_rule"
    __table_args__ = (
        CheckConstraint(
            "(scope = 'default' AND category_id IS NULL AND product_id IS NULL)"
            " OR (scope = 'category' AND category_id IS NOT NULL AND product_id IS NULL)"
            " OR (scope = 'product' AND product_id IS NOT NULL AND category_id IS NULL)",
            name="scope",
        ),
        CheckConstraint(
            "(kind = 'percent' AND rate_bps IS NOT NULL AND rate_bps >= 0"
            " AND rate_bps <= 10000 AND flat_amount IS NULL)"
            " OR (kind = 'flat' AND flat_amount IS NOT NULL AND flat_amount >= 0"
            " AND rate_bps IS NULL AND currency IS NOT NULL)",
            name="kind",
        ),
        CheckConstraint(
            "cap_amount IS NULL OR (cap_amount >= 0 AND currency IS NOT NULL)", name="cap"
        ),
        CheckConstraint("effective_to IS NULL OR effective_to >= effective_from", name="effective"),
        CheckConstraint("version >= 1", name="version"),
        CheckConstraint(
            "(audience = 'everyone' AND employment_type IS NULL AND department_id IS NULL"
            " AND group_id IS NULL)"
            " OR (audience = 'employment_type' AND employment_type IS NOT NULL"
            " AND department_id IS NULL AND group_id IS NULL)"
            " OR (audience = 'department' AND department_id IS NOT NULL"
            " AND employment_type IS NULL AND group_id IS NULL)"
            " OR (audience = 'group' AND group_id IS NOT NULL AND employment_type IS NULL"
            " AND department_id IS NULL)",
            name="audience",
        ),
        Index("ix_commission_rule_scope_from", "scope", "effective_from"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[RuleScope] = mapped_column(_enum(RuleScope))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("product_category.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"), index=True)
    kind: Mapped[RuleKind] = mapped_column(_enum(RuleKind))
    #: for percentages: basis points of the line total (250 = 2.5 %)
    rate_bps: Mapped[int | None] = mapped_column(Integer)
    #: for flat rules: minor units per unit bought
    flat_amount: Mapped[int | None] = mapped_column(BigInteger)
    #: at most this much per order line (minor units), if set
    cap_amount: Mapped[int | None] = mapped_column(BigInteger)
    #: the currency of ``flat_amount`` and ``cap_amount``; None: a percentage for any currency
    currency: Mapped[str | None] = mapped_column(String(3))
    #: first day it applies to orders paid on it (company time zone)
    effective_from: Mapped[date] = mapped_column(Date)
    #: last day it applies (inclusive); None: no end
    effective_to: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: the version this one replaced
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("commission_rule.id"))
    #: finance's own note ("summer campaign")
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: whose sales it applies to (with the one of the three below its audience names)
    audience: Mapped[RuleAudience] = mapped_column(
        _enum(RuleAudience), default=RuleAudience.EVERYONE, server_default="everyone"
    )
    employment_type: Mapped[EmploymentType | None] = mapped_column(_enum(EmploymentType))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("commission_group.id"), index=True)
    #: None: no tiers; else what the tiers' thresholds count (``CommissionTier``)
    tier_measure: Mapped[TierMeasure | None] = mapped_column(_enum(TierMeasure))
    #: 1 when written, one more at each change of this row (SQLAlchemy's ``version_id_col``;
    #: not the rule's ``version``, which counts the terms commissions used): the change form
    #: sends back the one it showed, and a save from an older one is refused
    #: (``perks.commissions.services.revise_rule``), so two finance people changing the same
    #: rule cannot overwrite each other unseen
    row_version: Mapped[int] = mapped_column(Integer)

    category: Mapped[ProductCategory | None] = relationship(lazy="joined")
    product: Mapped[Product | None] = relationship(lazy="joined")
    department: Mapped[Department | None] = relationship(lazy="joined")
    group: Mapped[CommissionGroup | None] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship()
    #: the tiers above the rule's own terms (its terms are the tier from 0), lowest first
    tiers: Mapped[list[CommissionTier]] = relationship(
        order_by="CommissionTier.threshold", lazy="selectin", cascade="all, delete-orphan"
    )

    flat = optional_money_column("flat_amount")
    cap = optional_money_column("cap_amount")

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012 (SQLAlchemy reads it once)

    def active_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )

    @property
    def target_name(self) -> str:
        """What the rule applies to, in the page's language."""
        if self.scope is RuleScope.PRODUCT and self.product is not None:
            return self.product.name
        if self.scope is RuleScope.CATEGORY and self.category is not None:
            return self.category.name
        return str(_l("Every product"))

    @property
    def audience_name(self) -> str:
        """Whose sales it applies to, in the page's language."""
        if self.audience is RuleAudience.EMPLOYMENT_TYPE and self.employment_type is not None:
            return str(self.employment_type.label)
        if self.audience is RuleAudience.DEPARTMENT and self.department is not None:
            return self.department.name
        if self.audience is RuleAudience.GROUP and self.group is not None:
            return self.group.name
        return str(_l("Everyone"))


class CommissionTier(Base):
    """One tier of a rule: from ``threshold`` (order lines, or minor units of the order's
    currency, sold in the calendar month: see ``perks.commissions.rules``), the rule pays this
    rate or amount instead of its own. Of the rule's kind: a percentage rule's tiers are
    percentages, a flat rule's flat amounts. Part of the rule's terms: a change is a new
    version of the rule."""

    __tablename__ = "commission_tier"
    __table_args__ = (
        UniqueConstraint("rule_id", "threshold"),
        CheckConstraint("threshold > 0", name="threshold"),
        CheckConstraint(
            "(rate_bps IS NOT NULL AND rate_bps >= 0 AND rate_bps <= 10000"
            " AND flat_amount IS NULL)"
            " OR (flat_amount IS NOT NULL AND flat_amount >= 0 AND rate_bps IS NULL)",
            name="terms",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("commission_rule.id", ondelete="CASCADE"))
    #: lines sold, or minor units sold (in the order's currency), from which the tier applies
    threshold: Mapped[int] = mapped_column(BigInteger)
    rate_bps: Mapped[int | None] = mapped_column(Integer)
    flat_amount: Mapped[int | None] = mapped_column(BigInteger)


# --- commissions -----------------------------------------------------------------------------


class CommissionState(LabelledEnum):
    """Where a commission stands; transitions live in ``perks.commissions.lifecycle``."""

    PENDING = "pending", glossary.PENDING.label  # the order is paid, not yet used
    EARNED = "earned", glossary.EARNED.label  # the order was used; the holding period runs
    PAYABLE = "payable", glossary.PAYABLE.label  # the holding period is over: in the next payout
    PAID = "paid", glossary.PAID.label  # its payout batch was paid
    VOIDED = (
        "voided",
        glossary.VOIDED.label,
    )  # refunded, cancelled or a lost dispute before it was paid
    ON_HOLD = "on_hold", glossary.ON_HOLD.label  # the customer disputed the payment


class VoidReason(enum.StrEnum):
    """Why a commission was voided (the page says it with ``voided_at``'s date)."""

    REFUNDED = "refunded"
    DISPUTE_LOST = "dispute_lost"
    CANCELLED = "cancelled"
    #: forfeited when its person left (the leaver policy), or earned through their link
    #: on or after their leaving date
    LEFT_COMPANY = "left_company"


class Commission(TimestampMixin, Base):
    """What one attributed order line earns the employee whose link brought the order.

    Amounts are minor units of ``currency`` (the order's). ``original_amount`` is the rule
    applied to ``base_amount`` when the order was paid; ``amount`` is what it is worth now
    (refunds reduce it). Once earned, ``earned_amount`` and ``reversed_amount`` are the sums of
    its ``earn`` and ``reversal`` ledger entries, and ``amount = earned − reversed``.
    """

    __tablename__ = "commission"
    __table_args__ = (
        CheckConstraint("base_amount >= 0", name="base"),
        CheckConstraint(
            "refunded_base_amount >= 0 AND refunded_base_amount <= base_amount",
            name="refunded_base",
        ),
        CheckConstraint("amount >= 0 AND amount <= original_amount", name="amount"),
        CheckConstraint(
            "earned_amount >= 0 AND reversed_amount >= 0 AND reversed_amount <= earned_amount",
            name="earned",
        ),
        CheckConstraint(
            "(state = 'on_hold' AND held_from_state IS NOT NULL)"
            " OR (state <> 'on_hold' AND held_from_state IS NULL)",
            name="held",
        ),
        CheckConstraint(
            "(state = 'voided' AND void_reason IS NOT NULL AND voided_at IS NOT NULL)"
            " OR (state <> 'voided' AND void_reason IS NULL)",
            name="voided",
        ),
        Index("ix_commission_user_id_state", "user_id", "state"),
        Index("ix_commission_state_payable_at", "state", "payable_at"),
        Index("ix_commission_created_at", "created_at"),
        # a person's commissions newest first (the earnings page), whatever the table's size
        Index("ix_commission_user_id_created_at", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: one commission per order line, whatever happens twice
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_order.id"), index=True)
    #: the employee who earns it (the link's owner)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    referral_link_id: Mapped[int] = mapped_column(ForeignKey("referral_link.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    #: the line total the customer paid: the base of the rule and of refund proration
    base_amount: Mapped[int] = mapped_column(BigInteger)
    #: the part of the base refunded so far (the order's refunds prorated over its lines)
    refunded_base_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    quantity: Mapped[int] = mapped_column(Integer, default=1)

    # The rule as it was applied (None: no rule matched; the commission is zero).
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("commission_rule.id"), index=True)
    rule_version: Mapped[int | None] = mapped_column(Integer)
    rule_kind: Mapped[RuleKind | None] = mapped_column(_enum(RuleKind))
    rate_bps: Mapped[int | None] = mapped_column(Integer)
    flat_amount: Mapped[int | None] = mapped_column(BigInteger)
    cap_amount: Mapped[int | None] = mapped_column(BigInteger)
    #: the tier it got (its threshold and measure) when it was redeemed; None: the rule's own
    tier_threshold: Mapped[int | None] = mapped_column(BigInteger)
    tier_measure: Mapped[TierMeasure | None] = mapped_column(_enum(TierMeasure))
    #: the customer was the person's returning customer (``perks.referrals.attribution``)
    returning_customer: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    #: the rule applied to the base, when the order was paid (for a tiered rule: its own
    #: terms until it is redeemed, then the tier it got)
    original_amount: Mapped[int] = mapped_column(BigInteger)
    #: what it is worth now: the original less what refunds took back
    amount: Mapped[int] = mapped_column(BigInteger)
    #: the sum of its ``earn`` entries (0 until earned)
    earned_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    #: minus the sum of its ``reversal`` entries (a positive number)
    reversed_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    #: the part of ``reversed_amount`` the payout that paid it netted (its batch held those
    #: reversals); the rest was taken back after it was paid, from a later payout. A
    #: reversal written after the batch was drafted is in the rest, whenever it was written
    paid_reversed_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    state: Mapped[CommissionState] = mapped_column(
        _enum(CommissionState), default=CommissionState.PENDING
    )
    earned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: earned_at + the holding period: ``flask perks tick`` makes it payable then
    payable_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    void_reason: Mapped[VoidReason | None] = mapped_column(_enum(VoidReason, 24))
    #: the state it was in when its order's payment was disputed (on_hold only)
    held_from_state: Mapped[CommissionState | None] = mapped_column(_enum(CommissionState))
    held_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    order: Mapped[Order] = relationship()
    order_line: Mapped[OrderLine] = relationship()
    product: Mapped[Product] = relationship()
    user: Mapped[User] = relationship()
    rule: Mapped[CommissionRule | None] = relationship()

    def money(self, amount: int) -> Money:
        return Money(amount, self.currency)

    base = money_column("base_amount")
    #: what it is worth now
    value = money_column("amount")
    original = money_column("original_amount")

    @property
    def is_reduced(self) -> bool:
        return self.amount < self.original_amount

    @property
    def taken_back_after_paid(self) -> int:
        """What its reversals took back that the payout that paid it did not net (minor
        units): deducted from a later payout. 0 until it is paid."""
        if self.paid_at is None:
            return 0
        return self.reversed_amount - self.paid_reversed_amount


# --- the ledger ------------------------------------------------------------------------------


class EntryKind(LabelledEnum):
    EARN = "earn", _l("Earned")  # + when the order was used
    REVERSAL = "reversal", _l("Reversed")  # − when it was refunded or a dispute lost
    ADJUSTMENT = "adjustment", _l("Adjustment")  # ± by finance, with a reason
    PAYOUT = "payout", _l("Paid out")  # − when a payout batch was paid
    # − personal income tax withheld from a payout (``perks.commissions.tax``)
    WITHHOLDING = "withholding", _l("Tax withheld")


#: the reasons the app itself writes on ledger entries (``lifecycle``), as people read them;
#: any other reason is finance's own words (an adjustment's), shown as written
SYSTEM_REASONS = {
    "redeemed": _l("order used"),
    "refund": _l("order refunded"),
    "dispute_lost": _l("dispute lost"),
    "left_company": _l("left the company"),
    "payout": _l("payout"),
    "withholding": _l("tax withheld"),
}


def reason_label(reason: str) -> str:
    """A ledger entry's reason in the reader's language: a system reason's label, a leaver's
    closed balance as its outcome's label and finance's words (:func:`closed_balance_reason`),
    any other reason as written. Raises nothing."""
    label = SYSTEM_REASONS.get(reason)
    if label is not None:
        return str(label)
    head, separator, words = reason.partition(CLOSED_BALANCE_SEPARATOR)
    outcome = _CLOSED_BALANCE_HEADS.get(head) if separator else None
    if outcome is None:
        return reason
    return f"{outcome.label}{CLOSED_BALANCE_SEPARATOR}{words}"


def closed_balance_reason(outcome: BalanceOutcome, reason: str) -> str:
    """The reason of the ``adjustment`` that closes a leaver's balance: the outcome's code,
    then finance's words (``write_off: too small to chase``), the same in every language;
    :func:`reason_label` shows the outcome in the reader's language. Raises nothing."""
    return f"{outcome.value}{CLOSED_BALANCE_SEPARATOR}{reason}"


class LedgerEntry(Base):
    """One movement of commission money for one person. Rows are only ever added.

    ``earn`` and ``reversal`` belong to a commission; ``payout`` entries belong to a person
    (one per payout line, carrying its ``payout_batch_id``); an ``adjustment`` may name a
    commission it is about. Signs are checked by the database.
    """

    __tablename__ = "ledger_entry"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'earn' AND amount > 0 AND commission_id IS NOT NULL)"
            " OR (kind = 'reversal' AND amount < 0 AND commission_id IS NOT NULL)"
            " OR (kind = 'adjustment' AND amount <> 0 AND reason <> '')"
            " OR (kind = 'payout' AND amount < 0 AND commission_id IS NULL)"
            " OR (kind = 'withholding' AND amount < 0 AND commission_id IS NULL"
            " AND payout_batch_id IS NOT NULL)",
            name="kind_sign",
        ),
        CheckConstraint(
            "payout_batch_id IS NULL OR kind IN ('payout', 'withholding')", name="payout_batch"
        ),
        Index("ix_ledger_entry_user_id_created_at", "user_id", "created_at"),
        Index("ix_ledger_entry_kind_created_at", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    commission_id: Mapped[int | None] = mapped_column(ForeignKey("commission.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[EntryKind] = mapped_column(_enum(EntryKind))
    #: signed, in minor units of ``currency``
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: a machine code for automatic entries ("redeemed", "refund", "dispute_lost"); finance's
    #: words for adjustments
    reason: Mapped[str] = mapped_column(Text, default="")
    #: who wrote it (None: the system, from a webhook or a redemption)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: the payout batch a ``payout`` entry pays (the finance capability's batches)
    payout_batch_id: Mapped[int | None] = mapped_column(Integer, index=True)

    commission: Mapped[Commission | None] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    money = money_column("amount")


class LedgerIsAppendOnly(RuntimeError):
    """Code tried to change or delete a ledger entry: a bug, never user input."""


# An ORM guard: entries are only ever added.
refuse_changes(LedgerEntry, LedgerIsAppendOnly, noun="ledger entry", plural="ledger entries")


# --- leavers -----------------------------------------------------------------------------------


class LeaverPolicy(LabelledEnum):
    """What happens to a leaver's commissions not yet payable on their leaving date."""

    VEST = "vest", _l("Vest: paid in the final settlement, whatever the holding period")
    FORFEIT = "forfeit", _l("Forfeit: voided, with the reason “left the company”")


#: the ``id`` of finance's one row of leaver settings
LEAVER_SETTINGS_ID = 1


class LeaverSettings(Base):
    """Finance's one row of leaver settings (``LEAVER_SETTINGS_ID``); no row means the
    defaults."""

    __tablename__ = "leaver_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy: Mapped[LeaverPolicy] = mapped_column(_enum(LeaverPolicy), default=LeaverPolicy.VEST)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


class LeaverSettlement(Base):
    """A leaver whose leaving date was applied: the policy then in force (kept for the
    commissions that mature later), when, and the final statement sent. One row per person:
    the row is the claim that makes the daily task apply a leaving date once (a new leaving
    date, after the person came back, writes over it)."""

    __tablename__ = "leaver_settlement"

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    leaving_date: Mapped[date] = mapped_column(Date)
    policy: Mapped[LeaverPolicy] = mapped_column(_enum(LeaverPolicy))
    settled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class BalanceOutcome(LabelledEnum):
    """What finance did with a leaver's negative balance."""

    DEDUCT = "deduct", _l("Deduct from the final salary")
    WRITE_OFF = "write_off", _l("Write off")


#: between a closed balance's outcome and finance's words in the entry's reason
CLOSED_BALANCE_SEPARATOR = ": "
#: what a closed balance's reason starts with: the outcome's code, or, on entries written
#: before the code was, its label in the language of the finance person who closed it, as
#: the catalogs then said it (kept here as written: a later wording must not lose them)
_CLOSED_BALANCE_HEADS = {
    **{outcome.value: outcome for outcome in BalanceOutcome},
    "Deduct from the final salary": BalanceOutcome.DEDUCT,
    "Khấu trừ vào lương kỳ cuối": BalanceOutcome.DEDUCT,
    "Write off": BalanceOutcome.WRITE_OFF,
    "Xóa nợ": BalanceOutcome.WRITE_OFF,
}


class LeaverBalanceDecision(Base):
    """Finance closed a leaver's negative balance: the ``adjustment`` entry that brought it
    to zero, and whether payroll deducts it from the final salary or it is written off."""

    __tablename__ = "leaver_balance_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    #: the balance closed (negative, minor units)
    amount: Mapped[int] = mapped_column(BigInteger)
    outcome: Mapped[BalanceOutcome] = mapped_column(_enum(BalanceOutcome))
    reason: Mapped[str] = mapped_column(Text)
    ledger_entry_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("ledger_entry.id"), unique=True
    )
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    decided_by: Mapped[User] = relationship(foreign_keys=[decided_by_id])

    money = money_column("amount")
