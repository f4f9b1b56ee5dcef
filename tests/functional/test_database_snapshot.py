"""The snapshot helpers of tests/helpers.py: a set-up written back is the set-up it was."""

from __future__ import annotations

from sqlalchemy import func, select

from perks.extensions import db
from perks.people.models import User
from tests import factories
from tests.helpers import DatabaseSnapshot, clean_database, restore_database, snapshot_database


def test_the_demo_company_written_back_is_the_one_seeded(
    demo_company: None, demo_snapshot: DatabaseSnapshot
):
    written_back = snapshot_database()

    assert written_back.rows.keys() == demo_snapshot.rows.keys()
    for table, rows in demo_snapshot.rows.items():
        assert written_back.rows[table] == rows, table
    # people who refer to a manager written after them keep their manager
    assert db.session.scalar(select(func.count()).where(User.manager_id > User.id)) > 0


def test_rows_made_after_a_restore_get_new_ids(app):
    first = factories.UserFactory()
    snapshot = snapshot_database()
    clean_database()

    restore_database(snapshot)
    second = factories.UserFactory()

    assert second.id > first.id
    assert db.session.get(User, first.id).email == first.email
