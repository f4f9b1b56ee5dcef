"""``flask perks demo`` leaves a company that looks lived in (issue 13, item 7): six months of
activity over realistic days and hours, every step of every order in the order it happened,
signals on the fraud page, a finished draw anyone can verify, a picture on every product
and perk, and gifts (issue 14): the demo employee's birthday card today (two years of the
granting job on the demo company: tests/functional/test_gift_year.py), and a year of kudos
and monthly awards whose points ledger ``flask perks verify-points`` proves.

One seed serves every check (seeding takes seconds: the customers pay in the sandbox)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from perks.catalog import draws
from perks.catalog.claims import REMINDER_DAYS
from perks.catalog.models import Claim, Draw, DrawStatus, EntryOutcome, Perk
from perks.commissions.models import (
    Commission,
    CommissionState,
    EntryKind,
    LeaverSettlement,
    LedgerEntry,
)
from perks.commissions.tax_models import TaxProfile
from perks.db import utcnow
from perks.demo import DEMO_DOMAIN, DEMO_LOGINS, DEMO_PASSWORD
from perks.extensions import db
from perks.finance.models import BatchStatus, LineStatus, PayoutBatch, PayoutLine
from perks.i18n import company_today, company_zone
from perks.images import load_image
from perks.payments.models import EventOutcome, StripeEvent
from perks.people.models import EmploymentType, Role, User
from perks.recognition import awards
from perks.recognition.models import Gift, Nomination, NominationState
from perks.recognition.points_models import Kudos, PointsEntry, PointsEntryKind
from perks.referrals.attribution import AttributionReason
from perks.referrals.models import Click
from perks.shop.models import Order, OrderStatus, Product
from tests.helpers import login

#: at least this many different days of the company's calendar have clicks
MIN_CLICK_DAYS = 100


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_the_demo_looks_lived_in(runner, client):
    result = runner.invoke(args=["perks", "demo"])
    assert result.exit_code == 0, result.output
    now = utcnow()

    check_it_seeds_once_and_prints_a_login_per_role(runner, result.output)
    check_people_cover_every_role_employment_type_and_month()
    check_every_demo_login_works(client)
    check_referral_activity_in_every_state_and_a_ledger_that_agrees(runner)

    check_every_order_and_commission_in_order(now)
    check_activity_spread_over_six_months_of_days_and_hours()
    check_fraud_page_shows_flagged_orders(client)
    check_a_finished_draw_verifies_and_a_new_round_is_open()
    check_every_product_and_perk_has_a_picture(client)
    check_a_closed_survey_has_enps_by_department()
    check_ratings_are_dated_after_their_use(now)
    check_low_ratings_opened_their_feedback_on_their_day()
    check_the_storefront_wears_the_company_brand(client)
    check_the_demo_employee_has_a_birthday_card_today(client)
    check_the_demo_employee_is_reminded_of_a_claim_ending_this_week(client)
    check_awards_approved_pending_and_declined(client)
    check_a_year_of_kudos_and_awards_with_a_ledger_that_agrees(runner, now)
    check_months_of_feedback_with_answer_times(client)
    check_a_leaver_with_a_final_settlement()


def check_a_leaver_with_a_final_settlement() -> None:
    """One leaver, settled by the daily task: deactivated, their final statement e-mailed,
    and their line of the paid batch marked as the final settlement."""
    from perks.catalog.leavers import end_leavers_claims
    from perks.finance.leavers import settlement_mark
    from perks.mail import OutboxMessage

    [settlement] = db.session.scalars(select(LeaverSettlement)).all()
    leaver = db.session.get(User, settlement.user_id)
    assert leaver is not None
    assert leaver.active is False
    assert leaver.leaving_date is not None
    statements = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.recipient == leaver.email,
            OutboxMessage.subject.in_(
                ["Bảng kê hoa hồng cuối cùng của bạn", "Your final commission statement"]
            ),
        )
    ).all()
    assert len(statements) == 1
    batch = db.session.scalars(select(PayoutBatch)).one()
    [line] = [line for line in batch.lines if line.user_id == leaver.id]
    assert settlement_mark(line, batch).startswith("Quyết toán cuối cùng")
    # the leavers' claims ended as seeded: the worker's first run finds nothing to change
    assert end_leavers_claims() == 0


def check_every_order_and_commission_in_order(now: datetime) -> None:
    holding = timedelta(days=int(current_app.config["COMMISSION_HOLDING_DAYS"]))
    orders = {order.id: order for order in db.session.scalars(select(Order))}
    assert len(orders) >= 30
    for order in orders.values():
        created, paid, redeemed = (
            aware(order.created_at),
            aware(order.paid_at),
            aware(order.redeemed_at),
        )
        assert created is not None
        assert created <= now
        if paid is not None:
            assert created <= paid <= now, order.number
        if redeemed is not None:
            assert paid is not None
            assert paid <= redeemed <= now, order.number
        if order.closed_at is not None:
            assert created <= aware(order.closed_at) <= now
    for event in db.session.scalars(select(StripeEvent)):
        order = orders[event.order_id]
        assert aware(order.created_at) <= aware(event.stripe_created_at) <= now, event.type

    commissions = list(db.session.scalars(select(Commission)))
    assert len(commissions) >= 20
    vested_early = set(db.session.scalars(select(LeaverSettlement.user_id)))
    for commission in commissions:
        order = orders[commission.order_id]
        paid, redeemed = aware(order.paid_at), aware(order.redeemed_at)
        assert paid is not None
        assert paid <= aware(commission.created_at) <= now, order.number
        if commission.earned_at is not None:
            earned = aware(commission.earned_at)
            assert redeemed is not None, order.number
            assert paid <= redeemed <= earned <= now, order.number
            if commission.user_id in vested_early:  # the leaver's: payable when they left
                assert aware(commission.payable_at) <= earned + holding
            else:
                assert aware(commission.payable_at) == earned + holding
        for later in (commission.voided_at, commission.held_at, commission.paid_at):
            if later is not None:
                assert paid <= aware(later) <= now, order.number
        if commission.paid_at is not None:
            assert aware(commission.payable_at) <= aware(commission.paid_at)
    of_commissions = select(LedgerEntry).where(LedgerEntry.commission_id.is_not(None))
    for entry in db.session.scalars(of_commissions):
        commission = entry.commission
        assert commission is not None
        order = orders[commission.order_id]
        assert aware(order.paid_at) <= aware(entry.created_at) <= now
        if entry.kind is EntryKind.EARN:
            assert aware(entry.created_at) == aware(commission.earned_at)
            assert aware(order.redeemed_at) <= aware(entry.created_at)
        if entry.kind is EntryKind.REVERSAL and commission.earned_at is not None:
            assert aware(commission.earned_at) <= aware(entry.created_at)

    for claim in db.session.scalars(select(Claim)):
        claimed = aware(claim.claimed_at)
        assert claimed <= now
        if claim.used_at is not None:
            assert claimed <= aware(claim.used_at) <= now


def check_activity_spread_over_six_months_of_days_and_hours() -> None:
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    clicks = [aware(c).astimezone(zone) for c in db.session.scalars(select(Click.clicked_at))]
    orders = [aware(o).astimezone(zone) for o in db.session.scalars(select(Order.created_at))]
    assert (max(clicks) - min(clicks)).days >= 170
    assert (max(orders) - min(orders)).days >= 150
    days = {moment.date() for moment in clicks}
    assert len(days) > MIN_CLICK_DAYS
    # Every weekday, weekends quieter than weekdays (per day).
    weekdays = Counter(moment.weekday() for moment in clicks)
    assert set(weekdays) == set(range(7))
    assert (weekdays[5] + weekdays[6]) / 2 < sum(weekdays[d] for d in range(5)) / 5
    # Mostly office hours and evenings, few clicks at night, spread over many hours.
    hours = Counter(moment.hour for moment in clicks + orders)
    total = sum(hours.values())
    assert sum(hours[h] for h in range(8, 18)) > total / 2
    assert sum(hours[h] for h in range(0, 6)) < total / 10
    assert len(hours) >= 16
    # Orders in most of the six months, not one spike.
    assert len({(moment.year, moment.month) for moment in orders}) >= 6
    assert max(Counter(moment.date() for moment in orders).values()) <= 5


def check_fraud_page_shows_flagged_orders(client) -> None:
    flagged = list(db.session.scalars(select(Order).where(Order.attribution_flagged.is_(True))))
    reasons = {order.attribution_reason for order in flagged}
    assert {AttributionReason.SELF_REFERRAL, AttributionReason.EMPLOYEE_BUYER} <= reasons
    assert all(order.paid_at is not None for order in flagged)
    finance = db.session.scalar(select(User).where(User.email == f"ketoan@{DEMO_DOMAIN}"))
    login(client, finance, DEMO_PASSWORD)
    page = client.get("/finance/fraud")
    assert page.status_code == 200
    rows = page.get_data(as_text=True).count('data-testid="flagged-order"')
    assert rows == len(flagged)
    client.post("/logout")


def check_a_finished_draw_verifies_and_a_new_round_is_open() -> None:
    rounds = list(db.session.scalars(select(Draw).order_by(Draw.id)))
    assert [d.status for d in rounds] == [DrawStatus.DRAWN, DrawStatus.OPEN]
    finished = rounds[0]
    # Both rounds use the method nobody can rig: frozen entries, a public value of a later day.
    assert [d.method for d in rounds] == [2, 2]
    assert draws.verify_draw(finished.id).ok
    assert draws.value_is_after_close(finished)
    assert finished.public_value is not None
    assert "illustrative" in (finished.public_value_source or "")
    assert draws.commitment_of(finished.seed) == finished.commitment
    entries = draws.draw_entries(finished.id)
    outcomes = Counter(entry.outcome for entry in entries)
    assert outcomes[EntryOutcome.WON] == finished.seats
    assert outcomes[EntryOutcome.WAITING] >= 1
    drawn = aware(finished.drawn_at)
    assert drawn is not None
    assert drawn < utcnow() - timedelta(days=30)
    assert all(aware(e.entered_at) < aware(finished.entries_close_at) <= drawn for e in entries)
    # Each seat was claimed when the draw was made, but a seat the demo's leaver won, which
    # passed today to the next on the waiting list.
    claims = [db.session.get(Claim, e.claim_id) for e in entries if e.claim_id is not None]
    passed_on = [c for c in claims if aware(c.claimed_at) != drawn]
    left = [c for c in claims if c.user.has_left(company_today())]
    assert len(passed_on) == len(left)
    assert all(aware(c.claimed_at) > drawn for c in passed_on)
    assert draws.draw_entries(rounds[1].id)  # people have entered the next round


def check_every_product_and_perk_has_a_picture(client) -> None:
    pictured = list(db.session.scalars(select(Product))) + list(db.session.scalars(select(Perk)))
    assert len(pictured) >= 15
    names = set()
    for thing in pictured:
        assert thing.image_filename, thing
        image = load_image(thing.image_filename)
        assert image is not None
        assert image.content_type == "image/png"
        assert image.data.startswith(b"\x89PNG")
        names.add(thing.image_filename)
    assert len(names) == len(pictured)  # each its own stored image
    storefront = client.get("/shop/")
    assert storefront.status_code == 200
    shown = storefront.get_data(as_text=True)
    assert 'data-testid="product-image"' in shown
    product = next(p for p in pictured if isinstance(p, Product) and p.active)
    assert client.get(f"/shop/images/{product.image_filename}").status_code == 200


def check_the_storefront_wears_the_company_brand(client) -> None:  # type: ignore[no-untyped-def]
    client.post("/logout")
    html = client.get("/shop/").get_data(as_text=True)
    assert "Du lịch Sen Vàng" in html
    assert "/brand/logo/" in html
    assert "Phúc lợi dành cho những người làm nên công ty" not in html


def check_the_demo_employee_has_a_birthday_card_today(client) -> None:  # type: ignore[no-untyped-def]
    employee = db.session.scalars(select(User).where(User.email == f"nhanvien@{DEMO_DOMAIN}")).one()
    login(client, employee, DEMO_PASSWORD)
    home = client.get("/").get_data(as_text=True)
    client.post("/logout")
    assert 'data-testid="greeting-card"' in home
    gift = db.session.scalars(select(Gift).where(Gift.user_id == employee.id)).one()
    assert f'href="/my-perks/{gift.claim_id}"' in home
    assert gift.claim.code == "SENVANG-HPBD"


def check_the_demo_employee_is_reminded_of_a_claim_ending_this_week(client) -> None:  # type: ignore[no-untyped-def]
    employee = db.session.scalars(select(User).where(User.email == f"nhanvien@{DEMO_DOMAIN}")).one()
    [claim] = db.session.scalars(
        select(Claim).where(Claim.user_id == employee.id, Claim.reminded_on.is_not(None))
    ).all()
    assert claim.used_at is None
    assert claim.expires_on is not None
    assert 0 <= (claim.expires_on - claim.reminded_on).days <= REMINDER_DAYS
    login(client, employee, DEMO_PASSWORD)
    page = client.get("/notifications").get_data(as_text=True)
    client.post("/logout")
    assert "Hạn dùng đến hết ngày" in page
    assert claim.perk.title_vi in page


def check_it_seeds_once_and_prints_a_login_per_role(runner, output: str) -> None:  # type: ignore[no-untyped-def]
    assert "Demo data created." in output
    for role in ("admin", "hr", "finance", "manager", "redeemer", "employee"):
        assert f"  {role} " in output
    count = _people_count()
    assert 55 <= count <= 70
    second = runner.invoke(args=["perks", "demo"])
    assert "already present" in second.output
    assert _people_count() == count


def _people_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User)) or 0


def check_people_cover_every_role_employment_type_and_month() -> None:
    people = list(db.session.scalars(select(User)))
    assert {p.employment_type for p in people} == set(EmploymentType)
    assert set().union(*(p.roles for p in people)) == set(Role)
    assert len({p.birth_month for p in people}) >= 10
    assert all(
        p.manager_id
        for p in people
        if Role.MANAGER not in p.roles and p.department.name != "Ban Giám đốc"
    )


def check_every_demo_login_works(client) -> None:  # type: ignore[no-untyped-def]
    for _role, local, *_ in DEMO_LOGINS:
        user = db.session.scalar(select(User).where(User.email.startswith(local + "@")))
        login(client, user, DEMO_PASSWORD)
        client.post("/logout")


def check_referral_activity_in_every_state_and_a_ledger_that_agrees(runner) -> None:  # type: ignore[no-untyped-def]
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
    # Everyone has a tax profile, and the batch withheld personal income tax from someone
    # outside payroll: a withholding entry beside their payout, the line gross/withheld/net.
    assert db.session.scalar(select(func.count()).select_from(TaxProfile)) == db.session.scalar(
        select(func.count()).select_from(User)
    )
    withheld = list(
        db.session.scalars(
            select(PayoutLine).where(
                PayoutLine.batch_id == batch.id, PayoutLine.withheld_amount > 0
            )
        )
    )
    assert withheld
    assert db.session.scalar(
        select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.kind == EntryKind.WITHHOLDING, LedgerEntry.payout_batch_id == batch.id
        )
    ) == -sum(line.withheld_amount for line in withheld)
    statuses = set(db.session.scalars(select(Order.status).distinct()))
    assert {OrderStatus.REDEEMED, OrderStatus.REFUNDED, OrderStatus.DISPUTED} <= statuses
    assert {OrderStatus.PENDING, OrderStatus.PARTIALLY_REFUNDED} <= statuses
    # Paid through signed webhooks that the sandbox delivered over HTTP.
    outcomes = set(db.session.scalars(select(StripeEvent.outcome).distinct()))
    assert outcomes == {EventOutcome.APPLIED}
    assert db.session.scalar(select(func.count()).select_from(Click)) > 100
    verified = runner.invoke(args=["perks", "verify-ledger"])
    assert verified.exit_code == 0, verified.output


def check_awards_approved_pending_and_declined(client) -> None:  # type: ignore[no-untyped-def]
    states = Counter(db.session.scalars(select(Nomination.state)))
    assert states[NominationState.APPROVED] >= 2 + 10  # this month's two, a year's monthly
    assert states[NominationState.PENDING] == 1
    assert states[NominationState.DECLINED] == 1
    employee = db.session.scalar(select(User).where(User.email == f"nhanvien@{DEMO_DOMAIN}"))
    assert employee is not None
    (award,) = awards.awards_of(employee)
    assert award.claim_id is not None
    assert award.points == 200
    login(client, employee, DEMO_PASSWORD)
    assert 'data-testid="my-award"' in client.get("/").get_data(as_text=True)
    client.post("/logout")


def check_a_year_of_kudos_and_awards_with_a_ledger_that_agrees(runner, now: datetime) -> None:  # type: ignore[no-untyped-def]
    zone = company_zone()
    this_month = now.astimezone(zone).strftime("%Y-%m")
    kudos = list(db.session.scalars(select(Kudos)))
    months = Counter(k.month for k in kudos)
    assert len(months) == 12  # this month and the eleven before
    assert this_month in months
    assert min(months.values()) >= 5
    for given in kudos:  # dated in the month of the allowance it came from, in the past
        moment = aware(given.given_at)
        assert moment is not None
        assert moment <= now
        assert aware(given.giver.created_at) <= moment  # between people who were there
        assert aware(given.recipient.created_at) <= moment
        assert moment.astimezone(zone).strftime("%Y-%m") == given.month
    # The monthly job's runs: everyone's allowance credited each month, what was left of
    # each ended month expired, this month's still to give.
    credited = Counter(
        db.session.scalars(
            select(PointsEntry.month).where(PointsEntry.kind == PointsEntryKind.ALLOWANCE)
        )
    )
    # (the demo's leaver left today: their allowances were credited while they were here)
    people = list(
        db.session.scalars(select(User).where(User.active | User.leaving_date.is_not(None)))
    )
    for month in credited:
        first = date(int(month[:4]), int(month[5:]), 1)
        employed = [p for p in people if p.hire_date is None or p.hire_date <= first]
        assert len(employed) <= credited[month] <= len(people), month
    assert set(credited) == set(months)
    expired = set(
        db.session.scalars(
            select(PointsEntry.month).where(PointsEntry.kind == PointsEntryKind.EXPIRED)
        )
    )
    assert expired == set(months) - {this_month}
    # "Nhân viên xuất sắc tháng" approved at the end of each of the eleven months before.
    monthly = [
        n.decided_on.strftime("%Y-%m")
        for n in db.session.scalars(select(Nomination).join(Nomination.award))
        if n.award.name_vi == "Nhân viên xuất sắc tháng"
        and n.state is NominationState.APPROVED
        and n.decided_on is not None
    ]
    assert len(set(monthly) - {this_month}) >= 10
    verified = runner.invoke(args=["perks", "verify-points"])
    assert verified.exit_code == 0, verified.output


def check_months_of_feedback_with_answer_times(client) -> None:  # type: ignore[no-untyped-def]
    from perks.feedback.models import FeedbackItem, FeedbackStatus

    found = list(db.session.scalars(select(FeedbackItem)))
    states = Counter(item.status for item in found)
    assert states[FeedbackStatus.ANSWERED] >= 10
    assert states[FeedbackStatus.DECLINED] == 1
    assert any(item.anonymous for item in found)
    assert max(i.received_on for i in found) - min(i.received_on for i in found) > timedelta(
        days=60
    )
    employee = db.session.scalar(select(User).where(User.email == f"nhanvien@{DEMO_DOMAIN}"))
    assert employee is not None
    login(client, employee, DEMO_PASSWORD)
    page = client.get("/feedback/answer-times").get_data(as_text=True)
    assert page.count('data-testid="department-times"') == 3  # two departments and HR
    assert 'data-testid="published-answer"' in page
    assert 'data-testid="feedback-item"' in client.get("/feedback").get_data(as_text=True)
    client.post("/logout")


def check_a_closed_survey_has_enps_by_department():
    from perks.feedback import surveys
    from perks.feedback.surveys_models import Survey, SurveyState

    closed = db.session.scalars(select(Survey).where(Survey.state == SurveyState.CLOSED)).all()
    assert len(closed) == 2
    assert len(surveys.enps_trend()) == 2
    found = surveys.results(closed[-1].id)
    assert found.departments, "no department has enough answers to show"
    department = found.departments[0][0]
    assert surveys.results(closed[-1].id, department_id=department.id).questions[0].enps is not None
    assert found.department_enps
    # the past quarters' surveys were opened and closed in their quarters, not on the seed's day
    today = datetime.now(company_zone()).date()
    this_quarter = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    for survey in closed:
        assert survey.opened_on is not None
        assert survey.closed_on is not None
        assert survey.opened_on < survey.closed_on < this_quarter, survey.title_en
        assert (
            f"Q{(survey.opened_on.month - 1) // 3 + 1} {survey.opened_on.year}" in survey.title_en
        )


def check_low_ratings_opened_their_feedback_on_their_day():
    """A rating of one or two stars opens a feedback item to HR as it is given: the demo's
    are dated with their ratings (months ago for most) and were read and answered like the
    box's other items, not all received today and left new in HR's inbox."""
    from perks.feedback.models import FeedbackItem, FeedbackStatus
    from perks.feedback.ratings_models import Rating

    zone = company_zone()
    today = datetime.now(zone).date()
    low = db.session.scalars(select(Rating).where(Rating.stars <= 2)).all()
    assert low
    rated = Counter((r.perk_id, aware(r.created_at).astimezone(zone).date()) for r in low)
    assert any(day < today for _perk, day in rated), "every low rating is today's"
    items = db.session.scalars(select(FeedbackItem)).all()
    received = Counter((i.about_perk_id, i.received_on) for i in items)
    assert not rated - received, "low ratings without their feedback item on their day"
    left_new = [
        i.subject for i in items if i.status == FeedbackStatus.NEW and i.received_on < today
    ]
    assert not left_new, left_new


def check_ratings_are_dated_after_their_use(now):
    from perks.feedback.ratings_models import Rating

    ratings = db.session.scalars(select(Rating)).all()
    assert ratings
    claims = dict(db.session.execute(select(Claim.id, Claim.used_at)).all())
    orders = dict(db.session.execute(select(Order.id, Order.redeemed_at)).all())
    for rating in ratings:
        at = aware(claims[rating.claim_id] if rating.claim_id else orders[rating.order_id])
        assert at is not None
        assert at <= aware(rating.created_at) <= now + timedelta(minutes=5)
        if rating.moderated_at is not None:
            assert aware(rating.created_at) <= aware(rating.moderated_at)
    # the perks were used over months: their ratings were not all written today
    assert len({aware(r.created_at).astimezone(company_zone()).date() for r in ratings}) > 10
