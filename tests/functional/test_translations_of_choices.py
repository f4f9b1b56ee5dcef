"""Choices of select fields are built once, when their form's module is imported; each page
must still show them in its reader's language."""

from __future__ import annotations

import re

from perks.people.models import Role
from tests import factories
from tests.helpers import login


def options(html: str) -> list[str]:
    return re.findall(r"<option[^>]*>([^<]*)</option>", html)


def test_choices_follow_the_language_of_each_reader(app):
    """The same form, read by someone who reads Vietnamese and then someone who reads
    English, in one process."""
    hoa, ann = app.test_client(), app.test_client()
    login(hoa, factories.UserFactory(roles={Role.HR, Role.FINANCE}, locale="vi"))
    login(ann, factories.UserFactory(roles={Role.HR, Role.FINANCE}, locale="en"))
    vietnamese = options(hoa.get("/admin/perks/new").text)
    english = options(ann.get("/admin/perks/new").text)
    assert "Mã giảm giá" in vietnamese
    assert "Discount code" not in vietnamese
    assert "Discount code" in english
    assert "Mã giảm giá" not in english

    people = options(hoa.get("/people/new").text)
    products = options(hoa.get("/manage/products/new").text)
    assert "Staff" not in people
    assert "Redeemed at the counter" not in products
