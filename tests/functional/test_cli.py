"""``flask perks demo`` and ``flask perks create-admin``: both idempotent (the demo company
itself is checked by tests/functional/test_demo.py, on one seed)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from perks.extensions import db
from perks.people.models import Role, User
from tests.helpers import login


def people_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


@pytest.mark.usefixtures("_schema")  # the tables, even when this test runs first
def test_demo_without_its_stripe_sandbox_writes_nothing_and_says_why(app_factory, monkeypatch):
    from perks import demo_activity

    monkeypatch.setattr(demo_activity, "SANDBOX_START_SECONDS", 0.5)
    nobody = app_factory(STRIPE_API_BASE="http://127.0.0.1:9")  # nothing listens there

    result = nobody.test_cli_runner().invoke(args=["perks", "demo"])

    assert result.exit_code != 0
    assert "the Stripe sandbox does not answer at http://127.0.0.1:9" in str(result.exception)
    with nobody.app_context():
        assert people_count() == 0


def test_create_admin_is_idempotent(runner, client):
    args = ["perks", "create-admin", "Boss@Example.com", "--password", "a long admin password"]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert "Created administrator boss@example.com" in first.output
    second = runner.invoke(args=args)
    assert "Updated administrator" in second.output
    assert people_count() == 1
    admin = db.session.scalar(select(User))
    assert Role.ADMIN in admin.roles
    login(client, admin, "a long admin password")


def test_create_admin_refuses_a_short_password(runner):
    result = runner.invoke(args=["perks", "create-admin", "b@example.com", "--password", "short"])
    assert result.exit_code != 0
    assert "12" in result.output  # the rule, in the default language
    assert people_count() == 0
