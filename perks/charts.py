"""Charts drawn on the server as SVG: no JavaScript and no ``style`` attributes (CSP).

The SVG uses presentation attributes (``fill``, ``stroke``, ``font-size``), which the
Content-Security-Policy allows, and Bootstrap's ``w-100 h-auto`` classes to scale with the
page. Every label and name is escaped; every number is an integer placed by this module, so
nothing from the database reaches the markup unescaped. Each bar and point carries a
``<title>`` (the browser's tooltip, read by screen readers); pages show the same figures as
a table next to the chart.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: the brand green first, then colours that stay apart for colour-blind readers
PALETTE = ("#0b6e4f", "#e07a1f", "#3d5a98", "#b83b5e", "#6c757d")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_IDENT = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,40}$")

WIDTH = 720
HEIGHT = 260
#: room for the y-axis figures, the legend above and the x labels below
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 34, 36
#: at most this many x labels are written; the others are thinned out (the tooltips keep them)
MAX_X_LABELS = 12
Y_TICKS = 4
MAX_BAR_WIDTH = 48
TEXT = 'font-family="system-ui, -apple-system, sans-serif" font-size="11" fill="#6c757d"'


@dataclass(frozen=True)
class Series:
    """One named row of non-negative whole numbers, one per label, drawn in one colour."""

    name: str
    values: Sequence[int]
    colour: str = PALETTE[0]

    def __post_init__(self) -> None:
        if not _COLOUR.match(self.colour):
            raise ValueError(f"colour must look like #0b6e4f, not {self.colour!r}")
        if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in self.values):
            raise ValueError("chart values are non-negative integers")


def nice_scale(largest: int, ticks: int = Y_TICKS) -> tuple[int, int]:
    """The y-axis top and its step: a step of 1, 2 or 5 × 10ⁿ, the top a multiple of it.

    >>> nice_scale(0), nice_scale(7), nice_scale(130)
    ((4, 1), (8, 2), (150, 50))
    """
    if largest <= 0:
        return ticks, 1
    rough = largest / ticks
    magnitude = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    step = max(1, int(step))
    return step * math.ceil(largest / step), step


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    ident: str = "chart",
    empty_text: str = "",
    number: Callable[[int], str] = str,
) -> Markup:
    """A line per series over ``labels`` (e.g. clicks and visitors per day)."""
    return _Chart(labels, series, title, ident, empty_text, number).render(bars=False)


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    ident: str = "chart",
    empty_text: str = "",
    number: Callable[[int], str] = str,
) -> Markup:
    """Grouped vertical bars: one group per label, one bar per series in it."""
    return _Chart(labels, series, title, ident, empty_text, number).render(bars=True)


def _n(value: float) -> str:
    """A coordinate: one decimal is finer than a pixel."""
    return f"{value:.1f}"


class _Chart:
    def __init__(
        self,
        labels: Sequence[str],
        series: Sequence[Series],
        title: str,
        ident: str,
        empty_text: str,
        number: Callable[[int], str],
    ) -> None:
        if not _IDENT.match(ident):
            raise ValueError(f"ident must be a simple name, not {ident!r}")
        if any(len(s.values) != len(labels) for s in series):
            raise ValueError("each series needs one value per label")
        self.labels = [str(label) for label in labels]
        self.series = list(series)
        self.title = title
        self.ident = ident
        self.empty_text = empty_text
        self.number = number
        self.plot_width = WIDTH - LEFT - RIGHT
        self.plot_height = HEIGHT - TOP - BOTTOM
        largest = max((v for s in self.series for v in s.values), default=0)
        self.top, self.step = nice_scale(largest)

    def y(self, value: int) -> float:
        return TOP + self.plot_height - value * self.plot_height / self.top

    def render(self, *, bars: bool) -> Markup:
        ident = self.ident
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'class="w-100 h-auto" role="img" aria-labelledby="{ident}-title" '
            f'data-testid="{ident}">',
            f'<title id="{ident}-title">{escape(self.title)}</title>',
        ]
        if not self.labels or not self.series:
            parts.append(
                f'<text x="{WIDTH // 2}" y="{HEIGHT // 2}" text-anchor="middle" {TEXT}>'
                f"{escape(self.empty_text)}</text>"
            )
        else:
            parts += self._grid()
            parts += self._bars() if bars else self._lines()
            parts += self._x_labels(centred=bars)
            parts += self._legend()
        parts.append("</svg>")
        return Markup("".join(parts))  # noqa: S704 - every piece above is escaped or a number

    def _grid(self) -> list[str]:
        parts = []
        for value in range(0, self.top + 1, self.step):
            y = _n(self.y(value))
            stroke = "#adb5bd" if value == 0 else "#e9ecef"
            parts.append(
                f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}" '
                f'stroke="{stroke}" stroke-width="1"/>'
                f'<text x="{LEFT - 6}" y="{y}" dy="4" text-anchor="end" {TEXT}>'
                f"{escape(self.number(value))}</text>"
            )
        return parts

    def _tooltip(self, index: int, series: Series) -> str:
        text = f"{self.labels[index]} · {series.name}: {self.number(series.values[index])}"
        return f"<title>{escape(text)}</title>"

    def _bars(self) -> list[str]:
        band = self.plot_width / len(self.labels)
        # a few groups get sensible bars, not slabs; the group stays centred on its label
        width = min(band * 0.8 / len(self.series), MAX_BAR_WIDTH)
        margin = (band - width * len(self.series)) / 2
        parts = []
        for index in range(len(self.labels)):
            for position, series in enumerate(self.series):
                value = series.values[index]
                x = LEFT + index * band + margin + position * width
                y = self.y(value)
                height = TOP + self.plot_height - y
                parts.append(
                    f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(width, 0.5))}" '
                    f'height="{_n(height)}" fill="{series.colour}">'
                    f"{self._tooltip(index, series)}</rect>"
                )
        return parts

    def _point_x(self, index: int) -> float:
        if len(self.labels) == 1:
            return LEFT + self.plot_width / 2
        return LEFT + index * self.plot_width / (len(self.labels) - 1)

    def _lines(self) -> list[str]:
        radius = 3 if len(self.labels) <= 62 else 1.5
        parts = []
        for series in self.series:
            points = " ".join(
                f"{_n(self._point_x(i))},{_n(self.y(v))}" for i, v in enumerate(series.values)
            )
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{series.colour}" '
                f'stroke-width="2" stroke-linejoin="round"/>'
            )
            parts += [
                f'<circle cx="{_n(self._point_x(i))}" cy="{_n(self.y(v))}" r="{radius}" '
                f'fill="{series.colour}">{self._tooltip(i, series)}</circle>'
                for i, v in enumerate(series.values)
            ]
        return parts

    def _x_labels(self, *, centred: bool) -> list[str]:
        count = len(self.labels)
        every = math.ceil(count / MAX_X_LABELS)
        band = self.plot_width / count
        parts = []
        for index in range(0, count, every):
            x = LEFT + (index + 0.5) * band if centred else self._point_x(index)
            anchor = "middle"
            if not centred and count > 1 and index == 0:
                anchor = "start"
            elif not centred and count > 1 and index == count - 1:
                anchor = "end"
            parts.append(
                f'<text x="{_n(x)}" y="{HEIGHT - BOTTOM + 18}" text-anchor="{anchor}" {TEXT}>'
                f"{escape(self.labels[index])}</text>"
            )
        return parts

    def _legend(self) -> list[str]:
        parts = []
        x = LEFT
        for series in self.series:
            parts.append(
                f'<rect x="{x}" y="10" width="12" height="12" rx="2" fill="{series.colour}"/>'
                f'<text x="{x + 18}" y="20" {TEXT}>{escape(series.name)}</text>'
            )
            # names are short ("Clicks", "Visitors"): a rough width per character is enough
            x += 36 + 7 * len(series.name)
        return parts
