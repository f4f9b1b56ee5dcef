"""Amounts of money as integers in a currency's minor unit, and the only ways in and out.

Everything that stores, adds or splits money uses :class:`Money`; floats never appear. Text
from people goes in through :func:`parse_money` (which raises
:class:`~perks.errors.ValidationFailed` with a translated message) and comes out through
:func:`format_money`. Programming mistakes (a float amount, adding VND to USD, a bad
currency code) raise ``TypeError``/``ValueError`` instead, because no user can fix them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from functools import cache, lru_cache
from numbers import Number
from operator import attrgetter
from typing import Literal, NoReturn, Self, overload

from babel import Locale
from babel.numbers import (
    format_compact_currency,
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    list_currencies,
)
from flask import has_app_context
from flask_babel import get_locale
from flask_babel import gettext as _

from perks.errors import ValidationFailed

__all__ = [
    "DEFAULT_CURRENCY",
    "FALLBACK_LOCALE",
    "MAX_PARSED_AMOUNT",
    "CurrencyMismatch",
    "Money",
    "MoneyColumn",
    "OptionalMoneyColumn",
    "Rounding",
    "format_money",
    "minor_unit_exponent",
    "money_column",
    "optional_money_column",
    "parse_money",
]

DEFAULT_CURRENCY = "VND"

#: Largest amount, in minor units, that :func:`parse_money` and :meth:`Money.from_decimal`
#: accept. Anything bigger is a typo (or an attack), not a perk.
MAX_PARSED_AMOUNT = 10**15

#: Locale used by :func:`format_money` outside a Flask app context.
FALLBACK_LOCALE = "vi"

Rounding = Literal["half_up", "down", "half_even"]
_ROUNDINGS: frozenset[str] = frozenset({"half_up", "down", "half_even"})
_BASIS_POINTS = 10_000

# Long enough for any honest amount with symbols and separators; stops pathological input
# before it reaches int(), which would otherwise happily build enormous numbers.
_MAX_INPUT_LENGTH = 64

# What people type besides the code and Babel's vi/en symbols (₫; $ and US$; € …): the
# ₫ sign is missing from most Vietnamese keyboards, so "đ" stands in for it.
_EXTRA_CURRENCY_TOKENS: dict[str, tuple[str, ...]] = {
    "VND": ("đ", "vnđ", "đồng"),
}
_SYMBOL_LOCALES = ("vi", "en")

_NUMBER_BODY = re.compile(r"[0-9]+(?:[., ][0-9]+)*")
_SEPARATOR = re.compile(r"([., ])")


@cache
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def _check_currency(currency: object) -> str:
    if not isinstance(currency, str):
        raise TypeError(f"currency must be a str, not {type(currency).__name__}")
    if len(currency) != 3 or not currency.isascii() or not currency.isupper():
        raise ValueError(f"currency must be a 3-letter upper-case ISO 4217 code, not {currency!r}")
    if currency not in _known_currencies():
        raise ValueError(f"unknown currency code {currency!r}")
    return currency


def _check_int(value: object, what: str) -> int:
    # bool is an int subclass, but True as an amount or ratio is always a bug.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    return value


def minor_unit_exponent(currency: str) -> int:
    """Number of decimal places in ``currency``'s minor unit (VND 0, USD 2, JPY 0).

    Raises ``TypeError``/``ValueError`` for a code that is not an upper-case ISO 4217 code
    known to Babel.
    """
    # Babel answers 2 for codes it has never heard of; checking first keeps a typo such as
    # "VDN" from silently turning đồng into hundredths.
    return get_currency_precision(_check_currency(currency))


class CurrencyMismatch(ValueError):
    """Arithmetic or ordering was attempted between two different currencies."""

    def __init__(self, left: str, right: str) -> None:
        super().__init__(left, right)
        self.left = left
        self.right = right

    def __str__(self) -> str:
        return f"cannot combine {self.left} with {self.right}"


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount: ``amount`` minor units (đồng, cents, …) of ``currency``.

    Construction raises ``TypeError`` when ``amount`` is not an ``int`` (floats and bools
    included) or ``currency`` is not a ``str``, and ``ValueError`` when ``currency`` is not an
    upper-case ISO 4217 code known to Babel; use :meth:`of` to accept lower-case codes.

    Supports ``+``/``-`` between amounts of one currency, unary ``-``, ``abs()``, ``*`` by an
    ``int``, ordering within one currency and ``sum()``. Mixing currencies raises
    :class:`CurrencyMismatch`. There is no division: use :meth:`allocate`, :meth:`split` or
    :meth:`percent`, which say how they round. Equality is plain field equality, so amounts
    in different currencies are simply unequal.
    """

    amount: int
    currency: str

    def __post_init__(self) -> None:
        _check_int(self.amount, "amount")
        _check_currency(self.currency)

    # --- construction -------------------------------------------------------------------

    @classmethod
    def of(cls, amount: int, currency: str) -> Money:
        """Like the constructor, but accepts the code in any case (``"vnd"``).

        Raises the same ``TypeError``/``ValueError`` as the constructor.
        """
        if isinstance(currency, str):
            currency = currency.strip().upper()
        return cls(amount, currency)

    @classmethod
    def zero(cls, currency: str = DEFAULT_CURRENCY) -> Money:
        """Nothing, in ``currency``. Raises ``ValueError`` for an unknown code."""
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, value: Decimal | str | int, currency: str = DEFAULT_CURRENCY) -> Money:
        """Convert a major-unit value (``Decimal("12.50")`` USD) to minor units (1250).

        Trailing zeros beyond the currency's places are fine (``"12.500"`` USD is exact);
        anything that would need rounding is not.

        Raises :class:`~perks.errors.ValidationFailed` (``code`` detail ``"format"``,
        ``"decimals"`` or ``"too_large"``) when the value is not a finite number, has more
        significant decimal places than the currency allows, or exceeds
        :data:`MAX_PARSED_AMOUNT` minor units. Raises ``TypeError`` for floats and bools,
        ``ValueError`` for an unknown currency.
        """
        exponent = minor_unit_exponent(currency)
        if isinstance(value, bool) or not isinstance(value, Decimal | str | int):
            raise TypeError(f"value must be a Decimal, str or int, not {type(value).__name__}")
        if isinstance(value, str):
            if len(value) > _MAX_INPUT_LENGTH:
                raise _format_error(currency)
            try:
                value = Decimal(value.strip())
            except InvalidOperation:
                raise _format_error(currency) from None
        elif isinstance(value, int):
            value = Decimal(value)
        if not value.is_finite():
            raise _format_error(currency)
        minor = _decimal_to_minor(value, exponent, currency)
        return cls(minor, currency)

    # --- conversion ---------------------------------------------------------------------

    def to_decimal(self) -> Decimal:
        """The amount in major units with the currency's places (1250 USD cents → 12.50)."""
        exponent = minor_unit_exponent(self.currency)
        sign = 1 if self.amount < 0 else 0
        digits = tuple(int(d) for d in str(abs(self.amount)))
        # Built from its parts because Decimal arithmetic (even scaleb) rounds to 28 digits.
        return Decimal((sign, digits, -exponent))

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    # --- predicates ---------------------------------------------------------------------

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    @property
    def is_negative(self) -> bool:
        return self.amount < 0

    def __bool__(self) -> bool:
        return self.amount != 0

    # --- arithmetic ---------------------------------------------------------------------

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency)

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __radd__(self, other: object) -> Money:
        # Only so that sum() works: it starts from the int 0. Any other number is a bug.
        # Beware that sum() of an empty list is still the int 0; pass Money.zero(...) as
        # start when the list may be empty.
        if type(other) is int and other == 0:
            return self
        return NotImplemented

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.amount), self.currency)

    def __mul__(self, other: object) -> Money:
        if isinstance(other, bool):
            return NotImplemented
        if isinstance(other, int):
            return Money(self.amount * other, self.currency)
        if isinstance(other, Number):
            # A float or Decimal factor would have to round somewhere unstated.
            raise TypeError(
                "Money can only be multiplied by an int; use percent() or allocate() for fractions"
            )
        return NotImplemented

    __rmul__ = __mul__

    def _compare_key(self, other: object) -> int | None:
        if not isinstance(other, Money):
            return None
        self._same_currency(other)
        return other.amount

    def __lt__(self, other: object) -> bool:
        key = self._compare_key(other)
        return NotImplemented if key is None else self.amount < key

    def __le__(self, other: object) -> bool:
        key = self._compare_key(other)
        return NotImplemented if key is None else self.amount <= key

    def __gt__(self, other: object) -> bool:
        key = self._compare_key(other)
        return NotImplemented if key is None else self.amount > key

    def __ge__(self, other: object) -> bool:
        key = self._compare_key(other)
        return NotImplemented if key is None else self.amount >= key

    # --- splitting ----------------------------------------------------------------------

    def allocate(self, ratios: Sequence[int]) -> list[Money]:
        """Split into ``len(ratios)`` parts proportional to ``ratios`` that sum exactly to self.

        Each part is first the floor of its exact share; the units left over (fewer than
        ``len(ratios)``) go one each to the parts with the largest remainders, earlier index
        first on ties (largest-remainder method). So every part is within one minor unit of
        its exact share, a zero ratio always gets zero, and nothing is created or lost.
        A negative amount is split by its absolute value and negated, so all its parts are
        ≤ 0 and mirror the positive split.

        Raises ``TypeError`` when a ratio is not an int, ``ValueError`` when ``ratios`` is
        empty, has a negative ratio or has no positive ratio.
        """
        if isinstance(ratios, str | bytes) or not isinstance(ratios, Sequence):
            raise TypeError("ratios must be a sequence of ints")
        ratios = [_check_int(r, "ratio") for r in ratios]
        if not ratios:
            raise ValueError("allocate needs at least one ratio")
        if any(r < 0 for r in ratios):
            raise ValueError("ratios must not be negative")
        total_ratio = sum(ratios)
        if total_ratio == 0:
            raise ValueError("at least one ratio must be positive")

        whole = abs(self.amount)
        shares = [divmod(whole * r, total_ratio) for r in ratios]
        parts = [floor for floor, _remainder in shares]
        leftover = whole - sum(parts)
        # Sorted is stable, so equal remainders keep index order: earlier wins the tie.
        by_remainder = sorted(range(len(ratios)), key=lambda i: shares[i][1], reverse=True)
        for index in by_remainder[:leftover]:
            parts[index] += 1
        sign = -1 if self.amount < 0 else 1
        return [Money(sign * part, self.currency) for part in parts]

    def split(self, n: int) -> list[Money]:
        """Split into ``n`` parts as equal as possible, the larger ones first.

        Same as ``allocate([1] * n)``. Raises ``TypeError`` when ``n`` is not an int and
        ``ValueError`` when it is less than 1.
        """
        _check_int(n, "n")
        if n < 1:
            raise ValueError("split needs at least one part")
        return self.allocate([1] * n)

    def percent(self, bps: int, rounding: Rounding = "half_up") -> Money:
        """``bps`` basis points of this amount (10000 = 100 %, 250 = 2.5 %), in whole minor units.

        The exact product ``amount × bps / 10000`` is computed in integers and then rounded
        to a whole minor unit:

        * ``"half_up"`` (default): to the nearest unit, halves away from zero
          (2.5 → 3, −2.5 → −3), like ``decimal.ROUND_HALF_UP``;
        * ``"down"``: toward zero, i.e. truncated (2.9 → 2, −2.9 → −2);
        * ``"half_even"``: to the nearest unit, halves to the even neighbour
          (2.5 → 2, 3.5 → 4), banker's rounding.

        Rounding is symmetric, so ``(-m).percent(b) == -(m.percent(b))``; 0 and 10000 bps are
        exact. Because each call rounds on its own, percentages of parts need not add up to
        the percentage of the whole: to reverse a commission in proportion to a partial
        refund, ``allocate`` the original commission by the refunded and kept amounts instead,
        so that repeated reversals never lose or invent a unit.

        Raises ``TypeError`` when ``bps`` is not an int and ``ValueError`` for an unknown
        rounding mode.
        """
        _check_int(bps, "bps")
        if rounding not in _ROUNDINGS:
            raise ValueError(f"rounding must be one of {sorted(_ROUNDINGS)}, not {rounding!r}")
        product = self.amount * bps
        quotient, remainder = divmod(abs(product), _BASIS_POINTS)
        twice = 2 * remainder  # compared with the divisor to tell below, at and above half
        if rounding == "half_up":
            round_away = twice >= _BASIS_POINTS
        elif rounding == "half_even":
            round_away = twice > _BASIS_POINTS or (twice == _BASIS_POINTS and quotient % 2 == 1)
        else:
            round_away = False
        if round_away:
            quotient += 1
        sign = -1 if product < 0 else 1
        return Money(sign * quotient, self.currency)


