"""A field the form refuses is marked invalid for a screen reader too (``aria-invalid``), and
its error is its description (``aria-describedby``): a person who reaches the field with the
keyboard hears why it was refused, not only a red border for those who see it."""

from __future__ import annotations

from html.parser import HTMLParser

from perks.people.models import Role
from tests.factories import UserFactory
from tests.helpers import login


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[dict[str, str]] = []
        self.texts: dict[str, str] = {}
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        self.elements.append(found)
        self._open.append(found.get("id", ""))

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element_id in self._open:
            if element_id:
                self.texts[element_id] = self.texts.get(element_id, "") + data


def test_a_refused_field_says_so_and_is_described_by_its_error(client):
    login(client, UserFactory(roles={Role.HR}, locale="en"))

    refused = client.post("/people/new", data={"name": "Lê Văn An", "email": "not an address"})

    assert refused.status_code == 400
    page = _Elements()
    page.feed(refused.get_data(as_text=True))
    email = next(e for e in page.elements if e.get("name") == "email")
    assert "is-invalid" in email["class"]
    assert email.get("aria-invalid") == "true"
    described = " ".join(page.texts.get(i, "") for i in email.get("aria-describedby", "").split())
    assert "Invalid email address" in described, described
    name = next(e for e in page.elements if e.get("name") == "name")
    assert "aria-invalid" not in name
