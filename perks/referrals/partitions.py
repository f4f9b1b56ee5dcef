"""Monthly partitions of ``click`` on PostgreSQL, and how long raw clicks are kept.

At ten million clicks a month ``click`` would grow by about 120 million rows a year. On
PostgreSQL it is partitioned by range of ``clicked_at`` (native declarative partitioning,
migration 0029): one partition per company-time month (``BABEL_DEFAULT_TIMEZONE``, so a
partition holds whole days of ``click_day``), named ``click_YYYY_MM``, plus
``click_default`` for a click outside every month made (a clock far off, a backdated
import), moved into its month when that month's partition is made. The partitions live in
the schema ``click_partitions``, apart from the app's tables: the models describe ``click``
alone. Its primary key is ``(id, clicked_at)`` (a partitioned table's unique constraints
must hold the partition key); ids still come from one sequence. Nothing references a click
by a foreign key (an order keeps the click's id, ``shop_order.referral_click_id``, as a
plain number: it stays when the click is dropped).

:func:`maintain_click_partitions` (Celery beat, daily, and ``flask perks tick``) makes this
month's partition and the next ``AHEAD_MONTHS`` months', and drops each month that ended more
than ``CLICK_RETENTION_MONTHS`` whole months ago (never fewer than 13: the stats pages read
raw clicks up to 365 days back), a partition at a time, and only once every day of it is
rolled up into ``click_day`` (``perks.referrals.rollup``): the day summaries keep its figures,
and ``click_rollup.raw_from`` records where raw clicks now begin, so no roll-up ever recomputes
those days from nothing. Idempotent; a transaction-scoped advisory lock serialises hosts
(nothing of it outlives the transaction: PgBouncer's transaction pooling is fine).

SQLite keeps the plain table: nothing is made or dropped there.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import text

from perks.db import transaction
from perks.extensions import db
from perks.i18n import company_zone
from perks.referrals.rollup import locked_state

log = logging.getLogger(__name__)

SCHEMA = "click_partitions"
DEFAULT_PARTITION = "click_default"
#: months made ahead of the current one
AHEAD_MONTHS = 3
#: raw clicks are never dropped younger than this many whole months (stats read 365 days)
MIN_RETENTION_MONTHS = 13
#: ``pg_advisory_xact_lock`` key of the maintenance (any constant unique to it)
LOCK_KEY = 0x636C69636B73  # "clicks"
_NAME = re.compile(r"^click_(\d{4})_(\d{2})$")


@dataclass(frozen=True)
class Maintenance:
    """What a run did: partitions made and dropped (by name), months kept for want of
    their day summaries."""

    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)


def add_months(month: date, months: int) -> date:
    """The first of the month ``months`` after (or before) ``month``'s."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"click_{month.year:04d}_{month.month:02d}"


def month_bounds(month: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The company-time month's first instant and the next month's."""
    start = month.replace(day=1)
    return (
        datetime.combine(start, time(), zone),
        datetime.combine(add_months(start, 1), time(), zone),
    )


def retention_months() -> int:
    return max(MIN_RETENTION_MONTHS, int(current_app.config["CLICK_RETENTION_MONTHS"]))


def is_partitioned() -> bool:
    """Whether ``click`` is a partitioned table here (PostgreSQL after migration 0029)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return False
    kind = db.session.scalar(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass('public.click')")
    )
    return kind == "p"


def partition_months() -> list[date]:
    """The months that have a partition, oldest first."""
    names = db.session.scalars(
        text(
            "SELECT child.relname FROM pg_inherits "
            "JOIN pg_class child ON child.oid = pg_inherits.inhrelid "
            "WHERE pg_inherits.inhparent = 'public.click'::regclass"
        )
    ).all()
    months = []
    for name in names:
        found = _NAME.match(name)
        if found:
            months.append(date(int(found.group(1)), int(found.group(2)), 1))
    return sorted(months)


def _literal(moment: datetime) -> str:
    return f"'{moment.isoformat()}'"  # made here from dates: never anyone's text


def create_partition(month: date, zone: ZoneInfo) -> bool:
    """Make ``month``'s partition unless it exists (True when made). Clicks of that month
    waiting in the default partition move into it, in the same transaction."""
    name = partition_name(month)
    exists = db.session.scalar(
        text("SELECT to_regclass(:name) IS NOT NULL"), {"name": f"{SCHEMA}.{name}"}
    )
    if exists:
        return False
    start, end = month_bounds(month, zone)
    table = f'{SCHEMA}."{name}"'
    default = f'{SCHEMA}."{DEFAULT_PARTITION}"'
    in_range = "clicked_at >= :start AND clicked_at < :end"
    bounds = {"start": start, "end": end}
    waiting = db.session.scalar(
        text(f"SELECT EXISTS (SELECT 1 FROM {default} WHERE {in_range})"),  # noqa: S608
        bounds,
    )
    values = f"FOR VALUES FROM ({_literal(start)}) TO ({_literal(end)})"
    if not waiting:
        db.session.execute(text(f"CREATE TABLE {table} PARTITION OF public.click {values}"))
        return True
    db.session.execute(text(f"CREATE TABLE {table} (LIKE public.click INCLUDING DEFAULTS)"))
    db.session.execute(
        text(f"INSERT INTO {table} SELECT * FROM {default} WHERE {in_range}"),  # noqa: S608
        bounds,
    )
    db.session.execute(text(f"DELETE FROM {default} WHERE {in_range}"), bounds)  # noqa: S608
    db.session.execute(text(f"ALTER TABLE public.click ATTACH PARTITION {table} {values}"))
    return True


def maintain_click_partitions(*, today: date | None = None) -> Maintenance:
    """Make the partitions of this month and the next ``AHEAD_MONTHS``; drop the months
    older than the retention whose days are all rolled up. One transaction; nothing to do
    when ``click`` is not partitioned (SQLite)."""
    if not is_partitioned():
        return Maintenance()
    zone = company_zone()
    today = today or datetime.now(zone).date()
    this_month = today.replace(day=1)
    done = Maintenance()
    with transaction():
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        for ahead in range(AHEAD_MONTHS + 1):
            month = add_months(this_month, ahead)
            if create_partition(month, zone):
                done.created.append(partition_name(month))
        keep_from = add_months(this_month, -retention_months())
        state = locked_state()
        through = state.through
        for month in partition_months():
            if month >= keep_from:
                break
            last_day = add_months(month, 1) - timedelta(days=1)
            name = partition_name(month)
            if through is None or through < last_day:
                done.waiting.append(name)  # its day summaries are not all there yet
                continue
            db.session.execute(text(f'DROP TABLE {SCHEMA}."{name}"'))
            done.dropped.append(name)
            state.raw_from = max(state.raw_from or last_day, last_day + timedelta(days=1))
        # Expired clicks in the default partition go too, once their days are rolled up.
        if through is not None and through >= keep_from - timedelta(days=1):
            start, _end = month_bounds(keep_from, zone)
            db.session.execute(
                text(
                    f'DELETE FROM {SCHEMA}."{DEFAULT_PARTITION}" '  # noqa: S608
                    "WHERE clicked_at < :start"
                ),
                {"start": start},
            )
            state.raw_from = max(state.raw_from or keep_from, keep_from)
    for name in done.created:
        log.info("click partition made: %s", name)
    for name in done.dropped:
        log.info("click partition dropped after its retention: %s", name)
    for name in done.waiting:
        log.warning("click partition past its retention kept (days not rolled up): %s", name)
    return done
