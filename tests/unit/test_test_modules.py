"""Test modules share code through the tests' helper modules (``tests/helpers.py``,
``factories.py``, a domain's ``helpers.py`` or ``stories.py``, ...), never by importing another
test module: that would collect and run the other module's imports, and a builder would live
where nobody looks for it."""

from __future__ import annotations

import ast
import re

from tests.helpers import ROOT

TEST_MODULE = re.compile(r"^tests(\.\w+)*\.test_\w+$")


def imports_of_test_modules(source: str) -> list[str]:
    """The test modules ``source`` imports from."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [name for name in names if TEST_MODULE.match(name)]
    return found


def test_the_reader_finds_imports_of_test_modules():
    assert imports_of_test_modules("from tests.functional.test_shop import x") == [
        "tests.functional.test_shop"
    ]
    assert imports_of_test_modules("import tests.unit.test_money as m") == ["tests.unit.test_money"]
    assert imports_of_test_modules("from tests.unit.finance.stories import story") == []


def test_no_test_module_imports_another():
    found = {
        str(path.relative_to(ROOT)): imported
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if (imported := imports_of_test_modules(path.read_text(encoding="utf-8")))
    }
    assert found == {}, "move what they share to a helpers module"
