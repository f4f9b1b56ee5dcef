"""Every money, currency and rate input of every form and filter, and every amount a signed
webhook carries: bad values get a 4xx with a message in the user's language (or, from Stripe,
a recorded mismatch), never a 500, and nothing is written.

Bad values: blank, whitespace, huge (10**30, more than any database's BIGINT), negative,
non-numeric, NaN and infinities, too many decimals for the currency, and currency codes that
are blank, whitespace, unknown or not offered.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from perks.audit import AuditEvent
from perks.commissions.ledger import LedgerEntry
from perks.commissions.models import CommissionRule
from perks.extensions import db
from perks.payments.models import EventOutcome, StripeEvent
from perks.people.models import Role, User
from perks.shop.models import Order, OrderStatus, Product
from tests import factories
from tests import stripe_fixtures as sf
from tests.helpers import login, text_of
from tests.submissions import product_form, rule_form

HUGE = str(10**30)

#: what a person might type into an amount field that is not an amount
BAD_AMOUNTS = [
    "",
    "   ",
    "\t\n",
    HUGE,
    "9" * 19,  # just over BIGINT
    "-5.000",
    "abc",
    "1e5",
    "NaN",
    "nan",
    "Infinity",
    "-inf",
    "1.5",  # a decimal in VND, which has none
    "0x10",
    "１２３٫４",
    "1" * 200,
]

#: rates (percentages) that are not one: over 100 %, negative, too many decimals
BAD_RATES = ["100.5", "-1", "101", "2.555", "1,5.5", "%"]

#: what a currency select might receive from a crafted form
BAD_CURRENCIES = ["", " ", "\t", "vnd ", "XXX", "ABC", "EUR", "US", "🙂🙂🙂", "VND\x00"]


def count(model: Any) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def signed_in(client: FlaskClient, *roles: Role) -> User:
    user = factories.UserFactory(roles=set(roles))
    login(client, user)
    return user


#: how a refusal shows its reason: a field's message, the form's, or the 400 page's
MESSAGE_MARKS = (
    'class="invalid-feedback"',
    "alert-danger",
    "alert-warning",
    "The request could not be understood",
)


def assert_refused(response: Any) -> None:
    """A 4xx that tells the person why (never a 500, never a silent refusal)."""
    assert 400 <= response.status_code < 500, (response.status_code, text_of(response)[:400])
    page = response.get_data(as_text=True)
    assert any(mark in page for mark in MESSAGE_MARKS), text_of(response)[:600]


# --- commission rules -----------------------------------------------------------------------


RULE_CASES = [
    *[{"currency": bad, "kind": "flat", "flat": "50.000"} for bad in BAD_CURRENCIES],
    *[{"currency": bad, "cap": "10.000"} for bad in BAD_CURRENCIES if bad],
    *[
        {"currency": bad, "preview_amount": "2.000.000", "submit": "", "preview": "1"}
        for bad in BAD_CURRENCIES
        if bad
    ],
    *[{"currency": "VND", "kind": "flat", "flat": bad} for bad in BAD_AMOUNTS],
    *[{"currency": "VND", "cap": bad} for bad in BAD_AMOUNTS if bad.strip()],
    *[{"currency": "USD", "cap": "12.345.6"}, {"currency": "USD", "cap": "0.125"}],
    *[{"rate": bad} for bad in [*BAD_AMOUNTS, *BAD_RATES] if bad != "1.5"],
    *[
        {"currency": "VND", "preview_amount": bad, "submit": "", "preview": "1"}
        for bad in BAD_AMOUNTS
        if bad.strip()
    ],
    {"preview_quantity": HUGE, "submit": "", "preview": "1", "preview_amount": "1.000"},
]


@pytest.mark.parametrize("fields", RULE_CASES, ids=repr)
def test_a_bad_rule_amount_or_currency_is_refused(client, fields):
    signed_in(client, Role.FINANCE)
    response = client.post("/finance/commission-rules/new", data=rule_form(**fields))
    assert_refused(response)
    assert count(CommissionRule) == 0


@pytest.mark.parametrize("currency", BAD_CURRENCIES, ids=repr)
def test_a_rule_revision_with_a_bad_currency_is_refused(client, currency):
    signed_in(client, Role.FINANCE)
    rule = factories.CommissionRuleFactory()
    db.session.commit()
    response = client.post(
        f"/finance/commission-rules/{rule.id}/revise",
        data=rule_form(kind="flat", flat="50.000", currency=currency, row_version=rule.row_version),
    )
    assert_refused(response)
    assert count(CommissionRule) == 1


@pytest.mark.parametrize(
    ("locale", "message"), [("en", "Not a valid choice."), ("vi", "Lựa chọn không hợp lệ.")]
)
def test_a_blank_currency_is_refused_in_the_users_language(client, locale, message):
    login(client, factories.UserFactory(roles={Role.FINANCE}, locale=locale))
    response = client.post(
        "/finance/commission-rules/new",
        data=rule_form(kind="flat", flat="50.000", currency=" "),
    )
    assert response.status_code == 400
    assert message in text_of(response)


# --- adjustments ----------------------------------------------------------------------------


ADJUSTMENT_CASES = [
    *[{"currency": "VND", "amount": bad} for bad in BAD_AMOUNTS if bad != "-5.000"],
    *[{"currency": bad, "amount": "10.000"} for bad in BAD_CURRENCIES],
    {"currency": "USD", "amount": "0.125"},
    {"currency": "VND", "amount": "-" + HUGE},
]


@pytest.mark.parametrize("fields", ADJUSTMENT_CASES, ids=repr)
def test_a_bad_adjustment_is_refused(client, fields):
    signed_in(client, Role.FINANCE)
    person = factories.UserFactory()
    db.session.commit()
    response = client.post(
        "/finance/commissions/adjustments",
        data={"user_id": person.id, "reason": "Because", **fields},
    )
    assert_refused(response)
    assert count(LedgerEntry) == 0


# --- products -------------------------------------------------------------------------------


PRODUCT_CASES = [
    *[{"price": bad} for bad in BAD_AMOUNTS],
    *[{"staff_price": bad} for bad in BAD_AMOUNTS if bad.strip()],
    *[
        {"staff_discount": bad}
        for bad in [*BAD_AMOUNTS, "100.5", "-1", "101", "12.555"]
        if bad.strip() and bad != "1.5"
    ],
    *[{"currency": bad} for bad in BAD_CURRENCIES],
    {"currency": "USD", "price": "12.345,678"},
    {"max_quantity_per_order": HUGE},
]


@pytest.mark.parametrize("fields", PRODUCT_CASES, ids=repr)
def test_a_bad_product_price_or_currency_is_refused(client, fields):
    signed_in(client, Role.HR)
    response = client.post("/manage/products/new", data=product_form(**fields))
    assert_refused(response)
    assert count(Product) == 0


PRODUCT_EDIT_CASES = [
    *[{"price": bad} for bad in BAD_AMOUNTS],
    *[{"currency": bad} for bad in BAD_CURRENCIES],
]


@pytest.mark.parametrize("fields", PRODUCT_EDIT_CASES, ids=repr)
def test_a_bad_product_edit_is_refused(client, fields):
    signed_in(client, Role.FINANCE)
    product = factories.ProductFactory(price_amount=1_000_000)
    db.session.commit()
    response = client.post(
        f"/manage/products/{product.id}/edit", data=product_form(row_version="1", **fields)
    )
    assert_refused(response)
    db.session.expire_all()
    assert db.session.get(Product, product.id).price_amount == 1_000_000


# --- refunds --------------------------------------------------------------------------------


def paid_order() -> Order:
    order = factories.OrderFactory()
    order.paid_at = datetime.now(UTC)
    order.paid_amount = order.total_amount
    order.payment_intent_id = f"pi_local_{order.id}"
    order.refresh_status()
    db.session.commit()
    return order


@pytest.mark.parametrize("amount", [*BAD_AMOUNTS, "0", "-" + HUGE], ids=repr)
def test_a_bad_refund_amount_is_refused_before_stripe_is_asked(client, app, monkeypatch, amount):
    # Nothing listens there: were Stripe asked, the answer would be a 502/503, not a 400.
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", "http://127.0.0.1:9")
    signed_in(client, Role.FINANCE)
    order = paid_order()
    page = client.get(f"/manage/orders/{order.id}").get_data(as_text=True)
    token = re.search(r'name="request_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    response = client.post(
        f"/manage/orders/{order.id}/refund",
        data={"amount": amount, "reason": "Cancelled", "request_token": token.group(1)},
    )
    assert response.status_code == 400, text_of(response)[:400]
    assert_refused(response)
    assert count(AuditEvent) == 0


# --- filters --------------------------------------------------------------------------------


FILTER_PAGES = [
    ("/manage/orders", Role.FINANCE),
    ("/manage/products", Role.HR),
    ("/finance/reports", Role.FINANCE),
    ("/finance/reports/lines", Role.FINANCE),
]


@pytest.mark.parametrize("currency", BAD_CURRENCIES, ids=repr)
@pytest.mark.parametrize(("path", "role"), FILTER_PAGES)
def test_a_bad_currency_filter_is_refused(client, path, role, currency):
    signed_in(client, role)
    response = client.get(path, query_string={"currency": currency})
    if currency == "":  # "every currency", the filter's first choice
        assert response.status_code == 200
    else:
        assert_refused(response)


# --- webhooks -------------------------------------------------------------------------------


def reloaded(order: Order) -> Order:
    db.session.expire_all()
    return db.session.get(Order, order.id)  # type: ignore[return-value]


ABSURD_AMOUNTS: list[object] = [
    10**30,
    2**63,
    -(10**30),
    -1,
    1.5,
    "1000",
    None,
    True,
    float("1e300"),
]


@pytest.mark.parametrize("amount", ABSURD_AMOUNTS, ids=repr)
def test_a_signed_payment_with_an_absurd_amount_is_a_recorded_mismatch(client, amount):
    order = factories.OrderFactory()
    db.session.commit()
    session = sf.checkout_session(order)
    session["amount_total"] = amount
    evt = sf.event("checkout.session.completed", session)
    response = sf.deliver(client, evt)
    assert response.status_code == 200  # stored, and Stripe need not send it again
    stored = db.session.scalar(select(StripeEvent))
    assert stored is not None
    assert stored.outcome is EventOutcome.MISMATCH
    shown = reloaded(order)
    assert shown.paid_at is None
    assert shown.status is not OrderStatus.PAID
    assert shown.mismatch


@pytest.mark.parametrize("currency", ["", "   ", "xxx", "usd", None, 5, "vnd\x00"], ids=repr)
def test_a_signed_payment_in_a_strange_currency_is_a_recorded_mismatch(client, currency):
    order = factories.OrderFactory()
    db.session.commit()
    session = sf.checkout_session(order)
    session["currency"] = currency
    response = sf.deliver(client, sf.event("checkout.session.completed", session))
    assert response.status_code == 200
    shown = reloaded(order)
    assert shown.paid_at is None
    assert shown.mismatch


@pytest.mark.parametrize("amount", ABSURD_AMOUNTS, ids=repr)
def test_a_signed_refund_with_an_absurd_total_is_a_recorded_mismatch(client, amount):
    order = paid_order()
    order.payment_intent_id = sf.payment_intent_id(order)  # the one the charge names
    db.session.commit()
    charge = sf.charge(order)
    charge["amount_refunded"] = amount
    with sf.recording_order_signals() as heard:
        response = sf.deliver(client, sf.event("charge.refunded", charge))
    assert response.status_code == 200
    shown = reloaded(order)
    assert shown.refunded_amount == 0
    assert shown.status is OrderStatus.PAID
    assert shown.mismatch
    assert heard == []  # no refund announced: no commission is reversed
