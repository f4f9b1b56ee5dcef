"""Behaviour of perks.money.money_column: a model's amount and currency columns read as Money."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from perks.money import Money, MoneyColumn, money_column, optional_money_column


@dataclass
class Parent:
    currency: str


@dataclass
class Row:
    total_amount: int | None
    cap_amount: int | None
    currency: str | None
    parent: Parent

    total = money_column("total_amount")
    cap = optional_money_column("cap_amount")
    parent_total = money_column("total_amount", currency="parent.currency")


def test_amount_and_currency_are_read_as_money() -> None:
    row = Row(1250, None, "USD", Parent("VND"))
    assert row.total == Money(1250, "USD")


def test_the_currency_may_be_read_through_a_relationship() -> None:
    row = Row(500, None, None, Parent("VND"))
    assert row.parent_total == Money(500, "VND")


def test_an_optional_money_column_is_none_while_its_amount_or_currency_is() -> None:
    assert Row(1, None, "USD", Parent("VND")).cap is None
    assert Row(1, 300, None, Parent("VND")).cap is None
    assert Row(1, 300, "USD", Parent("VND")).cap == Money(300, "USD")


def test_a_money_column_is_read_only() -> None:
    row = Row(1, None, "USD", Parent("VND"))
    with pytest.raises(AttributeError, match="total_amount"):
        object.__setattr__(row, "total", Money(2, "USD"))
    assert row.total == Money(1, "USD")


def test_a_missing_required_amount_is_a_type_error() -> None:
    row = Row(None, None, "USD", Parent("VND"))
    with pytest.raises(TypeError):
        _ = row.total


def test_on_the_class_it_is_the_descriptor() -> None:
    assert isinstance(Row.total, MoneyColumn)
