"""The charts' labels as Chromium draws them: the estimate perks.charts places them by is
generous enough that no two labels touch and none leaves its drawing, at phone and desktop
widths, with long Vietnamese month names and long money figures."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from perks.charts import PALETTE, Series, bar_chart, line_chart
from perks.money import Money, format_money, format_money_compact

pytestmark = pytest.mark.browser

MONTHS = [f"tháng {m} năm {y}" for y in (2025, 2026) for m in range(1, 13)]
#: each drawing alone, shown at the width its screens give it
SHOWN_AT = {"chart": 700, "chart-phone": 358}

BOXES = """(svg) => {
  const outer = svg.getBoundingClientRect();
  const texts = [...svg.querySelectorAll(':scope > text')].map((t) => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom};
  });
  return {outer: {left: outer.left, right: outer.right, top: outer.top, bottom: outer.bottom},
          texts};
}"""


def overlaps(a: dict, b: dict) -> bool:
    return (
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and (a["top"] < b["bottom"] and b["top"] < a["bottom"])
    )


@pytest.mark.parametrize("draw", [bar_chart, line_chart])
@pytest.mark.parametrize("locale", ["vi", "en"])
def test_no_label_touches_another_or_leaves_the_chart(browser: Browser, draw, locale):
    values = [12_345_678_901 * (i % 5) // 4 for i in range(len(MONTHS))]
    chart = draw(
        MONTHS,
        [
            Series("Đã hưởng" if locale == "vi" else "Earned", values, PALETTE[0]),
            Series("Bị thu hồi" if locale == "vi" else "Taken back", values[::-1], PALETTE[3]),
            Series("Đã chi trả" if locale == "vi" else "Paid out", values, PALETTE[2]),
        ],
        title="T",
        number=lambda v: format_money(Money(v, "VND"), locale),
        tick=lambda v: format_money_compact(Money(v, "VND"), locale),
    )
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.set_content(f'<body style="margin:0;font-family:system-ui">{chart}</body>')
        for ident, width in SHOWN_AT.items():
            svg = page.locator(f'[data-testid="{ident}"]')
            svg.evaluate(
                f"(svg) => {{ svg.style.width = '{width}px'; svg.style.display = 'block'; }}"
            )
            drawn = svg.evaluate(BOXES)
            outer, texts = drawn["outer"], drawn["texts"]
            assert len(texts) > 6, texts
            for text in texts:
                assert outer["left"] <= text["left"], (ident, text)
                assert text["right"] <= outer["right"], (ident, text)
            clashes = [
                (a["text"], b["text"])
                for i, a in enumerate(texts)
                for b in texts[i + 1 :]
                if overlaps(a, b)
            ]
            assert not clashes, (ident, clashes)
    finally:
        page.close()
