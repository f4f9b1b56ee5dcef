"""The customer's order pages, reached by the order's secret token only: "being confirmed"
until the webhook has marked it paid, then the code and its QR; closed orders explained; the
page Stripe's cancel button leads to; and the confirmation e-mail sent on payment."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from perks.db import transaction
from perks.extensions import db
from perks.mail import OutboxMessage
from perks.qr import qr_png_bytes
from perks.shop.events import order_paid
from perks.shop.models import DiscountKind, DisputeStatus, Order, RedemptionMode
from tests import factories
from tests.helpers import counting_statements, deferred_script, text_of

VI = {"Accept-Language": "vi"}


def pay(order: Order, when: datetime | None = None) -> Order:
    """What the webhook records (perks.shop.orders): the facts, then the derived status."""
    order.paid_at = when or datetime.now(UTC)
    order.paid_amount = order.total_amount
    order.refresh_status()
    db.session.commit()
    return order


@pytest.fixture
def order() -> Order:
    product = factories.ProductFactory(
        name_en="Ha Long Bay 2-day cruise", name_vi="Tour Hạ Long", price_amount=2_400_000
    )
    made = factories.OrderFactory(
        product=product,
        quantity=2,
        customer_name="Lê Thị Hoa",
        customer_email="hoa.le@gmail.com",
        locale="en",
        checkout_url="http://127.0.0.1:5002/pay/cs_test_1",
        checkout_expires_at=datetime.now(UTC) + timedelta(minutes=50),
    )
    made.lines[0].product_name = "Ha Long Bay 2-day cruise"
    db.session.commit()
    return made


def url(order: Order, suffix: str = "") -> str:
    return f"/shop/orders/{order.token}{suffix}"


# --- pending --------------------------------------------------------------------------------


def test_a_pending_order_says_the_payment_is_being_confirmed_and_polls(client, order):
    response = client.get(url(order, "?from=checkout"))
    html = response.get_data(as_text=True)
    page = text_of(response)

    assert response.status_code == 200
    assert "Your payment is being confirmed." in page
    assert f'data-order-status-url="/shop/orders/{order.token}/status"' in html
    assert deferred_script("/static/js/shop-order.js").search(html)
    assert order.redemption_code not in html  # not before the payment is confirmed
    assert "Ha Long Bay 2-day cruise 2 ₫2,400,000 ₫4,800,000" in page
    assert "Total ₫4,800,000" in page
    # back from Stripe's success page: no "continue to payment" offered
    assert 'data-testid="resume-payment"' not in html


def test_a_pending_order_opened_later_offers_to_continue_to_payment(client, order):
    response = client.get(url(order))
    html = response.get_data(as_text=True)
    assert 'href="http://127.0.0.1:5002/pay/cs_test_1"' in html
    # never paid on Stripe's page (left, or declined): nothing is being confirmed
    page = text_of(response)
    assert "This order is not paid yet. You can pay it on our payment provider's page until" in page
    assert "being confirmed" not in page
    assert "data-order-status-url" not in html


def test_a_pending_order_whose_time_to_pay_ran_out_says_so(client, order):
    order.checkout_expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    response = client.get(url(order), headers=VI)
    page = text_of(response)
    assert "Đơn hàng này chưa được thanh toán." in page
    assert "Đã hết thời gian thanh toán đơn hàng này và bạn chưa bị trừ tiền." in page
    assert "resume-payment" not in response.get_data(as_text=True)


def test_a_payment_that_settles_later_is_not_offered_again(client, order):
    # The customer finished Checkout with a bank debit (checkout.session.completed, unpaid):
    # Stripe's page now says the session is complete, so sending them back there is a dead end.
    order.payment_intent_id = "pi_async_1"
    db.session.commit()

    response = client.get(url(order))

    assert "Your payment is being confirmed." in text_of(response)
    assert 'data-testid="resume-payment"' not in response.get_data(as_text=True)
    assert "resume-payment" not in client.get(url(order, "/cancelled")).get_data(as_text=True)


def test_the_status_endpoint_says_where_the_order_stands_and_nothing_more(client, order):
    response = client.get(url(order, "/status"))
    assert response.status_code == 200
    assert response.json == {"status": "pending", "label": "Awaiting payment"}

    pay(order)
    assert client.get(url(order, "/status")).json["status"] == "paid"
    assert order.redemption_code not in client.get(url(order, "/status")).get_data(as_text=True)


# --- paid -----------------------------------------------------------------------------------


def test_a_paid_order_shows_its_code_in_large_type_and_its_qr(client, order):
    pay(order)

    response = client.get(url(order, "?from=checkout"))
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert re.search(rf'data-testid="redemption-code">{order.redemption_code}<', html)
    assert "display-5" in html
    assert re.search(r'data-testid="order-qr">\s*<svg', html)
    assert f'href="/shop/orders/{order.token}/qr.png"' in html
    assert "Your payment is being confirmed." not in text_of(response)
    assert "shop-order.js" not in html  # nothing left to wait for


def test_the_qr_files_exist_only_once_the_order_is_paid(client, order):
    assert client.get(url(order, "/qr.png")).status_code == 404
    assert client.get(url(order, "/qr.svg")).status_code == 404
    pay(order)
    png = client.get(url(order, "/qr.png"))
    svg = client.get(url(order, "/qr.svg"))
    assert png.status_code == 200
    assert png.mimetype == "image/png"
    assert png.data.startswith(b"\x89PNG")
    assert svg.mimetype == "image/svg+xml"
    assert b"<svg" in svg.data


def test_a_redeemed_order_still_shows_its_code_and_when_it_was_used(client, order):
    pay(order)
    order.redeemed_at = datetime.now(UTC)
    order.refresh_status()
    db.session.commit()
    page = text_of(client.get(url(order)))
    assert order.redemption_code in page
    assert "Redeemed on" in page


def test_an_order_with_a_discount_shows_subtotal_discount_and_total(client):
    product = factories.ProductFactory(price_amount=2_400_000)
    discounted = factories.OrderFactory(
        product=product, discount_amount=120_000, discount_kind=DiscountKind.FRIENDS
    )
    discounted.lines[0].unit_amount = 2_280_000
    discounted.lines[0].line_total_amount = 2_280_000
    db.session.commit()
    response = client.get(url(discounted))
    page = text_of(response)
    # The lines at list price add up to the subtotal, from which the discount is taken once.
    assert re.search(r'data-testid="line-amount">₫2,400,000<', response.get_data(as_text=True))
    assert "Subtotal ₫2,400,000" in page
    assert "Friends discount −₫120,000" in page
    assert "Total ₫2,280,000" in page


# --- closed ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        (
            {"closed_reason": "expired"},
            "This order expired before it was paid. Nothing was charged.",
        ),
        ({"closed_reason": "cancelled"}, "This order was cancelled. Nothing was charged."),
        (
            {"closed_reason": "payment_failed"},
            "The payment for this order did not go through, so it was cancelled.",
        ),
        (
            {"closed_reason": "checkout_failed"},
            "We could not open the payment page for this order, so it was cancelled.",
        ),
    ],
)
def test_a_closed_order_explains_itself_and_shows_no_code(client, order, facts, message):
    order.closed_at = datetime.now(UTC)
    for name, value in facts.items():
        setattr(order, name, value)
    order.refresh_status()
    db.session.commit()

    response = client.get(url(order))

    assert message in text_of(response)
    assert order.redemption_code not in response.get_data(as_text=True)
    assert client.get(url(order, "/qr.png")).status_code == 404


def test_a_refunded_or_disputed_order_takes_the_code_away(client, order):
    pay(order)
    order.refunded_amount = order.total_amount
    order.refresh_status()
    db.session.commit()
    refunded = client.get(url(order)).get_data(as_text=True)
    assert "This order was refunded" in refunded
    assert order.redemption_code not in refunded

    order.refunded_amount = 0
    order.dispute_status = DisputeStatus.OPEN
    order.refresh_status()
    db.session.commit()
    disputed = client.get(url(order)).get_data(as_text=True)
    assert "disputed" in disputed
    assert order.redemption_code not in disputed


def test_a_partly_refunded_order_keeps_its_code_and_says_how_much_came_back(client, order):
    pay(order)
    order.refunded_amount = 1_000_000
    order.refresh_status()
    db.session.commit()
    page = text_of(client.get(url(order)))
    assert order.redemption_code in page
    assert "₫1,000,000 of this order was refunded." in page


def test_a_payment_that_did_not_match_the_order_is_said_to_be_checked(client, order):
    # The webhook recorded a mismatch (perks.shop.orders.record_payment): Stripe took money,
    # the order is neither paid nor will it ever be by itself. The customer must not be told
    # that it is being confirmed (a spinner forever), nor that nothing was charged.
    order.payment_intent_id = "pi_mismatch_1"
    order.mismatch = "Stripe reported a payment of ₫1 (1 VND); the order's total is ₫4,800,000"
    order.refresh_status()
    db.session.commit()

    for suffix in ("?from=checkout", "", "/cancelled"):
        response = client.get(url(order, suffix), follow_redirects=True)
        page = text_of(response)
        html = response.get_data(as_text=True)
        assert "We received your payment and are checking it." in page, suffix
        assert "hoa.le@gmail.com" in page, suffix
        assert "being confirmed" not in page, suffix
        assert "Nothing was charged" not in page, suffix
        assert "nothing was charged" not in page, suffix
        assert "shop-order.js" not in html, suffix
        assert order.redemption_code not in html, suffix

    status = client.get(url(order, "/status")).json
    assert status["status"] != "pending"  # a page still polling reloads and says so


def test_a_used_order_refunded_in_full_says_how_much_came_back(client, order):
    pay(order)
    order.redeemed_at = datetime.now(UTC)
    order.refunded_amount = order.total_amount  # refunded after it was used
    order.refresh_status()
    db.session.commit()

    page = text_of(client.get(url(order)))

    assert "Refunded" in page  # the badge
    assert "₫4,800,000 of this order was refunded." in page


# --- Stripe's cancel button -----------------------------------------------------------------


def test_the_cancel_page_says_nothing_was_charged_and_keeps_the_cart(client, order):
    product = factories.ProductFactory()
    client.post("/shop/cart/add", data={"product": product.slug, "quantity": 1})

    response = client.get(url(order, "/cancelled"))
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "Nothing was charged." in text_of(response)
    assert 'data-testid="back-to-cart"' in html
    assert 'href="/shop/cart"' in html
    assert 'href="http://127.0.0.1:5002/pay/cs_test_1"' in html  # still payable
    assert 'data-testid="cart-line"' in client.get("/shop/cart").get_data(as_text=True)


def test_the_cancel_page_of_a_paid_order_leads_to_the_order(client, order):
    pay(order)
    response = client.get(url(order, "/cancelled"))
    assert response.status_code == 303
    assert response.headers["Location"] == url(order)


def test_an_expired_session_is_not_offered_again(client, order):
    order.checkout_expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    assert "resume-payment" not in client.get(url(order, "/cancelled")).get_data(as_text=True)


# --- only by token --------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/status", "/qr.png", "/qr.svg", "/cancelled"])
def test_another_order_cannot_be_reached_by_changing_the_token_or_using_an_id(
    client, order, suffix
):
    other = pay(factories.OrderFactory())
    pay(order)
    assert client.get(url(order, suffix)).status_code in (200, 303)
    for guess in (
        str(other.id),
        other.number,
        other.redemption_code,
        order.token[:-1] + ("A" if order.token[-1] != "A" else "B"),
        order.token.upper(),
        "x" * 43,
        "x" * 200,
    ):
        assert client.get(f"/shop/orders/{guess}{suffix}").status_code == 404, guess


@pytest.mark.parametrize("suffix", ["", "/status", "/qr.png", "/qr.svg", "/cancelled"])
def test_order_pages_keep_their_secret_url_out_of_referers_and_caches(client, order, suffix):
    pay(order)
    response = client.get(url(order, suffix))
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_order_page_in_vietnamese(client, order):
    pay(order)
    response = client.get(url(order), headers=VI)
    assert '<html lang="vi"' in response.get_data(as_text=True)
    assert "4.800.000 ₫" in text_of(response)


def test_the_cart_is_emptied_once_the_order_it_became_is_paid(client, order):
    product = factories.ProductFactory()
    client.post("/shop/cart/add", data={"product": product.slug, "quantity": 1})
    with client.session_transaction() as session:
        session["checkout_order"] = order.token

    client.get(url(order))  # pending: the cart stays
    assert 'data-testid="cart-line"' in client.get("/shop/cart").get_data(as_text=True)

    pay(order)
    client.get(url(order))
    assert "Your cart is empty." in text_of(client.get("/shop/cart"))


def test_a_cart_paid_without_coming_back_from_stripe_is_not_offered_again(client, order):
    """Paid, but the page Stripe returns to was never opened (the tab closed, the phone lost
    its signal): the cart must not wait there to be paid a second time."""
    product = factories.ProductFactory(name_en="Ha Long Bay 2-day cruise")
    client.post("/shop/cart/add", data={"product": product.slug, "quantity": 2})
    with client.session_transaction() as session:
        session["checkout_order"] = order.token
    pay(order)

    cart = text_of(client.get("/shop/cart"))

    assert "Your cart is empty." in cart
    assert f"Your order {order.number} is paid" in cart
    assert client.get("/shop/checkout").status_code == 303
    assert 'data-testid="cart-line"' not in client.get("/shop/cart").get_data(as_text=True)


def test_the_cancel_page_of_a_tab_left_behind_does_not_keep_a_cart_paid_in_another(client, order):
    """The cart paid as a second order in another tab: the first tab's way back from Stripe
    must not offer the same cart again."""
    product = factories.ProductFactory()
    client.post("/shop/cart/add", data={"product": product.slug, "quantity": 1})
    paid_elsewhere = factories.OrderFactory(product=product)
    with client.session_transaction() as session:
        session["checkout_order"] = paid_elsewhere.token
    pay(paid_elsewhere)

    page = text_of(client.get(url(order, "/cancelled")))

    assert "Your cart is kept" not in page
    assert f"Your order {paid_elsewhere.number} is paid" in page


def test_an_order_paid_is_said_in_vietnamese_on_the_cart(client, order):
    product = factories.ProductFactory()
    client.post("/shop/cart/add", data={"product": product.slug, "quantity": 1})
    with client.session_transaction() as session:
        session["checkout_order"] = order.token
    pay(order)

    cart = text_of(client.get("/shop/cart", headers=VI))

    assert f"Đơn hàng {order.number} đã được thanh toán" in cart


# --- the confirmation e-mail ----------------------------------------------------------------


def paid_with_email(app, order: Order) -> OutboxMessage:
    """Pay ``order`` the way the webhook does: the signal inside the payment's transaction."""
    with app.test_request_context(base_url="https://perks.example"), transaction():
        order.paid_at = datetime.now(UTC)
        order.paid_amount = order.total_amount
        order.refresh_status()
        db.session.flush()
        order_paid.send(order)
    return db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == order.customer_email)
    ).one()


