"""Issue 14's first acceptance item: the demo company's gift programmes through two years
of days, the clock moved by the test and the real scheduled task run as Celery beat runs it,
at company midnight and again before the next on some days, with days the job was down.
Everything the runs granted is checked against a recomputation that uses none of
``perks.recognition``: each eligible person gets each gift once per occasion year, on the
first run of its day, nobody outside an audience gets one, every budget holds and, where a
budget stopped a gift, it had truly run out. Tết is granted for its day in 2026, 2027 and
2028, the dates checked against the ``holidays`` library and a published calendar."""

from __future__ import annotations

import calendar as solar_calendar
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
import stripe
import time_machine
from flask import Flask
from sqlalchemy import func, select

from perks.demo import DEMO_DOMAIN, seed_demo
from perks.extensions import db
from perks.jobs import BEAT_SCHEDULE
from perks.mail import OutboxMessage
from perks.notifications.models import Notification
from perks.people.models import User
from perks.people.services import deactivate_person
from perks.recognition.gifts import CATCH_UP_DAYS
from perks.recognition.models import Gift, GiftProgramme, RecognitionSettings

#: the demo company is seeded on the first day; the job then runs every day to the last
FIRST_DAY = date(2026, 2, 1)
LAST_DAY = date(2028, 1, 31)
#: Mùng 1 Tết as published: Bính Ngọ 17/02/2026, Đinh Mùi 06/02/2027, Mậu Thân 26/01/2028
#: (Hồ Ngọc Đức's Vietnamese calendar, computed for UTC+7,
#: https://www.informatik.uni-leipzig.de/~duc/amlich/; the government's Tết holidays of 2026
#: are 14-22/02)
TET = {2026: date(2026, 2, 17), 2027: date(2027, 2, 6), 2028: date(2028, 1, 26)}
#: the job was down on these days (never longer than its catch-up window): among them the
#: day Tết 2027's gifts fall due and the last two days before 8/3/2027
DOWN = {
    FIRST_DAY + timedelta(days=n)
    for n in range((LAST_DAY - FIRST_DAY).days + 1)
    if n % 23 in (5, 6, 7)
} | {date(2027, 1, 30), date(2027, 1, 31), date(2027, 3, 6), date(2027, 3, 7)}
#: the day a person leaves the company (the first of the people without a demo login)
LEAVING_DAY = date(2026, 9, 1)
COMPANY_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def run_days() -> list[date]:
    days = [FIRST_DAY + timedelta(days=n) for n in range(1, (LAST_DAY - FIRST_DAY).days + 1)]
    return [day for day in days if day not in DOWN]


def company_moment(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=COMPANY_ZONE)


def company_day(moment: datetime) -> date:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(COMPANY_ZONE).date()


def run_the_scheduled_job(app: Flask, at: datetime) -> int:
    """What Celery beat's entry sends, run by the worker's code path, the clock at ``at``."""
    entry = BEAT_SCHEDULE["grant-due-gifts"]
    task = app.extensions["celery"].tasks[entry["task"]]
    with time_machine.travel(at, tick=False):
        return int(task.apply(args=entry.get("args", ()), kwargs=entry.get("kwargs", {})).get())


def test_tet_dates_agree_with_the_library_and_the_published_calendar():
    for year, day in TET.items():
        named = holidays.Vietnam(years=year, language="en_US")
        assert named.get(day) == "Lunar New Year", year


# --- the recomputation --------------------------------------------------------------------


def on_solar_day(year: int, month: int, day: int) -> date:
    """Someone born (or hired) on 29/02 celebrates on 28/02 in a common year."""
    if (month, day) == (2, 29) and not solar_calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def occasion_days(key: str, person: User, milestones: set[int]) -> list[date]:
    years = range(FIRST_DAY.year - 1, LAST_DAY.year + 2)
    if key == "tet":
        return [TET[y] for y in years if y in TET]
    if key == "womens_day":
        return [date(y, 3, 8) for y in years]
    if key == "childrens_day":
        return [date(y, 6, 1) for y in years]
    if key == "birthday":
        if person.birth_month is None or person.birth_day is None:
            return []
        return [on_solar_day(y, person.birth_month, person.birth_day) for y in years]
    if key == "work_anniversary":
        hired = person.hire_date
        if hired is None:
            return []
        return [
            on_solar_day(y, hired.month, hired.day) for y in years if y - hired.year in milestones
        ]
    raise AssertionError(f"the test does not know the occasion {key}")


