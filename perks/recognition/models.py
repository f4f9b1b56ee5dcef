"""The company's occasions and its recognition settings (``perks.recognition.services``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from perks.db import Base, BilingualMixin, TimestampMixin
from perks.folding import alphabetical
from perks.i18n import LabelledEnum
from perks.money import money_column, optional_money_column
from perks.people.models import Department, Gender

if TYPE_CHECKING:
    from perks.catalog.models import Claim, Perk
    from perks.people.models import User

#: the id of the settings' one row
SETTINGS_ROW_ID = 1


class GiftsStoppedBy(LabelledEnum):
    """Why a programme's gifts due were not given (``gifts._tell_hr_of_stopped``)."""

    BUDGET = "budget", _l("the programme's budget is spent")
    STOCK = "stock", _l("its gift perk has no codes or stock left")
    PERK = "perk", _l("its gift perk has ended or is no longer published")


class OccasionKind(LabelledEnum):
    """How an occasion's date is found each year."""

    #: the same day of the solar year (8/3, 2/9, a custom day)
    SOLAR = "solar", _l("Solar date")
    #: the same day of the lunar year (Tết 1/1, Giỗ Tổ 10/3, Trung thu 15/8)
    LUNAR = "lunar", _l("Lunar date")
    #: the company's founding day (``RecognitionSettings.founded_on``)
    FOUNDING_DAY = "founding_day", _l("Founding day")
    #: each person's birthday
    BIRTHDAY = "birthday", _l("Birthday")
    #: each person's hire date, in the years HR chose as milestones
    WORK_ANNIVERSARY = "work_anniversary", _l("Work anniversary")

    @property
    def has_day(self) -> bool:
        """Whether the occasion stores its own month and day."""
        return self in (OccasionKind.SOLAR, OccasionKind.LUNAR)

    @property
    def personal(self) -> bool:
        return self in (OccasionKind.BIRTHDAY, OccasionKind.WORK_ANNIVERSARY)


