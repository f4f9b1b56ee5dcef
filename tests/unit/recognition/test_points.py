"""Kudos and points (perks.recognition.points, kudos): the monthly allowance credited once,
kudos within the allowance and the per-pair limit and never to oneself, the recipient
e-mailed, unspent allowance expiring at month end (missed months caught up) while received
points stay, rewards claimed and paid together or not at all, gifts of points once per year
within budget, HR's settings and values audited, and verify-points agreeing."""

from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from perks.audit import AuditEvent
from perks.catalog.models import Claim, CodeMode, PerkKind
from perks.errors import Conflict, LimitReached, NotEligible, NotFound, SoldOut, ValidationFailed
from perks.extensions import db
from perks.mail import OutboxMessage
from perks.money import Money
from perks.people.models import Role
from perks.recognition import gifts, kudos, points, services
from perks.recognition.gifts import Due, ProgrammeData
from perks.recognition.kudos import PointsSettingsData, ValueData
from perks.recognition.models import Gift, Occasion
from perks.recognition.points_models import PointsEntry, PointsEntryKind
from perks.recognition.points_verify import verify_points
from tests.factories import CompanyValueFactory, PerkFactory, UserFactory

DAY = date(2027, 3, 10)
NEXT_MONTH = date(2027, 4, 2)


@pytest.fixture(autouse=True)
def _in_english(app):  # type: ignore[no-untyped-def]
    with force_locale("en"):
        yield


@pytest.fixture
def hr():  # type: ignore[no-untyped-def]
    return UserFactory(roles={Role.HR})


@pytest.fixture
def value():  # type: ignore[no-untyped-def]
    return CompanyValueFactory(name_vi="Tận tâm", name_en="Care")


def settings(hr, **kwargs) -> services.Settings:  # type: ignore[no-untyped-def]
    values = {
        "monthly_allowance": 100,
        "role_allowances": {},
        "pair_monthly_limit": 50,
        "point_value": 1_000,
        **kwargs,
    }
    return kudos.update_points_settings(PointsSettingsData(**values), actor=hr)


def give(giver, recipient, amount, value, *, today=DAY, message="Thanks for the help!"):  # type: ignore[no-untyped-def]
    return kudos.give_kudos(giver, recipient.id, amount, value.id, message, today=today)


def entries(user_id: int) -> list[tuple[str, int, str | None]]:
    rows = db.session.execute(
        select(PointsEntry.kind, PointsEntry.points, PointsEntry.month)
        .where(PointsEntry.user_id == user_id)
        .order_by(PointsEntry.id)
    )
    return [(kind.value, amount, month) for kind, amount, month in rows]


def test_a_kudos_moves_points_from_the_allowance_to_the_colleague_and_emails_them(value):
    giver, colleague = UserFactory(), UserFactory(locale="vi")

    given = give(giver, colleague, 30, value)

    assert entries(giver.id) == [("allowance", 100, "2027-03"), ("given", -30, "2027-03")]
    assert entries(colleague.id) == [("received", 30, None)]
    assert points.balances(giver, DAY) == points.Balances(70, 0, True)
    assert points.balances(colleague, DAY).received == 30
    mail = db.session.scalars(select(OutboxMessage)).one()
    assert mail.recipient == colleague.email
    assert giver.name in mail.subject
    assert "30" in mail.subject
    assert "Thanks for the help!" in mail.body_text
    assert "Tận tâm" in mail.body_text
    assert given.month == "2027-03"


def test_nobody_gives_kudos_to_themselves(value):
    giver = UserFactory()
    with pytest.raises(ValidationFailed) as refused:
        give(giver, giver, 10, value)
    assert refused.value.details["field"] == "recipient"
    assert entries(giver.id) == []


def test_the_allowance_never_goes_negative(value):
    giver, one, two = UserFactory(), UserFactory(), UserFactory()
    give(giver, one, 50, value)
    give(giver, two, 40, value)

    with pytest.raises(LimitReached, match="10 points left"):
        give(giver, one, 11, value, message="More")

    assert points.allowance_left(giver.id, "2027-03") == 10
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_a_pair_limit_of_one_point_says_one_point(hr, value):
    """The refusal read "At most 1 points a month to one colleague"."""
    settings(hr, pair_monthly_limit=1)
    alice, bob = UserFactory(name="Alice"), UserFactory(name="Bob")

    with pytest.raises(LimitReached) as refused:
        give(alice, bob, 2, value)
    assert refused.value.message.startswith("At most 1 point a month to one colleague:")