def in_audience(programme: GiftProgramme, person: User, on: date) -> bool:
    departments = {d.id for d in programme.departments}
    return (
        (not departments or person.department_id in departments)
        and (not programme.locations or person.location in programme.locations)
        and (
            not programme.employment_types
            or person.employment_type.value in programme.employment_types
        )
        and (
            not programme.min_tenure_days
            or (
                person.hire_date is not None
                and person.hire_date + timedelta(days=programme.min_tenure_days) <= on
            )
        )
        and (programme.gender is None or person.gender is programme.gender)
        and (not programme.requires_children or bool(person.children_under_15))
    )


@dataclass(frozen=True)
class Owed:
    """A gift the runs had to give, on ``run_day`` unless a budget had run out."""

    programme_id: int
    person: User
    on: date
    run_day: date


def owed(runs: list[date], left: dict[int, date], milestones: set[int]) -> list[Owed]:
    """Every gift of every programme whose window (``days_ahead`` before the occasion to
    the catch-up window after it) holds a run, for the people in its audience and still
    with the company that day, with the first such run."""
    found: list[Owed] = []
    people = db.session.scalars(select(User)).all()
    for programme in db.session.scalars(select(GiftProgramme)):
        key = programme.occasion.key or ""
        for person in people:
            for on in occasion_days(key, person, milestones):
                window = on - timedelta(days=programme.days_ahead), on + timedelta(CATCH_UP_DAYS)
                run_day = next((d for d in runs if window[0] <= d <= window[1]), None)
                if run_day is None or not in_audience(programme, person, on):
                    continue
                if person.id in left and left[person.id] <= run_day:
                    continue
                found.append(Owed(programme.id, person, on, run_day))
    return found


# --- the two years --------------------------------------------------------------------------


