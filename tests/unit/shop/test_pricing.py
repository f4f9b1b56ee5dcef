"""What an order costs: the friends discount, staff prices, never both, per-unit rounding, and
totals that add up exactly in VND and USD."""

from __future__ import annotations

import pytest

from perks.money import CurrencyMismatch, Money
from perks.shop.models import DiscountKind, Product
from perks.shop.pricing import PricingItem, choose_discount, price_order, unit_price

FRIENDS = 500  # 5 %, the default FRIENDS_DISCOUNT_BPS


def product(
    price: int,
    currency: str = "VND",
    *,
    staff: int | None = None,
    staff_bps: int = 0,
    id_: int = 1,
) -> Product:
    return Product(
        id=id_,
        price_amount=price,
        currency=currency,
        staff_price_amount=staff,
        staff_discount_bps=staff_bps,
    )


def item(price: int, quantity: int = 1, currency: str = "VND", **staff: int | None) -> PricingItem:
    return PricingItem.of(product(price, currency, **staff), quantity)  # type: ignore[arg-type]


def vnd(amount: int) -> Money:
    return Money(amount, "VND")


def usd(cents: int) -> Money:
    return Money(cents, "USD")


# --- which discount -------------------------------------------------------------------------


def test_a_referred_customer_gets_the_friends_discount():
    assert choose_discount(staff_buyer=False, referred=True, friends_bps=FRIENDS) is (
        DiscountKind.FRIENDS
    )


def test_a_customer_nobody_referred_pays_list_price():
    assert choose_discount(staff_buyer=False, referred=False, friends_bps=FRIENDS) is (
        DiscountKind.NONE
    )


def test_staff_and_friends_discounts_never_stack_staff_wins():
    assert choose_discount(staff_buyer=True, referred=True, friends_bps=FRIENDS) is (
        DiscountKind.STAFF
    )
    quote = price_order([item(2_400_000, staff=1_500_000)], DiscountKind.STAFF, FRIENDS)
    assert quote.total == vnd(1_500_000)  # not 5 % off the staff price as well
    assert quote.friends_bps == 0


def test_a_zero_friends_rate_is_no_discount():
    assert choose_discount(staff_buyer=False, referred=True, friends_bps=0) is DiscountKind.NONE


# --- friends discount -----------------------------------------------------------------------


def test_friends_discount_is_five_percent_of_each_unit_in_vnd():
    quote = price_order([item(2_400_000, quantity=2)], DiscountKind.FRIENDS, FRIENDS)
    (line,) = quote.lines
    assert line.unit == vnd(2_280_000)
    assert line.line_total == vnd(4_560_000)
    assert quote.subtotal == vnd(4_800_000)
    assert quote.discount == vnd(240_000)
    assert quote.total == vnd(4_560_000)
    assert quote.discount_kind is DiscountKind.FRIENDS
    assert quote.friends_bps == FRIENDS


def test_friends_discount_in_usd_cents_is_exact():
    quote = price_order([item(4_900, currency="USD")], DiscountKind.FRIENDS, FRIENDS)
    assert quote.lines[0].unit == usd(4_655)  # $49.00 - $2.45
    assert quote.total == usd(4_655)
    assert quote.currency == "USD"


def test_the_per_unit_discount_rounds_half_up_to_a_whole_minor_unit():
    # 5 % of 4,999 cents is 249.95 → 250; of 10,010 đồng is 500.5 → 501; of 10,009 is 500.45 → 500
    assert unit_price(item(4_999, currency="USD"), DiscountKind.FRIENDS, FRIENDS) == usd(4_749)
    assert unit_price(item(10_010), DiscountKind.FRIENDS, FRIENDS) == vnd(9_509)
    assert unit_price(item(10_009), DiscountKind.FRIENDS, FRIENDS) == vnd(9_509)


def test_rounding_per_unit_keeps_lines_exact_whatever_the_quantity():
    # 5 % of 999 đồng is 49.95: rounded once per unit (50), then multiplied, never per line
    quote = price_order([item(999, quantity=7)], DiscountKind.FRIENDS, FRIENDS)
    (line,) = quote.lines
    assert line.unit == vnd(949)
    assert line.line_total == vnd(949 * 7)
    assert quote.discount == vnd(50 * 7)


