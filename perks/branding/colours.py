"""Brand colours: ``#rrggbb``, and text that stays readable on them.

Text on a brand colour (the navigation bar, buttons, an e-mail's header) is white or dark,
whichever contrasts more; a colour on which neither reaches WCAG AA's 4.5:1 for normal text
(mid greys, saturated mid tones) is refused, so no brand can make the bar unreadable.
Contrast follows WCAG 2.2: relative luminance of sRGB, ratio (L1 + 0.05) / (L2 + 0.05).
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

from perks.errors import ValidationFailed

COLOUR_PATTERN = re.compile(r"#[0-9a-fA-F]{6}")
#: text on a dark brand colour
LIGHT_TEXT = "#ffffff"
#: text on a light brand colour (Bootstrap's body text)
DARK_TEXT = "#212529"
#: WCAG AA for normal text
AA_CONTRAST = 4.5


def parse_colour(text: str, *, field: str) -> str:
    """``text`` as a ``#rrggbb`` colour in lower case, on which white or dark text is readable.

    Raises:
        ValidationFailed: not ``#rrggbb``, or neither white nor dark text reaches 4.5:1 on it
            (``field`` names the form field).
    """
    colour = text.strip().lower()
    if not COLOUR_PATTERN.fullmatch(colour):
        raise ValidationFailed(
            _l("Give a colour as # and six hex digits, e.g. #0b6e4f."), field=field
        )
    if contrast_ratio(colour, text_colour_on(colour)) < AA_CONTRAST:
        raise ValidationFailed(
            _l(
                "Text would be hard to read on this colour, in white as in black: "
                "choose a darker or a lighter shade."
            ),
            field=field,
        )
    return colour


def _channel(value: int) -> float:
    srgb = value / 255
    return srgb / 12.92 if srgb <= 0.04045 else ((srgb + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG's relative luminance of a ``#rrggbb`` colour: 0 (black) to 1 (white)."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG's contrast ratio of two ``#rrggbb`` colours: 1 (the same) to 21 (black, white)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_colour_on(background: str) -> str:
    """``LIGHT_TEXT`` or ``DARK_TEXT``, whichever contrasts more with ``background``."""
    light = contrast_ratio(background, LIGHT_TEXT)
    dark = contrast_ratio(background, DARK_TEXT)
    return LIGHT_TEXT if light >= dark else DARK_TEXT
