"""Snapshots of the company-wide referral overviews: company stats and fraud signals.

Both overviews read every person's clicks and orders of their window (the company stats build
a row for each of thousands of people; the fraud signals count visitors over every click of
30 or 90 days), which no per-request budget of a bare page allows at company scale
(PERFORMANCE.md, P7). So they are computed by the scheduled job
(``perks.referrals.refresh_overviews``, every ``SNAPSHOT_EVERY``) for every window the pages
offer and stored in ``overview_snapshot``: the pages read the stored figures and say when they
were computed ("figures as of 14:05").

A page whose snapshot is missing or older than ``OVERVIEW_SNAPSHOT_MAX_AGE`` minutes (beat not
running, a new day) computes the overview itself, stores it and shows it: a snapshot is never
older than that setting. Refreshing is idempotent (it replaces a window's snapshot); two hosts
refreshing at once both write the same figures, and the loser of the race keeps the winner's.

The company stats' people are stored in parts of ``CHUNK`` rows, so a page of 25 people reads
the head and one or two parts, not everyone. Figures are exactly what
``perks.referrals.stats.company_stats`` and ``perks.referrals.fraud.fraud_signals`` return
at ``as_of`` (the tests compare them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import DateTime, Integer, String, Text, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from perks.db import Base, PageOf, transaction, utcnow
from perks.extensions import db
from perks.i18n import company_today
from perks.money import Money
from perks.referrals import fraud, stats
from perks.referrals.attribution import AttributionReason
from perks.referrals.periods import Period, Window, window_from_args
from perks.shop.models import OrderStatus

#: the people of a company-stats snapshot are stored this many to a part
CHUNK = 500
#: how often the scheduled job refreshes every snapshot (``perks.jobs.BEAT_SCHEDULE``)
SNAPSHOT_EVERY = timedelta(minutes=5)


class OverviewSnapshot(Base):
    """One part of one overview's figures for one window, as JSON (part 0: the head)."""

    __tablename__ = "overview_snapshot"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[str] = mapped_column(Text)


# --- JSON of the figures ---------------------------------------------------------------------


def _figures_json(figures: stats.Figures) -> list[Any]:
    return [
        figures.clicks,
        figures.visitors,
        figures.orders,
        [[money.amount, money.currency] for money in figures.revenue],
    ]


def _figures(data: list[Any]) -> stats.Figures:
    clicks, visitors, orders, revenue = data
    return stats.Figures(
        clicks, visitors, orders, tuple(Money(amount, currency) for amount, currency in revenue)
    )


def _person_json(row: stats.PersonRow) -> list[Any]:
    return [row.user_id, row.name, row.active, row.department, _figures_json(row.figures)]


def _person(data: list[Any]) -> stats.PersonRow:
    user_id, name, active, department, figures = data
    return stats.PersonRow(user_id, name, active, department, _figures(figures))


@dataclass(frozen=True)
class PeoplePage(PageOf):
    """A page of a snapshot's people (what the template and ``pager`` read)."""

    items: list[stats.PersonRow] = field(default_factory=list)


@dataclass(frozen=True)
class CompanySnapshot:
    """The company stats of a window as of a moment, one page of people."""

    departments: list[stats.DepartmentRow]
    people: PeoplePage
    total: stats.Figures
    series: list[stats.Bucket]
    as_of: datetime


@dataclass(frozen=True)
class FraudSnapshot:
    signals: fraud.FraudSignals
    as_of: datetime


def company_name(window: Window) -> str:
    return f"company:{window.days}:{window.period.value}:{window.last_day.isoformat()}"


def fraud_name(window: Window) -> str:
    return f"fraud:{window.days}:{window.last_day.isoformat()}"


