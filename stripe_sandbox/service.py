"""The sandbox's actions for its pages, its test helpers and the tests, one transaction each.

The hosted checkout page pays sessions; the control page (and the test helpers of the API)
refund, open and close disputes, resend events and switch delivery options. Each function
takes the sandbox's settings and plain values, commits once, and wakes the webhook worker
when it queued deliveries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app
from sqlalchemy import Connection

from stripe_sandbox import operations, store, webhooks
from stripe_sandbox.amounts import Amount, parse_amount
from stripe_sandbox.errors import no_such
from stripe_sandbox.params import Params
from stripe_sandbox.settings import SandboxSettings

T = TypeVar("T")
#: rows shown per table on the control page
CONTROL_PAGE_ROWS = 50
#: where a sandbox app keeps its settings (``app.extensions``)
EXTENSION = "stripe_sandbox"


def current_settings() -> SandboxSettings:
    """The settings of the current sandbox app."""
    return settings_of(current_app)


def settings_of(app: Flask) -> SandboxSettings:
    settings: SandboxSettings = app.extensions[EXTENSION]
    return settings


def _run(
    settings: SandboxSettings,
    action: Callable[..., T],
    *args: Any,
    deliver_twice: bool = False,
) -> T:
    ctx = operations.Context(settings=settings, deliver_twice=deliver_twice)
    with store.get_store(settings.database_url).write() as conn:
        result = action(conn, ctx, *args)
    if ctx.deliveries:
        webhooks.ensure_worker(settings)
        webhooks.wake(settings)
    return result


def pay_checkout_session(
    settings: SandboxSettings, session_id: str, method: str, *, deliver_twice: bool = False
) -> dict[str, Any]:
    """Pay with ``method`` (``card``, ``declined``, ``async_success``, ``async_failure``).

    Raises:
        StripeApiError: see :func:`operations.pay_checkout_session`.
    """
    return _run(
        settings, operations.pay_checkout_session, session_id, method, deliver_twice=deliver_twice
    )


def expire_checkout_session(settings: SandboxSettings, session_id: str) -> dict[str, Any]:
    """Expire an open session as the Dashboard would.

    Raises:
        StripeApiError: no such session, or it is not open.
    """
    return _run(settings, operations.expire_checkout_session, session_id)


def refund_payment(
    settings: SandboxSettings,
    payment_intent: str,
    amount: int | str | None = None,
    *,
    deliver_twice: bool = False,
) -> dict[str, Any]:
    """Refund a payment as the Dashboard would; returns the refund.

    ``amount`` is in the currency's smallest unit, or text typed by a person (read in the
    payment's currency, "50.000" or "12.50"); None or empty text refunds everything left.

    Raises:
        StripeApiError: see :func:`operations.create_refund`; amount text that is not an
            amount.
    """

    def refund(conn: Connection, ctx: operations.Context) -> dict[str, Any]:
        raw: dict[str, Any] = {"payment_intent": payment_intent}
        if isinstance(amount, str) and amount.strip():
            intent = store.load(conn, payment_intent, "payment_intent")
            if intent is None:
                raise no_such("payment_intent", payment_intent, "payment_intent")
            raw["amount"] = str(parse_amount(amount, intent.data["currency"]))
        elif isinstance(amount, int):
            raw["amount"] = str(amount)
        return operations.create_refund(conn, ctx, Params(raw))

    return _run(settings, refund, deliver_twice=deliver_twice)


def open_dispute(
    settings: SandboxSettings, payment_intent: str, *, deliver_twice: bool = False
) -> dict[str, Any]:
    """The customer's bank disputes the payment.

    Raises:
        StripeApiError: see :func:`operations.open_dispute`.
    """
    return _run(settings, operations.open_dispute, payment_intent, deliver_twice=deliver_twice)


def close_dispute(
    settings: SandboxSettings, dispute_id: str, *, won: bool, deliver_twice: bool = False
) -> dict[str, Any]:
    """The bank decides the dispute: ``won`` by the merchant, or lost.

    Raises:
        StripeApiError: see :func:`operations.close_dispute`.
    """
    return _run(settings, operations.close_dispute, dispute_id, won, deliver_twice=deliver_twice)


def resend_event(settings: SandboxSettings, event_id: str, *, deliver_twice: bool = False) -> int:
    """Queue an event again (twice with ``deliver_twice``); how many deliveries were queued.

    Raises:
        StripeApiError: no such event, or it has no endpoint.
    """
    return _run(settings, operations.resend_event, event_id, deliver_twice=deliver_twice)


def set_options(settings: SandboxSettings, *, deliver_twice: bool, paused: bool) -> None:
    """The control page's switches: every event sent twice; deliveries held back."""
    with store.get_store(settings.database_url).write() as conn:
        store.set_option(conn, "deliver_twice", deliver_twice)
        store.set_option(conn, "paused", paused)
    webhooks.wake(settings)


def retry_deliveries_now(settings: SandboxSettings) -> int:
    """Make every pending delivery due now (the worker sends them unless paused)."""
    with store.get_store(settings.database_url).write() as conn:
        count = store.retry_pending_now(conn, operations.Context(settings=settings).now)
    webhooks.ensure_worker(settings)
    webhooks.wake(settings)
    return count


