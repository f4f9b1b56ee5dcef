"""The daily roll-up of clicks: each link's clicks, visitors and bots per company-time day.

The company stats page would otherwise read every click of its period: a year of two
million clicks takes seconds to count (PERFORMANCE.md, P7). Once a day is over (company
time, ``BABEL_DEFAULT_TIMEZONE``), ``roll_up_clicks`` (run by ``flask perks tick``) writes one
``click_day`` row per link that had clicks that day, and moves ``click_rollup.through`` to it.
Readers (``daily_traffic``) take the rolled-up days from ``click_day`` and the days after
``through`` (today, and any day the tick has not reached yet) from ``click``, so the figures
are complete whenever the tick last ran; they are only faster when it ran recently.

Each run rolls up again the last day it rolled up before (``RECOMPUTE_DAYS``), so a click
written a little after midnight (the batched click writer holds clicks for up to
``CLICK_FLUSH_SECONDS``, and a database outage longer) still counts on its day. A click of
an older, already rolled-up day that reaches the database even later is in ``click`` but not
in the company page's figures; ``roll_up_clicks(since=...)`` rolls any period again.

Idempotent, and safe on several hosts at once: the run locks the ``click_rollup`` row, and
replaces the days it rolls up (delete, then insert) in one transaction. Days before
``click_rollup.raw_from`` are never rolled up again: their raw clicks are dropped after their
retention (``perks.referrals.partitions``), and their ``click_day`` rows are all that is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Subquery,
    case,
    delete,
    distinct,
    false,
    func,
    insert,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from perks.db import affected_rows, transaction
from perks.extensions import db
from perks.i18n import company_zone
from perks.referrals.models import Click, ClickDay, ClickRollup
from perks.referrals.periods import Period, Window, bucket_sql, day_of

#: each run rolls up again this many of the days it rolled up before (late clicks)
RECOMPUTE_DAYS = 1
#: the first run rolls up at most this many days back (the longest stats period is 365)
HISTORY_DAYS = 400
STATE_ID = 1


@dataclass(frozen=True)
class Rollup:
    """What a run rolled up: the days ``first``..``last`` (None: nothing to do)."""

    first: date | None
    last: date | None
    rows: int

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1 if self.first and self.last else 0


def rolled_through() -> date | None:
    """The last day ``click_day`` holds, or None when nothing is rolled up yet."""
    return db.session.scalar(select(ClickRollup.through).where(ClickRollup.id == STATE_ID))


def locked_state() -> ClickRollup:
    """The roll-up's row, made if missing, locked until the transaction ends (PostgreSQL; an
    SQLite transaction has the whole database to itself)."""
    dialect = db.session.get_bind().dialect.name
    statement: Any = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(
        ClickRollup
    ).values(id=STATE_ID, through=None)
    db.session.execute(statement.on_conflict_do_nothing(index_elements=["id"]))
    state = db.session.scalar(
        select(ClickRollup).where(ClickRollup.id == STATE_ID).with_for_update()
    )
    assert state is not None
    return state


def roll_up_clicks(*, today: date | None = None, since: date | None = None) -> Rollup:
    """Roll every complete company-time day not yet rolled up (and the last one rolled up
    before) into ``click_day``; with ``since``, every day from ``since`` on. One transaction.

    Returns the days it rolled up and how many ``click_day`` rows it wrote.
    """
    zone = company_zone()
    today = today or datetime.now(zone).date()
    last = today - timedelta(days=1)
    with transaction():
        state = locked_state()
        if since is not None:
            first = since
        elif state.through is not None:
            first = state.through - timedelta(days=RECOMPUTE_DAYS - 1)
        else:
            oldest = db.session.scalar(select(func.min(Click.clicked_at)))
            if oldest is None:
                return Rollup(None, None, 0)  # no clicks at all: nothing to mark either
            first = max(day_of(oldest, zone), today - timedelta(days=HISTORY_DAYS))
        first = max(first, today - timedelta(days=HISTORY_DAYS))
        if state.raw_from is not None:  # older raw clicks are dropped: their days are final
            first = max(first, state.raw_from)
        if first > last:
            return Rollup(None, None, 0)
        window = Window(first, last, zone, Period.DAY)
        db.session.execute(
            delete(ClickDay).where(ClickDay.day >= first, ClickDay.day <= last),
            execution_options={"synchronize_session": False},
        )
        raw = _raw_days(window)
        result = db.session.execute(
            insert(ClickDay).from_select(
                ["day", "link_id", "clicks", "visitors", "bots"],
                select(raw.c.day, raw.c.link_id, raw.c.clicks, raw.c.visitors, raw.c.bots),
            )
        )
        state.through = max(last, state.through or last)
        return Rollup(first, last, affected_rows(result))


def _raw_days(window: Window, *where: ColumnElement[bool]) -> Subquery:
    """Each link's clicks per company-time day of ``window``, counted from ``click``:
    ``(day, link_id, clicks, visitors, bots)``."""
    clicks = (
        select(
            bucket_sql(window, Period.DAY).label("day"),
            Click.link_id.label("link_id"),
            Click.is_bot.label("is_bot"),
            Click.ip_hash.label("ip_hash"),
        )
        .where(Click.clicked_at >= window.start, Click.clicked_at < window.end, *where)
        .subquery()
    )
    human = clicks.c.is_bot.is_(false())
    return (
        select(
            clicks.c.day.label("day"),
            clicks.c.link_id.label("link_id"),
            func.count().filter(human).label("clicks"),
            func.count(distinct(case((human, clicks.c.ip_hash)))).label("visitors"),
            func.count().filter(clicks.c.is_bot.is_(true())).label("bots"),
        )
        .group_by(clicks.c.day, clicks.c.link_id)
        .subquery()
    )


def daily_traffic(window: Window, through: date | None) -> Subquery:
    """Each link's ``(day, link_id, clicks, visitors, bots)`` for every day of ``window``:
    from ``click_day`` up to ``through`` (the last day rolled up), from ``click`` after it."""
    rolled_last = min(window.last_day, through) if through is not None else None
    if rolled_last is not None and rolled_last >= window.first_day:
        rolled: Any = select(
            ClickDay.day.label("day"),
            ClickDay.link_id.label("link_id"),
            ClickDay.clicks.label("clicks"),
            ClickDay.visitors.label("visitors"),
            ClickDay.bots.label("bots"),
        ).where(ClickDay.day >= window.first_day, ClickDay.day <= rolled_last)
        raw_first = rolled_last + timedelta(days=1)
    else:
        rolled = select(
            literal(window.first_day).label("day"),
            literal(0).label("link_id"),
            literal(0).label("clicks"),
            literal(0).label("visitors"),
            literal(0).label("bots"),
        ).where(false())
        raw_first = window.first_day
    if raw_first <= window.last_day:
        raw_window = Window(raw_first, window.last_day, window.zone, Period.DAY)
        recent = _raw_days(raw_window)
    else:
        recent = _raw_days(window, false())
    return union_all(
        rolled,
        select(recent.c.day, recent.c.link_id, recent.c.clicks, recent.c.visitors, recent.c.bots),
    ).subquery("daily")