def test_the_pair_limit_stops_trading_points_back_and_forth(hr, value):
    settings(hr, pair_monthly_limit=40)
    alice, bob = UserFactory(name="Alice"), UserFactory(name="Bob")
    give(alice, bob, 30, value)
    give(bob, alice, 30, value)

    with pytest.raises(LimitReached, match="10 more"):
        give(alice, bob, 20, value)

    give(alice, bob, 10, value)  # up to the limit
    assert kudos.given_to(alice.id, bob.id, "2027-03") == 40
    # a new month, a new limit
    give(alice, bob, 40, value, today=NEXT_MONTH)


@pytest.mark.parametrize(
    ("amount", "message", "field"),
    [(0, "Thanks", "points"), (10, "   ", "message"), (10, "x" * 281, "message")],
    ids=["no points", "no message", "message too long"],
)
def test_a_kudos_needs_points_and_a_short_message(value, amount, message, field):
    with pytest.raises(ValidationFailed) as refused:
        give(UserFactory(), UserFactory(), amount, value, message=message)
    assert refused.value.details["field"] == field


def test_a_kudos_names_an_active_value_and_goes_to_an_active_colleague(value):
    giver = UserFactory()
    retired = CompanyValueFactory(active=False)
    with pytest.raises(ValidationFailed) as refused:
        give(giver, UserFactory(), 10, retired)
    assert refused.value.details["field"] == "value"
    with pytest.raises(ValidationFailed) as refused:
        give(giver, UserFactory(active=False), 10, value)
    assert refused.value.details["field"] == "recipient"
    assert db.session.scalar(select(func.count()).select_from(PointsEntry)) == 0


def test_no_kudos_to_a_colleague_whose_leaving_date_has_come(value):
    """Still active until the daily task deactivates them (for good as the last
    administrator): the points would go to someone who has left, who can spend none of them
    (they claim nothing), and the kudos e-mail to them."""
    giver = UserFactory()
    with pytest.raises(ValidationFailed) as refused:
        give(giver, UserFactory(leaving_date=DAY), 10, value)
    assert refused.value.details["field"] == "recipient"
    assert db.session.scalar(select(func.count()).select_from(PointsEntry)) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    give(giver, UserFactory(leaving_date=date(2027, 3, 11)), 10, value)  # leaving tomorrow


def test_no_kudos_to_a_colleague_before_their_first_day(value):
    """Imported ahead of their start (the HR system's file), they are not with the company
    yet: claims, gifts and surveys wait for their first day, and so do kudos (points and an
    e-mail to a mailbox they may not read yet)."""
    giver = UserFactory()
    with pytest.raises(ValidationFailed) as refused:
        give(giver, UserFactory(name="Lý Thị Mới", hire_date=date(2027, 3, 11)), 10, value)
    assert refused.value.details["field"] == "recipient"
    assert "Lý Thị Mới starts on" in refused.value.message
    assert db.session.scalar(select(func.count()).select_from(PointsEntry)) == 0
    give(giver, UserFactory(hire_date=DAY), 10, value)  # their first day


def test_the_allowance_is_the_most_of_the_company_and_the_roles(hr):
    settings(hr, monthly_allowance=100, role_allowances={"manager": 300, "employee": 50})
    assert points.allowance_for(UserFactory(roles={Role.EMPLOYEE})) == 100
    assert points.allowance_for(UserFactory(roles={Role.EMPLOYEE, Role.MANAGER})) == 300
    assert points.allowance_for(UserFactory(active=False)) == 0


def test_the_allowance_is_credited_once_per_person_and_month(value):
    giver, colleague = UserFactory(), UserFactory()
    UserFactory(active=False)

    assert points.credit_allowances(DAY) == 2  # the active ones
    assert points.credit_allowances(DAY) == 0
    give(giver, colleague, 10, value)  # credited by the job: not again

    assert [e for e in entries(giver.id) if e[0] == "allowance"] == [("allowance", 100, "2027-03")]
    assert points.credit_allowance(giver, "2027-03") is None


