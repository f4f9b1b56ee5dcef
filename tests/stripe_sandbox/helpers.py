"""What the sandbox's own tests share besides fixtures (conftest.py holds those)."""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

import stripe
from flask.testing import FlaskClient

from stripe_sandbox.settings import DEFAULT_SECRET_KEY
from tests.stripe_sandbox import LiveSandbox, wait_for


def raw_client(sandbox: LiveSandbox, key: str = DEFAULT_SECRET_KEY) -> stripe.StripeClient:
    """The real ``stripe`` library, pointed at the sandbox as the product points it."""
    return stripe.StripeClient(key, base_addresses={"api": sandbox.url})


class Receiver:
    """A webhook endpoint: records every request, answers the statuses it is given in turn
    (then 200)."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[tuple[dict[str, str], bytes, float]] = []
        self.statuses: list[int] = []
        self._lock = threading.Lock()

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            self.requests.append((headers, body, time.monotonic()))
            return self.statuses.pop(0) if self.statuses else 200

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(body) for _, body, _ in self.requests]

    def events_of(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["type"] == event_type]

    def wait_for_event(self, event_type: str, count: int = 1) -> list[dict[str, Any]]:
        def arrived() -> list[dict[str, Any]] | None:
            found = self.events_of(event_type)
            return found if len(found) >= count else None

        return wait_for(arrived)


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client: FlaskClient, key: str = DEFAULT_SECRET_KEY) -> str:
    """Sign ``client`` in to the control page; the session's CSRF token, for its forms."""
    token = csrf_token(client.get("/signin").get_data(as_text=True))
    response = client.post("/signin", data={"key": key, "csrf_token": token, "next": "/"})
    assert response.status_code == 303, response.get_data(as_text=True)
    # Signing in starts a new session, with a new token.
    return csrf_token(client.get("/").get_data(as_text=True))


SUCCESS_URL = "https://shop.example/orders/abc?session={CHECKOUT_SESSION_ID}"
CANCEL_URL = "https://shop.example/orders/abc/cancelled"


def session_params(**overrides: Any) -> dict[str, Any]:
    """The least a Checkout Session needs (one ticket in VND), with ``overrides``."""
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": "vnd",
                    "unit_amount": 500_000,
                    "product_data": {"name": "Vé tham quan"},
                },
            }
        ],
        "success_url": SUCCESS_URL,
    }
    params.update(overrides)
    return params


def tour_params(price: int = 1_250_000, quantity: int = 2, currency: str = "vnd") -> dict[str, Any]:
    """What the product sends for an order of ``quantity`` tours (see stripe_gateway)."""
    metadata = {"order_id": "7", "order_number": "DH-0007"}
    return session_params(
        client_reference_id="7",
        customer_email="hoa.le@gmail.com",
        locale="vi",
        line_items=[
            {
                "quantity": quantity,
                "price_data": {
                    "currency": currency,
                    "unit_amount": price,
                    "product_data": {"name": "Tour Hạ Long"},
                },
            }
        ],
        metadata=metadata,
        payment_intent_data={"metadata": metadata},
        cancel_url=CANCEL_URL,
        expires_at=int(time.time()) + 3600,
    )


def open_session(sandbox: LiveSandbox, **params: Any) -> Any:
    """A Checkout Session for ``tour_params(**params)``, opened over HTTP."""
    return raw_client(sandbox).v1.checkout.sessions.create(params=tour_params(**params))


def paid_intent(sandbox: LiveSandbox, **params: Any) -> str:
    """The payment intent of a session paid with the test card."""
    return str(sandbox.pay(open_session(sandbox, **params).id)["payment_intent"])


def charge_of(sandbox: LiveSandbox, intent_id: str) -> Any:
    """The charge of the payment intent ``intent_id``."""
    client = raw_client(sandbox)
    intent = client.v1.payment_intents.retrieve(intent_id)
    return client.v1.charges.retrieve(intent.latest_charge)
