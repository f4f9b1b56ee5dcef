"""The occasions of a Vietnamese company's year, as ``add_vietnamese_calendar`` adds them.

Names from GLOSSARY.md. 30/4 and 1/5 are two occasions (two public holidays, often two
different gifts); the founding day's date is a setting (``RecognitionSettings.founded_on``).
"""

from __future__ import annotations

from dataclasses import dataclass

from perks.recognition.models import OccasionKind


@dataclass(frozen=True)
class BuiltinOccasion:
    key: str
    kind: OccasionKind
    name_vi: str
    name_en: str
    month: int | None = None
    day: int | None = None


VIETNAMESE_CALENDAR: tuple[BuiltinOccasion, ...] = (
    BuiltinOccasion("new_year", OccasionKind.SOLAR, "Tết Dương lịch", "New Year's Day", 1, 1),
    BuiltinOccasion("tet", OccasionKind.LUNAR, "Tết Nguyên Đán", "Lunar New Year", 1, 1),
    BuiltinOccasion(
        "womens_day", OccasionKind.SOLAR, "Ngày Quốc tế Phụ nữ", "International Women's Day", 3, 8
    ),
    BuiltinOccasion(
        "hung_kings",
        OccasionKind.LUNAR,
        "Giỗ Tổ Hùng Vương",
        "Hung Kings' Commemoration",
        3,
        10,
    ),
    BuiltinOccasion(
        "reunification_day",
        OccasionKind.SOLAR,
        "Ngày Giải phóng miền Nam, thống nhất đất nước",
        "Reunification Day",
        4,
        30,
    ),
    BuiltinOccasion("labour_day", OccasionKind.SOLAR, "Ngày Quốc tế Lao động", "Labour Day", 5, 1),
    BuiltinOccasion(
        "childrens_day", OccasionKind.SOLAR, "Ngày Quốc tế Thiếu nhi", "Children's Day", 6, 1
    ),
    BuiltinOccasion("national_day", OccasionKind.SOLAR, "Quốc khánh", "National Day", 9, 2),
    BuiltinOccasion(
        "mid_autumn", OccasionKind.LUNAR, "Tết Trung thu", "Mid-Autumn Festival", 8, 15
    ),
    BuiltinOccasion(
        "vietnamese_womens_day",
        OccasionKind.SOLAR,
        "Ngày Phụ nữ Việt Nam",
        "Vietnamese Women's Day",
        10,
        20,
    ),
    BuiltinOccasion(
        "founding_day", OccasionKind.FOUNDING_DAY, "Ngày thành lập công ty", "Company founding day"
    ),
    BuiltinOccasion("birthday", OccasionKind.BIRTHDAY, "Sinh nhật", "Birthday"),
    BuiltinOccasion(
        "work_anniversary",
        OccasionKind.WORK_ANNIVERSARY,
        "Kỷ niệm ngày vào làm",
        "Work anniversary",
    ),
)
