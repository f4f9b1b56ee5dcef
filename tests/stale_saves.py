"""Forms that refuse a stale save. Such a form sends back, in a hidden field, the version of
what its page showed (a row version, a version number, or a fingerprint of the values shown).
A save from a page opened before someone else's change answers 409: the form again, showing
the record as it is now, with what was entered beside it where it differs, and nothing
written or audited. A post without the field answers 400 ("This page is out of date").

``GuardedForm`` checks that shared part, and the race of saves from pages opened on the same
version (PostgreSQL: one is saved, the others refused); each test says what is particular to
its record (the message, the values written or not, what the refused page shows).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from perks.audit import AuditEvent
from perks.extensions import db
from tests.factories import PASSWORD
from tests.helpers import text_of
from tests.racing import all_at_once

ENTERED = 'data-testid="entered-values"'
#: a fingerprint of the values a page shows (``version_pattern`` of such a form)
FINGERPRINT = "[0-9a-f]{64}"


def audit_events(*actions: str) -> int:
    """How many events of ``actions`` the audit log holds."""
    return (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action.in_(actions))
        )
        or 0
    )


@dataclass(frozen=True)
class Refusal:
    """A save refused: 409 from an out-of-date page, or 400 without the version (then
    ``entered`` and ``version`` are "")."""

    #: the page's HTML
    html: str
    #: its text (``text_of``)
    text: str
    #: the HTML of "what you entered" (the ``entered-values`` section's list), "" when the
    #: form has none
    entered: str
    #: the version the refused page's form now sends back
    version: str


@dataclass(frozen=True)
class GuardedForm:
    """One page whose form carries the version of what it shows."""

    #: the page's URL
    page: str
    #: the hidden field with the version
    field: str
    #: the audit actions one save writes (one event a save)
    audited: tuple[str, ...]
    #: what a version looks like
    version_pattern: str = r"\d+"
    #: where the form posts, when not back to the page
    action: str | None = None
    #: the status of a save that goes through
    saved_status: int = 302
    #: whether a refused page lists what was entered (an edit form; not an approval button)
    lists_entered: bool = True

    def version_in(self, html: str) -> str | None:
        found = re.search(
            rf'<input[^>]*name="{self.field}"[^>]*value="({self.version_pattern})"', html
        )
        return found.group(1) if found else None

    def version_shown(self, client: FlaskClient) -> str:
        """Open the page as ``client``; the version its form will send back."""
        version = self.version_in(client.get(self.page).get_data(as_text=True))
        assert version is not None, f"the form carries the {self.field} it shows"
        return version

    def opened(self, *clients: FlaskClient) -> str:
        """Open the page as each of ``clients``; all see the same version, returned."""
        versions = {self.version_shown(client) for client in clients}
        assert len(versions) == 1, versions
        return versions.pop()

    def audits(self) -> int:
        return audit_events(*self.audited)

    def post(self, client: FlaskClient, data: dict[str, Any]) -> Any:
        return client.post(self.action or self.page, data=data)

    def saves(self, client: FlaskClient, data: dict[str, Any]) -> Any:
        """Post ``data`` as ``client``: it is saved, with one audit event."""
        before = self.audits()
        response = self.post(client, data)
        assert response.status_code == self.saved_status, text_of(response)[:1000]
        assert self.audits() == before + 1
        return response

    def refuses(self, client: FlaskClient, data: dict[str, Any]) -> Refusal:
        """Post ``data`` (from a page opened before another change) as ``client``: 409, no
        audit event, the form with a version other than the one sent and, on an edit form,
        what was entered."""
        before = self.audits()
        response = self.post(client, data)
        html = response.get_data(as_text=True)
        assert response.status_code == 409, text_of(response)[:1000]
        assert self.audits() == before  # nothing of it written
        version = self.version_in(html)
        assert version is not None, "the refused page's form carries the version it shows"
        assert version != str(data[self.field]), "the refused page shows the record as it is now"
        entered = ""
        if self.lists_entered:
            assert ENTERED in html, "the refused page lists what was entered"
            start = html.index(ENTERED)
            entered = html[start : html.index("</dl>", start)]
        return Refusal(html=html, text=text_of(response), entered=entered, version=version)

    def refuses_without_version(self, client: FlaskClient, data: dict[str, Any]) -> Refusal:
        """Post ``data``, which lacks the version field, as ``client``: 400, "This page is out
        of date", no audit event."""
        assert self.field not in data
        before = self.audits()
        response = self.post(client, data)
        html = response.get_data(as_text=True)
        assert response.status_code == 400, text_of(response)[:1000]
        assert "This page is out of date" in text_of(response)
        assert self.audits() == before
        return Refusal(html=html, text=text_of(response), entered="", version="")

    def raced(
        self,
        app: Flask,
        emails: list[str],
        form_of: Callable[[int, FlaskClient], dict[str, Any]],
    ) -> dict[str, Any]:
        """Saves from pages opened on the same version, sent at the same moment (a race only
        PostgreSQL runs). What the test made is committed and its session let go first (take
        the ids before). The person with ``emails[n]`` signs in on a client of their own and
        fills in ``form_of(n, client)``, opening the page for its version (no database
        session there); then all are posted at once, each request on its own connection.
        Exactly one is saved, the others refused (409). Returns the form that was saved."""
        db.session.commit()
        db.session.remove()

        def opened(n: int) -> tuple[FlaskClient, dict[str, Any]]:
            client = app.test_client()
            signing_in = client.post("/login", data={"email": emails[n], "password": PASSWORD})
            assert signing_in.status_code == 302
            return client, form_of(n, client)

        def save(tab: tuple[FlaskClient, dict[str, Any]]) -> tuple[int, dict[str, Any]]:
            client, data = tab
            return self.post(client, data).status_code, data

        outcome = all_at_once(app, range(len(emails)), save, prepare=opened, requests=True)

        assert outcome.errors == []
        statuses = sorted(status for status, _ in outcome.results)
        assert statuses == sorted([self.saved_status] + [409] * (len(emails) - 1))
        return next(data for status, data in outcome.results if status == self.saved_status)
