"""Finance refunds an order from its page, fully or in part, through the Stripe sandbox served
live: the real ``stripe`` library asks the sandbox, which refunds and sends the signed
``charge.refunded`` webhook back to the live server; only then does the order change.
Nothing is mocked."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from perks.audit import AuditEvent
from perks.errors import Conflict, ValidationFailed
from perks.extensions import db
from perks.i18n import company_date
from perks.money import Money
from perks.payments import stripe_gateway
from perks.people.models import Role, User
from perks.shop import refunds
from perks.shop.models import DisputeStatus, Order, OrderStatus
from tests import factories
from tests.helpers import is_postgres, login, open_checkout_session, wait_for_order
from tests.racing import all_at_once
from tests.stripe_sandbox import LiveSandbox

REFUNDED = "shop.refund_requested"


def live_paid_order(sandbox: LiveSandbox, *, price: int, currency: str, quantity: int = 1) -> Order:
    """An order paid with the sandbox's test card, once its webhook has marked it paid."""
    product = factories.ProductFactory(price_amount=price, currency=currency)
    order = factories.OrderFactory(product=product, quantity=quantity)
    sandbox.pay(open_checkout_session(order))
    return wait_for_order(order.id, lambda o: o.paid_at is not None)


def refund_page(client: FlaskClient, order_id: int) -> tuple[str, str]:
    """The order's page and the token of the refund form it drew."""
    page = client.get(f"/manage/orders/{order_id}").get_data(as_text=True)
    token = re.search(r'name="request_token" type="hidden" value="([^"]+)"', page)
    assert token is not None, "no refund form on the page"
    return page, token.group(1)


def ask_refund(client: FlaskClient, order_id: int, amount: str, token: str) -> Any:
    return client.post(
        f"/manage/orders/{order_id}/refund",
        data={"amount": amount, "reason": "The tour was cancelled.", "request_token": token},
    )


def stripe_refunds(order: Order) -> list[Any]:
    listed = stripe_gateway.client().v1.refunds.list(
        params={"payment_intent": order.payment_intent_id, "limit": 100}
    )
    return list(listed.data)


def refund_rows(order_id: int) -> list[AuditEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == REFUNDED, AuditEvent.target_id == str(order_id))
            .order_by(AuditEvent.id)
        )
    )


@pytest.fixture
def finance(client: FlaskClient, login_as: Any) -> User:
    return login_as(Role.FINANCE, name="Đỗ Thị Kế Toán")


# --- through the sandbox --------------------------------------------------------------------


def test_a_partial_refund_then_the_rest_in_usd(client, finance, live_sandbox):
    order = live_paid_order(live_sandbox, price=1250, currency="USD")
    page, token = refund_page(client, order.id)
    assert 'value="$12.50"' in page  # the whole amount, ready for a full refund

    response = ask_refund(client, order.id, "5.00", token)

    assert response.status_code == 303
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Refund of $5.00 requested. The order updates when Stripe confirms it." in shown
    (row,) = refund_rows(order.id)
    assert row.actor_id == finance.id
    assert (row.details["amount"], row.details["currency"]) == (500, "USD")
    assert row.details["reason"] == "The tour was cancelled."
    assert row.details["refund_id"].startswith("re_")
    assert "shown" not in row.details  # the audit page writes the amount for its reader
    order = wait_for_order(order.id, lambda o: o.refunded_amount == 500)
    assert order.status is OrderStatus.PARTIALLY_REFUNDED

    # More than is left is refused here, before Stripe is asked.
    page, token = refund_page(client, order.id)
    assert 'value="$7.50"' in page
    too_much = ask_refund(client, order.id, "10.00", token)
    assert too_much.status_code == 400
    assert "You can refund at most $7.50: $12.50 was paid and $5.00 is refunded" in (
        too_much.get_data(as_text=True)
    )
    assert len(stripe_refunds(order)) == 1

    rest = ask_refund(client, order.id, "7.50", token)
    assert rest.status_code == 303
    order = wait_for_order(order.id, lambda o: o.refunded_amount == 1250)
    assert order.status is OrderStatus.REFUNDED
    assert sorted(r.amount for r in stripe_refunds(order)) == [500, 750]
    final = client.get(f"/manage/orders/{order.id}").get_data(as_text=True)
    assert 'data-testid="refund-form"' not in final
    assert "Everything paid for this order is refunded or requested already." in final
    assert final.count("The tour was cancelled.") == 2
    # Stripe's charge.refunded events are listed on the order's page.
    assert "charge.refunded" in final