# --- staff prices ---------------------------------------------------------------------------


def test_staff_pay_the_staff_price():
    quote = price_order([item(2_400_000, quantity=3, staff=1_500_000)], DiscountKind.STAFF, FRIENDS)
    assert quote.lines[0].unit == vnd(1_500_000)
    assert quote.total == vnd(4_500_000)
    assert quote.discount == vnd(2_700_000)
    assert quote.discount_kind is DiscountKind.STAFF


def test_staff_get_the_staff_discount_bps_when_there_is_no_staff_price():
    # 15 % off $12.99: 194.85 cents → 195 off → $11.04
    quote = price_order([item(1_299, currency="USD", staff_bps=1_500)], DiscountKind.STAFF, FRIENDS)
    assert quote.lines[0].unit == usd(1_104)
    assert quote.total == usd(1_104)


def test_a_staff_price_wins_over_a_staff_discount():
    line = item(1_000_000, staff=700_000, staff_bps=5_000)
    assert unit_price(line, DiscountKind.STAFF, FRIENDS) == vnd(700_000)


def test_staff_pay_list_price_for_a_product_without_staff_price():
    quote = price_order([item(890_000)], DiscountKind.STAFF, FRIENDS)
    assert quote.total == vnd(890_000)
    assert quote.discount == vnd(0)
    assert quote.discount_kind is DiscountKind.STAFF


def test_a_staff_price_above_the_list_price_is_never_charged():
    assert unit_price(item(500_000, staff=600_000), DiscountKind.STAFF, FRIENDS) == vnd(500_000)


def test_customers_never_pay_staff_prices():
    assert unit_price(item(2_400_000, staff=1_500_000), DiscountKind.NONE, FRIENDS) == (
        vnd(2_400_000)
    )
    assert unit_price(item(2_400_000, staff=1_500_000), DiscountKind.FRIENDS, FRIENDS) == (
        vnd(2_280_000)
    )


# --- several lines --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(DiscountKind))
def test_totals_add_up_exactly_over_several_lines(kind):
    items = [
        PricingItem.of(product(2_400_000, staff=1_500_000, id_=1), 2),
        PricingItem.of(product(333_333, staff_bps=1_234, id_=2), 3),
        PricingItem.of(product(19_999, id_=3), 7),
    ]
    quote = price_order(items, kind, FRIENDS)
    assert [line.product_id for line in quote.lines] == [1, 2, 3]
    for line in quote.lines:
        assert line.line_total == line.unit * line.quantity
        assert line.unit <= line.unit_list
    assert quote.total == sum((line.line_total for line in quote.lines), vnd(0))
    assert quote.subtotal == vnd(2_400_000 * 2 + 333_333 * 3 + 19_999 * 7)
    assert quote.subtotal - quote.discount == quote.total


def test_a_usd_order_with_several_lines_is_exact_to_the_cent():
    items = [
        PricingItem.of(product(4_900, "USD", id_=1), 3),
        PricingItem.of(product(1_999, "USD", id_=2), 1),
    ]
    quote = price_order(items, DiscountKind.FRIENDS, FRIENDS)
    # 5 % of 4,900 = 245 → 4,655 × 3; 5 % of 1,999 = 99.95 → 100 → 1,899
    assert quote.total == usd(4_655 * 3 + 1_899)
    assert quote.discount == usd(245 * 3 + 100)


# --- refused --------------------------------------------------------------------------------


def test_one_order_is_in_one_currency():
    with pytest.raises(CurrencyMismatch):
        price_order([item(100_000), item(4_900, currency="USD")], DiscountKind.NONE, FRIENDS)


def test_an_order_needs_items_and_quantities_of_at_least_one():
    with pytest.raises(ValueError, match="at least one item"):
        price_order([], DiscountKind.NONE, FRIENDS)
    with pytest.raises(ValueError, match="start at 1"):
        price_order([item(100_000, quantity=0)], DiscountKind.NONE, FRIENDS)


@pytest.mark.parametrize("bps", [-1, 10_001])
def test_a_friends_rate_outside_0_to_100_percent_is_refused(bps):
    with pytest.raises(ValueError, match="friends_bps"):
        unit_price(item(100_000), DiscountKind.FRIENDS, bps)