# --- user input -------------------------------------------------------------------------


def _example(currency: str) -> str:
    exponent = minor_unit_exponent(currency)
    if exponent == 0:
        amount = 1_250_000
    elif exponent == 1:
        amount = 12_345
    else:
        amount = 123_456 * 10 ** (exponent - 2)
    return format_money(Money(amount, currency))


def _format_error(currency: str) -> ValidationFailed:
    return ValidationFailed(
        _("Enter an amount such as %(example)s.", example=_example(currency)), code="format"
    )


def _decimals_error(currency: str, exponent: int) -> ValidationFailed:
    if exponent == 0:
        message = _(
            "Amounts in %(currency)s have no decimal places. Group thousands in threes, "
            "as in %(example)s.",
            currency=currency,
            example=_example(currency),
        )
    else:
        message = _(
            "Amounts in %(currency)s have at most %(places)s decimal places.",
            currency=currency,
            places=exponent,
        )
    return ValidationFailed(message, code="decimals")


def _too_large_error(currency: str) -> ValidationFailed:
    return ValidationFailed(
        _(
            "Enter an amount no larger than %(maximum)s.",
            maximum=format_money(Money(MAX_PARSED_AMOUNT, currency)),
        ),
        code="too_large",
    )


def _decimal_to_minor(value: Decimal, exponent: int, currency: str) -> int:
    sign, digits, decimal_exponent = value.as_tuple()
    if not isinstance(decimal_exponent, int):  # NaN or infinity
        raise _format_error(currency)
    # Trailing zeros carry no value; dropping them by hand (not normalize(), which rounds to
    # the context precision) keeps "12.500" USD acceptable and exact.
    coefficient = list(digits)
    while len(coefficient) > 1 and coefficient[-1] == 0 and decimal_exponent < -exponent:
        coefficient.pop()
        decimal_exponent += 1
    if not any(coefficient):
        return 0
    if decimal_exponent < -exponent:
        raise _decimals_error(currency, exponent)
    # Digit count first, so that "1E+999999999" never becomes a huge int.
    if len(coefficient) + decimal_exponent + exponent > len(str(MAX_PARSED_AMOUNT)):
        raise _too_large_error(currency)
    # ``10 ** n`` with an int ``n`` of unknown sign is typed Any (it may be a float); n >= 0 here.
    minor: int = int("".join(map(str, coefficient))) * 10 ** (decimal_exponent + exponent)
    if minor > MAX_PARSED_AMOUNT:
        raise _too_large_error(currency)
    return -minor if sign else minor


