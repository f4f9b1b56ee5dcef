"""Server-drawn SVG charts: well-formed, escaped, scaled, and free of inline style (CSP)."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from perks.charts import CHARACTER_WIDTH, PALETTE, Series, bar_chart, line_chart, nice_scale

SVG = "{http://www.w3.org/2000/svg}"


def frames(chart: Markup) -> list[ET.Element]:
    """The chart's drawings: the wide one, then the phone's."""
    wrapper = ET.fromstring(f"<div>{chart}</div>")  # noqa: S314 - markup this module made
    return list(wrapper)


def parse(chart: Markup) -> ET.Element:
    """The wide drawing (tablets and desktops)."""
    return frames(chart)[0]


@pytest.mark.parametrize("draw", [line_chart, bar_chart])
def test_labels_names_and_titles_are_escaped(draw):
    nasty = '<script>alert("x")</script>'
    chart = draw(
        [nasty, "b&b"],
        [Series(f"{nasty} clicks", [1, 2])],
        title=f"{nasty} title",
        number=lambda n: f"<b>{n}</b>",
    )

    assert isinstance(chart, Markup)
    assert "<script>" not in chart
    assert "<b>" not in chart
    assert "&lt;script&gt;" in chart
    root = parse(chart)  # escaped text keeps the SVG well-formed
    texts = [el.text for el in root.iter(f"{SVG}text")]
    assert nasty in texts
    assert "b&b" in texts
    assert root.find(f"{SVG}title").text == f"{nasty} title"


@pytest.mark.parametrize("draw", [line_chart, bar_chart])
def test_no_style_attributes_or_scripts_only_presentation_attributes(draw):
    chart = draw(["a", "b", "c"], [Series("Clicks", [3, 0, 5])], title="T")
    root = parse(chart)
    for element in root.iter():
        assert "style" not in element.attrib
        assert not any(name.startswith("on") for name in element.attrib)
        assert element.tag not in (f"{SVG}script", f"{SVG}style", f"{SVG}foreignObject")
    assert root.get("role") == "img"
    assert root.get("class") == "w-100 h-auto d-none d-sm-block"


@pytest.mark.parametrize("draw", [line_chart, bar_chart])
def test_one_drawing_for_wide_screens_and_one_for_phones(draw):
    wide, phone = frames(draw(["a", "b"], [Series("Clicks", [1, 2])], title="T", ident="c"))
    assert (wide.get("data-testid"), phone.get("data-testid")) == ("c", "c-phone")
    assert "d-sm-none" in phone.get("class")
    assert phone.get("viewBox") == "0 0 360 260"
    # the phone's type is larger: the drawing is shown about as wide as it is drawn
    sizes = {frame.get("data-testid"): _font_size(frame) for frame in (wide, phone)}
    assert sizes["c-phone"] > sizes["c"]
    ids = [frame.find(f"{SVG}title").get("id") for frame in (wide, phone)]
    assert len(set(ids)) == 2


def test_bars_are_as_tall_as_their_values():
    root = parse(bar_chart(["a", "b", "c"], [Series("Clicks", [2, 4, 0])], title="T"))
    bars = [el for el in root.iter(f"{SVG}rect") if el.find(f"{SVG}title") is not None]
    heights = [float(bar.get("height")) for bar in bars]
    assert heights[1] == pytest.approx(2 * heights[0])
    assert heights[2] == 0
    # each bar says what it is
    assert [bar.find(f"{SVG}title").text for bar in bars] == [
        "a · Clicks: 2",
        "b · Clicks: 4",
        "c · Clicks: 0",
    ]


def test_a_line_per_series_with_a_point_per_label():
    root = parse(
        line_chart(
            ["1 May", "2 May"],
            [Series("Clicks", [1, 3]), Series("Visitors", [1, 2], PALETTE[1])],
            title="T",
        )
    )
    lines = list(root.iter(f"{SVG}polyline"))
    assert [line.get("stroke") for line in lines] == [PALETTE[0], PALETTE[1]]
    assert len(list(root.iter(f"{SVG}circle"))) == 4


def test_many_labels_are_thinned_but_every_point_keeps_its_tooltip():
    labels = [f"d{n}" for n in range(365)]
    root = parse(line_chart(labels, [Series("Clicks", [n % 7 for n in range(365)])], title="T"))
    written = [el.text for el in root.iter(f"{SVG}text") if el.text and el.text.startswith("d")]
    assert 2 <= len(written) <= 12
    assert len(list(root.iter(f"{SVG}circle"))) == 365


def test_an_empty_chart_says_so():
    root = parse(line_chart([], [], title="T", empty_text="No clicks yet."))
    assert [el.text for el in root.iter(f"{SVG}text")] == ["No clicks yet."]


@pytest.mark.parametrize(
    ("largest", "top", "step"),
    [(0, 4, 1), (1, 1, 1), (7, 8, 2), (10, 10, 5), (130, 150, 50), (12_345, 15_000, 5_000)],
)
def test_the_axis_goes_up_in_round_steps_to_just_above_the_largest_value(largest, top, step):
    assert nice_scale(largest) == (top, step)


def test_bad_input_is_a_programming_error():
    with pytest.raises(ValueError, match="colour"):
        Series("x", [1], colour='red" onload="alert(1)')
    with pytest.raises(ValueError, match="non-negative"):
        Series("x", [-1])
    with pytest.raises(ValueError, match="one value per label"):
        line_chart(["a"], [Series("x", [1, 2])], title="T")
    with pytest.raises(ValueError, match="ident"):
        line_chart(["a"], [Series("x", [1])], title="T", ident='a" onload="x')


def _font_size(frame: ET.Element) -> float:
    return float(next(frame.iter(f"{SVG}text")).get("font-size"))


def _boxes(frame: ET.Element, row: str) -> list[tuple[float, float, str]]:
    """The horizontal extent of each text of a row ("x": the x axis, "y": the y axis),
    estimated from its characters like a browser's widest system font would draw them."""
    width = float(frame.get("viewBox").split()[2])
    texts = [t for t in frame.iter(f"{SVG}text") if t.text]
    bottom = max(float(t.get("y")) for t in texts)
    boxes = []
    for text in texts:
        on_x_axis = float(text.get("y")) == bottom
        if on_x_axis != (row == "x"):
            continue
        if row == "y" and text.get("text-anchor") != "end":
            continue  # the legend
        size = len(text.text) * float(text.get("font-size")) * CHARACTER_WIDTH
        x = float(text.get("x"))
        left = {"end": x - size, "middle": x - size / 2}.get(text.get("text-anchor"), x)
        boxes.append((left, left + size, text.text))
    assert all(left >= 0 and right <= width for left, right, _ in boxes), boxes
    return sorted(boxes)


