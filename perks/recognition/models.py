"""The company's occasions and its recognition settings (``perks.recognition.services``)."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from perks.db import Base, BilingualMixin, TimestampMixin
from perks.i18n import LabelledEnum

#: the id of the settings' one row
SETTINGS_ROW_ID = 1


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
    __table_args__ = (CheckConstraint(f"id = {SETTINGS_ROW_ID}", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: the company's founding day (its year counts the company's anniversaries)
    founded_on: Mapped[date | None] = mapped_column(Date)
    #: the years of service celebrated as work anniversaries, ascending: [1, 3, 5, 10]
    anniversary_milestones: Mapped[list[int]] = mapped_column(JSON, default=list)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
