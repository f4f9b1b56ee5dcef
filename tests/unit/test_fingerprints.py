"""The fingerprint of what an edit page showed: equal values, equal fingerprints."""

from __future__ import annotations

from datetime import date

from perks.catalog.models import PerkKind
from perks.fingerprints import LENGTH, fingerprint


def test_equal_values_give_equal_fingerprints_whatever_their_order():
    one = fingerprint({"name": "Lan", "roles": {"hr", "employee"}, "day": date(2026, 3, 8)})
    other = fingerprint({"day": date(2026, 3, 8), "roles": ["employee", "hr"], "name": "Lan"})
    assert one == other
    assert len(one) == LENGTH


def test_any_shown_value_that_changes_changes_the_fingerprint():
    shown = {"name": "Lan", "kind": PerkKind.GIFT, "stock": None, "day": None}
    changed = [
        {**shown, "name": "Lan "},
        {**shown, "kind": PerkKind.EXPERIENCE},
        {**shown, "stock": 0},
        {**shown, "day": date(2026, 1, 1)},
        {**shown, "extra": None},
    ]
    assert len({fingerprint(values) for values in [shown, *changed]}) == 1 + len(changed)