def test_payment_sends_the_code_the_qr_and_the_order_link_by_email(app, order):
    message = paid_with_email(app, order)

    assert order.redemption_code in message.subject
    assert order.number in message.subject
    # On the configured BASE_URL, whatever host the webhook came in on (perks.example here).
    link = f"{app.config['BASE_URL']}/shop/orders/{order.token}"
    assert "perks.example" not in message.body_text + message.body_html
    for body in (message.body_text, message.body_html):
        assert order.redemption_code in body
        assert link in body
        assert "/qr.png" not in body  # the QR code travels inside the message
    assert "Hello Hoa," in message.body_text  # "Lê Thị Hoa": her given name, in English too
    assert "Show this code, or its QR code, at our counter." in message.body_text
    assert "₫4,800,000" in " ".join(message.body_text.split())
    [qr] = message.attachments
    assert f'<img src="cid:{qr.content_id}"' in message.body_html
    assert qr.content_type == "image/png"
    assert qr.data == qr_png_bytes(order.redemption_code)


def test_the_emails_lines_minus_its_discount_make_its_total(app):
    product = factories.ProductFactory(price_amount=2_400_000)
    discounted = factories.OrderFactory(
        product=product,
        quantity=2,
        discount_amount=240_000,
        discount_kind=DiscountKind.FRIENDS,
        locale="en",
    )
    line = discounted.lines[0]
    line.unit_list_amount, line.unit_amount, line.line_total_amount = (
        2_400_000,
        2_280_000,
        4_560_000,
    )
    db.session.commit()

    text = " ".join(paid_with_email(app, discounted).body_text.split())

    assert f"2 × {line.product_name}: ₫4,800,000" in text
    assert "−₫240,000" in text
    assert "Total: ₫4,560,000" in text


