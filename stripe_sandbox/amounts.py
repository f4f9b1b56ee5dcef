"""Amounts as Stripe counts them: integers in the currency's smallest unit.

Stripe's API takes and returns ``amount=2500000`` with ``currency=vnd`` (đồng: VND is one of
Stripe's zero-decimal currencies) or ``amount=1250`` with ``currency=usd`` (cents). The pages
show them in the reader's language with Babel, and the control page reads what a developer
types ("100.000", "500,000", "12.50") back into that unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from babel.numbers import format_currency, list_currencies
from flask_babel import get_locale

from stripe_sandbox.errors import StripeApiError

#: Stripe's zero-decimal currencies (https://docs.stripe.com/currencies#zero-decimal)
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga"}
    | {"pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
#: the longest text the control page reads as an amount
_MAX_TEXT = 32
_NUMBER = re.compile(r"^[0-9]+(?:[., ][0-9]+)*$")


@cache
def _iso_currencies() -> frozenset[str]:
    return frozenset(code.lower() for code in list_currencies())


def is_currency(code: str) -> bool:
    """Whether ``code`` (any case) is an ISO 4217 currency."""
    return code.lower() in _iso_currencies()


def decimals(currency: str) -> int:
    """How many decimals Stripe's integer amounts of ``currency`` stand for (VND 0, USD 2)."""
    return 0 if currency.lower() in ZERO_DECIMAL else 2


@dataclass(frozen=True, slots=True)
class Amount:
    """``value`` of ``currency``'s smallest unit, as in Stripe's objects."""

    value: int
    currency: str

    def format(self, locale: str | None = None) -> str:
        """``2.500.000 ₫`` in Vietnamese, ``₫2,500,000`` in English, ``$12.50``."""
        major = Decimal(self.value).scaleb(-decimals(self.currency))
        return format_currency(
            major, self.currency.upper(), locale=locale or str(get_locale() or "en")
        )


def parse_amount(text: str, currency: str) -> int:
    """An amount a person typed, in ``currency``'s smallest unit.

    Dots, commas and spaces group thousands; for a currency with decimals, a last dot or
    comma followed by one or two digits is the decimal point. A currency symbol or code
    around the number is ignored. ``"100.000"`` VND is 100000, ``"12,50"`` USD is 1250.

    Raises:
        StripeApiError: text that is not a positive amount of ``currency``.
    """
    places = decimals(currency)
    cleaned = re.sub(r"[^0-9., ]", "", text[:_MAX_TEXT]).strip(" .,")
    refused = StripeApiError(f"Invalid amount: {text.strip()!r}", param="amount")
    if len(text) > _MAX_TEXT or not _NUMBER.match(cleaned):
        raise refused
    whole, fraction = cleaned, ""
    last = max(cleaned.rfind("."), cleaned.rfind(","))
    if places and last >= 0 and 1 <= len(cleaned) - last - 1 <= places:
        whole, fraction = cleaned[:last], cleaned[last + 1 :]
    value = int(re.sub(r"[., ]", "", whole) + fraction.ljust(places, "0"))
    if value <= 0:
        raise refused
    return value