def test_nobody_whose_leaving_date_has_come_is_credited_the_month(value):
    """A month's first day is a common leaving date: the hourly credit ran before the
    leavers' task deactivated them, and the last administrator kept past their date was
    credited every month; someone who has left gives no points."""
    staying = UserFactory()
    UserFactory(leaving_date=date(2027, 3, 1))
    leaving_later = UserFactory(leaving_date=date(2027, 3, 11))

    assert points.credit_allowances(DAY) == 2
    assert {e.user_id for e in db.session.scalars(select(PointsEntry))} == {
        staying.id,
        leaving_later.id,
    }


def test_unspent_allowance_expires_at_month_end_and_received_points_stay(value):
    giver, colleague = UserFactory(), UserFactory()
    give(giver, colleague, 30, value)

    assert points.expire_allowances(DAY) == 0  # the month is not over
    assert points.expire_allowances(NEXT_MONTH) == 1  # the giver's 70 left
    assert points.expire_allowances(NEXT_MONTH) == 0  # once

    assert entries(giver.id)[-1] == ("expired", -70, "2027-03")
    assert points.allowance_left(giver.id, "2027-03") == 0
    assert points.balances(colleague, NEXT_MONTH).received == 30
    assert verify_points().ok


def test_a_run_that_missed_months_expires_each_of_them(value):
    giver = UserFactory()
    give(giver, UserFactory(), 10, value, today=date(2027, 1, 5))
    give(giver, UserFactory(), 20, value, today=date(2027, 2, 5))

    assert points.settle_months(date(2027, 4, 1)) == (2, 3)

    expired = [e for e in entries(giver.id) if e[0] == "expired"]
    assert expired == [("expired", -90, "2027-01"), ("expired", -80, "2027-02")]
    assert points.balances(giver, date(2027, 4, 1)) == points.Balances(100, 0, True)


def test_a_reward_is_claimed_and_paid_in_one_go(value):
    person = UserFactory()
    for _ in range(2):
        give(UserFactory(), person, 40, value)
    reward = PerkFactory(points_price=60, per_person_limit=None)

    claim = kudos.spend_points(reward.id, person, today=DAY)

    assert claim.source == "points"
    assert claim.user_id == person.id
    assert claim.code
    assert entries(person.id)[-1] == ("reward", -60, None)
    assert points.received_balance(person.id) == 20
    with pytest.raises(LimitReached, match="costs 60 points; you have 20"):
        kudos.spend_points(reward.id, person, today=DAY)
    assert verify_points().ok


def test_the_catalogs_refusals_pay_nothing(value):
    person = UserFactory(location="Hà Nội")
    give(UserFactory(), person, 50, value)
    sold_out = PerkFactory(points_price=10, total_stock=0)
    elsewhere = PerkFactory(points_price=10, locations=["Đà Nẵng"])
    pool_empty = PerkFactory(points_price=10, code_mode=CodeMode.POOL)
    not_a_reward = PerkFactory()

    with pytest.raises(SoldOut):
        kudos.spend_points(sold_out.id, person, today=DAY)
    with pytest.raises(SoldOut):
        kudos.spend_points(pool_empty.id, person, today=DAY)
    with pytest.raises(NotEligible):
        kudos.spend_points(elsewhere.id, person, today=DAY)
    with pytest.raises(NotFound):
        kudos.spend_points(not_a_reward.id, person, today=DAY)

    assert points.received_balance(person.id) == 50
    assert db.session.scalar(select(func.count()).select_from(Claim)) == 0


def test_a_rewards_per_person_limit_holds_and_pays_nothing(value):
    person = UserFactory()
    give(UserFactory(), person, 50, value)
    once = PerkFactory(points_price=10, per_person_limit=1)
    kudos.spend_points(once.id, person, today=DAY)

    with pytest.raises(LimitReached):
        kudos.spend_points(once.id, person, today=DAY)
    assert points.received_balance(person.id) == 40


