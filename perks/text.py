"""Text as people paste it: what surrounds it is not part of it.

A name or an address copied from a spreadsheet, a chat or a web page often brings spaces,
no-break spaces and invisible format characters (zero-width space U+200B, byte order mark
U+FEFF, word joiner U+2060, ...) around it. ``str.strip`` removes the spaces but not the
format characters, so a name made only of them looked filled in and showed as nothing.
"""

from __future__ import annotations

import unicodedata


def _invisible(character: str) -> bool:
    """A space of any kind, or a format character (Unicode category Cf) shown as nothing."""
    return character.isspace() or unicodedata.category(character) == "Cf"


def trim(text: str) -> str:
    """``text`` without the spaces and invisible format characters at either end (an
    invisible-only text becomes empty). Raises nothing."""
    start, end = 0, len(text)
    while start < end and _invisible(text[start]):
        start += 1
    while end > start and _invisible(text[end - 1]):
        end -= 1
    return text[start:end]
