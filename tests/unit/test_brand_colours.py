"""Brand colours (perks.branding.colours): ``#rrggbb``, with text that stays readable on them."""

from __future__ import annotations

import pytest

from perks.branding.colours import (
    AA_CONTRAST,
    DARK_TEXT,
    LIGHT_TEXT,
    contrast_ratio,
    parse_colour,
    text_colour_on,
)
from perks.errors import ValidationFailed


def test_contrast_follows_wcag():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1)
    # WCAG's own example values: #777777 on white is just under AA, #767676 just over
    assert contrast_ratio("#777777", "#ffffff") < AA_CONTRAST < contrast_ratio("#767676", "#ffffff")


@pytest.mark.parametrize(
    ("background", "text"),
    [
        ("#0b6e4f", LIGHT_TEXT),
        ("#1a237e", LIGHT_TEXT),
        ("#ffcc00", DARK_TEXT),
        ("#ffffff", DARK_TEXT),
    ],
)
def test_text_on_a_colour_is_white_or_dark_whichever_reads_better(background, text):
    assert text_colour_on(background) == text
    assert contrast_ratio(background, text) >= AA_CONTRAST


@pytest.mark.parametrize(("typed", "stored"), [("#0B6E4F", "#0b6e4f"), (" #ffcc00 ", "#ffcc00")])
def test_a_colour_is_kept_in_lower_case(typed, stored):
    assert parse_colour(typed, field="primary_colour") == stored


@pytest.mark.parametrize("typed", ["green", "#0b6e4", "#0b6e4f0", "0b6e4f", "#gggggg", ""])
def test_anything_but_rrggbb_is_refused(typed):
    with pytest.raises(ValidationFailed) as refused:
        parse_colour(typed, field="accent_colour")
    assert refused.value.details["field"] == "accent_colour"


@pytest.mark.parametrize("grey", ["#808080", "#777777", "#8a8a8a"])
def test_a_colour_no_text_can_be_read_on_is_refused(grey):
    """Mid tones: neither white nor dark text reaches 4.5:1."""
    assert max(contrast_ratio(grey, LIGHT_TEXT), contrast_ratio(grey, DARK_TEXT)) < AA_CONTRAST
    with pytest.raises(ValidationFailed, match="hard to read"):
        parse_colour(grey, field="primary_colour")
