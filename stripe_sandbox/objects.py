"""Stripe-shaped objects, built from plain values.

Field names and shapes follow Stripe's own example objects (``checkout.session``,
``payment_intent``, ``charge``, ``refund``, ``dispute``, ``event``, ``list``, ``item`` in
stripe/openapi's ``fixtures3.json``), trimmed to what a Checkout integration reads: every
field here exists in Stripe's object with the same meaning, and fields Stripe would fill
from features the sandbox lacks (tax, shipping, customers, invoices) are null or empty.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

#: what the sandbox reports when a request names no API version
DEFAULT_API_VERSION = "2026-10-28.endive"
TEST_CARD = {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034}
_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """A random Stripe-like id: ``new_id("pi")`` → ``pi_3Q0x...`` (``cs_test_`` for sessions)."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_session_id() -> str:
    return new_id("cs_test", 58)


def list_object(url: str, data: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def line_item(
    *,
    name: str,
    description: str | None,
    currency: str,
    unit_amount: int,
    quantity: int,
    created: int,
) -> dict[str, Any]:
    """One ``item`` of a session's ``line_items`` (with its inline ``price``)."""
    total = unit_amount * quantity
    return {
        "id": new_id("li"),
        "object": "item",
        "amount_discount": 0,
        "amount_subtotal": total,
        "amount_tax": 0,
        "amount_total": total,
        "currency": currency,
        "description": name,
        "price": {
            "id": new_id("price"),
            "object": "price",
            "active": False,
            "billing_scheme": "per_unit",
            "created": created,
            "currency": currency,
            "livemode": False,
            "lookup_key": None,
            "metadata": {},
            "nickname": None,
            "product": {
                "id": new_id("prod"),
                "object": "product",
                "name": name,
                "description": description,
            },
            "recurring": None,
            "tax_behavior": "unspecified",
            "type": "one_time",
            "unit_amount": unit_amount,
            "unit_amount_decimal": str(unit_amount),
        },
        "quantity": quantity,
    }


def checkout_session(
    *,
    session_id: str,
    url: str,
    created: int,
    expires_at: int,
    currency: str,
    amount_total: int,
    client_reference_id: str | None,
    customer_email: str | None,
    locale: str | None,
    metadata: dict[str, str],
    success_url: str,
    cancel_url: str | None,
) -> dict[str, Any]:
    """A new, open, unpaid ``checkout.session`` in payment mode."""
    return {
        "id": session_id,
        "object": "checkout.session",
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": amount_total,
        "amount_total": amount_total,
        "automatic_tax": {"enabled": False, "liability": None, "status": None, "provider": None},
        "billing_address_collection": None,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "client_secret": None,
        "consent": None,
        "consent_collection": None,
        "created": created,
        "currency": currency,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": None,
        "customer_creation": "if_required",
        "customer_details": None,
        "customer_email": customer_email,
        "discounts": [],
        "expires_at": expires_at,
        "invoice": None,
        "invoice_creation": None,
        "livemode": False,
        "locale": locale,
        "metadata": metadata,
        "mode": "payment",
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": None,
        "subscription": None,
        "success_url": success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": url,
    }


def customer_details(email: str | None) -> dict[str, Any]:
    return {
        "address": {
            "city": None,
            "country": "VN",
            "line1": None,
            "line2": None,
            "postal_code": None,
            "state": None,
        },
        "email": email,
        "name": "Sandbox Customer",
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def payment_intent(
    *,
    created: int,
    amount: int,
    currency: str,
    metadata: dict[str, str],
    description: str | None,
    receipt_email: str | None,
    payment_method_type: str,
) -> dict[str, Any]:
    """A ``payment_intent`` confirmed by the hosted page (status set by the caller)."""
    intent_id = new_id("pi")
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic",
        "client_secret": f"{intent_id}_secret_{new_id('s', 25)[2:]}",
        "confirmation_method": "automatic",
        "created": created,
        "currency": currency,
        "customer": None,
        "description": description,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": metadata,
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": new_id("pm"),
        "payment_method_options": {},
        "payment_method_types": [payment_method_type],
        "processing": None,
        "receipt_email": receipt_email,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "processing",
        "transfer_data": None,
        "transfer_group": None,
    }


def charge(*, created: int, intent: dict[str, Any], paid: bool) -> dict[str, Any]:
    """The ``charge`` of ``intent``: succeeded (``paid``) or still pending (async methods)."""
    card = intent["payment_method_types"] == ["card"]
    return {
        "id": new_id("ch"),
        "object": "charge",
        "amount": intent["amount"],
        "amount_captured": intent["amount"] if paid else 0,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": new_id("txn") if paid else None,
        "billing_details": {
            "address": None,
            "email": intent["receipt_email"],
            "name": "Sandbox Customer",
            "phone": None,
        },
        "calculated_statement_descriptor": "PERKS SANDBOX",
        "captured": paid,
        "created": created,
        "currency": intent["currency"],
        "customer": None,
        "description": intent["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(intent["metadata"]),
        "on_behalf_of": None,
        "outcome": {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": paid,
        "payment_intent": intent["id"],
        "payment_method": intent["payment_method"],
        "payment_method_details": (
            {"card": {**TEST_CARD, "country": "US", "funding": "credit"}, "type": "card"}
            if card
            else {"type": intent["payment_method_types"][0]}
        ),
        "receipt_email": intent["receipt_email"],
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded" if paid else "pending",
        "transfer_data": None,
        "transfer_group": None,
    }


def refund(
    *,
    created: int,
    charge: dict[str, Any],
    amount: int,
    metadata: dict[str, str],
    reason: str | None,
) -> dict[str, Any]:
    return {
        "id": new_id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": new_id("txn"),
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "destination_details": {"card": {"type": "refund"}, "type": "card"},
        "metadata": metadata,
        "payment_intent": charge["payment_intent"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def dispute(*, created: int, charge: dict[str, Any], amount: int, reason: str) -> dict[str, Any]:
    """A new ``dispute`` on ``charge``, waiting for the merchant's response."""
    return {
        "id": new_id("dp"),
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "evidence": {
            "customer_email_address": charge["receipt_email"],
            "customer_name": None,
            "product_description": None,
            "receipt": None,
            "refund_policy": None,
            "uncategorized_text": None,
        },
        "evidence_details": {
            "due_by": created + 7 * 24 * 3600,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": charge["payment_intent"],
        "payment_method_details": {
            "card": {"brand": "visa", "case_type": "chargeback", "network_reason_code": "10.4"},
            "type": "card",
        },
        "reason": reason,
        "status": "needs_response",
    }


def event(
    *,
    event_type: str,
    snapshot: dict[str, Any],
    created: int,
    api_version: str | None,
    request_id: str | None,
    idempotency_key: str | None,
    pending_webhooks: int,
) -> dict[str, Any]:
    """Stripe's ``event`` envelope around a snapshot of the object it is about."""
    return {
        "id": new_id("evt"),
        "object": "event",
        "api_version": api_version or DEFAULT_API_VERSION,
        "created": created,
        "data": {"object": snapshot},
        "livemode": False,
        "pending_webhooks": pending_webhooks,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": event_type,
    }