def test_a_double_submitted_form_refunds_once(client, finance, live_sandbox):
    order = live_paid_order(live_sandbox, price=1_250_000, currency="VND", quantity=2)
    _, token = refund_page(client, order.id)

    first = ask_refund(client, order.id, "500.000", token)
    second = ask_refund(client, order.id, "500.000", token)

    assert (first.status_code, second.status_code) == (303, 303)
    assert [r.amount for r in stripe_refunds(order)] == [500_000]
    assert len(refund_rows(order.id)) == 1
    order = wait_for_order(order.id, lambda o: o.refunded_amount == 500_000)
    live_sandbox.wait_for_deliveries()
    db.session.expire_all()
    assert db.session.get(Order, order.id).refunded_amount == 500_000  # type: ignore[union-attr]


def test_the_same_form_sent_again_with_another_amount_is_refused(client, finance, live_sandbox):
    order = live_paid_order(live_sandbox, price=1_000_000, currency="VND")
    _, token = refund_page(client, order.id)
    assert ask_refund(client, order.id, "100.000", token).status_code == 303

    again = ask_refund(client, order.id, "200.000", token)

    assert again.status_code == 409
    assert "This refund form was already sent." in again.get_data(as_text=True)
    assert [r.amount for r in stripe_refunds(order)] == [100_000]


def test_simultaneous_submissions_of_one_form_make_one_refund(app, finance, live_sandbox):
    order = live_paid_order(live_sandbox, price=800_000, currency="VND")
    order_id = order.id
    _, token = refund_page_for(app, finance, order_id)

    def signed_in(_tab: int) -> FlaskClient:
        client = app.test_client()
        login(client, finance)
        return client

    outcome = all_at_once(
        app,
        range(2),
        lambda client: ask_refund(client, order_id, "300.000", token).status_code,
        prepare=signed_in,
        requests=True,
    )

    assert outcome.errors == []
    assert outcome.results == [303, 303]
    assert [r.amount for r in stripe_refunds(order)] == [300_000]
    wait_for_order(order_id, lambda o: o.refunded_amount == 300_000)
    if is_postgres(app):
        # The order's row lock lets only one of them record the request.
        assert len(refund_rows(order_id)) == 1


def refund_page_for(app: Flask, user: User, order_id: int) -> tuple[str, str]:
    client = app.test_client()
    login(client, user)
    return refund_page(client, order_id)


def test_a_refusal_by_stripe_is_shown_and_nothing_is_recorded(client, finance, live_sandbox):
    order = paid_without_stripe(payment_intent_id="pi_unknown_to_the_sandbox")
    _, token = refund_page(client, order.id)

    response = ask_refund(client, order.id, "100.000", token)

    assert response.status_code == 502
    page = response.get_data(as_text=True)
    assert "Stripe did not make the refund" in page
    assert "Nothing was refunded" in page
    assert refund_rows(order.id) == []
    db.session.expire_all()
    assert db.session.get(Order, order.id).refunded_amount == 0  # type: ignore[union-attr]
    # The form comes back with a new token: Stripe remembers the refused key.
    new_token = re.search(r'name="request_token" type="hidden" value="([^"]+)"', page)
    assert new_token is not None
    assert new_token.group(1) != token


def test_an_unreachable_stripe_is_a_503_and_the_form_may_be_sent_again(
    client, finance, app, monkeypatch
):
    order = paid_without_stripe()
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", "http://127.0.0.1:9")
    _, token = refund_page(client, order.id)

    response = ask_refund(client, order.id, "100.000", token)

    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "Payments are not answering right now" in page
    assert "it will not refund twice" in page
    # The same token again: the same idempotency key, so Stripe can never refund twice.
    assert f'name="request_token" type="hidden" value="{token}"' in page
    assert refund_rows(order.id) == []


# --- refused before Stripe is asked ---------------------------------------------------------


def paid_without_stripe(**fields: Any) -> Order:
    """A paid order as the webhook leaves it, for the refusals that never reach Stripe."""
    order = factories.OrderFactory(**fields)
    order.paid_at = datetime.now(UTC)
    order.paid_amount = order.total_amount
    if "payment_intent_id" not in fields:
        order.payment_intent_id = f"pi_local_{order.id}"
    order.refresh_status()
    db.session.commit()
    return order


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: factories.OrderFactory(),
            "This order was never paid: there is nothing to refund.",
        ),
        (
            lambda: factories.OrderFactory(mismatch="Stripe reported a payment of $1.00"),
            "refund it from Stripe&#39;s dashboard",
        ),
        (
            lambda: paid_without_stripe(dispute_status=DisputeStatus.OPEN),
            "The payment is disputed",
        ),
        (
            lambda: paid_without_stripe(refunded_amount=2_400_000),
            "Everything paid for this order is refunded or requested already.",
        ),
    ],
)
def test_orders_that_cannot_be_refunded_say_why(client, finance, make, message):
    order = make()

    page = client.get(f"/manage/orders/{order.id}").get_data(as_text=True)
    assert message in page
    assert 'data-testid="refund-form"' not in page

    response = ask_refund(client, order.id, "1.000", "t" * 24)
    assert response.status_code == 409
    assert message in response.get_data(as_text=True)
    assert refund_rows(order.id) == []


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("", "This field is required."),
        ("0", "Enter an amount greater than zero."),
        ("-5", "Enter an amount that is not negative."),
        ("12.50", "Amounts in VND have no decimal places."),
        ("lots", "Enter an amount such as"),
        ("2.400.001", "You can refund at most ₫2,400,000"),
    ],
)
def test_bad_amounts_are_refused_with_a_message(client, finance, amount, message):
    order = paid_without_stripe()
    _, token = refund_page(client, order.id)

    response = ask_refund(client, order.id, amount, token)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert refund_rows(order.id) == []


