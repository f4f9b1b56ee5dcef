"""The e-mails on a phone (390 px): nothing wider than the screen, whatever the message says
(a draw's 64-character commitment and entries hash are one word each)."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import Browser
from sqlalchemy import select

from perks.extensions import db
from perks.mail import OutboxMessage
from perks.notifications import both, link, notify
from tests.factories import PerkFactory, UserFactory

pytestmark = pytest.mark.browser

PHONE_WIDTH = 390


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_a_draw_receipt_fits_a_phone(browser: Browser, locale: str) -> None:
    person = UserFactory(locale=locale)
    perk = both(PerkFactory(title_vi="Vé xem phim", title_en="Movie ticket"), "title")
    notify(
        person,
        "draw_entered",
        {"perk": perk, "key": "K3F9AB12CD34EF56", "commitment": "a3f1c9e7" * 8},
        url=link("catalog.index"),
    )
    notify(
        person,
        "draw_entries_frozen",
        {"perk": perk, "entries_hash": "5be04d2c" * 8, "day": date(2026, 12, 20)},
        url=link("catalog.index"),
    )
    db.session.commit()
    page = browser.new_page(viewport={"width": PHONE_WIDTH, "height": 844})
    try:
        for mail in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)):
            page.set_content(mail.body_html)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE_WIDTH, f"{mail.subject!r} is {width} px wide"
    finally:
        page.close()
