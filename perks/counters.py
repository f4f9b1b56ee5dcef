"""The redeemer's counters, and which of them a code belongs to.

A redeemer has two counters: perk claims (``/redeem``, the catalog) and shop orders
(``/redeem-order``, the shop). Each should recognise the other's codes, but the catalog sits
below the shop and may not import it (ARCHITECTURE.md). So each capability registers its
counter here, in ``perks.register_receivers()``, with a function that tells whether a code
is one of its own; a counter that does not know a code asks ``elsewhere`` which other
counter does, and the page links there with the code filled in (or, for what a counter's
customers hold that is not a code, such as an order's number, says what it is).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import url_for
from flask_babel.speaklater import LazyString


@dataclass(frozen=True, slots=True)
class Counter:
    #: how the counters name each other ("claims", "orders")
    name: str
    #: the lookup page's endpoint; it takes the code as ``?code=``
    endpoint: str
    #: the code as this counter looks it up when it is one of its own, else None (reads only;
    #: never raises for what a redeemer may type or scan)
    recognise: Callable[[str], str | None]
    #: what the other counter tells the redeemer ("This is a shop order's code.")
    message: LazyString
    #: the link to this counter ("Open it at the order counter")
    link_text: LazyString
    #: what to tell a redeemer who typed something this counter's customers hold that is
    #: not a code (an order's number); None for anything else. Reads only, never raises.
    explain: Callable[[str], str | None] | None = None


@dataclass(frozen=True, slots=True)
class Elsewhere:
    """A code that belongs to another counter: what to say and where to go."""

    message: str
    link_text: str
    url: str


_counters: dict[str, Counter] = {}


def register(counter: Counter) -> None:
    """Make ``counter`` known to the others (``register_receivers``); again replaces it."""
    _counters[counter.name] = counter


def elsewhere(code: str, *, here: str) -> Elsewhere | None:
    """The first counter other than ``here`` that knows ``code``, with a link to it (the
    code filled in); None when none does. Needs a request (it builds the link)."""
    for counter in _counters.values():
        if counter.name == here:
            continue
        found = counter.recognise(code)
        if found:
            return Elsewhere(
                str(counter.message),
                str(counter.link_text),
                url_for(counter.endpoint, code=found),
            )
        note = counter.explain(code) if counter.explain else None
        if note:
            return Elsewhere(note, str(counter.link_text), url_for(counter.endpoint))
    return None