def test_a_refund_needs_a_reason_and_a_form_token(client, finance):
    order = paid_without_stripe()
    _, token = refund_page(client, order.id)
    no_reason = client.post(
        f"/manage/orders/{order.id}/refund",
        data={"amount": "1.000", "reason": " ", "request_token": token},
    )
    assert no_reason.status_code == 400
    no_token = client.post(
        f"/manage/orders/{order.id}/refund",
        data={"amount": "1.000", "reason": "x", "request_token": "<script>"},
    )
    assert no_token.status_code == 400
    assert refund_rows(order.id) == []


def test_an_invisible_reason_is_refused_in_the_persons_language(client, login_as):
    """Zero-width space, byte order mark, word joiner: a reason made only of them is empty."""
    login_as(Role.FINANCE, locale="vi")
    order = paid_without_stripe()
    _, token = refund_page(client, order.id)

    refused = client.post(
        f"/manage/orders/{order.id}/refund",
        data={"amount": "1.000", "reason": "\u200b\ufeff\u2060", "request_token": token},
    )

    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Trường này là bắt buộc." in page
    assert "is-invalid" in page
    assert refund_rows(order.id) == []


def test_a_reason_is_kept_without_its_invisible_ends(client, finance, live_sandbox):
    order = live_paid_order(live_sandbox, price=1250, currency="USD")
    _, token = refund_page(client, order.id)

    response = client.post(
        f"/manage/orders/{order.id}/refund",
        data={"amount": "5.00", "reason": " \u200bTour huỷ\ufeff ", "request_token": token},
    )

    assert response.status_code == 303
    (row,) = refund_rows(order.id)
    assert row.details["reason"] == "Tour huỷ"


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.HR, Role.REDEEMER, Role.MANAGER])
def test_only_finance_and_admins_refund(client, login_as, role):
    order = paid_without_stripe()
    login_as(role)
    assert ask_refund(client, order.id, "1.000", "t" * 24).status_code == 403
    assert refund_rows(order.id) == []


def test_the_service_refuses_another_currency_and_a_missing_reason(app):
    order = paid_without_stripe()
    actor = factories.UserFactory(roles={Role.FINANCE})
    with pytest.raises(ValidationFailed) as currency:
        refunds.request_refund(order.id, Money(100, "USD"), "why", actor)
    assert currency.value.details["field"] == "amount"
    with pytest.raises(ValidationFailed) as reason:
        refunds.request_refund(order.id, Money(100, "VND"), "  ", actor)
    assert reason.value.details["field"] == "reason"
    with pytest.raises(ValidationFailed) as invisible:
        refunds.request_refund(order.id, Money(100, "VND"), "\u200b\u2060", actor)
    assert invisible.value.details["field"] == "reason"
    with pytest.raises(Conflict):
        refunds.request_refund(factories.OrderFactory().id, Money(100, "VND"), "why", actor)


def test_a_refund_whose_webhook_never_arrived_is_found_by_reconciliation(
    client, finance, live_sandbox
):
    """A ``charge.refunded`` webhook lost on its way: the customer had their money back, the
    order still said paid in full and its commission was never taken back, and the
    reconciliation, which compared only Checkout Sessions, said everything agreed."""
    order = live_paid_order(live_sandbox, price=1_000_000, currency="VND")
    live_sandbox.pause_deliveries()  # the refund's webhook does not arrive
    stripe_gateway.create_refund(order, Money(400_000, "VND"), idempotency_key="lost-webhook")
    today = company_date(order.created_at).isoformat()

    def findings() -> list[str]:
        page = client.get(
            f"/finance/reconciliation?start={today}&end={today}&stripe=1",
            headers={"Accept-Language": "en"},
        )
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "1 Stripe refund" in html
        return re.findall(r'data-kind="refund_not_recorded".*?</tr>', html, re.S)

    [found] = findings()
    assert order.number in found
    assert "Stripe refunded ₫400,000 of this payment; the order says ₫0." in found

    live_sandbox.pause_deliveries(False)
    live_sandbox.deliver_pending()
    wait_for_order(order.id, lambda o: o.refunded_amount == 400_000)
    assert findings() == []
