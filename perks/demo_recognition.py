"""A year of kudos and awards for the demo company.

Month by month over the eleven months before this one, oldest first, as the company lived
them: everyone employed on the first has their allowance credited (what the monthly job
does), colleagues give kudos on working days within their allowance and the per-pair limit,
what is left of the month expires on the next first, and a manager nominates someone of
their team for "Nhân viên xuất sắc tháng", which HR approves at the month's end. This
month, everyone's allowance is credited on the first.

The kudos of past months are planned here (the rules of ``kudos.give_kudos`` kept) and
written set-based, a month at a time, with their points entries through
``points.append_entries``, dated when they happened, in the order they happened: the
ledger's running balances are those of the real services and ``flask perks verify-points``
agrees. The recipients of these old kudos are not notified (nobody e-mails a year of news).
The monthly awards go through the real services (``awards.nominate``, ``awards.approve``:
the voucher, the points and the notifications), and what each step wrote is then dated at
the moment the demo planned for it on a year-long ``Timeline``, the way
``perks.demo_activity`` dates an order's steps: only dates move, never an amount or a kind.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select, update

from perks.audit import AuditEvent
from perks.catalog.models import Claim
from perks.db import transaction, utcnow
from perks.demo_activity import OFFICE_HOURS, Timeline
from perks.extensions import db
from perks.i18n import company_zone
from perks.mail import OutboxMessage
from perks.notifications.models import Notification
from perks.people.models import Role, User
from perks.recognition import awards, kudos, points, services
from perks.recognition.models import Award, Nomination
from perks.recognition.points_models import Kudos, PointsEntry, PointsEntryKind

#: how many months before this one the demo's recognition goes back
YEAR_MONTHS = 11
#: kudos given in a month of the demo's year (a few more in the busy months)
KUDOS_PER_MONTH = (18, 26)
#: the points one kudos gives
KUDOS_POINTS = (5, 10, 10, 15, 20, 20, 25, 30)
#: the name of the monthly award (``perks.demo.seed_demo_awards`` defines it)
MONTHLY_AWARD = "Nhân viên xuất sắc tháng"
#: what colleagues thank each other for
KUDOS_MESSAGES = (
    "Cảm ơn bạn đã hỗ trợ đoàn khách đến tận khuya.",
    "Cảm ơn bạn đã xử lý giúp khiếu nại của khách rất khéo léo.",
    "Bản báo giá tour mới làm rất nhanh và chính xác, cảm ơn bạn!",
    "Cảm ơn anh đã hướng dẫn mình dùng hệ thống đặt phòng.",
    "Cảm ơn chị đã trực thay ca cuối tuần.",
    "Ý tưởng gói combo gia đình rất hay, khách hỏi liên tục!",
    "Cảm ơn bạn đã giữ bình tĩnh khi chuyến bay của đoàn bị hoãn.",
    "Buổi đào tạo sản phẩm hôm qua rất dễ hiểu, cảm ơn bạn.",
    "Cảm ơn em đã đối soát hoá đơn kịp trước kỳ lương.",
    "Cảm ơn bạn đã chia sẻ kinh nghiệm dẫn tour Sa Pa.",
    "Cảm ơn anh đã sửa giúp trang đặt tour ngay trong đêm.",
    "Cảm ơn chị đã chuẩn bị quà cho khách VIP thật chu đáo.",
)
#: why managers nominate someone for the month's award
AWARD_REASONS = (
    "Được khách hàng khen ngợi nhiều nhất trong tháng.",
    "Hoàn thành vượt chỉ tiêu doanh số của phòng.",
    "Chủ động xử lý sự cố lịch trình cho ba đoàn khách.",
    "Đào tạo hai đồng nghiệp mới làm quen công việc.",
)


@dataclass(frozen=True)
class Month:
    """A month of the demo's year: its first day and the first day of the next."""

    first: date
    next_first: date

    @property
    def days(self) -> int:
        return (self.next_first - self.first).days

    @property
    def key(self) -> str:
        """The month as the ledger writes it: "2026-12"."""
        return points.month_of(self.first)


def past_months(today: date, count: int = YEAR_MONTHS) -> list[Month]:
    """The ``count`` months before ``today``'s, oldest first."""
    months = []
    first = today.replace(day=1)
    for _ in range(count):
        previous = (first - timedelta(days=1)).replace(day=1)
        months.append(Month(previous, first))
        first = previous
    return months[::-1]