def test_the_email_is_in_the_orders_language(app, order):
    order.locale = "vi"
    db.session.commit()
    message = paid_with_email(app, order)
    text = " ".join(message.body_text.split())  # Babel's no-break spaces become plain ones
    assert message.body_text.splitlines()[0].endswith(" Hoa,")  # the given name comes last
    assert "4.800.000 ₫" in text


def test_a_product_redeemed_on_payment_says_there_is_nothing_to_show(app):
    card = factories.ProductFactory(redemption_mode=RedemptionMode.ON_PAYMENT)
    message = paid_with_email(app, factories.OrderFactory(product=card, locale="en"))
    assert "There is nothing to show at a counter" in message.body_text


def test_no_email_is_kept_when_the_payment_is_rolled_back(app, order):
    def failing_webhook() -> None:
        with app.test_request_context(), transaction():
            order_paid.send(order)
            raise RuntimeError("the webhook failed after the signal")

    with pytest.raises(RuntimeError):
        failing_webhook()
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_the_order_page_runs_as_many_statements_with_many_lines(client):
    def statements(lines: int) -> int:
        made = pay(factories.OrderFactory(with_line=False))
        for _ in range(lines):
            factories.OrderLineFactory(order=made)
        with counting_statements() as seen:
            assert client.get(url(made)).status_code == 200
        return len(seen)

    assert statements(1) == statements(10)
