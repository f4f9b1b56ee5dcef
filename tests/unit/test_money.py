"""Behaviour of perks.money: exact integer amounts, splitting, rounding, parsing and display."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from flask import Flask
from flask_babel import Babel
from hypothesis import given
from hypothesis import strategies as st

from perks.errors import ValidationFailed
from perks.money import (
    DEFAULT_CURRENCY,
    MAX_PARSED_AMOUNT,
    CurrencyMismatch,
    Money,
    format_money,
    format_money_compact,
    minor_unit_exponent,
    parse_money,
)


def vnd(amount: int) -> Money:
    return Money(amount, "VND")


def usd(amount: int) -> Money:
    return Money(amount, "USD")


def plain_spaces(text: str) -> str:
    return text.replace("\xa0", " ").replace("\u202f", " ")


amounts = st.integers(min_value=-(10**18), max_value=10**18)
currencies = st.sampled_from(["VND", "USD", "JPY", "EUR", "BHD"])
ratio_lists = st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12).filter(
    any
)


# --- construction ---------------------------------------------------------------------------


def test_default_currency_is_vnd():
    assert DEFAULT_CURRENCY == "VND"
    assert Money.zero() == vnd(0)


@pytest.mark.parametrize(("currency", "exponent"), [("VND", 0), ("USD", 2), ("JPY", 0)])
def test_minor_unit_exponent_follows_iso_4217(currency, exponent):
    assert minor_unit_exponent(currency) == exponent


@pytest.mark.parametrize("currency", ["VDN", "usd", "US", ""])
def test_minor_unit_exponent_rejects_codes_babel_would_guess_for(currency):
    with pytest.raises(ValueError, match="currency"):
        minor_unit_exponent(currency)


@pytest.mark.parametrize("amount", [1.0, 12.5, Decimal("12"), Fraction(1, 2), "100", None])
def test_non_int_amount_is_rejected(amount):
    with pytest.raises(TypeError, match="amount must be an int"):
        Money(amount, "VND")


@pytest.mark.parametrize("amount", [True, False])
def test_bool_amount_is_rejected(amount):
    with pytest.raises(TypeError, match="amount must be an int"):
        Money(amount, "VND")


@pytest.mark.parametrize("currency", ["vnd", "Vnd", "VNDX", "XYZ", "ĐỒN", " VND"])
def test_constructor_rejects_non_canonical_or_unknown_currency(currency):
    with pytest.raises(ValueError, match="currency"):
        Money(1, currency)


def test_constructor_rejects_non_string_currency():
    with pytest.raises(TypeError, match="currency must be a str"):
        Money(1, 704)


def test_of_upper_cases_the_currency():
    assert Money.of(5, "vnd") == vnd(5)
    assert Money.of(5, " usd ") == usd(5)


def test_of_still_rejects_unknown_currency_and_floats():
    with pytest.raises(ValueError, match="unknown currency"):
        Money.of(5, "xyz")
    with pytest.raises(TypeError):
        Money.of(5.0, "vnd")


def test_money_is_immutable_and_hashable():
    money = vnd(5)
    with pytest.raises(AttributeError):
        money.amount = 6
    assert {vnd(5), vnd(5), usd(5)} == {vnd(5), usd(5)}


def test_str_is_amount_and_code_for_logs():
    assert str(vnd(1_250_000)) == "1250000 VND"
    assert str(usd(-1250)) == "-1250 USD"


# --- arithmetic -----------------------------------------------------------------------------


def test_adding_and_subtracting_same_currency():
    assert vnd(1_000) + vnd(250) == vnd(1_250)
    assert vnd(1_000) - vnd(1_250) == vnd(-250)


def test_negation_and_abs():
    assert -vnd(5) == vnd(-5)
    assert abs(vnd(-5)) == vnd(5)
    assert abs(vnd(5)) == vnd(5)


def test_multiplying_by_an_int_on_either_side():
    assert vnd(1_500) * 3 == vnd(4_500)
    assert 3 * vnd(1_500) == vnd(4_500)
    assert vnd(1_500) * -2 == vnd(-3_000)


@pytest.mark.parametrize("factor", [1.5, 2.0, Decimal("1.5"), Fraction(1, 3)])
def test_multiplying_by_a_non_int_number_raises(factor):
    with pytest.raises(TypeError, match="only be multiplied by an int"):
        vnd(100) * factor
    with pytest.raises(TypeError):
        factor * vnd(100)


@pytest.mark.parametrize("factor", [True, "3", vnd(2)])
def test_multiplying_by_bool_string_or_money_raises(factor):
    with pytest.raises(TypeError):
        vnd(100) * factor


def test_there_is_no_division():
    with pytest.raises(TypeError):
        vnd(100) / 3
    with pytest.raises(TypeError):
        vnd(100) // 3


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
    ids=["+", "-", "<", "<=", ">", ">="],
)
def test_combining_different_currencies_raises(operation):
    with pytest.raises(CurrencyMismatch, match="VND with USD"):
        operation(vnd(100), usd(100))


def test_currency_mismatch_is_a_value_error():
    assert issubclass(CurrencyMismatch, ValueError)


def test_adding_different_currencies_raises():
    with pytest.raises(CurrencyMismatch) as caught:
        vnd(1) + usd(1)
    assert (caught.value.left, caught.value.right) == ("VND", "USD")


def test_equality_across_currencies_is_false_not_an_error():
    assert vnd(100) != usd(100)
    assert vnd(100) == vnd(100)


def test_ordering_within_one_currency():
    assert vnd(1) < vnd(2) <= vnd(2) < vnd(3)
    assert vnd(3) > vnd(2) >= vnd(2)
    assert max(vnd(1), vnd(-5), vnd(7)) == vnd(7)
    assert sorted([vnd(3), vnd(-1), vnd(2)]) == [vnd(-1), vnd(2), vnd(3)]


@pytest.mark.parametrize("other", [0, 5, 5.0, "5", None])
def test_comparing_with_a_non_money_raises_type_error(other):
    with pytest.raises(TypeError):
        _ = vnd(5) < other


def test_sum_of_money_works():
    assert sum([vnd(1), vnd(2), vnd(3)]) == vnd(6)
    assert sum([usd(5)]) == usd(5)


def test_sum_of_empty_list_needs_a_money_start():
    assert sum([], Money.zero("USD")) == usd(0)
    assert sum([usd(1), usd(2)], Money.zero("USD")) == usd(3)


def test_sum_across_currencies_raises():
    with pytest.raises(CurrencyMismatch):
        sum([vnd(1), usd(1)])


@pytest.mark.parametrize("other", [1, -1, False, 0.0, Decimal(0)])
def test_only_the_int_zero_can_be_added_to_money_from_the_left(other):
    with pytest.raises(TypeError):
        other + vnd(5)


def test_money_plus_a_plain_number_raises():
    with pytest.raises(TypeError):
        vnd(5) + 0
    with pytest.raises(TypeError):
        vnd(5) - 1


def test_truthiness_and_predicates():
    assert not vnd(0)
    assert vnd(1)
    assert vnd(-1)
    assert vnd(0).is_zero
    assert not vnd(3).is_zero
    assert vnd(-3).is_negative
    assert not vnd(0).is_negative
    assert Money.zero("USD") == usd(0)


# --- allocate and split ---------------------------------------------------------------------


def test_allocate_gives_leftover_to_largest_remainders():
    assert vnd(100).allocate([1, 1, 1]) == [vnd(34), vnd(33), vnd(33)]
    assert vnd(10).allocate([70, 30]) == [vnd(7), vnd(3)]
    # 5 × 1/6 = 0.83 and 5 × 5/6 = 4.17: the larger remainder gets the unit.
    assert vnd(5).allocate([1, 5]) == [vnd(1), vnd(4)]


def test_allocate_breaks_ties_by_earlier_index():
    assert vnd(2).allocate([1, 1, 1, 1]) == [vnd(1), vnd(1), vnd(0), vnd(0)]


def test_allocate_negative_amount_mirrors_the_positive_split():
    assert vnd(-100).allocate([1, 1, 1]) == [vnd(-34), vnd(-33), vnd(-33)]


def test_allocate_zero_ratio_gets_nothing():
    assert vnd(7).allocate([0, 1, 0, 1]) == [vnd(0), vnd(4), vnd(0), vnd(3)]


@pytest.mark.parametrize("ratios", [[], [0], [0, 0], [1, -1], [-1]])
def test_allocate_rejects_ratios_without_a_positive_or_with_a_negative(ratios):
    with pytest.raises(ValueError, match="ratio"):
        vnd(100).allocate(ratios)


@pytest.mark.parametrize("ratios", [[1.5, 1], [True, 1], ["1"], "11", 3])
def test_allocate_rejects_non_int_ratios(ratios):
    with pytest.raises(TypeError):
        vnd(100).allocate(ratios)


@given(amount=amounts, currency=currencies, ratios=ratio_lists)
def test_allocate_never_creates_or_loses_money(amount, currency, ratios):
    whole = Money(amount, currency)
    parts = whole.allocate(ratios)

    assert len(parts) == len(ratios)
    assert sum(parts, Money.zero(currency)) == whole
    total = sum(ratios)
    for part, ratio in zip(parts, ratios, strict=True):
        assert part.currency == currency
        exact_share = Fraction(amount * ratio, total)
        assert abs(part.amount - exact_share) < 1
        if ratio == 0:
            assert part.is_zero
        if amount < 0:
            assert part.amount <= 0
        else:
            assert part.amount >= 0


@given(amount=st.integers(min_value=0, max_value=10**18), ratios=ratio_lists)
def test_allocating_a_negative_amount_negates_the_positive_allocation(amount, ratios):
    assert vnd(-amount).allocate(ratios) == [-part for part in vnd(amount).allocate(ratios)]


@given(amount=amounts, currency=currencies, n=st.integers(min_value=1, max_value=50))
def test_split_never_creates_or_loses_money(amount, currency, n):
    whole = Money(amount, currency)
    parts = whole.split(n)

    assert len(parts) == n
    assert sum(parts, Money.zero(currency)) == whole
    sizes = [abs(part.amount) for part in parts]
    assert max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)


@pytest.mark.parametrize("n", [0, -1])
def test_split_into_fewer_than_one_part_raises(n):
    with pytest.raises(ValueError, match="at least one part"):
        vnd(10).split(n)


@pytest.mark.parametrize("n", [2.0, True])
def test_split_count_must_be_an_int(n):
    with pytest.raises(TypeError):
        vnd(10).split(n)


# --- percent --------------------------------------------------------------------------------


DECIMAL_ROUNDING = {"half_up": ROUND_HALF_UP, "down": ROUND_DOWN, "half_even": ROUND_HALF_EVEN}


def reference_percent(amount: int, bps: int, rounding: str) -> int:
    with localcontext() as context:
        context.prec = 100
        exact = Decimal(amount) * Decimal(bps) / Decimal(10_000)
        return int(exact.quantize(Decimal(1), rounding=DECIMAL_ROUNDING[rounding]))


@pytest.mark.parametrize(
    ("amount", "bps", "rounding", "expected"),
    [
        (100, 250, "half_up", 3),  # 2.5 → 3
        (-100, 250, "half_up", -3),  # −2.5 → −3: away from zero
        (100, 250, "half_even", 2),  # 2.5 → 2
        (140, 250, "half_even", 4),  # 3.5 → 4
        (119, 250, "down", 2),  # 2.975 → 2
        (-119, 250, "down", -2),  # toward zero
        (1_250_000, 500, "half_up", 62_500),
        (1_000, 15_000, "half_up", 1_500),  # more than 100 % is allowed
    ],
)
def test_percent_rounding_examples(amount, bps, rounding, expected):
    assert vnd(amount).percent(bps, rounding) == vnd(expected)


def test_percent_defaults_to_half_up():
    assert vnd(100).percent(250) == vnd(3)


@given(amount=amounts, currency=currencies)
def test_percent_of_zero_and_ten_thousand_bps_is_exact(amount, currency):
    money = Money(amount, currency)
    for rounding in DECIMAL_ROUNDING:
        assert money.percent(0, rounding) == Money.zero(currency)
        assert money.percent(10_000, rounding) == money


@given(
    amount=amounts,
    bps=st.integers(min_value=-20_000, max_value=20_000),
    rounding=st.sampled_from(sorted(DECIMAL_ROUNDING)),
)
def test_percent_agrees_with_decimal_reference(amount, bps, rounding):
    assert vnd(amount).percent(bps, rounding) == vnd(reference_percent(amount, bps, rounding))


@given(
    amount=amounts,
    bps=st.integers(min_value=0, max_value=20_000),
    rounding=st.sampled_from(sorted(DECIMAL_ROUNDING)),
)
def test_percent_rounds_symmetrically(amount, bps, rounding):
    assert (-vnd(amount)).percent(bps, rounding) == -(vnd(amount).percent(bps, rounding))


def test_percent_rejects_unknown_rounding():
    with pytest.raises(ValueError, match="rounding"):
        vnd(100).percent(250, "up")


@pytest.mark.parametrize("bps", [2.5, Decimal("250"), True])
def test_percent_rejects_non_int_bps(bps):
    with pytest.raises(TypeError):
        vnd(100).percent(bps)


# --- decimals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("money", "expected"),
    [
        (vnd(1_250_000), Decimal("1250000")),
        (usd(1250), Decimal("12.50")),
        (usd(-5), Decimal("-0.05")),
        (usd(0), Decimal("0.00")),
        (Money(1234, "BHD"), Decimal("1.234")),
    ],
)
def test_to_decimal_uses_the_currency_places(money, expected):
    assert money.to_decimal() == expected
    assert str(money.to_decimal()) == str(expected)


def test_to_decimal_is_exact_beyond_decimal_precision():
    assert usd(10**40 + 1).to_decimal() == Decimal("100000000000000000000000000000000000000.01")


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (Decimal("12.50"), "USD", usd(1250)),
        ("12.5", "USD", usd(1250)),
        ("12.500", "USD", usd(1250)),  # trailing zeros are exact, so fine
        ("-0.05", "USD", usd(-5)),
        (12, "USD", usd(1200)),
        ("1250000", "VND", vnd(1_250_000)),
        ("1E+3", "VND", vnd(1000)),
        (Decimal("7.000"), "VND", vnd(7)),
    ],
)
def test_from_decimal_converts_major_units(value, currency, expected):
    assert Money.from_decimal(value, currency) == expected


@pytest.mark.parametrize(
    ("value", "currency", "code"),
    [
        ("12.505", "USD", "decimals"),
        ("1.5", "VND", "decimals"),
        (Decimal("0.001"), "USD", "decimals"),
        ("abc", "USD", "format"),
        ("NaN", "USD", "format"),
        ("Infinity", "VND", "format"),
        ("1E+999999999", "VND", "too_large"),
        (str(MAX_PARSED_AMOUNT + 1), "VND", "too_large"),
    ],
)
def test_from_decimal_rejects_inexact_or_absurd_values(value, currency, code):
    with pytest.raises(ValidationFailed) as caught:
        Money.from_decimal(value, currency)
    assert caught.value.details["code"] == code


@pytest.mark.parametrize("value", [12.5, True])
def test_from_decimal_rejects_floats_and_bools(value):
    with pytest.raises(TypeError):
        Money.from_decimal(value, "USD")


@given(
    amount=st.integers(min_value=-MAX_PARSED_AMOUNT, max_value=MAX_PARSED_AMOUNT),
    currency=currencies,
)
def test_decimal_round_trip_is_exact(amount, currency):
    money = Money(amount, currency)
    assert Money.from_decimal(money.to_decimal(), currency) == money


# --- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "1.250.000",
        "1,250,000 ₫",
        "1 250 000",
        "1\xa0250\xa0000",
        "1\u202f250\u202f000 ₫",
        "1250000",
        "1.250.000đ",
        "1.250.000 Đ",
        "1.250.000 VND",
        "1.250.000 vnd",
        "1.250.000 VNĐ",
        "1.250.000 đồng",
        "₫1,250,000",
        "  1.250.000  ",
        "+1.250.000",
        "１.２５０.０００",
    ],
)
def test_parsing_vnd_accepts_common_spellings(text):
    assert parse_money(text) == vnd(1_250_000)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.50", 1250),
        ("$12.50", 1250),
        ("12,50", 1250),
        ("1,234.56", 123456),
        ("1.234,56", 123456),
        ("1 234,56", 123456),
        ("12", 1200),
        ("12.5", 1250),
        ("0,05", 5),
        ("US$ 12.50", 1250),
        ("12.50 usd", 1250),
        ("1,234", 123400),  # a three-digit tail is a thousands group, not decimals
        ("0", 0),
    ],
)
def test_parsing_usd_reads_the_final_short_group_as_cents(text, expected):
    assert parse_money(text, "USD") == usd(expected)


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("-1.250.000", "VND", vnd(-1_250_000)),
        ("−1.250.000 ₫", "VND", vnd(-1_250_000)),
        ("-$12.50", "USD", usd(-1250)),
        ("$-12.50", "USD", usd(-1250)),
        ("- 12,50", "USD", usd(-1250)),
    ],
)
def test_parsing_negative_amounts_when_allowed(text, currency, expected):
    assert parse_money(text, currency, allow_negative=True) == expected


def test_minus_zero_is_zero_not_negative():
    assert parse_money("-0") == vnd(0)


@pytest.mark.parametrize(
    ("text", "currency", "code"),
    [
        ("", "VND", "empty"),
        ("   ", "VND", "empty"),
        ("₫", "VND", "empty"),
        ("-", "VND", "empty"),
        ("abc", "VND", "format"),
        ("12a", "VND", "format"),
        ("1e5", "VND", "format"),
        ("€5", "VND", "format"),
        ("$5", "VND", "format"),
        ("5 ₫ 5", "VND", "format"),
        ("1..250", "VND", "format"),
        (".5", "VND", "format"),
        ("5.", "VND", "format"),
        ("5-", "VND", "format"),
        ("1" * 100, "VND", "format"),
        ("--5", "VND", "sign"),
        ("+-5", "VND", "sign"),
        ("-5-", "VND", "sign"),
        ("-5", "VND", "negative"),
        ("−5", "VND", "negative"),
        ("1.25", "VND", "decimals"),
        ("1.250.000,00", "VND", "decimals"),
        ("0.500", "VND", "decimals"),
        ("1 25", "VND", "grouping"),
        ("12.34.567", "VND", "grouping"),
        ("1.250,000", "VND", "grouping"),
        ("1234.567", "VND", "grouping"),
        ("10000000000000000", "VND", "too_large"),
        ("1.000.000.000.000.001", "VND", "too_large"),
        ("12.345.678.901.234.567.890", "VND", "too_large"),
        ("€12.50", "USD", "format"),
        ("12.50 EUR", "USD", "format"),
        ("12.3456", "USD", "decimals"),
        ("0.125", "USD", "decimals"),
        ("1,234.567", "USD", "decimals"),
        ("1.234.56", "USD", "grouping"),
        ("12,34.56", "USD", "grouping"),
        ("-$12.50", "USD", "negative"),
        ("-$-12.50", "USD", "sign"),
        ("10000000000000.01", "USD", "too_large"),
    ],
)
def test_parsing_rejects_bad_input_with_a_reason(text, currency, code):
    with pytest.raises(ValidationFailed) as caught:
        parse_money(text, currency)
    assert caught.value.details["code"] == code
    assert caught.value.status_code == 400
    assert caught.value.message


def test_largest_accepted_amount_is_the_limit():
    assert parse_money("1.000.000.000.000.000") == vnd(MAX_PARSED_AMOUNT)
    assert parse_money("10,000,000,000,000.00", "USD") == usd(MAX_PARSED_AMOUNT)


def test_format_error_message_shows_an_example_in_the_currency():
    with pytest.raises(ValidationFailed) as caught:
        parse_money("abc")
    assert plain_spaces(caught.value.message) == "Enter an amount such as 1.250.000 ₫."


def test_vnd_decimals_message_explains_there_are_none():
    with pytest.raises(ValidationFailed) as caught:
        parse_money("1.25")
    assert "no decimal places" in caught.value.message


def test_parsing_non_string_is_a_programming_error():
    with pytest.raises(TypeError):
        parse_money(1250000)


def test_parsing_into_unknown_currency_is_a_programming_error():
    with pytest.raises(ValueError, match="currency"):
        parse_money("5", "XYZ")


@given(
    amount=st.integers(min_value=0, max_value=MAX_PARSED_AMOUNT),
    currency=st.sampled_from(["VND", "USD"]),
    locale=st.sampled_from(["vi", "en"]),
    negative=st.booleans(),
)
def test_parsing_what_format_money_shows_gives_the_amount_back(amount, currency, locale, negative):
    money = Money(-amount if negative else amount, currency)
    shown = format_money(money, locale)
    assert parse_money(shown, currency, allow_negative=True) == money


# --- formatting -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("money", "locale", "expected"),
    [
        (vnd(1_250_000), "vi", "1.250.000 ₫"),
        (vnd(1_250_000), "en", "₫1,250,000"),
        (vnd(-1_250_000), "vi", "-1.250.000 ₫"),
        (usd(1250), "en", "$12.50"),
        (usd(123456), "en", "$1,234.56"),
        (usd(1200), "en", "$12.00"),
        (usd(1250), "vi", "12,50 US$"),
    ],
)
def test_format_money_in_vietnamese_and_english(money, locale, expected):
    assert plain_spaces(format_money(money, locale)) == expected


@pytest.mark.parametrize(
    ("money", "locale", "expected"),
    [
        (vnd(3_000_000), "vi", "3 Tr ₫"),
        (vnd(3_000_000), "en", "₫3M"),
        (vnd(12_500), "vi", "12,5 N ₫"),
        (vnd(1_250_000_000), "en", "₫1.2B"),
        (vnd(900), "vi", "900 ₫"),
        (usd(1_500_000), "en", "$15K"),
    ],
)
def test_compact_money_for_chart_axes(money, locale, expected):
    assert plain_spaces(format_money_compact(money, locale)) == expected


def test_format_money_outside_an_app_uses_vietnamese():
    assert plain_spaces(format_money(vnd(1_250_000))) == "1.250.000 ₫"


@pytest.fixture
def english_app():
    app = Flask(__name__)
    Babel(app, locale_selector=lambda: "en")
    return app


def test_format_money_uses_the_request_locale(english_app):
    with english_app.test_request_context():
        assert format_money(vnd(1_250_000)) == "₫1,250,000"
        assert format_money(usd(1250)) == "$12.50"


def test_format_money_uses_babel_locale_in_an_app_context(english_app):
    with english_app.app_context():
        assert format_money(usd(1250)) == "$12.50"


def test_format_money_in_an_app_without_babel_falls_back_to_vietnamese():
    with Flask(__name__).app_context():
        assert plain_spaces(format_money(vnd(1_250_000))) == "1.250.000 ₫"


def test_format_money_explicit_locale_wins_over_the_request(english_app):
    with english_app.test_request_context():
        assert plain_spaces(format_money(vnd(1_250_000), "vi")) == "1.250.000 ₫"


def test_format_money_rejects_non_money():
    with pytest.raises(TypeError):
        format_money(Decimal("12.50"))