@cache
def _currency_patterns(currency: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    tokens = {currency, *_EXTRA_CURRENCY_TOKENS.get(currency, ())}
    tokens.update(get_currency_symbol(currency, locale) for locale in _SYMBOL_LOCALES)
    tokens = {unicodedata.normalize("NFKC", t) for t in tokens}
    # Longest first, because the regex alternation takes the first match ("US$" before "$").
    alternatives = "|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True))
    return (
        re.compile(rf"^(?:{alternatives})", re.IGNORECASE),
        re.compile(rf"(?:{alternatives})$", re.IGNORECASE),
    )


def parse_money(
    text: str, currency: str = DEFAULT_CURRENCY, *, allow_negative: bool = False
) -> Money:
    """Read an amount typed by a person into ``currency``'s minor units.

    Accepted, for VND: ``"1.250.000"``, ``"1,250,000 ₫"``, ``"1 250 000"``, ``"1250000"``,
    ``"1.250.000đ"``, ``"1.250.000 VND"``, ``"₫1,250,000"``; for USD: ``"12.50"``,
    ``"$12.50"``, ``"12,50"``, ``"1,234.56"``, ``"1.234,56"``, ``"12"``.

    Rules:

    * one symbol or code of *this* currency may lead and/or trail, in any case (``₫``,
      ``đ``, ``VNĐ``, ``VND``; ``$``, ``US$``, ``USD``); another currency's symbol is
      rejected rather than silently read as this one;
    * any kind of space (including no-break and narrow no-break) between digits groups
      thousands; input is NFKC-normalised first, so full-width digits work too;
    * for a currency without minor units (VND, JPY) both ``.`` and ``,`` only group
      thousands, and groups must be of three: ``"1.25"`` is rejected, not read as 125;
    * otherwise a final ``.`` or ``,`` followed by 1 up to the currency's places digits is
      the decimal separator (``"12,5"`` USD is 12.50); every other separator must be of
      one kind, different from the decimal one, grouping in threes. So ``"1.234"`` USD is
      1234 dollars, while ``"0.125"`` and ``"1,234.567"`` are too many decimals;
    * at most one ``+`` or ``-`` (or ``−``), before or after a leading symbol
      (``"-$12.50"``, ``"$-12.50"``); negative amounts only with ``allow_negative``.
      ``"-0"`` is zero, not negative.

    Raises :class:`~perks.errors.ValidationFailed` with a translated message and a ``code``
    detail: ``"empty"``, ``"format"`` (letters, other symbols, misplaced separators or
    signs), ``"sign"`` (more than one sign), ``"negative"``, ``"decimals"`` (more places
    than the currency has), ``"grouping"`` (thousands not in threes) or ``"too_large"``
    (over :data:`MAX_PARSED_AMOUNT` minor units). Raises ``TypeError`` when ``text`` is
    not a ``str`` and ``ValueError`` for an unknown currency: those are bugs, not input.
    """
    exponent = minor_unit_exponent(currency)
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if len(text) > _MAX_INPUT_LENGTH:
        raise _format_error(currency)
    # NFKC turns no-break and narrow spaces into plain ones, full-width digits into ASCII
    # and composes "đồng" from keyboards that send combining accents.
    rest = unicodedata.normalize("NFKC", text).replace("\u2212", "-")
    rest = re.sub(r"\s+", " ", rest).strip()
    if not rest:
        raise ValidationFailed(_("Enter an amount."), code="empty")

    prefix, suffix = _currency_patterns(currency)
    signs: list[str] = []

    def take_sign(value: str) -> str:
        if value[:1] in ("+", "-") and value:
            signs.append(value[0])
            return value[1:].lstrip()
        return value

    rest = take_sign(rest)
    rest = prefix.sub("", rest, count=1).lstrip()
    rest = take_sign(rest)
    rest = suffix.sub("", rest, count=1).rstrip()
    stray_signs = rest.count("+") + rest.count("-")
    if len(signs) + stray_signs > 1:
        raise ValidationFailed(_("Enter the amount with at most one sign."), code="sign")
    if not rest:
        raise ValidationFailed(_("Enter an amount."), code="empty")
    if not _NUMBER_BODY.fullmatch(rest):
        raise _format_error(currency)

    minor = _parse_digits(rest, exponent, currency)
    if signs == ["-"] and minor:
        if not allow_negative:
            raise ValidationFailed(_("Enter an amount that is not negative."), code="negative")
        minor = -minor
    return Money(minor, currency)


def _parse_digits(body: str, exponent: int, currency: str) -> int:
    pieces = _SEPARATOR.split(body)
    groups, separators = pieces[0::2], pieces[1::2]

    fraction = ""
    decimal_separator: str | None = None
    if exponent > 0 and separators and separators[-1] != " " and len(groups[-1]) <= exponent:
        decimal_separator = separators[-1]
        fraction = groups[-1]
        groups, separators = groups[:-1], separators[:-1]

    if separators and not _valid_grouping(groups, separators, decimal_separator):
        # Digits after a final point or comma that cannot be a thousands group ("1.25"
        # VND, "12.3456" or "0.125" USD) were meant as decimals; say that, not "group in
        # threes", so the person knows what to fix.
        if (
            decimal_separator is None
            and separators[-1] != " "
            and (exponent > 0 or len(groups[-1]) != 3 or groups[0].startswith("0"))
        ):
            raise _decimals_error(currency, exponent)
        raise ValidationFailed(
            _("Group thousands in threes, as in %(example)s.", example=_example(currency)),
            code="grouping",
        )

    integer_digits = "".join(groups).lstrip("0")
    # Checked on the digit count before int() so that no huge number is ever built.
    if len(integer_digits) + exponent > len(str(MAX_PARSED_AMOUNT)):
        raise _too_large_error(currency)
    scale: int = 10**exponent
    minor = int(integer_digits or "0") * scale + int(fraction.ljust(exponent, "0") or "0")
    if minor > MAX_PARSED_AMOUNT:
        raise _too_large_error(currency)
    return minor


def _valid_grouping(
    groups: list[str], separators: list[str], decimal_separator: str | None
) -> bool:
    if len(set(separators)) != 1 or separators[0] == decimal_separator:
        return False
    first, rest = groups[0], groups[1:]
    # A leading "0" group ("0.500") is never a thousands group; it is a decimal in disguise.
    if not 1 <= len(first) <= 3 or first.startswith("0"):
        return False
    return all(len(group) == 3 for group in rest)


# --- output -----------------------------------------------------------------------------


def _current_locale() -> Locale | str:
    if has_app_context():
        try:
            locale: Locale | None = get_locale()
        except (KeyError, RuntimeError):
            # KeyError: Babel not set up on this app; RuntimeError: the app's locale
            # selector needs a request (CLI commands, background jobs).
            locale = None
        if locale is not None:
            return locale
    return FALLBACK_LOCALE


def format_money(money: Money, locale: Locale | str | None = None) -> str:
    """Show ``money`` the way ``locale`` writes its currency, with the currency's places.

    ``locale`` defaults to Flask-Babel's current locale inside an app or request context,
    else :data:`FALLBACK_LOCALE` (``"vi"``). Examples: vi → ``"1.250.000 ₫"``,
    en → ``"₫1,250,000"``, en USD → ``"$12.50"``, vi USD → ``"12,50 US$"``.

    Babel separates number and symbol (and, in some locales, thousands) with no-break
    (U+00A0) or narrow no-break (U+202F) spaces so the amount never wraps; compare with
    those replaced by plain spaces.

    Raises ``babel.UnknownLocaleError`` for an unknown locale and ``TypeError`` when
    ``money`` is not :class:`Money`.
    """
    if not isinstance(money, Money):
        raise TypeError(f"format_money needs Money, not {type(money).__name__}")
    chosen = locale if locale is not None else _current_locale()
    return _formatted(money.amount, money.currency, str(chosen))


@lru_cache(maxsize=4096)
def _formatted(amount: int, currency: str, locale: str) -> str:
    # Remembered: Babel's formatting costs about 40 µs an amount (it looks the currency's
    # long name up each time), and a page shows the same amounts again and again (a chart's
    # tooltips, its zeros, a list's totals). A pure function of its three arguments.
    value = Money(amount, currency).to_decimal()
    # Babel rounds in the current decimal context (28 digits): an absurd amount (a signed
    # webhook's 10**30, say) must still show exactly, never raise InvalidOperation.
    with localcontext() as context:
        context.prec = max(context.prec, len(value.as_tuple().digits) + 4)
        return format_currency(value, currency, locale=locale)


def format_money_compact(money: Money, locale: Locale | str | None = None) -> str:
    """``money`` in the locale's short form, for chart axes: vi → ``"3 Tr ₫"``,
    en → ``"₫3M"``, ``"₫12.5K"`` (one decimal at most; amounts below a thousand in full).

    Raises ``babel.UnknownLocaleError`` for an unknown locale and ``TypeError`` when
    ``money`` is not :class:`Money`.
    """
    if not isinstance(money, Money):
        raise TypeError(f"format_money_compact needs Money, not {type(money).__name__}")
    return format_compact_currency(
        money.to_decimal(),
        money.currency,
        locale=locale if locale is not None else _current_locale(),
        fraction_digits=1,
    )


# --- money read from a model's columns -------------------------------------------------------


class _MoneyAttribute:
    """What both kinds of money column share: where the amount and the currency are read."""

    def __init__(self, amount: str, currency: str) -> None:
        self.amount = amount
        self.currency = attrgetter(currency)
        self.name = amount

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __set__(self, instance: object, value: object) -> NoReturn:
        raise AttributeError(f"{self.name!r} is read-only: set {self.amount!r} instead")


class MoneyColumn(_MoneyAttribute):
    """A read-only :class:`Money` attribute of a model: see :func:`money_column`."""

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> Money: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> Self | Money:
        if instance is None:
            return self
        amount: int = getattr(instance, self.amount)
        currency: str = self.currency(instance)
        return Money(amount, currency)


class OptionalMoneyColumn(_MoneyAttribute):
    """A read-only ``Money | None`` attribute of a model: see :func:`optional_money_column`."""

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> Money | None: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> Self | Money | None:
        if instance is None:
            return self
        amount: int | None = getattr(instance, self.amount)
        currency: str | None = self.currency(instance)
        if amount is None or currency is None:
            return None
        return Money(amount, currency)


def money_column(amount: str, currency: str = "currency") -> MoneyColumn:
    """A read-only ``Money`` made of the object's ``amount`` column and its ``currency``.

    ``total = money_column("total_amount")`` in a model's class body makes ``order.total``
    ``Money(order.total_amount, order.currency)``; the columns stay as they are. ``currency``
    may be a dotted path (``"order.currency"``). On the class, the attribute is the
    descriptor itself (not an SQL expression); setting it on an object raises
    ``AttributeError``.

    Reading it raises ``AttributeError`` when the object has no such attribute, and the
    ``TypeError``/``ValueError`` of :class:`Money` when the amount is not an ``int`` (None
    included) or the currency is not a known code.
    """
    return MoneyColumn(amount, currency)


def optional_money_column(amount: str, currency: str = "currency") -> OptionalMoneyColumn:
    """Like :func:`money_column`, but None while the amount (or the currency) is None.

    Reading it raises what :func:`money_column` does, None amounts and currencies apart.
    """
    return OptionalMoneyColumn(amount, currency)