def seed_a_year_of_recognition(
    *, hr: User, employee: User, today: date, seed: int = 2029
) -> tuple[int, int]:
    """Kudos over the eleven months before ``today``'s, a monthly award approved by ``hr``
    each month (never to ``employee``, whose award is this month's), allowances credited on
    each first and expired on the next, then this month's allowances credited (see the
    module). Returns (kudos given, awards approved).

    Raises:
        RuntimeError: the company's values or its monthly award are not seeded yet.
    """
    rng = random.Random(seed)  # noqa: S311 - made-up demo data, not secrets
    months = past_months(today)
    line = Timeline(rng, utcnow(), company_zone(), days=(today - months[0].first).days)
    people = [
        Colleague(p, p.id, p.hire_date, points.allowance_for(p))
        for p in db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id))
    ]
    values = [v.id for v in kudos.values(active_only=True)]
    award = db.session.scalar(select(Award.id).where(Award.name_vi == MONTHLY_AWARD))
    if not values or award is None:
        raise RuntimeError("the demo's values and awards must be seeded first")
    teams = {
        manager.id: [c for c in people if c.person.manager_id == manager.id]
        for manager in (c.person for c in people)
        if manager.has_role(Role.MANAGER) and manager.id != hr.id
    }
    nominees = {
        manager_id: [c for c in team if c.id not in (hr.id, employee.id)]
        for manager_id, team in teams.items()
    }
    managers = {c.id: c.person for c in people if nominees.get(c.id)}
    pair_limit = services.current_settings().pair_monthly_limit
    given = awarded = 0
    for month in months:
        staff = [c for c in people if c.hired_by(month.first)]
        planned = _plan_kudos(rng, line, staff, values, month, pair_limit)
        _write_month(line, staff, planned, month)
        given += len(planned)
        manager_id = rng.choice(sorted(managers))
        if _monthly_award(rng, line, award, managers[manager_id], nominees[manager_id], hr, month):
            awarded += 1
    this_month = Month(today.replace(day=1), today + timedelta(days=1))
    with transaction():
        points.append_entries(
            _allowances([c for c in people if c.hired_by(today)], this_month, line)
        )
    return given, awarded


def _first_moment(line: Timeline, day: date) -> datetime:
    """A few minutes past midnight of ``day`` (company time): when the monthly job runs."""
    start = datetime.combine(day, time(0, 5), line.zone).astimezone(UTC)
    return min(start, line.latest)


def _allowances(staff: list[Colleague], month: Month, line: Timeline) -> list[PointsEntry]:
    credited_at = _first_moment(line, month.first)
    return [
        PointsEntry(
            user_id=c.id,
            kind=PointsEntryKind.ALLOWANCE,
            points=c.allowance,
            month=month.key,
            created_at=credited_at,
        )
        for c in staff
        if c.allowance > 0
    ]


def _write_month(
    line: Timeline, staff: list[Colleague], planned: list[PlannedKudos], month: Month
) -> None:
    """The month's ledger in one transaction, in the order it happened: everyone's
    allowance on the first, the kudos (two entries each), what was left expired on the
    next first."""
    with transaction():
        given = [
            Kudos(
                giver_id=plan.giver_id,
                recipient_id=plan.recipient_id,
                value_id=plan.value_id,
                points=plan.points,
                message=plan.message,
                month=month.key,
                given_at=plan.at,
            )
            for plan in planned
        ]
        db.session.add_all(given)
        db.session.flush()
        entries = _allowances(staff, month, line)
        left = {c.id: c.allowance for c in staff}
        for row in given:
            left[row.giver_id] -= row.points
            entries += [
                PointsEntry(
                    user_id=row.giver_id,
                    kind=PointsEntryKind.GIVEN,
                    points=-row.points,
                    month=month.key,
                    kudos_id=row.id,
                    created_at=row.given_at,
                ),
                PointsEntry(
                    user_id=row.recipient_id,
                    kind=PointsEntryKind.RECEIVED,
                    points=row.points,
                    kudos_id=row.id,
                    created_at=row.given_at,
                ),
            ]
        expired_at = _first_moment(line, month.next_first)
        entries += [
            PointsEntry(
                user_id=user_id,
                kind=PointsEntryKind.EXPIRED,
                points=-points_left,
                month=month.key,
                reason="month_ended",
                created_at=expired_at,
            )
            for user_id, points_left in left.items()
            if points_left > 0
        ]
        points.append_entries(entries)