def _company_parts(result: stats.CompanyStats) -> list[str]:
    rows: list[stats.PersonRow] = result.people._query_args["rows"]
    head = {
        "departments": [
            [d.department_id, d.name, d.people, _figures_json(d.figures)]
            for d in result.departments
        ],
        "total": _figures_json(result.total),
        "series": [[b.start.isoformat(), _figures_json(b.figures)] for b in result.series],
        "people": len(rows),
    }
    parts = [json.dumps(head)]
    for start in range(0, len(rows), CHUNK):
        parts.append(json.dumps([_person_json(row) for row in rows[start : start + CHUNK]]))
    return parts


def _fraud_parts(signals: fraud.FraudSignals) -> list[str]:
    return [
        json.dumps(
            {
                "repeated": [
                    [r.link_id, r.code, r.owner, r.day.isoformat(), r.ip_hash, r.clicks]
                    for r in signals.repeated_visitors
                ],
                "few": [
                    [r.link_id, r.code, r.owner, r.clicks, r.visitors] for r in signals.few_visitors
                ],
                "bots": [
                    [r.link_id, r.code, r.owner, r.visits, r.bots] for r in signals.bot_shares
                ],
                "quiet": [
                    [r.link_id, r.code, r.owner, r.source, r.clicks, r.visitors]
                    for r in signals.no_orders
                ],
                "flagged": [
                    [
                        o.order_id,
                        o.number,
                        o.created_at.isoformat(),
                        o.status.value,
                        o.reason.value,
                        o.customer_email,
                        o.person,
                        o.total.amount,
                        o.total.currency,
                    ]
                    for o in signals.flagged_orders
                ],
                "counts": {reason.value: n for reason, n in signals.flagged_counts.items()},
            }
        )
    ]


def _signals(data: dict[str, Any]) -> fraud.FraudSignals:
    return fraud.FraudSignals(
        [
            fraud.RepeatedVisitor(link, code, owner, date.fromisoformat(day), ip, clicks)
            for link, code, owner, day, ip, clicks in data["repeated"]
        ],
        [fraud.FewVisitors(*row) for row in data["few"]],
        [fraud.BotShare(*row) for row in data["bots"]],
        [fraud.NoOrders(*row) for row in data["quiet"]],
        [
            fraud.FlaggedOrder(
                order_id,
                number,
                datetime.fromisoformat(created),
                OrderStatus(status),
                AttributionReason(reason),
                email,
                person,
                Money(amount, currency),
            )
            for order_id, number, created, status, reason, email, person, amount, currency in (
                data["flagged"]
            )
        ],
        {AttributionReason(reason): n for reason, n in data["counts"].items()},
    )


# --- storing and reading ---------------------------------------------------------------------


def _store(name: str, parts: list[str], as_of: datetime) -> None:
    """Replace the snapshot ``name`` (one transaction). A concurrent writer of the same
    snapshot wins the race: its figures are the same. Raises nothing."""
    try:
        with transaction() as session:
            session.execute(delete(OverviewSnapshot).where(OverviewSnapshot.name == name))
            session.add_all(
                OverviewSnapshot(name=name, part=i, as_of=as_of, payload=payload)
                for i, payload in enumerate(parts)
            )
    except IntegrityError:
        db.session.rollback()


def _head(name: str, *, fresh: bool = True) -> tuple[datetime, str] | None:
    """The snapshot's moment and head; None when missing, or too old when ``fresh``."""
    row = db.session.execute(
        select(OverviewSnapshot.as_of, OverviewSnapshot.payload).where(
            OverviewSnapshot.name == name, OverviewSnapshot.part == 0
        )
    ).first()
    if row is None:
        return None
    as_of = row[0] if row[0].tzinfo else row[0].replace(tzinfo=utcnow().tzinfo)
    max_age = timedelta(minutes=current_app.config["OVERVIEW_SNAPSHOT_MAX_AGE"])
    if fresh and utcnow() - as_of >= max_age:
        return None
    return as_of, row[1]


