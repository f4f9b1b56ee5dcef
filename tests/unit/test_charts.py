"""Server-drawn SVG charts: well-formed, escaped, scaled, and free of inline style (CSP)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from perks.charts import PALETTE, Series, bar_chart, line_chart, nice_scale

SVG = "{http://www.w3.org/2000/svg}"


def parse(chart: Markup) -> ET.Element:
    return ET.fromstring(str(chart))  # noqa: S314 - markup this module made, not user input


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
    assert root.get("class") == "w-100 h-auto"


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
