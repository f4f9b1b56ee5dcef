"""Counts of 1,000 or more are written with the reader's digit grouping ("1,234" in English,
"1.234" in Vietnamese), as amounts and points are: a message that formats a count with
``%(num)d`` writes "1234" in both. The pieces are rendered on their own (a template's macro or
partial, a service's message) so no thousand rows need to exist."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from flask import Flask, get_template_attribute, render_template
from flask_babel import force_locale

from perks.catalog.models import Allocation, CodeMode, Perk
from perks.people.forms import DepartmentForm
from perks.shop import cart
from perks.shop.models import Product


@pytest.fixture
def said_in(app: Flask) -> Callable[[str, Callable[[], str]], str]:
    def say(locale: str, produce: Callable[[], str]) -> str:
        with app.test_request_context("/"), force_locale(locale):
            return " ".join(str(produce()).split())

    return say


def macro(template: str, name: str) -> Callable[..., str]:
    return lambda *args: str(get_template_attribute(template, name)(*args))


def test_the_admin_perk_list_groups_codes_left_and_claimed(said_in) -> None:  # type: ignore[no-untyped-def]
    stock = macro("catalog/admin_macros.html", "stock")
    pooled = Perk(id=1, code_mode=CodeMode.POOL)
    limited = Perk(id=2, code_mode=CodeMode.VOUCHER, total_stock=5000)

    assert "12,345 codes left" in said_in("en", lambda: stock(pooled, {}, {1: 12345}))
    assert "Còn 12.345 mã" in said_in("vi", lambda: stock(pooled, {}, {1: 12345}))
    assert "1,234 / 5,000 claimed" in said_in("en", lambda: stock(limited, {2: 1234}, {}))
    assert "Đã nhận 1.234 / 5.000" in said_in("vi", lambda: stock(limited, {2: 1234}, {}))


def test_a_perk_card_groups_what_is_left(said_in) -> None:  # type: ignore[no-untyped-def]
    availability = macro("catalog/_perk.html", "availability")
    perk = Perk(allocation=Allocation.FIRST_COME, code_mode=CodeMode.VOUCHER, total_stock=2000)

    assert said_in("en", lambda: availability(perk, 1500)) == "1,500 left"
    assert said_in("vi", lambda: availability(perk, 1500)) == "Còn 1.500"


def test_the_pager_groups_the_number_of_pages(said_in) -> None:  # type: ignore[no-untyped-def]
    pager = macro("_macros/forms.html", "pager")
    page = SimpleNamespace(page=1, pages=1200, has_prev=False, has_next=True, next_num=2)

    assert "Page 1 of 1,200" in said_in("en", lambda: pager(page, "people.directory"))
    assert "Trang 1/1.200" in said_in("vi", lambda: pager(page, "people.directory"))


def test_the_import_review_groups_how_many_problems_are_shown(said_in) -> None:  # type: ignore[no-untyped-def]
    def problems() -> str:
        return render_template(
            "people/_import_problems.html",
            problems=[(line, "?") for line in range(2, 202)],
            problem_count=3000,
            problems_job=None,
        )

    assert "Showing the first 200 of 3,000 problems." in said_in("en", problems)
    assert "Đang hiển thị 200 lỗi đầu tiên trong tổng số 3.000 lỗi." in said_in("vi", problems)


def test_a_services_message_groups_its_limit(said_in) -> None:  # type: ignore[no-untyped-def]
    product = Product(name_vi="Áo thun", name_en="T-shirt", max_quantity_per_order=1000)

    assert (
        said_in("en", lambda: cart.quantity_refusal(product))
        == "Choose a quantity from 1 to 1,000 for T-shirt."
    )
    assert (
        said_in("vi", lambda: cart.quantity_refusal(product))
        == "Hãy chọn số lượng từ 1 đến 1.000 cho Áo thun."
    )


def test_the_departments_page_groups_each_headcount(said_in) -> None:  # type: ignore[no-untyped-def]
    def departments() -> str:
        return render_template(
            "people/departments.html",
            form=DepartmentForm(meta={"csrf": False}),
            departments=[SimpleNamespace(id=7, name="Bán hàng")],
            headcounts={7: 12345},
        )

    assert ">12,345<" in said_in("en", departments).replace(" ", "")
    assert ">12.345<" in said_in("vi", departments).replace(" ", "")
