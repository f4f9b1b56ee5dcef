"""The earnings chart: money earned, taken back and paid out per period, in one currency.

An employee's own months (``/earnings``) and finance's commission reports draw the same
three bars; only the title, the empty text and the ``data-testid`` differ.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from perks import glossary
from perks.charts import PALETTE, Series, bar_chart
from perks.i18n import reader_language
from perks.money import Money, format_money, format_money_compact


def earnings_chart(
    labels: Sequence[str],
    *,
    currency: str,
    earned: Sequence[int],
    taken_back: Sequence[int],
    paid_out: Sequence[int],
    title: str,
    ident: str,
    empty_text: str,
) -> Markup:
    """Bars of what was earned, taken back and paid out (minor units of ``currency``) per label.

    Raises:
        ValueError: a series is not one non-negative integer per label, or ``ident`` is not
            a simple name (``perks.charts.bar_chart``).
    """

    language = reader_language()  # looked up once: a chart formats every bar's amount

    def number(value: int) -> str:
        return format_money(Money(value, currency), language)

    def tick(value: int) -> str:
        return format_money_compact(Money(value, currency))

    return bar_chart(
        labels,
        [
            Series(str(glossary.EARNED), earned, PALETTE[0]),
            Series(str(glossary.TAKEN_BACK), taken_back, PALETTE[3]),
            Series(str(glossary.PAID_OUT), paid_out, PALETTE[2]),
        ],
        title=title,
        ident=ident,
        empty_text=empty_text,
        number=number,
        tick=tick,
    )
