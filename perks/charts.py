"""Charts drawn on the server as SVG: no JavaScript and no ``style`` attributes (CSP).

The SVG uses presentation attributes (``fill``, ``stroke``, ``font-size``), which the
Content-Security-Policy allows, and Bootstrap's ``w-100 h-auto`` classes to scale with the
page. Every label and name is escaped; every number is an integer placed by this module, so
nothing from the database reaches the markup unescaped. Each bar and point carries a
``<title>`` (the browser's tooltip, read by screen readers); pages show the same figures as
a table next to the chart.

A chart is drawn twice, in two frames: a wide one for tablets and desktops and a narrow one,
with larger type and fewer labels, for phones; Bootstrap's display classes show one of them.
Labels are measured (an estimate per character, on the generous side) before they are
placed: the y-axis makes room for its longest figure and the x-axis writes only as many
labels as fit side by side, so none is cut or runs into the next at any width.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: the brand green first, then colours that stay apart for colour-blind readers
PALETTE = ("#0b6e4f", "#e07a1f", "#3d5a98", "#b83b5e", "#6c757d")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_IDENT = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]{0,40}$")

#: the width of one character as a share of the font size: generous for system-ui's digits,
#: Latin letters and Vietnamese diacritics, so an estimated label is never narrower than
#: the drawn one
CHARACTER_WIDTH = 0.62
#: the least room between two x labels, and between the y figures and the plot
LABEL_GAP = 10
Y_TICKS = 4
MAX_BAR_WIDTH = 48
#: grey #5c636a: 6.1:1 on white (WCAG AA wants 4.5:1 for small text)
TEXT_COLOUR = "#5c636a"


@dataclass(frozen=True)
class Frame:
    """The size a chart is drawn at (viewBox units) and what it fits in there."""

    width: int
    height: int
    font_size: int
    #: at most this many x labels, however short
    max_x_labels: int
    #: appended to the chart's ident (its ``data-testid`` and title id)
    suffix: str
    #: Bootstrap's display classes: which screens show this frame
    display: str

    def text_width(self, text: str) -> float:
        return len(text) * self.font_size * CHARACTER_WIDTH


#: tablets and desktops (576 px and wider)
WIDE = Frame(720, 260, 11, 12, "", "d-none d-sm-block")
#: phones: drawn about as wide as it is shown, so 13 units read as 13 px
PHONE = Frame(360, 260, 13, 4, "-phone", "d-sm-none")
FRAMES = (WIDE, PHONE)


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
    tick: Callable[[int], str] | None = None,
) -> Markup:
    """A line per series over ``labels`` (e.g. clicks and visitors per day).

    ``number`` writes a value in full (the tooltips); ``tick`` writes the y-axis figures,
    short ones such as "3 Tr ₫" (``number`` when not given).

    Raises:
        ValueError: a series is not one value per label, or ``ident`` is not a simple name.
    """
    chart = _Chart(labels, series, title, ident, empty_text, number, tick or number)
    return chart.render(bars=False)


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    ident: str = "chart",
    empty_text: str = "",
    number: Callable[[int], str] = str,
    tick: Callable[[int], str] | None = None,
) -> Markup:
    """Grouped vertical bars: one group per label, one bar per series in it.

    Raises:
        ValueError: a series is not one value per label, or ``ident`` is not a simple name.
    """
    chart = _Chart(labels, series, title, ident, empty_text, number, tick or number)
    return chart.render(bars=True)


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
        tick: Callable[[int], str],
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
        largest = max((v for s in self.series for v in s.values), default=0)
        self.top, self.step = nice_scale(largest)
        self.ticks = [(value, tick(value)) for value in range(0, self.top + 1, self.step)]

    def render(self, *, bars: bool) -> Markup:
        drawn = "".join(_Drawing(self, frame).render(bars=bars) for frame in FRAMES)
        return Markup(drawn)  # noqa: S704 - every piece is escaped or a number (_Drawing)


class _Drawing:
    """One chart in one frame: the layout worked out from the frame and the labels."""

    def __init__(self, chart: _Chart, frame: Frame) -> None:
        self.chart = chart
        self.frame = frame
        self.text = (
            f'font-family="system-ui, -apple-system, sans-serif" '
            f'font-size="{frame.font_size}" fill="{TEXT_COLOUR}"'
        )
        self.legend_rows = self._legend_layout()
        line = frame.font_size + 6
        self.top = 8 + line * len(self.legend_rows) + 4
        self.bottom = frame.font_size + 16
        widest_tick = max((frame.text_width(text) for _, text in chart.ticks), default=0)
        self.left = math.ceil(widest_tick) + LABEL_GAP
        self.right = 12
        self.plot_width = frame.width - self.left - self.right
        self.plot_height = frame.height - self.top - self.bottom

    def y(self, value: int) -> float:
        return self.top + self.plot_height - value * self.plot_height / self.chart.top

    def render(self, *, bars: bool) -> str:
        chart, frame = self.chart, self.frame
        ident = f"{chart.ident}{frame.suffix}"
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {frame.width} {frame.height}" '
            f'class="w-100 h-auto {frame.display}" role="img" aria-labelledby="{ident}-title" '
            f'data-testid="{ident}">',
            f'<title id="{ident}-title">{escape(chart.title)}</title>',
        ]
        if not chart.labels or not chart.series:
            parts.append(
                f'<text x="{frame.width // 2}" y="{frame.height // 2}" text-anchor="middle" '
                f"{self.text}>{escape(chart.empty_text)}</text>"
            )
        else:
            parts += self._grid()
            parts += self._bars() if bars else self._lines()
            parts += self._x_labels(centred=bars)
            parts += self._legend()
        parts.append("</svg>")
        return "".join(parts)

    def _grid(self) -> list[str]:
        parts = []
        for value, text in self.chart.ticks:
            y = _n(self.y(value))
            stroke = "#adb5bd" if value == 0 else "#e9ecef"
            parts.append(
                f'<line x1="{self.left}" x2="{self.frame.width - self.right}" y1="{y}" '
                f'y2="{y}" stroke="{stroke}" stroke-width="1"/>'
                f'<text x="{self.left - LABEL_GAP // 2}" y="{y}" dy="{self.frame.font_size // 3}" '
                f'text-anchor="end" {self.text}>{escape(text)}</text>'
            )
        return parts

    def _tooltip(self, index: int, series: Series) -> str:
        chart = self.chart
        text = f"{chart.labels[index]} · {series.name}: {chart.number(series.values[index])}"
        return f"<title>{escape(text)}</title>"

    def _bars(self) -> list[str]:
        chart = self.chart
        band = self.plot_width / len(chart.labels)
        # a few groups get sensible bars, not slabs; the group stays centred on its label
        width = min(band * 0.8 / len(chart.series), MAX_BAR_WIDTH)
        margin = (band - width * len(chart.series)) / 2
        parts = []
        for index in range(len(chart.labels)):
            for position, series in enumerate(chart.series):
                value = series.values[index]
                x = self.left + index * band + margin + position * width
                y = self.y(value)
                height = self.top + self.plot_height - y
                parts.append(
                    f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(width, 0.5))}" '
                    f'height="{_n(height)}" fill="{series.colour}">'
                    f"{self._tooltip(index, series)}</rect>"
                )
        return parts

    def _point_x(self, index: int) -> float:
        count = len(self.chart.labels)
        if count == 1:
            return self.left + self.plot_width / 2
        return self.left + index * self.plot_width / (count - 1)

    def _lines(self) -> list[str]:
        chart = self.chart
        radius = 3 if len(chart.labels) <= 62 else 1.5
        parts = []
        for series in chart.series:
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
        """Every ``every``-th label, ``every`` the least that keeps them apart; each label
        is centred on its bar or point and moved inside the frame at the edges."""
        labels, frame = self.chart.labels, self.frame
        count = len(labels)
        spacing = self.plot_width / count if centred else self.plot_width / max(count - 1, 1)
        fitted = [self._fitted(label) for label in labels]
        slot = max(frame.text_width(label) for label in fitted) + LABEL_GAP
        every = max(math.ceil(count / frame.max_x_labels), math.ceil(slot / spacing), 1)
        while True:  # moving the edge labels inwards may bring them too near their neighbours
            placed = []
            for index in range(0, count, every):
                x = self.left + (index + 0.5) * spacing if centred else self._point_x(index)
                half = frame.text_width(fitted[index]) / 2 + 1  # a pixel off the edge
                placed.append((min(max(x, half), frame.width - half), half, fitted[index]))
            apart = all(
                a[0] + a[1] + LABEL_GAP <= b[0] - b[1] for a, b in itertools.pairwise(placed)
            )
            if apart or every >= count:
                break
            every += 1
        # below the lowest y figure (whose baseline sits on the axis) with room to spare
        y = frame.height - self.bottom + frame.font_size + 10
        return [
            f'<text x="{_n(x)}" y="{y}" text-anchor="middle" {self.text}>{escape(label)}</text>'
            for x, _half, label in placed
        ]

    def _fitted(self, label: str) -> str:
        """``label``, cut with an ellipsis if it is wider than the frame (tooltips keep it)."""
        room = int((self.frame.width - 4) / (self.frame.font_size * CHARACTER_WIDTH))
        return label if len(label) <= room else label[: room - 1].rstrip() + "…"

    def _legend_layout(self) -> list[list[tuple[float, Series]]]:
        """The legend's entries in rows: a row is as long as the frame is wide."""
        rows: list[list[tuple[float, Series]]] = [[]]
        x = 8.0
        for series in self.chart.series:
            width = self.frame.font_size + 6 + self.frame.text_width(series.name)
            if rows[-1] and x + width > self.frame.width - 8:
                rows.append([])
                x = 8.0
            rows[-1].append((x, series))
            x += width + 16
        return rows

    def _legend(self) -> list[str]:
        size = self.frame.font_size
        parts = []
        for row, entries in enumerate(self.legend_rows):
            y = 8 + row * (size + 6)
            for x, series in entries:
                parts.append(
                    f'<rect x="{_n(x)}" y="{y}" width="{size}" height="{size}" rx="2" '
                    f'fill="{series.colour}"/>'
                    f'<text x="{_n(x + size + 6)}" y="{y + size - 2}" {self.text}>'
                    f"{escape(series.name)}</text>"
                )
        return parts