@pytest.fixture
def demo_company(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo company as ``flask perks demo`` seeds it on ``FIRST_DAY`` (its gift
    programmes grant that day's gifts); without its six months of payments through the
    Stripe sandbox, which gifts do not need."""
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", stripe.DEFAULT_API_BASE)
    with time_machine.travel(company_moment(FIRST_DAY, 0, 5), tick=True):
        seed_demo()
    monkeypatch.undo()


def test_two_years_of_daily_runs_give_each_eligible_person_each_gift_once_within_budget(
    app: Flask, demo_company: None
) -> None:
    started = time.perf_counter()
    leaver = db.session.scalars(
        select(User)
        .where(User.email.startswith("nv"), User.email.endswith(DEMO_DOMAIN))
        .order_by(User.id)
    ).first()
    hr = db.session.scalars(select(User).where(User.email == f"nhansu@{DEMO_DOMAIN}")).one()
    assert leaver is not None
    runs = [FIRST_DAY, *run_days()]
    last_mail = db.session.scalar(select(func.max(OutboxMessage.id))) or 0
    granted_by_run = 0
    for n in range(1, (LAST_DAY - FIRST_DAY).days + 1):
        day = FIRST_DAY + timedelta(days=n)
        if day == LEAVING_DAY:
            with time_machine.travel(company_moment(day, 0, 1), tick=False):
                deactivate_person(leaver, actor=hr)
        if day in DOWN:
            continue
        # company midnight is the evening before in UTC: the task must count days in the
        # company's time zone
        granted_by_run += run_the_scheduled_job(app, company_moment(day, 0, 5))
        if n % 5 == 0:  # a second run, late the same company day, grants nothing new
            assert run_the_scheduled_job(app, company_moment(day, 23, 55)) == 0
    elapsed = time.perf_counter() - started
    print(f"{len(runs)} days, {granted_by_run} gifts by the daily runs in {elapsed:.1f} s")

    db.session.expire_all()
    settings = db.session.get(RecognitionSettings, 1)
    assert settings is not None
    expected = owed(runs, {leaver.id: LEAVING_DAY}, set(settings.anniversary_milestones))
    gifts = db.session.scalars(select(Gift)).all()
    programmes = {p.id: p for p in db.session.scalars(select(GiftProgramme))}
    assert len(programmes) == 6  # the work anniversary has a dinner and a gift of points
    assert {p.occasion.key for p in programmes.values()} == {
        "tet",
        "womens_day",
        "childrens_day",
        "birthday",
        "work_anniversary",
    }

    # at most once per programme, person and occasion year, and only what was owed
    keys = [(g.programme_id, g.user_id, g.occasion_year) for g in gifts]
    assert len(keys) == len(set(keys))
    owed_by_key = {(o.programme_id, o.person.id, o.on.year): o for o in expected}
    assert len(owed_by_key) == len(expected)
    outside = [key for key in keys if key not in owed_by_key]
    assert outside == [], "gifts to people outside an audience or a window"

    # each on its occasion's day, granted by the first run of its window
    for gift in gifts:
        due = owed_by_key[(gift.programme_id, gift.user_id, gift.occasion_year)]
        assert gift.occasion_on == due.on
        assert company_day(gift.granted_at) == due.run_day, gift.id
        assert gift.cost_amount == programmes[gift.programme_id].unit_cost_amount
        assert gift.department_id == due.person.department_id

    # no budget exceeded; every gift owed and not given was stopped by a budget that had
    # run out (a department's, or the programme's)
    spent: dict[tuple[int, int], int] = defaultdict(int)
    spent_in: dict[tuple[int, int, int | None], int] = defaultdict(int)
    for gift in gifts:
        spent[(gift.programme_id, gift.occasion_year)] += gift.cost_amount
        spent_in[(gift.programme_id, gift.occasion_year, gift.department_id)] += gift.cost_amount
    stopped_by = {"programme": 0, "department": 0}
    given = set(keys)
    for key, due in owed_by_key.items():
        programme = programmes[key[0]]
        limits = {b.department_id: b.amount for b in programme.department_budgets}
        year, department_id = key[2], due.person.department_id
        total, in_department = spent[(key[0], year)], spent_in[(key[0], year, department_id)]
        if programme.budget_amount is not None:
            assert total <= programme.budget_amount
        if department_id in limits:
            assert in_department <= limits[department_id]
        if key in given:
            continue
        cost = programme.unit_cost_amount
        if department_id in limits and in_department + cost > limits[department_id]:
            stopped_by["department"] += 1
        else:
            assert programme.budget_amount is not None, key
            assert total + cost > programme.budget_amount, key
            stopped_by["programme"] += 1
    assert stopped_by["programme"] > 0, stopped_by
    assert stopped_by["department"] > 0, stopped_by

    # Tết: for its day, each of the three years, granted a week ahead (2027: the job was
    # down that day and the next, and caught up)
    tet = next(p for p in programmes.values() if p.occasion.key == "tet")
    for year, day in TET.items():
        of_year = [g for g in gifts if g.programme_id == tet.id and g.occasion_year == year]
        assert of_year, year
        assert {g.occasion_on for g in of_year} == {day}
    assert {o.run_day for o in expected if o.programme_id == tet.id} == {
        date(2026, 2, 10),
        date(2027, 2, 1),
        date(2028, 1, 19),
    }
    # the leaver was owed gifts after leaving, and had none
    stayed = owed(runs, {}, set(settings.anniversary_milestones))
    assert any(o.person.id == leaver.id and o.run_day >= LEAVING_DAY for o in stayed)
    # each gift the runs gave, its e-mail in the outbox, and HR's notices of the gifts the
    # budgets stopped, at most one a week per programme (nothing else sends mail here)
    mails = db.session.scalar(select(func.count()).where(OutboxMessage.id > last_mail))
    notices = db.session.scalar(select(func.count()).where(Notification.kind == "gifts_stopped"))
    assert mails == granted_by_run + notices
    assert granted_by_run == len([g for g in gifts if company_day(g.granted_at) > FIRST_DAY])
