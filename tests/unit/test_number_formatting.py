"""Numbers, percentages and shares in the reader's language round a half up, as the house
rounds money, ratings and the eNPS: Babel alone rounds a half to even (62.5 % read "62%")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import Flask
from flask_babel import force_locale

from perks.i18n import format_bps, format_number, format_share


@pytest.mark.parametrize(
    ("locale", "expected"), [("en", ("63%", "12.3%", "3.3")), ("vi", ("63%", "12,3%", "3,3"))]
)
def test_a_half_is_rounded_up_in_either_language(app: Flask, locale, expected) -> None:
    with app.test_request_context(), force_locale(locale):
        said = (
            format_share(5 / 8),  # 62.5 %: five of eight answered in time
            format_bps(1225, "#,##0.#%"),
            format_number(Decimal("3.25"), "#,##0.#"),
        )
    assert said == expected


def test_what_is_not_a_half_rounds_to_the_nearest(app: Flask) -> None:
    with app.test_request_context(), force_locale("en"):
        assert (format_share(2 / 3), format_share(1 / 3), format_share(1)) == ("67%", "33%", "100%")
