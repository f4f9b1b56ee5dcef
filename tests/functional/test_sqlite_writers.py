"""Development runs the web app, the worker and the scheduler on one SQLite file (``make
run``), and the tests run live servers beside the test's own writes: a writer that meets
another one waits for it (``SQLITE_BUSY_SECONDS``) instead of failing with "database is
locked", also when its transaction began with a savepoint (claims, gifts, draws, links)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import make_url, select

from perks.catalog import claims
from perks.extensions import db
from perks.people.models import Role
from perks.recognition import gifts
from perks.recognition.models import Gift
from tests import factories
from tests.helpers import is_postgres
from tests.unit.recognition.helpers import gift_perk, occasion, programme_data

#: how long the other process holds its write lock
HOLD_SECONDS = 0.5


@pytest.fixture
def another_writer(app: Flask) -> Iterator[Callable[[], None]]:
    """Start another connection to the same file holding a write transaction for
    ``HOLD_SECONDS`` (as the worker does while the web app writes); returns once it holds
    the lock."""
    if is_postgres(app):
        pytest.skip("SQLite only: PostgreSQL writers wait for row locks, not for the file")
    path = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    threads: list[threading.Thread] = []
    errors: list[BaseException] = []

    def start() -> None:
        holding = threading.Event()

        def write_for_a_moment() -> None:
            try:
                connection = sqlite3.connect(str(path), isolation_level=None, timeout=30)
                try:
                    connection.execute("BEGIN IMMEDIATE")
                    holding.set()
                    threading.Event().wait(HOLD_SECONDS)
                    connection.execute("COMMIT")
                finally:
                    connection.close()
            except BaseException as error:  # reported by the test, not lost in the thread
                errors.append(error)
                holding.set()

        thread = threading.Thread(target=write_for_a_moment, name="another-writer")
        thread.start()
        threads.append(thread)
        holding.wait(10)

    yield start
    for thread in threads:
        thread.join(10)
    assert errors == []


def test_a_claim_waits_for_another_writer(app, another_writer):
    """Its savepoint holds only the write (the slots are read before it)."""
    perk = factories.PerkFactory(per_person_limit=None)
    person = factories.UserFactory()

    another_writer()
    claim = claims.claim_perk(perk.id, person)

    assert claim.id is not None


def test_a_gift_granted_in_a_savepoint_waits_for_another_writer(app, another_writer):
    """The grant reads the person's claims inside the savepoint before it writes; SQLite
    refused that upgrade at once while another connection held the write lock (a webhook
    handled by the web app while the worker granted the day's gifts)."""
    hr = factories.UserFactory(roles={Role.HR})
    person = factories.UserFactory()
    programme = programme_data(occasion("womens_day").id, gift_perk().id)
    gifts.create_programme(programme, actor=hr)

    another_writer()
    granted = gifts.grant_due_gifts(date(2027, 3, 8))

    assert granted == 2  # everyone: the programme names no audience
    assert sorted(db.session.scalars(select(Gift.user_id))) == sorted([hr.id, person.id])
