"""The customer's e-mails: the confirmation when their order is paid, a notice at each refund.

Connected to ``order_paid`` and ``order_refunded`` by ``perks.register_receivers``. The
signals are sent inside the webhook's transaction, so each e-mail is written to the outbox in
the same unit of work and sent after the commit (``perks.mail``): no e-mail for a payment that
was rolled back, and a mail server that is down never fails the webhook.
"""

from __future__ import annotations

from perks.mail import InlineImage, send_email
from perks.money import Money
from perks.qr import qr_png_bytes
from perks.shop.models import Order
from perks.shop.redemption import redeems_on_payment
from perks.urls import absolute_url


def send_order_confirmation(order: Order, **_kwargs: object) -> None:
    """E-mail ``order``'s customer, in the order's language: the code, its QR code (inside the
    message, not loaded from the site), the order page.

    Receiver of ``order_paid``: flushes only (``send_email``), never commits. Raises nothing
    about mail delivery: the message waits in the outbox until the server takes it.
    """
    send_email(
        order.customer_email,
        "order_paid",
        locale=order.locale,
        order=order,
        images={"qr": InlineImage("image/png", qr_png_bytes(order.redemption_code))},
        order_url=absolute_url("shop.order", token=order.token),
        on_payment=redeems_on_payment(order),
    )


def send_refund_notice(
    order: Order, *, refunded_total: Money, previous_total: Money, **_kwargs: object
) -> None:
    """E-mail ``order``'s customer, in the order's language, that Stripe refunded part or all
    of their payment: this refund, the total refunded of what they paid, and whether their
    code still works.

    Receiver of ``order_refunded`` (sent once per increase of Stripe's running total, once the
    order is paid): flushes only, never commits. Raises nothing about mail delivery.
    """
    send_email(
        order.customer_email,
        "order_refunded",
        locale=order.locale,
        order=order,
        refund=Money(refunded_total.amount - previous_total.amount, order.currency),
        refunded_total=refunded_total,
        paid=Money(order.paid_amount or 0, order.currency),
        in_full=refunded_total.amount >= order.total_amount,
        order_url=absolute_url("shop.order", token=order.token),
    )
