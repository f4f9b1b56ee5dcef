"""The customer's confirmation e-mail, sent when their order is paid.

Connected to ``order_paid`` when this module is imported (``create_app`` imports it with the
models, so every app has it). The signal is sent inside the webhook's transaction, so with
the outbox (development, tests) the e-mail is written in the same unit of work: no e-mail for
a payment that was rolled back. With SMTP it leaves at once.
"""

from __future__ import annotations

import smtplib
from typing import Any

from flask import current_app, has_request_context, url_for

from perks.mail import send_email
from perks.shop.events import order_paid
from perks.shop.models import Order
from perks.shop.redemption import redeems_on_payment


def _absolute(endpoint: str, **values: Any) -> str:
    """An absolute URL where one can be built (a request, or SERVER_NAME set), else the path.

    The webhook is a request, so e-mails sent from it carry absolute links; a replay from
    the command line without SERVER_NAME falls back to the path.
    """
    if has_request_context() or current_app.config.get("SERVER_NAME"):
        return url_for(endpoint, _external=True, **values)
    with current_app.test_request_context():
        return url_for(endpoint, **values)


def send_order_confirmation(order: Order, **_kwargs: object) -> None:
    """E-mail ``order``'s customer, in the order's language: the code, its QR, the order page.

    Receiver of ``order_paid``: flushes only (``send_email``), never commits. Never raises
    for the mail server: an SMTP server that is down must not stop payments from being
    recorded (the customer's order page shows the code regardless), so its failure is logged.
    """
    try:
        send_email(
            order.customer_email,
            "order_paid",
            locale=order.locale,
            order=order,
            order_url=_absolute("shop.order", token=order.token),
            qr_url=_absolute("shop.order_qr_png", token=order.token),
            on_payment=redeems_on_payment(order),
        )
    except (smtplib.SMTPException, OSError):
        current_app.logger.exception("order %s: the confirmation e-mail was not sent", order.number)


order_paid.connect(send_order_confirmation)