@dataclass(frozen=True)
class Colleague:
    """A person of the demo, with what the plan reads of them (read once)."""

    person: User
    id: int
    hire_date: date | None
    allowance: int

    def hired_by(self, day: date) -> bool:
        return self.hire_date is None or self.hire_date <= day


@dataclass(frozen=True)
class PlannedKudos:
    giver_id: int
    recipient_id: int
    points: int
    value_id: int
    message: str
    at: datetime


def _working_days(month: Month) -> list[date]:
    days = (month.first + timedelta(days=n) for n in range(month.days))
    return [day for day in days if day.weekday() < 5]


def _plan_kudos(
    rng: random.Random,
    line: Timeline,
    people: list[Colleague],
    values: list[int],
    month: Month,
    pair_limit: int,
) -> list[PlannedKudos]:
    """The month's kudos in the order they are given, as ``kudos.give_kudos`` would take
    them: within each giver's allowance and the pair limit, never to oneself (``staff``:
    the people employed on the first), at a moment of a working day."""
    left = {c.id: c.allowance for c in people}
    pairs: dict[tuple[int, int], int] = {}
    workdays = _working_days(month)
    planned = []
    for _ in range(rng.randint(*KUDOS_PER_MONTH)):
        day = rng.choice(workdays)
        giver, recipient = rng.sample(people, 2)
        amount = rng.choice(KUDOS_POINTS)
        pair = (giver.id, recipient.id)
        when = line.on(day, OFFICE_HOURS)
        if when is None or amount > left[giver.id] or pairs.get(pair, 0) + amount > pair_limit:
            continue
        left[giver.id] -= amount
        pairs[pair] = pairs.get(pair, 0) + amount
        planned.append(
            PlannedKudos(
                giver.id,
                recipient.id,
                amount,
                rng.choice(values),
                rng.choice(KUDOS_MESSAGES),
                when,
            )
        )
    return sorted(planned, key=lambda plan: plan.at)


def _monthly_award(
    rng: random.Random,
    line: Timeline,
    award_id: int,
    manager: User,
    team: list[Colleague],
    hr: User,
    month: Month,
) -> bool:
    """``manager`` nominates someone of their team in the month's last week; ``hr``
    approves it on the month's last working day (the voucher and the points). False when
    nobody of the team was hired yet."""
    last = _working_days(month)[-1]
    team = [c for c in team if c.hired_by(month.first)]
    nominated_at = line.on(last - timedelta(days=rng.randint(3, 6)), OFFICE_HOURS)
    approved_at = line.on(last, OFFICE_HOURS)
    if not team or nominated_at is None or approved_at is None:
        return False
    since = utcnow()
    nomination = awards.nominate(
        award_id, rng.choice(team).id, rng.choice(AWARD_REASONS), actor=manager
    )
    _date(since, nominated_at)
    since = utcnow()
    awards.approve(nomination.id, actor=hr, today=last)
    _date(since, approved_at)
    with transaction():
        db.session.execute(
            update(Nomination)
            .where(Nomination.id == nomination.id)
            .values(
                created_at=nominated_at,
                updated_at=approved_at,
                decided_at=approved_at,
                decided_on=last,
            )
            .execution_options(synchronize_session=False)
        )
    return True


def _date(since: datetime, at: datetime) -> None:
    """What the services wrote from ``since`` (the real clock, read just before) is dated
    ``at``: points entries, claims, notifications (read an hour later), e-mails and audit
    events. Only dates move (a plain table statement for the points
    entries: the ORM refuses any change to them)."""
    entries = PointsEntry.__table__
    with transaction():
        db.session.execute(
            entries.update().where(entries.c.created_at >= since).values(created_at=at)
        )
        for statement in (
            update(Claim)
            .where(Claim.created_at >= since)
            .values(created_at=at, claimed_at=at, updated_at=at),
            update(Notification)
            .where(Notification.created_at >= since)
            .values(created_at=at, read_at=at + timedelta(hours=1)),
            update(OutboxMessage).where(OutboxMessage.created_at >= since).values(created_at=at),
            update(AuditEvent).where(AuditEvent.created_at >= since).values(created_at=at),
        ):
            db.session.execute(statement.execution_options(synchronize_session=False))