def _people_page(name: str, total: int, page: int, per_page: int) -> PeoplePage:
    pages = max((total + per_page - 1) // per_page, 1)
    page = min(max(page, 1), pages)
    first, last = (page - 1) * per_page, min(page * per_page, total)
    rows: list[stats.PersonRow] = []
    if first < last:
        wanted = range(1 + first // CHUNK, 1 + (last - 1) // CHUNK + 1)
        for part, payload in db.session.execute(
            select(OverviewSnapshot.part, OverviewSnapshot.payload)
            .where(OverviewSnapshot.name == name, OverviewSnapshot.part.in_(list(wanted)))
            .order_by(OverviewSnapshot.part)
        ):
            offset = (part - 1) * CHUNK
            for i, data in enumerate(json.loads(payload)):
                if first <= offset + i < last:
                    rows.append(_person(data))
    return PeoplePage(page, per_page, total, rows)


def refresh_company(window: Window) -> datetime:
    """Compute and store the company stats of ``window``; returns their moment."""
    as_of = utcnow()
    result = stats.company_stats(window, page=1, per_page=CHUNK)
    _store(company_name(window), _company_parts(result), as_of)
    return as_of


def refresh_fraud(window: Window) -> datetime:
    """Compute and store the fraud signals of ``window``; returns their moment."""
    as_of = utcnow()
    _store(fraud_name(window), _fraud_parts(fraud.fraud_signals(window)), as_of)
    return as_of


def company(window: Window, *, page: int, per_page: int) -> CompanySnapshot:
    """The company stats of ``window``, one page of people, from the snapshot (computed and
    stored first when it is missing or too old). Two or three statements when fresh."""
    name = company_name(window)
    fresh = _head(name)
    if fresh is None:
        refresh_company(window)
        fresh = _head(name, fresh=False)
        if fresh is None:  # pragma: no cover - deleted by a concurrent clean-up
            raise RuntimeError("the snapshot just stored is gone")
    as_of, payload = fresh
    head = json.loads(payload)
    return CompanySnapshot(
        departments=[
            stats.DepartmentRow(department_id, name_, people, _figures(figures))
            for department_id, name_, people, figures in head["departments"]
        ],
        people=_people_page(name, head["people"], page, per_page),
        total=_figures(head["total"]),
        series=[
            stats.Bucket(date.fromisoformat(start), _figures(figures))
            for start, figures in head["series"]
        ],
        as_of=as_of,
    )


def fraud_signals(window: Window) -> FraudSnapshot:
    """The fraud signals of ``window`` from the snapshot (computed and stored first when it is
    missing or too old). One statement when fresh."""
    name = fraud_name(window)
    fresh = _head(name)
    if fresh is None:
        refresh_fraud(window)
        fresh = _head(name, fresh=False)
        if fresh is None:  # pragma: no cover - deleted by a concurrent clean-up
            raise RuntimeError("the snapshot just stored is gone")
    as_of, payload = fresh
    return FraudSnapshot(_signals(json.loads(payload)), as_of)


def _windows(
    days: Iterable[int], periods: Iterable[Period], choices: tuple[int, ...]
) -> list[Window]:
    today = company_today()
    return [
        window_from_args(period.value, str(count), choices=choices, today=today)
        for count in days
        for period in periods
    ]


def refresh_all() -> int:
    """Every window the pages offer, computed and stored again; snapshots of past days
    deleted. Idempotent. Returns how many snapshots were stored."""
    refreshers: list[tuple[Callable[[Window], datetime], Window]] = [
        (refresh_company, w) for w in _windows(stats.STATS_DAYS, Period, stats.STATS_DAYS)
    ]
    refreshers += [
        (refresh_fraud, w) for w in _windows(fraud.FRAUD_DAYS, [Period.DAY], fraud.FRAUD_DAYS)
    ]
    for refresh, window in refreshers:
        refresh(window)
    with transaction() as session:
        session.execute(
            delete(OverviewSnapshot).where(OverviewSnapshot.as_of < utcnow() - timedelta(days=1))
        )
    return len(refreshers)
