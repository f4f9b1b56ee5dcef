"""Reading source code for statements that would change or remove ledger entries (the ORM's
update and delete, bulk writes, raw SQL), for the tests that prove the ledger append-only."""

from __future__ import annotations

import ast
import re

LEDGER_SQL = re.compile(
    r"\b(update\s+\"?ledger_entry|delete\s+from\s+\"?ledger_entry|truncate\b[^;]*ledger_entry)",
    re.I,
)


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def _writes_ledger(node: ast.Call) -> bool:
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    first = ast.unparse(node.args[0]) if node.args else ""
    if name in {"update", "delete"}:
        # update(LedgerEntry), delete(LedgerEntry), LedgerEntry.__table__.update()
        if node.args and "LedgerEntry" in _names(node.args[0]):
            return True
        if isinstance(func, ast.Attribute) and (
            "LedgerEntry" in _names(func.value) or "ledger_entry" in ast.unparse(func.value)
        ):
            return True
    # session.delete(entry), where the argument names a ledger entry
    if name == "delete" and re.search(r"entry|ledger", first, re.I):
        return True
    return name in {"bulk_update_mappings", "bulk_save_objects"} and "LedgerEntry" in first


def ledger_writes(source: str) -> list[str]:
    """Statements in ``source`` that would change or remove ledger entries."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _writes_ledger(node):
            found.append(ast.unparse(node))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and LEDGER_SQL.search(node.value)
        ):
            found.append(node.value)
    return found
