"""``--database-tests-only`` (the PostgreSQL stage of ``make test``) keeps the tests that meet a
database, through any fixture, and leaves out the others, saying so to pytest."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tests.conftest import pytest_collection_modifyitems


class _Config:
    def __init__(self, database_tests_only: bool) -> None:
        self.options = {"database_tests_only": database_tests_only}
        self.left_out: list[Any] = []
        self.hook = SimpleNamespace(pytest_deselected=lambda items: self.left_out.extend(items))

    def getoption(self, name: str) -> bool:
        return self.options[name]


def _items() -> list[Any]:
    return [
        SimpleNamespace(name="money", fixturenames=["request"]),
        SimpleNamespace(name="page", fixturenames=["client", "app", "app_factory", "database_url"]),
        SimpleNamespace(name="sandbox", fixturenames=["sandbox", "sandbox_database_url"]),
        SimpleNamespace(name="doctest"),  # an item without fixtures
    ]


def test_only_the_tests_that_meet_a_database_are_kept():
    config = _Config(database_tests_only=True)
    items = _items()
    pytest_collection_modifyitems(config, items)  # type: ignore[arg-type]
    assert [item.name for item in items] == ["page", "sandbox"]
    assert [item.name for item in config.left_out] == ["money", "doctest"]


def test_without_the_option_every_test_is_kept():
    config = _Config(database_tests_only=False)
    items = _items()
    pytest_collection_modifyitems(config, items)  # type: ignore[arg-type]
    assert [item.name for item in items] == ["money", "page", "sandbox", "doctest"]
    assert config.left_out == []