class Occasion(BilingualMixin, TimestampMixin, Base):
    """A day the company celebrates every year.

    The Vietnamese calendar's occasions have a ``key`` (``tet``, ``womens_day``,
    ``birthday``...) by which gift programmes find them; HR's own have none and only they
    may be renamed or moved. Any occasion may be deactivated, none deleted (programmes and
    gifts will point at them).
    """

    __tablename__ = "occasion"
    __table_args__ = (
        CheckConstraint(
            "(kind IN ('solar', 'lunar')) = (month IS NOT NULL AND day IS NOT NULL)",
            name="day_for_dated_kinds",
        ),
        CheckConstraint("month IS NULL OR month BETWEEN 1 AND 12", name="month"),
        CheckConstraint("day IS NULL OR day BETWEEN 1 AND 31", name="day"),
        CheckConstraint("kind <> 'lunar' OR day <= 30", name="lunar_day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the built-in occasion's name in code (``perks.recognition.calendar``), None for HR's own
    key: Mapped[str | None] = mapped_column(String(40), unique=True)
    kind: Mapped[OccasionKind] = mapped_column(
        Enum(
            OccasionKind,
            native_enum=False,
            length=24,
            values_callable=lambda e: [m.value for m in e],
        )
    )
    name_vi: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    #: solar or lunar month and day, for those two kinds
    month: Mapped[int | None] = mapped_column(SmallInteger)
    day: Mapped[int | None] = mapped_column(SmallInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def builtin(self) -> bool:
        return self.key is not None


class RecognitionSettings(TimestampMixin, Base):
    """What HR sets once for the company's occasions. One row, or none yet (then
    ``perks.recognition.services.DEFAULT_MILESTONES`` and no founding day)."""

    __tablename__ = "recognition_settings"
    __table_args__ = (
        CheckConstraint(f"id = {SETTINGS_ROW_ID}", name="one_row"),
        CheckConstraint("monthly_allowance >= 0", name="monthly_allowance"),
        CheckConstraint("pair_monthly_limit >= 1", name="pair_monthly_limit"),
        CheckConstraint("point_value_amount >= 0", name="point_value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: the company's founding day (its year counts the company's anniversaries)
    founded_on: Mapped[date | None] = mapped_column(Date)
    #: the years of service celebrated as work anniversaries, ascending: [1, 3, 5, 10]
    anniversary_milestones: Mapped[list[int]] = mapped_column(JSON, default=list)
    #: the points everyone may give each month, unless a role of theirs gives more
    monthly_allowance: Mapped[int] = mapped_column(Integer, default=100)
    #: role value -> the points its holders may give each month (a person gets the most of
    #: their roles' and the company's)
    role_allowances: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    #: the most points one person may give one colleague in a month (stops trading in pairs)
    pair_monthly_limit: Mapped[int] = mapped_column(Integer, default=50)
    #: what one point is worth to the company in VND (a gift of points counts so against its
    #: programme's budget)
    point_value_amount: Mapped[int] = mapped_column(BigInteger, default=1_000)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


gift_programme_department = Table(
    "gift_programme_department",
    Base.metadata,
    Column("programme_id", ForeignKey("gift_programme.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("department.id", ondelete="CASCADE"), primary_key=True),
)


class GiftProgramme(BilingualMixin, TimestampMixin, Base):
    """A gift the company gives every year on an occasion to everyone in an audience.

    The audience follows the perk eligibility rules (``perks.catalog.eligibility``: empty
    lists mean everyone) and, when set, the attributes HR records (gender, children under
    15). The gift is a perk of kind gift; each one granted costs ``unit_cost``, and the
    gifts of one occasion year never cost more than ``budget`` nor, for a department with a
    ``GiftDepartmentBudget``, more than that department's amount.
    """

    __tablename__ = "gift_programme"
    __table_args__ = (
        CheckConstraint("days_ahead BETWEEN 0 AND 60", name="days_ahead"),
        CheckConstraint("unit_cost_amount >= 0", name="unit_cost"),
        CheckConstraint("budget_amount IS NULL OR budget_amount >= 0", name="budget"),
        CheckConstraint("min_tenure_days >= 0", name="tenure"),
        CheckConstraint("(perk_id IS NULL) <> (points IS NULL)", name="perk_or_points"),
        CheckConstraint("points IS NULL OR points > 0", name="points"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name_vi: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    occasion_id: Mapped[int] = mapped_column(ForeignKey("occasion.id"), index=True)
    #: the gift: a perk of kind gift (its code mode says pool, shared code or voucher)...
    perk_id: Mapped[int | None] = mapped_column(ForeignKey("perk.id"), index=True)
    #: ... or this many points, received through the points ledger
    points: Mapped[int | None] = mapped_column(Integer)
    #: granted this many days before the occasion (0: on the day)
    days_ahead: Mapped[int] = mapped_column(SmallInteger, default=0)
    message_vi: Mapped[str] = mapped_column(Text, default="")
    message_en: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3), default="VND")
    #: what one gift costs the company, in minor units of ``currency``
    unit_cost_amount: Mapped[int] = mapped_column(BigInteger)
    #: the most the gifts of one occasion year may cost; None: no limit
    budget_amount: Mapped[int | None] = mapped_column(BigInteger)
    #: eligibility, as a perk's: empty lists mean everyone
    locations: Mapped[list[str]] = mapped_column(JSON, default=list)
    employment_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_tenure_days: Mapped[int] = mapped_column(Integer, default=0)
    #: only people HR recorded with this gender; None: everyone
    gender: Mapped[Gender | None] = mapped_column(
        Enum(Gender, native_enum=False, length=8, values_callable=lambda e: [m.value for m in e])
    )
    #: only people HR recorded with children under 15
    requires_children: Mapped[bool] = mapped_column(Boolean, default=False)
    #: paused programmes grant nothing
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    #: 1 when written, one more at each change of the programme, its departments and
    #: department budgets included (SQLAlchemy's ``version_id_col``): the edit form sends back
    #: the one it showed, and a save from an older one is refused
    #: (``perks.recognition.gifts.update_programme``), so two people changing the same
    #: programme (its budgets) cannot overwrite each other unseen
    row_version: Mapped[int] = mapped_column(Integer)

    occasion: Mapped[Occasion] = relationship(lazy="joined")
    perk: Mapped[Perk | None] = relationship(lazy="joined")
    departments: Mapped[list[Department]] = relationship(
        secondary=gift_programme_department,
        lazy="selectin",
        order_by=lambda: (*alphabetical(Department.name), Department.id),
    )
    department_budgets: Mapped[list[GiftDepartmentBudget]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="GiftDepartmentBudget.id"
    )

    unit_cost = money_column("unit_cost_amount")
    budget = optional_money_column("budget_amount")

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012 (SQLAlchemy reads it once)

    @property
    def name(self) -> str:
        return self.localized("name")

    @property
    def message(self) -> str:
        return self.localized("message")


class GiftDepartmentBudget(Base):
    """The most a programme's gifts of one occasion year may cost for one department."""

    __tablename__ = "gift_department_budget"
    __table_args__ = (
        UniqueConstraint("programme_id", "department_id"),
        CheckConstraint("amount >= 0", name="amount"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        ForeignKey("gift_programme.id", ondelete="CASCADE"), index=True
    )
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"))
    #: minor units of the programme's currency
    amount: Mapped[int] = mapped_column(BigInteger)

    department: Mapped[Department] = relationship(lazy="joined")


class Gift(Base):
    """One gift granted: a programme's gift to one person for one occasion year.

    The unique (programme, person, occasion year) constraint makes the grant happen once,
    however many runs or hosts try at the same time.
    """

    __tablename__ = "gift"
    __table_args__ = (
        UniqueConstraint("programme_id", "user_id", "occasion_year"),
        CheckConstraint("cost_amount >= 0", name="cost"),
        CheckConstraint("(claim_id IS NULL) <> (points IS NULL)", name="claim_or_points"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("gift_programme.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    #: the year of the occasion's date (Tết of 2027 is 2027's, even if granted in 2026): the
    #: solar year, the lunar year for a lunar occasion (``gifts.Due.year``)
    occasion_year: Mapped[int] = mapped_column(SmallInteger)
    #: the occasion's day: the greeting card shows on it
    occasion_on: Mapped[date] = mapped_column(Date, index=True)
    #: the person's department when granted (department budgets count by it)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL")
    )
    currency: Mapped[str] = mapped_column(String(3))
    cost_amount: Mapped[int] = mapped_column(BigInteger)
    #: the person's claim of the gift perk, with its code (None: a gift of points)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id"), unique=True)
    #: the points given (None: a gift of a perk); the points ledger has their entry
    points: Mapped[int | None] = mapped_column(Integer)
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    programme: Mapped[GiftProgramme] = relationship(lazy="joined")
    user: Mapped[User] = relationship(lazy="select")
    claim: Mapped[Claim | None] = relationship(lazy="select")

    cost = money_column("cost_amount")


class Award(BilingualMixin, TimestampMixin, Base):
    """An award HR defines ("Nhân viên xuất sắc tháng"), for which managers nominate people
    of their team (``perks.recognition.awards``). Approving a nomination grants the award's
    gift (a perk of kind gift, optional) and its points. Deactivated awards take no new
    nomination; none is deleted (nominations point at them)."""

    __tablename__ = "award"
    __table_args__ = (CheckConstraint("points >= 0", name="points"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name_vi: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    description_vi: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    #: the gift granted with the award: a perk of kind gift; None: no gift
    perk_id: Mapped[int | None] = mapped_column(ForeignKey("perk.id"), index=True)
    #: the points the award brings its winner (recorded on the approved nomination)
    points: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    perk: Mapped[Perk | None] = relationship(lazy="joined")

    @property
    def name(self) -> str:
        return self.localized("name")

    @property
    def description(self) -> str:
        return self.localized("description")


class NominationState(LabelledEnum):
    """Where a nomination is (``perks.recognition.awards.TRANSITIONS`` says how it moves)."""

    #: waiting for HR
    PENDING = "pending", _l("Pending")
    #: HR approved it: the award, its gift and its points are the nominee's
    APPROVED = "approved", _l("Approved")
    #: HR declined it, with a reason
    DECLINED = "declined", _l("Declined")
    #: the nominator took it back before HR decided
    WITHDRAWN = "withdrawn", _l("Withdrawn")


class Nomination(TimestampMixin, Base):
    """A manager's proposal that a person of their team receive an award, and HR's answer."""

    __tablename__ = "nomination"
    __table_args__ = (
        CheckConstraint("points >= 0", name="points"),
        CheckConstraint("nominee_id <> nominator_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("award.id"), index=True)
    nominee_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    nominator_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    #: why the manager nominates the person
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[NominationState] = mapped_column(
        Enum(
            NominationState,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=NominationState.PENDING,
        index=True,
    )
    #: who approved, declined or withdrew it, when, and (HR's) why
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: the company day of the decision (the fairness report counts awards by its year)
    decided_on: Mapped[date | None] = mapped_column(Date, index=True)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    #: the points the approval brought (the award's points then); 0 until approved
    points: Mapped[int] = mapped_column(Integer, default=0)
    #: the nominee's claim of the award's gift perk, when it has one
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id"), unique=True)

    award: Mapped[Award] = relationship(lazy="joined")
    nominee: Mapped[User] = relationship(foreign_keys=[nominee_id], lazy="joined")
    nominator: Mapped[User] = relationship(foreign_keys=[nominator_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], lazy="select")