def points_programme(hr, **kwargs) -> gifts.GiftProgramme:  # type: ignore[no-untyped-def]
    services.add_vietnamese_calendar(actor=None)
    womens_day = db.session.scalars(select(Occasion).where(Occasion.key == "womens_day")).one()
    values = {
        "name_vi": "Điểm 8/3",
        "name_en": "8 March points",
        "occasion_id": womens_day.id,
        "perk_id": None,
        "points": 200,
        "days_ahead": 0,
        "message_vi": "Chúc mừng!",
        "message_en": "Congratulations!",
        "unit_cost": Money(0, "VND"),
        "budget": None,
        **kwargs,
    }
    return gifts.create_programme(ProgrammeData(**values), actor=hr)


def test_a_gift_of_points_goes_through_the_ledger_once_per_year_within_budget(hr):
    settings(hr, point_value=500)
    first, second, third = UserFactory(), UserFactory(), UserFactory()
    programme = points_programme(hr, budget=Money(200_000, "VND"))
    assert programme.unit_cost == Money(100_000, "VND")  # 200 points at 500 VND

    on = date(2027, 3, 8)
    assert gifts._grant(Due(programme, first, on), on)
    assert not gifts._grant(Due(programme, first, on), on)  # once per year
    assert gifts._grant(Due(programme, second, on), on)
    assert not gifts._grant(Due(programme, third, on), on)  # the budget is spent

    assert entries(first.id) == [("gift", 200, None)]
    assert entries(third.id) == []
    gift = db.session.scalars(select(Gift).where(Gift.user_id == first.id)).one()
    assert gift.claim_id is None
    assert gift.points == 200
    mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == first.email))
    assert "200 points" in mail.one().body_text
    assert verify_points().ok


def test_a_programme_gives_a_perk_or_points_not_both_nor_neither(hr):
    perk = PerkFactory(kind=PerkKind.GIFT, per_person_limit=None)
    with pytest.raises(ValidationFailed) as refused:
        points_programme(hr, perk_id=perk.id, points=10)
    assert refused.value.details["field"] == "points"
    with pytest.raises(ValidationFailed):
        points_programme(hr, points=None)


def test_hrs_points_settings_are_checked_and_audited(hr):
    with pytest.raises(ValidationFailed) as refused:
        settings(hr, pair_monthly_limit=0)
    assert refused.value.details["field"] == "pair_monthly_limit"
    with pytest.raises(ValidationFailed):
        settings(hr, role_allowances={"boss": 10})

    saved = settings(hr, monthly_allowance=120, role_allowances={"manager": 200})

    assert saved.monthly_allowance == 120
    assert saved.role_allowances == {"manager": 200}
    assert services.current_settings().anniversary_milestones == services.DEFAULT_MILESTONES
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "recognition.points_settings_changed")
    ).one()
    assert event.details["changes"]["monthly_allowance"] == [100, 120]


def test_hr_adds_and_renames_values_audited(hr):
    with pytest.raises(ValidationFailed):
        kudos.create_value(ValueData("", "Care"), actor=hr)
    value = kudos.create_value(ValueData(" Tận tâm ", "Care"), actor=hr)
    kudos.update_value(value.id, ValueData("Tận tâm", "Care", active=False), actor=hr)

    assert value.name_vi == "Tận tâm"
    assert not value.active
    assert kudos.values(active_only=True) == []
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["recognition.value_created", "recognition.value_changed"]


def test_a_value_is_named_once_whatever_the_case(hr):
    kept = kudos.create_value(ValueData("Chính trực", "Integrity"), actor=hr)
    other = kudos.create_value(ValueData("Đổi mới", "Innovation"), actor=hr)
    with pytest.raises(ValidationFailed, match="already has the value “chính trực”"):
        kudos.create_value(ValueData("chính trực", "Honesty"), actor=hr)
    with pytest.raises(ValidationFailed, match="INTEGRITY"):
        kudos.update_value(other.id, ValueData("Đổi mới", "INTEGRITY"), actor=hr)
    with pytest.raises(ValidationFailed):
        kudos.create_value(ValueData("ĐỔI MỚI", "Renewal"), actor=hr)  # Vietnamese letters fold
    kudos.update_value(kept.id, ValueData("Chính Trực", "Integrity"), actor=hr)  # itself: fine
    assert len(kudos.values(active_only=False)) == 2


