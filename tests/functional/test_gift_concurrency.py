"""Several hosts granting the day's gifts at the same time (PostgreSQL): each person gets a
programme's gift once, and neither the programme's budget nor a department's is exceeded.
Each thread has its own app context, so its own session and connection."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from perks.catalog.models import Claim
from perks.extensions import db
from perks.money import Money
from perks.people.models import Role
from perks.recognition import gifts
from perks.recognition.models import Gift
from tests.factories import DepartmentFactory, UserFactory
from tests.helpers import is_postgres
from tests.racing import all_at_once
from tests.unit.recognition.helpers import gift_perk, occasion, programme_data

pytestmark = pytest.mark.postgres_only

HOSTS = 4
DAY = date(2027, 3, 8)


def test_racing_runs_grant_once_within_every_budget(app):
    if not is_postgres(app):
        pytest.skip("racing runs need PostgreSQL (row locks); set TEST_DATABASE_URL")
    hr = UserFactory(roles={Role.HR}, active=False)
    sales, support = DepartmentFactory(name="Sales"), DepartmentFactory(name="Support")
    for n in range(10):
        UserFactory(department=sales if n % 2 else support)
    programme = gifts.create_programme(
        programme_data(
            occasion("womens_day").id,
            gift_perk().id,
            unit_cost=Money(100_000, "VND"),
            budget=Money(800_000, "VND"),
            department_budgets={sales.id: Money(300_000, "VND")},
        ),
        actor=hr,
    )
    sales_id, programme_id = sales.id, programme.id
    db.session.remove()
    outcome = all_at_once(app, range(HOSTS), lambda _host: gifts.grant_due_gifts(DAY))

    assert outcome.errors == []
    assert sum(outcome.results) == 8  # the budget: 3 of Sales (its own budget), 5 of Support
    rows = db.session.execute(select(Gift.user_id, Gift.department_id)).all()
    assert len({user for user, _ in rows}) == len(rows) == 8
    assert [d for _, d in rows].count(sales_id) == 3
    assert gifts.spent_this_year(gifts.get_programme(programme_id), 2027) == Money(800_000, "VND")
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 8