def reset(settings: SandboxSettings) -> None:
    """Forget every object, key, delivery and option (tests start from an empty sandbox)."""
    store.get_store(settings.database_url).reset()


# --- what the pages show --------------------------------------------------------------------


def _money(amount: int, currency: str) -> Amount:
    return Amount(amount, currency)


@dataclass(frozen=True)
class LineItem:
    name: str
    quantity: int
    unit_price: Amount
    total: Amount


@dataclass(frozen=True)
class CheckoutPage:
    session: dict[str, Any]
    line_items: list[LineItem]
    total: Amount

    @property
    def id(self) -> str:
        return str(self.session["id"])

    @property
    def status(self) -> str:
        return str(self.session["status"])

    @property
    def paid(self) -> bool:
        payment_status: str = self.session["payment_status"]
        return payment_status == "paid"

    @property
    def locale(self) -> str | None:
        locale: str | None = self.session["locale"]
        return locale

    @property
    def success_url(self) -> str:
        return str(self.session["success_url"]).replace("{CHECKOUT_SESSION_ID}", self.id)

    @property
    def cancel_url(self) -> str | None:
        cancel_url: str | None = self.session["cancel_url"]
        return cancel_url


def checkout_page(settings: SandboxSettings, session_id: str) -> CheckoutPage:
    """What the hosted page shows of a session (expired first if its time has passed).

    Raises:
        StripeApiError: no such session (404).
    """
    st = store.get_store(settings.database_url)
    with st.read() as conn:
        session = store.load(conn, session_id, "checkout.session")
    if session is None:
        raise no_such("checkout.session", session_id, "session")
    if session.due_at is not None and session.due_at <= time.time():
        _run(settings, operations.sweep, [session_id])
        with st.read() as conn:
            session = store.load(conn, session_id, "checkout.session")
        assert session is not None
    currency = session.data["currency"]
    items = [
        LineItem(
            name=item["description"],
            quantity=item["quantity"],
            unit_price=_money(item["price"]["unit_amount"], currency),
            total=_money(item["amount_total"], currency),
        )
        for item in session.extra.get("line_items", [])
    ]
    return CheckoutPage(session.data, items, _money(session.data["amount_total"], currency))


@dataclass(frozen=True)
class PaymentRow:
    intent: dict[str, Any]
    charge: dict[str, Any] | None
    dispute: dict[str, Any] | None
    last_event: dict[str, Any] | None
    session_id: str | None

    @property
    def amount(self) -> Amount:
        return _money(self.intent["amount"], self.intent["currency"])

    @property
    def refunded(self) -> Amount:
        return _money(self.charge["amount_refunded"] if self.charge else 0, self.intent["currency"])

    @property
    def refundable(self) -> bool:
        return bool(
            self.charge
            and self.charge["status"] == "succeeded"
            and self.charge["amount_refunded"] < self.charge["amount"]
            and (self.dispute is None or self.dispute["status"] == "won")
        )

    @property
    def disputable(self) -> bool:
        return self.dispute is None and self.refundable

    @property
    def dispute_open(self) -> bool:
        return self.dispute is not None and self.dispute["status"] in operations.DISPUTE_OPEN


@dataclass(frozen=True)
class Overview:
    sessions: list[dict[str, Any]]
    payments: list[PaymentRow]
    deliveries: list[dict[str, Any]]
    options: dict[str, Any]


def control_overview(settings: SandboxSettings) -> Overview:
    """The latest sessions, payments (with charge, dispute, last event) and deliveries.

    A fixed number of queries whatever the number of rows.
    """
    webhooks.run_sweep(settings)
    with store.get_store(settings.database_url).read() as conn:
        sessions = store.latest(conn, "checkout.session", CONTROL_PAGE_ROWS)
        intents = store.latest(conn, "payment_intent", CONTROL_PAGE_ROWS)
        ids = [intent.id for intent in intents]
        charges = store.load_many(
            conn, [i.data["latest_charge"] for i in intents if i.data["latest_charge"]]
        )
        disputes = {
            d.data["payment_intent"]: d.data for d in store.of_payment_intents(conn, "dispute", ids)
        }
        events_by_intent: dict[str, dict[str, Any]] = {}
        for event in store.of_payment_intents(conn, "event", ids):  # oldest first
            if event.data["type"] in operations.ENDPOINT_EVENTS and event.payment_intent:
                events_by_intent[event.payment_intent] = event.data
        deliveries = store.delivery_log(conn, CONTROL_PAGE_ROWS)
        options = store.get_options(conn)
    session_rows = []
    for session in sessions:
        row = dict(session.data)
        row["total"] = _money(row["amount_total"], row["currency"])
        session_rows.append(row)
    payments = [
        PaymentRow(
            intent=intent.data,
            charge=charges[intent.data["latest_charge"]].data
            if intent.data["latest_charge"] in charges
            else None,
            dispute=disputes.get(intent.id),
            last_event=events_by_intent.get(intent.id),
            session_id=intent.extra.get("session"),
        )
        for intent in intents
    ]
    return Overview(session_rows, payments, deliveries, options)