LONG_MONTHS = [f"tháng {m} năm {y}" for y in (2025, 2026) for m in range(1, 13)]
DAYS = [f"{d}/{m}" for m in range(1, 13) for d in range(1, 29)]


@pytest.mark.parametrize("draw", [line_chart, bar_chart])
@pytest.mark.parametrize("labels", [LONG_MONTHS, DAYS, ["Một nhãn rất dài " * 3, "b", "c"]])
def test_x_labels_never_run_into_each_other_nor_out_of_the_chart(draw, labels):
    chart = draw(labels, [Series("Clicks", list(range(len(labels))))], title="T")
    for frame in frames(chart):
        boxes = _boxes(frame, "x")
        assert boxes, "the first label is always written"
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(boxes)), boxes


def test_the_y_axis_makes_room_for_long_figures():
    def money(value: int) -> str:
        return f"{value:,} ₫".replace(",", ".")

    chart = bar_chart(
        ["a", "b"],
        [Series("Earned", [12_345_678_901, 3])],
        title="T",
        number=money,
        tick=money,
    )
    for frame in frames(chart):
        figures = _boxes(frame, "y")
        assert "15.000.000.000 ₫" in [text for *_, text in figures]
        # every figure fits left of the plot, whose grid starts after the widest
        grid_start = float(next(frame.iter(f"{SVG}line")).get("x1"))
        assert all(left >= 0 and right < grid_start for left, right, _ in figures)


def test_ticks_may_be_short_while_tooltips_stay_exact():
    chart = bar_chart(
        ["a"],
        [Series("Earned", [3_000_000])],
        title="T",
        number=lambda v: f"{v} exactly",
        tick=lambda v: f"{v // 1_000_000}M",
    )
    root = parse(chart)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "3M" in texts
    assert "3000000 exactly" not in texts
    assert root.find(f"{SVG}rect/{SVG}title").text == "a · Earned: 3000000 exactly"


def test_a_long_legend_wraps_on_the_phone():
    names = ["Earned this month", "Taken back after refunds", "Paid out with wages"]
    chart = bar_chart(
        ["a"], [Series(name, [1], PALETTE[i]) for i, name in enumerate(names)], title="T"
    )
    wide, phone = frames(chart)

    def rows(frame: ET.Element) -> int:
        return len({t.get("y") for t in frame.iter(f"{SVG}text") if t.text in names})

    assert rows(wide) == 1
    assert rows(phone) > 1
    for frame in (wide, phone):
        width = float(frame.get("viewBox").split()[2])
        for text in frame.iter(f"{SVG}text"):
            if text.text in names:
                size = len(text.text) * float(text.get("font-size")) * CHARACTER_WIDTH
                assert float(text.get("x")) + size <= width
