"""``flask perks demo`` and ``flask perks create-admin``: both idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from perks.demo import DEMO_DOMAIN, DEMO_LOGINS, DEMO_PASSWORD
from perks.extensions import db
from perks.people.models import EmploymentType, Role, User
from tests.helpers import login


def people_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def test_demo_seeds_a_company_once_and_prints_a_login_per_role(runner):
    first = runner.invoke(args=["perks", "demo"])
    assert first.exit_code == 0, first.output
    assert "Demo data created." in first.output
    for role in ("admin", "hr", "finance", "manager", "redeemer", "employee"):
        assert f"  {role} " in first.output
    count = people_count()
    assert 55 <= count <= 70
    second = runner.invoke(args=["perks", "demo"])
    assert "already present" in second.output
    assert people_count() == count


def test_demo_people_cover_every_role_and_employment_type_and_month(runner):
    runner.invoke(args=["perks", "demo"])
    people = list(db.session.scalars(select(User)))
    assert {t for p in people for t in [p.employment_type]} == set(EmploymentType)
    assert set().union(*(p.roles for p in people)) == set(Role)
    assert len({p.birth_month for p in people}) >= 10
    assert all(
        p.manager_id
        for p in people
        if Role.MANAGER not in p.roles and p.department.name != "Ban Giám đốc"
    )


def test_demo_without_its_stripe_sandbox_writes_nothing_and_says_why(app_factory, monkeypatch):
    from perks import demo_activity

    monkeypatch.setattr(demo_activity, "SANDBOX_START_SECONDS", 0.5)
    nobody = app_factory(STRIPE_API_BASE="http://127.0.0.1:9")  # nothing listens there

    result = nobody.test_cli_runner().invoke(args=["perks", "demo"])

    assert result.exit_code != 0
    assert "the Stripe sandbox does not answer at http://127.0.0.1:9" in str(result.exception)
    with nobody.app_context():
        assert people_count() == 0


def test_demo_logins_work(runner, client):
    runner.invoke(args=["perks", "demo"])
    for _role, local, *_ in DEMO_LOGINS:
        user = db.session.scalar(select(User).where(User.email.startswith(local + "@")))
        login(client, user, DEMO_PASSWORD)
        client.post("/logout")


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


def test_demo_leaves_referral_activity_in_every_state_and_a_ledger_that_agrees(runner):
    from sqlalchemy import func, select

    from perks.commissions.models import Commission, CommissionState
    from perks.extensions import db
    from perks.finance.models import BatchStatus, LineStatus, PayoutBatch, PayoutLine
    from perks.payments.models import EventOutcome, StripeEvent
    from perks.referrals.models import Click
    from perks.shop.models import Order, OrderStatus

    assert runner.invoke(args=["perks", "demo"]).exit_code == 0

    states = set(db.session.scalars(select(Commission.state).distinct()))
    assert states == set(CommissionState)
    # A first payout, four eyes: drafted by one finance person, approved by another, paid;
    # one line left out, so payable commissions wait for the next batch.
    batch = db.session.scalars(select(PayoutBatch)).one()
    assert batch.status is BatchStatus.PAID
    assert batch.payment_reference
    assert batch.drafted_by.email == f"ketoan@{DEMO_DOMAIN}"
    assert batch.approved_by is not None
    assert batch.approved_by.email == f"ketoan2@{DEMO_DOMAIN}"
    line_statuses = set(
        db.session.scalars(select(PayoutLine.status).where(PayoutLine.batch_id == batch.id))
    )
    assert {LineStatus.INCLUDED, LineStatus.EXCLUDED} <= line_statuses
    statuses = set(db.session.scalars(select(Order.status).distinct()))
    assert {OrderStatus.REDEEMED, OrderStatus.REFUNDED, OrderStatus.DISPUTED} <= statuses
    assert {OrderStatus.PENDING, OrderStatus.PARTIALLY_REFUNDED} <= statuses
    # Paid through signed webhooks that the sandbox delivered over HTTP.
    outcomes = set(db.session.scalars(select(StripeEvent.outcome).distinct()))
    assert outcomes == {EventOutcome.APPLIED}
    assert db.session.scalar(select(func.count()).select_from(Click)) > 100
    verified = runner.invoke(args=["perks", "verify-ledger"])
    assert verified.exit_code == 0, verified.output