def test_verify_points_finds_an_entry_without_its_record(value):
    giver, colleague = UserFactory(), UserFactory()
    given = give(giver, colleague, 30, value)
    assert verify_points().ok

    points.append_entry(
        user_id=colleague.id, kind=PointsEntryKind.RECEIVED, points=5, kudos_id=given.id
    )
    db.session.commit()

    report = verify_points()
    assert not report.ok
    assert any("received entries sum to 35" in problem for problem in report.problems)
    assert any(f"kudos {given.id}" in problem for problem in report.problems)


def test_nobody_is_credited_or_gives_points_before_their_first_day(value):
    # imported ahead of their start: with the company from their hire date, as gifts,
    # perks and surveys count them; their allowance would be given away or expire unused
    starting = UserFactory(hire_date=date(2027, 4, 1))
    colleague = UserFactory()

    assert points.credit_allowances(DAY) == 1  # the colleague only
    with pytest.raises(LimitReached, match="first day"):
        give(starting, colleague, 10, value)

    assert entries(starting.id) == []
    assert points.credit_allowances(NEXT_MONTH) == 2


def test_nobody_gives_points_once_their_leaving_date_has_come(value):
    # still active until the leavers' task runs (for good as the last administrator): the
    # hourly credit leaves them out, and their first kudos must not credit the month instead
    leaver = UserFactory(leaving_date=date(2027, 3, 1))
    colleague = UserFactory()

    with pytest.raises(LimitReached, match="left the company"):
        give(leaver, colleague, 10, value)

    assert entries(leaver.id) == []
    assert entries(colleague.id) == []
    assert points.balances(leaver, DAY).allowance_left == 0


def test_verify_points_checks_more_rewards_than_one_statement_takes_parameters():
    """Years of rewards: more claims bought with points than SQLite (32,766) or PostgreSQL
    (65,535) take parameters in one statement; the check named each in one IN list and
    died instead of reporting."""
    from sqlalchemy import insert

    from perks.db import utcnow

    person = UserFactory()
    reward = PerkFactory(points_price=1, per_person_limit=None)
    db.session.commit()
    bought, now = 66_000, utcnow()
    db.session.execute(
        insert(Claim),
        [
            {
                "perk_id": reward.id,
                "user_id": person.id,
                "reference": f"R{n:015d}",
                "code": "X",
                "period_key": "ever",
                "slot": n,
                "claimed_at": now,
                "source": "points",
            }
            for n in range(1, bought + 1)
        ],
    )
    claim_ids = db.session.scalars(select(Claim.id).order_by(Claim.id)).all()
    db.session.execute(
        insert(PointsEntry),
        [
            {
                "user_id": person.id,
                "kind": PointsEntryKind.REWARD,
                "points": -1,
                "claim_id": claim_id,
                "created_at": now,
                "reason": "",
            }
            for claim_id in claim_ids
        ],
    )
    db.session.commit()

    report = verify_points()

    assert report.entries == bought
    assert not [p for p in report.problems if "claim" in p]


def test_a_refusal_counts_one_point_as_one_point(value):
    giver, colleague, other = UserFactory(), UserFactory(), UserFactory()
    give(giver, colleague, 50, value)
    give(giver, other, 49, value)
    sticker = PerkFactory(points_price=1, per_person_limit=None)

    with pytest.raises(LimitReached, match=r"You have 1 point left to give this month\."):
        give(giver, other, 2, value, message="Again")
    with pytest.raises(LimitReached, match=r"This reward costs 1 point; you have 0\."):
        kudos.spend_points(sticker.id, giver, today=DAY)
    with pytest.raises(Conflict, match=r"This reward now costs 1 point, not 2:"):
        kudos.spend_points(sticker.id, giver, today=DAY, offered_price=2)


def test_before_their_first_day_nobody_is_shown_points_to_give(value):
    # My points said "Left to give this month: 100" while every kudos was refused until the
    # first day; from that day the month's allowance is theirs
    starting = UserFactory(hire_date=date(2027, 3, 20))

    assert points.balances(starting, DAY) == points.Balances(0, 0, False)
    assert points.balances(starting, date(2027, 3, 20)) == points.Balances(100, 0, False)
