"""The feedback form sent twice (a double tap, the answer page reloaded, Back and send again)
opens one item. Each form drawn carries a token of its own; the same form again is the item
it opened: a named sender is taken to it, an anonymous sender is shown the same private link
(which they may be reading when they reload). On PostgreSQL, two sendings of one form at the
same moment open one item too."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from perks.extensions import db
from perks.feedback.models import FeedbackItem
from tests import factories
from tests.factories import PASSWORD
from tests.helpers import is_postgres, signed_in, text_of
from tests.racing import all_at_once

NAMED = {"department": "0", "topic": "tool", "subject": "Wi-Fi", "text": "Slow on floor 3."}
ANONYMOUS = {
    "department": "0",
    "topic": "policy",
    "subject": "Overtime",
    "text": "Overtime is not paid on time.",
    "anonymous": "y",
}


def items_sent() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(FeedbackItem)) or 0


def drawn(client: FlaskClient, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the token of a feedback form opened now."""
    page = client.get("/feedback/new").get_data(as_text=True)
    found = re.search(r'name="sending"[^>]*value="([0-9a-f]{32})"', page)
    assert found is not None, "the form carries a token of its own"
    return {**data, "sending": found.group(1)}


def follow_up_link(page: str) -> str:
    return page.split('data-testid="follow-up-link">')[1].split("<")[0]


def test_a_named_feedback_sent_twice_opens_one_item(app):
    client = signed_in(app, factories.UserFactory(locale="en"))
    form = drawn(client, NAMED)

    first = client.post("/feedback/new", data=form)
    again = client.post("/feedback/new", data=form, follow_redirects=True)

    assert first.status_code == 302
    assert items_sent() == 1
    assert again.status_code == 200
    assert again.request.path == first.headers["Location"]  # the item it opened
    assert "This feedback was already sent" in text_of(again)
    # a form opened again is another sending
    assert client.post("/feedback/new", data=drawn(client, NAMED)).status_code == 302
    assert items_sent() == 2


def test_an_anonymous_feedback_sent_again_shows_the_same_private_link(app):
    client = signed_in(app, factories.UserFactory(locale="vi"))
    form = drawn(client, ANONYMOUS)

    first = client.post("/feedback/new", data=form)
    reloaded = client.post("/feedback/new", data=form)

    assert (first.status_code, reloaded.status_code) == (200, 200)
    assert items_sent() == 1
    link = follow_up_link(first.get_data(as_text=True))
    assert follow_up_link(reloaded.get_data(as_text=True)) == link
    assert "Góp ý này đã được gửi" in text_of(reloaded)
    path = link.split("://", 1)[1].split("/", 1)[1]
    assert "Overtime" in text_of(client.get(f"/{path}"))
    item = db.session.scalars(select(FeedbackItem)).one()
    assert item.sender_id is None


def test_a_form_from_before_the_token_is_still_sent(app):
    """A page opened before this release has no token: it is sent, as it was."""
    client = signed_in(app, factories.UserFactory())
    assert client.post("/feedback/new", data=NAMED).status_code == 302
    assert client.post("/feedback/new", data=NAMED).status_code == 302
    assert items_sent() == 2


def test_a_forged_token_is_refused(app):
    client = signed_in(app, factories.UserFactory(locale="en"))
    answer = client.post("/feedback/new", data={**NAMED, "sending": "not-a-token"})
    assert answer.status_code == 400
    assert items_sent() == 0


def test_one_form_sent_twice_at_the_same_moment_opens_one_item(app):
    """PostgreSQL: a double tap's two requests arrive together."""
    if not is_postgres(app):
        pytest.skip("sendings at the same moment need PostgreSQL's concurrent writers")
    sender = factories.UserFactory()
    email = sender.email
    setup = signed_in(app, sender)
    form = drawn(setup, ANONYMOUS)
    db.session.commit()
    db.session.remove()

    def opened(_: int) -> FlaskClient:
        client = app.test_client()
        signing_in = client.post("/login", data={"email": email, "password": PASSWORD})
        assert signing_in.status_code == 302
        return client

    def send(client: FlaskClient) -> tuple[int, str]:
        answer = client.post("/feedback/new", data=form)
        return answer.status_code, follow_up_link(answer.get_data(as_text=True))

    outcome = all_at_once(app, range(2), send, prepare=opened, requests=True)

    assert outcome.errors == []
    assert [status for status, _ in outcome.results] == [200, 200]
    assert len({link for _, link in outcome.results}) == 1
    with app.app_context():
        assert items_sent() == 1
