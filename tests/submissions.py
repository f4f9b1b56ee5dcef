"""What people send through the pages, as the tests send it: the admin forms filled in
(``perk_form``, ``product_form``, finance's ``rule_form``) and a people file for the import
(``big_file``)."""

from __future__ import annotations

from perks.db import utcnow
from perks.i18n import company_date


def perk_form(**overrides: object) -> dict[str, object]:
    """The new perk form as HR fills it in (a shared discount code), with ``overrides``."""
    data: dict[str, object] = {
        "title_vi": "Giảm 20% tại Highlands Coffee",
        "title_en": "20% off at Highlands Coffee",
        "value_vi": "Giảm 20%",
        "value_en": "20% off",
        "description_vi": "Áp dụng cho mọi đồ uống.\nKhông áp dụng cùng khuyến mãi khác.",
        "description_en": "Any drink.\nNot with other offers.",
        "terms_vi": "Xuất trình mã tại quầy.",
        "terms_en": "Show the code at the counter.",
        "partner_name": "Highlands Coffee",
        "kind": "discount_code",
        "category": "food_drink",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        "code_mode": "shared",
        "shared_code": "STAFF20",
        "total_stock": "100",
        "per_person_limit": "2",
        "limit_period": "month",
        "allocation": "first_come",
        "min_tenure_days": "90",
    }
    data.update(overrides)
    return data


def product_form(**overrides: object) -> dict[str, object]:
    """The new product form as an administrator fills it in, with ``overrides``."""
    data: dict[str, object] = {
        "name_vi": "Tour Hạ Long 2 ngày",
        "name_en": "Ha Long Bay, 2 days",
        "description_vi": "Du thuyền qua đêm.",
        "description_en": "A night on a cruise boat.",
        "category_id": "",
        "slug": "",
        "currency": "VND",
        "price": "2.400.000",
        "staff_price": "",
        "staff_discount": "",
        "redemption_mode": "counter",
        "max_quantity_per_order": "5",
        "active": "y",
    }
    data.update(overrides)
    return data


def big_file(count: int, *, first: int = 0) -> str:
    """A people file (CSV) of ``count`` people in 12 departments, each reporting to the first
    one."""
    header = "employee_number,email,name,department,location,manager_email,birthday,roles"
    rows = [
        f"NV{i:05d},nguoi{i}@congty.vn,Người Thứ {i},Phòng {i % 12},Hà Nội,"
        f"{'' if i == first else f'nguoi{first}@congty.vn'},{i % 28 + 1:02d}/{i % 12 + 1:02d},"
        f"{'employee;manager' if i == first else 'employee'}"
        for i in range(first, first + count)
    ]
    return "\n".join([header, *rows]) + "\n"


def rule_form(**fields: object) -> dict[str, object]:
    data: dict[str, object] = {
        "scope": "default",
        "product_id": 0,
        "category_id": 0,
        "kind": "percent",
        "rate": "5",
        "flat": "",
        "cap": "",
        "currency": "",
        "effective_from": company_date(utcnow()).isoformat(),
        "effective_to": "",
        "note": "",
        "preview_amount": "2.000.000",
        "preview_quantity": 1,
        "submit": "Save",
    }
    data.update(fields)
    return data
