"""Asking for a password reset answers the same for a known and an unknown address: same
status, same page, same message, also when the mail server is down (it tells an attacker
nothing about which accounts exist)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from perks.extensions import db
from perks.mail import OutboxMessage
from tests import factories
from tests.helpers import spare_port


def without_csrf_tokens(html: str) -> str:
    """Each browser has its own CSRF token; everything else must be the same."""
    return re.sub(r'(name="csrf_token"[^>]*?value=")[^"]*"', r'\1"', html)


def ask_for_reset(app: Flask, email: str) -> dict[str, Any]:
    """Everything a visitor sees after asking: the answer, the message, the page after it."""
    browser = app.test_client()
    response = browser.post("/password/forgot", data={"email": email})
    with browser.session_transaction() as session:
        flashes = list(session.get("_flashes", []))
    page = browser.get(response.headers.get("Location", "/password/forgot"))
    return {
        "status": response.status_code,
        "location": response.headers.get("Location"),
        "body": response.get_data(as_text=True),
        "flashes": flashes,
        "page_status": page.status_code,
        "page": without_csrf_tokens(page.get_data(as_text=True)),
    }


def outbox_count() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


@pytest.mark.parametrize("mail", ["outbox", "smtp server down"])
def test_known_and_unknown_addresses_get_the_same_answer(app, app_factory, mail):
    settings: dict[str, Any] = {}
    if mail != "outbox":
        settings = {
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": spare_port(),
            "MAIL_USE_TLS": False,
            "MAIL_TIMEOUT_SECONDS": 2,
        }
    site = app_factory(**settings)
    factories.UserFactory(email="known@example.com")

    known = ask_for_reset(site, "known@example.com")
    unknown = ask_for_reset(site, "nobody@example.com")

    assert known["status"] == 302, known["body"][:300]
    assert known == unknown
    assert known["flashes"] == [
        ("info", "If that address belongs to an account, a reset link is on its way.")
    ]
    assert known["page_status"] == 200
    # The link for the known address is written all the same, to be sent when mail is back.
    assert outbox_count() == 1


def test_a_deactivated_address_gets_the_same_answer_too(app):
    factories.UserFactory(email="known@example.com")
    factories.UserFactory(email="gone@example.com", active=False)

    assert ask_for_reset(app, "gone@example.com") == ask_for_reset(app, "known@example.com")
    assert outbox_count() == 1
