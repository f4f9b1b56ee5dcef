"""The company's occasions: their next dates (``upcoming``, ``personal_dates``) and HR's
changes (``create_occasion``, ``update_occasion``, ``set_active``, ``add_vietnamese_calendar``,
``update_settings``), each one transaction, audited.

Dates:

* a solar occasion on 29/02 falls on 28/02 in other years, like a birthday on 29/02;
* a lunar occasion falls in its ordinary month, never the leap one; on day 30 of a month of
  29 days it falls on the 29th (``perks.recognition.lunar.to_solar``);
* the founding day is ``RecognitionSettings.founded_on``'s day and month, counted in years
  from it; without it the occasion has no date;
* a work anniversary counts from the hire date, in the years HR chose as milestones (every
  year when HR chose none); the first comes a year after the hire date.
"""

from __future__ import annotations

import calendar as solar_calendar
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from dataclasses import field as default_field
from datetime import date, timedelta
from itertools import groupby

from flask_babel import lazy_gettext as _l
from sqlalchemy import extract, select
from sqlalchemy.exc import IntegrityError

from perks import audit
from perks.db import locked, transaction
from perks.errors import ChangedMeanwhile, Conflict, NotFound, ValidationFailed
from perks.extensions import db
from perks.fingerprints import fingerprint
from perks.folding import name_key, name_order
from perks.i18n import LATEST_DAY
from perks.people.models import User
from perks.recognition import lunar
from perks.recognition.calendar import VIETNAMESE_CALENDAR
from perks.recognition.lunar import LunarDate
from perks.recognition.models import (
    SETTINGS_ROW_ID,
    GiftProgramme,
    Occasion,
    OccasionKind,
    RecognitionSettings,
)
from perks.text import trim

#: the work anniversaries celebrated until HR says otherwise
DEFAULT_MILESTONES = (1, 3, 5, 10)
#: the longest service a milestone may name, and how many milestones there may be
MAX_MILESTONE_YEARS = 60
MAX_MILESTONES = 20
#: why the Vietnamese calendar's occasions cannot be edited
BUILTIN_FIXED = _l(
    "The calendar's occasions keep their names and dates; "
    "deactivate it and add one of your own instead."
)
#: points until HR says otherwise: the monthly allowance to give, the most one person gives
#: one colleague in a month, and what one point is worth in VND
DEFAULT_MONTHLY_ALLOWANCE = 100
DEFAULT_PAIR_MONTHLY_LIMIT = 50
DEFAULT_POINT_VALUE = 1_000
#: the longest window ``personal_dates`` looks ahead
MAX_WINDOW_DAYS = 366

#: what wraps a change of occasions (their ids) or of the founding day and milestones (None:
#: every occasion), in its transaction: the gift programmes keep a version of their rules
#: when the day they fall on changes (``perks.recognition.gifts.versions_follow``, which this
#: module cannot import). It may flush, and raises nothing of its own.
OccasionChange = Callable[[Sequence[int] | None], AbstractContextManager[object]]
_follower: list[OccasionChange] = [lambda occasion_ids: nullcontext()]


def follow_occasion_changes(follower: OccasionChange) -> None:
    """Wrap every change of occasions in ``follower`` from now on (``register_receivers``)."""
    _follower[0] = follower


@dataclass(frozen=True)
class Settings:
    """The company's recognition settings as pages and services read them."""

    founded_on: date | None
    anniversary_milestones: tuple[int, ...]
    #: points (``perks.recognition.points``): everyone's monthly allowance, the roles' own,
    #: the most one person gives one colleague a month, one point's worth in VND
    monthly_allowance: int = DEFAULT_MONTHLY_ALLOWANCE
    role_allowances: Mapping[str, int] = default_field(default_factory=dict)
    pair_monthly_limit: int = DEFAULT_PAIR_MONTHLY_LIMIT
    point_value: int = DEFAULT_POINT_VALUE


@dataclass(frozen=True)
class OccasionData:
    """What HR sets on an occasion of their own (a solar or lunar day)."""

    name_vi: str
    name_en: str
    kind: OccasionKind
    month: int
    day: int


@dataclass(frozen=True)
class NextDate:
    """An occasion and its next date: ``on`` (None: it has none, such as a founding day not
    set yet, or a personal occasion), ``lunar`` for a lunar occasion, ``years`` for the
    company's founding anniversary."""

    occasion: Occasion
    on: date | None
    lunar: LunarDate | None = None
    years: int | None = None


@dataclass(frozen=True)
class PersonalDate:
    """A person's birthday or work anniversary (``years`` of service) on ``on``."""

    person: User
    occasion: Occasion
    on: date
    years: int | None = None


@dataclass(frozen=True)
class CelebrationDay:
    """One day's birthdays and work anniversaries as a page lists them: the first ``shown``,
    and how many ``more`` there are that day."""

    on: date
    shown: list[PersonalDate]
    more: int = 0


# --- reading --------------------------------------------------------------------------------


def current_settings() -> Settings:
    """The settings HR saved, or the defaults. Raises nothing."""
    row = db.session.get(RecognitionSettings, SETTINGS_ROW_ID)
    if row is None:
        return Settings(founded_on=None, anniversary_milestones=DEFAULT_MILESTONES)
    return Settings(
        row.founded_on,
        tuple(row.anniversary_milestones),
        monthly_allowance=row.monthly_allowance,
        role_allowances=dict(row.role_allowances or {}),
        pair_monthly_limit=row.pair_monthly_limit,
        point_value=row.point_value_amount,
    )


def occasions(*, active_only: bool = False) -> list[Occasion]:
    """The company's occasions, built-in ones first in the calendar's order, then HR's by
    name. Raises nothing."""
    query = select(Occasion)
    if active_only:
        query = query.where(Occasion.active.is_(True))
    found = db.session.scalars(query).all()
    order = {builtin.key: index for index, builtin in enumerate(VIETNAMESE_CALENDAR)}
    return sorted(found, key=lambda o: (order.get(o.key or "", len(order)), name_order(o.name_vi)))


def get_occasion(occasion_id: int) -> Occasion:
    """Raises NotFound: no such occasion."""
    occasion = db.session.get(Occasion, occasion_id)
    if occasion is None:
        raise NotFound()
    return occasion


def solar_day(year: int, month: int, day: int) -> date:
    """``day``/``month`` of ``year``; 29/02 is 28/02 in a common year. Raises ValueError for
    a day that is in no year (31/04)."""
    if (month, day) == (2, 29) and not solar_calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, month, day)


def _next_solar(month: int, day: int, today: date) -> date:
    this_year = solar_day(today.year, month, day)
    return this_year if this_year >= today else solar_day(today.year + 1, month, day)


def next_date(occasion: Occasion, today: date, settings: Settings) -> NextDate:
    """The occasion's first date on or after ``today``. Personal occasions have none here
    (``personal_dates`` has each person's). Raises nothing for a stored occasion (the
    lunar calendar ends in 2099: None then)."""
    if occasion.kind is OccasionKind.SOLAR and occasion.month and occasion.day:
        return NextDate(occasion, _next_solar(occasion.month, occasion.day, today))
    if occasion.kind is OccasionKind.LUNAR and occasion.month and occasion.day:
        try:
            on = lunar.next_solar(occasion.month, occasion.day, today)
        except ValidationFailed:
            return NextDate(occasion, None)
        return NextDate(occasion, on, lunar=lunar.to_lunar(on))
    if occasion.kind is OccasionKind.FOUNDING_DAY and settings.founded_on:
        founded = settings.founded_on
        on = _next_solar(founded.month, founded.day, max(today, founded + timedelta(days=1)))
        return NextDate(occasion, on, years=on.year - founded.year)
    return NextDate(occasion, None)


def next_birthday(person: User, today: date) -> date | None:
    """The person's first birthday on or after ``today``; None without one. Raises nothing."""
    if person.birth_month is None or person.birth_day is None:
        return None
    return _next_solar(person.birth_month, person.birth_day, today)


def next_work_anniversary(person: User, today: date) -> tuple[date, int] | None:
    """The person's first work anniversary on or after ``today``, and its years of service;
    None without a hire date, or with one no form takes (after ``LATEST_DAY``, stored before
    dates were checked: its anniversaries would overflow the calendar). Raises nothing."""
    if person.hire_date is None or person.hire_date > LATEST_DAY:
        return None
    hired = person.hire_date
    on = _next_solar(hired.month, hired.day, max(today, hired + timedelta(days=1)))
    return on, on.year - hired.year


def upcoming(today: date, *, active_only: bool = True) -> list[NextDate]:
    """Every occasion with its next date, soonest first (those without a date last, in the
    calendar's order). Raises nothing."""
    settings = current_settings()
    dated = [
        next_date(occasion, today, settings) for occasion in occasions(active_only=active_only)
    ]
    return sorted(dated, key=lambda item: (item.on is None, item.on or today))


def personal_dates(today: date, days: int) -> list[PersonalDate]:
    """The birthdays and work anniversaries (at the milestones) of active people from
    ``today`` for ``days`` days (``today`` included), soonest first, then by name; not a
    birthday before the person's hire date (imported ahead of their start: not with the
    company yet, and given no gift for it), nor a birthday or anniversary on or after their
    leaving date (gone by then, still active until the leavers' task runs, and given no gift
    for it either: ``gifts.in_audience``). Nothing for an inactive personal occasion.

    Raises:
        ValidationFailed: ``days`` is not from 1 to 366.
    """
    if not 1 <= days <= MAX_WINDOW_DAYS:
        raise ValidationFailed(
            str(_l("Look ahead from 1 to %(days)d days.", days=MAX_WINDOW_DAYS)), field="days"
        )
    last = today + timedelta(days=days - 1)
    window_days = [today + timedelta(days=n) for n in range(days)]
    months = sorted({day.month for day in window_days})
    personal = {o.kind: o for o in occasions(active_only=True) if o.kind.personal}
    found: list[PersonalDate] = []
    birthday = personal.get(OccasionKind.BIRTHDAY)
    if birthday is not None:
        people = db.session.scalars(
            select(User).where(
                User.active.is_(True),
                User.birth_day.is_not(None),
                User.birth_month.in_(months),
            )
        ).all()
        for person in people:
            on = next_birthday(person, today)
            joined = person.hire_date is None or person.hire_date <= (on or today)
            if on is not None and on <= last and joined and not person.has_left(on):
                found.append(PersonalDate(person, birthday, on))
    anniversary = personal.get(OccasionKind.WORK_ANNIVERSARY)
    if anniversary is not None:
        milestones = set(current_settings().anniversary_milestones)
        people = db.session.scalars(
            select(User).where(
                User.active.is_(True),
                User.hire_date.is_not(None),
                extract("month", User.hire_date).in_(months),
            )
        ).all()
        for person in people:
            anniversary_on = next_work_anniversary(person, today)
            if anniversary_on is None:
                continue
            on, years = anniversary_on
            if person.has_left(on):
                continue
            if on <= last and (not milestones or years in milestones):
                found.append(PersonalDate(person, anniversary, on, years))
    return sorted(
        found, key=lambda item: (item.on, name_order(item.person.name), item.occasion.kind)
    )


def celebrations(today: date, days: int) -> list[PersonalDate]:
    """The birthdays and work anniversaries colleagues may see: ``personal_dates`` but those
    of people who hide them or opt out of public celebration (HR's pages show every one:
    the gifts depend on them).

    Raises:
        ValidationFailed: as ``personal_dates``.
    """
    return [
        item
        for item in personal_dates(today, days)
        if not item.person.hide_personal_dates and item.person.public_celebration
    ]


def by_day(
    items: Sequence[PersonalDate], *, per_day: int, whole_day: date | None = None
) -> list[CelebrationDay]:
    """``items`` (soonest first) grouped by day, at most ``per_day`` listed a day but on
    ``whole_day`` (every one of that day), so that a company of thousands lists a bounded
    page. Raises nothing."""
    days: list[CelebrationDay] = []
    for on, group in groupby(sorted(items, key=lambda item: item.on), key=lambda item: item.on):
        that_day = list(group)
        shown = that_day if on == whole_day else that_day[:per_day]
        days.append(CelebrationDay(on, shown, len(that_day) - len(shown)))
    return days


# --- HR's changes ---------------------------------------------------------------------------


def check_day(kind: OccasionKind, month: int, day: int) -> None:
    """Raises ValidationFailed unless ``day``/``month`` is a real day of the calendar of
    ``kind`` (29/02 allowed; a lunar day from 1 to 30), naming the field at fault."""
    if not 1 <= month <= 12:
        raise ValidationFailed(str(_l("A month is from 1 to 12.")), field="month")
    if kind is OccasionKind.LUNAR:
        if not 1 <= day <= 30:
            raise ValidationFailed(str(_l("A lunar day is from 1 to 30.")), field="day")
        return
    try:
        date(2000, month, day)  # a leap year: 29 February is a real day
    except (ValueError, OverflowError) as error:  # OverflowError: beyond a C long
        raise ValidationFailed(str(_l("This day is not in that month.")), field="day") from error


def both_languages(
    vi: str, en: str, field: str, message: object = _l("Give the name in both languages.")
) -> tuple[str, str]:
    """A text in Vietnamese and English, trimmed (``field_vi``, ``field_en``).

    Raises:
        ValidationFailed: one of them is empty, with ``message`` and the empty field's name.
    """
    vi, en = trim(vi), trim(en)
    if not vi or not en:
        raise ValidationFailed(str(message), field=f"{field}_vi" if not vi else f"{field}_en")
    return vi, en


def _check(data: OccasionData) -> OccasionData:
    name_vi, name_en = both_languages(data.name_vi, data.name_en, "name")
    if data.kind not in (OccasionKind.SOLAR, OccasionKind.LUNAR):
        raise ValidationFailed(str(_l("Choose a solar or a lunar date.")), field="kind")
    check_day(data.kind, data.month, data.day)
    return OccasionData(name_vi, name_en, data.kind, data.month, data.day)


def _same_name_key(name: str) -> str:
    """What two occasion names that read the same share: any case, any spacing."""
    return name_key(" ".join(trim(name).split()))


def _active_names(*, but: int | None = None) -> set[str]:
    """Both names of every active occasion (but the one with id ``but``), as
    ``_same_name_key`` compares them. Occasions are few: compared in Python, which folds
    Vietnamese letters as SQLite cannot."""
    others = db.session.scalars(
        select(Occasion).where(Occasion.active.is_(True), Occasion.id != (but or 0))
    )
    return {_same_name_key(name) for other in others for name in (other.name_vi, other.name_en)}


def _refuse_a_second(
    name_vi: str, name_en: str, *, occasion_id: int | None = None, field_prefix: str = "name"
) -> None:
    """Raise ValidationFailed when another active occasion already has either name (in
    either language, whatever the case or spacing): the calendar, the programme form's
    choices and the gift e-mails would show two of them that nobody can tell apart. An
    inactive one does not count (the calendar's message says to deactivate one of its
    occasions and add one of the company's own instead); ``set_active`` checks it when it
    comes back."""
    taken = _active_names(but=occasion_id)
    for name, language in ((name_vi, "vi"), (name_en, "en")):
        if _same_name_key(name) in taken:
            raise ValidationFailed(
                str(_l("Another occasion is already called “%(name)s”.", name=name.strip())),
                field=f"{field_prefix}_{language}",
            )


def _described(occasion: Occasion) -> dict[str, object]:
    return {
        "name_vi": occasion.name_vi,
        "name_en": occasion.name_en,
        "kind": occasion.kind.value,
        "month": occasion.month,
        "day": occasion.day,
    }


def create_occasion(data: OccasionData, *, actor: User) -> Occasion:
    """Add an occasion of the company's own (``recognition.occasion_created``).

    Raises:
        ValidationFailed: a name missing or another active occasion's (any case or spacing,
            either language), a kind other than solar or lunar, or no such day.
    """
    data = _check(data)
    with transaction():
        _refuse_a_second(data.name_vi, data.name_en)
        occasion = Occasion(
            kind=data.kind,
            name_vi=data.name_vi,
            name_en=data.name_en,
            month=data.month,
            day=data.day,
            active=True,
        )
        db.session.add(occasion)
        db.session.flush()
        audit.record(
            "recognition.occasion_created", actor=actor, target=occasion, **_described(occasion)
        )
    return occasion


def shown_fingerprint(occasion: Occasion) -> str:
    """The fingerprint (``perks.fingerprints``) of what an occasion's edit page shows of it:
    its names, calendar, day and month. The form sends it back, and ``update_occasion``
    refuses a save when it no longer matches. Raises nothing."""
    return fingerprint(_described(occasion))


def update_occasion(
    occasion_id: int, data: OccasionData, *, actor: User, shown: str | None = None
) -> Occasion:
    """Rename or move one of HR's own occasions (``recognition.occasion_changed``, with the
    old and new values); its gift programmes keep a version of their rules when their day
    moves (``follow_occasion_changes``).

    ``shown`` is the ``shown_fingerprint`` of the occasion as the page showed it: a page
    opened before another HR person saved the occasion must not overwrite their change
    unseen. ``None`` checks nothing. Saves take turns (the row is locked).

    Raises:
        NotFound: no such occasion.
        Conflict: it is one of the calendar's (they keep their names and dates).
        ValidationFailed: as ``create_occasion``.
        ChangedMeanwhile: the occasion is no longer what the page showed; nothing is saved.
    """
    data = _check(data)
    with transaction():
        occasion = locked(Occasion, occasion_id)
        if occasion is None:
            raise NotFound()
        if occasion.builtin:
            raise Conflict(str(BUILTIN_FIXED))
        if shown is not None and shown != shown_fingerprint(occasion):
            raise audit.changed_meanwhile(occasion, "recognition.occasion_")
        if occasion.active:
            _refuse_a_second(data.name_vi, data.name_en, occasion_id=occasion.id)
        before = _described(occasion)
        with _follower[0]([occasion.id]):
            occasion.name_vi, occasion.name_en = data.name_vi, data.name_en
            occasion.kind, occasion.month, occasion.day = data.kind, data.month, data.day
            db.session.flush()
        after = _described(occasion)
        changes = audit.changes(before, after)
        if changes:
            audit.record(
                "recognition.occasion_changed", actor=actor, target=occasion, changes=changes
            )
    return occasion


def set_active(occasion_id: int, active: bool, *, actor: User) -> Occasion:
    """Deactivate an occasion (it leaves the calendar; nothing is deleted) or activate it
    again (``recognition.occasion_deactivated`` / ``_activated``); its gift programmes keep
    a version of their rules (``follow_occasion_changes``).

    Raises:
        NotFound: no such occasion.
        Conflict: it already is, or another active occasion has its name (activating).
    """
    with transaction():
        occasion = get_occasion(occasion_id)
        if active and not occasion.active:
            try:
                _refuse_a_second(occasion.name_vi, occasion.name_en, occasion_id=occasion.id)
            except ValidationFailed as error:
                raise Conflict(
                    str(
                        _l(
                            "“%(name)s” cannot go back on the calendar: another active "
                            "occasion has the same name. Rename or deactivate one of them "
                            "first.",
                            name=occasion.localized("name"),
                        )
                    )
                ) from error
        with _follower[0]([occasion.id]):
            switch(
                occasion,
                active,
                actor=actor,
                actions=("recognition.occasion_activated", "recognition.occasion_deactivated"),
                already=(
                    _l("This occasion is already active."),
                    _l("This occasion is already inactive."),
                ),
            )
            db.session.flush()
    return occasion


def switch(
    record: Occasion | GiftProgramme,
    active: bool,
    *,
    actor: User,
    actions: tuple[str, str],
    already: tuple[object, object],
) -> None:
    """Turn ``record`` (an occasion, a gift programme) on or off
    and audit it with ``actions`` (on, off); flushes only.

    Raises:
        Conflict: it already is, with ``already``'s message (on, off).
    """
    if record.active == active:
        raise Conflict(str(already[0] if active else already[1]))
    record.active = active
    audit.record(actions[0] if active else actions[1], actor=actor, target=record)


def add_vietnamese_calendar(*, actor: User | None) -> list[Occasion]:
    """Add the Vietnamese calendar's occasions the company does not have yet (by key: one
    HR deactivated stays as it is), and return those added (``recognition.calendar_added``
    when there are any). One whose name an active occasion of the company's own already
    has is added off the calendar (inactive): the company's stays, and no two on the
    calendar share a name. Safe to repeat. Raises nothing."""
    with transaction():
        present = set(db.session.scalars(select(Occasion.key).where(Occasion.key.is_not(None))))
        taken = _active_names()
        added = [
            Occasion(
                key=builtin.key,
                kind=builtin.kind,
                name_vi=builtin.name_vi,
                name_en=builtin.name_en,
                month=builtin.month,
                day=builtin.day,
                active=taken.isdisjoint(
                    (_same_name_key(builtin.name_vi), _same_name_key(builtin.name_en))
                ),
            )
            for builtin in VIETNAMESE_CALENDAR
            if builtin.key not in present
        ]
        if added:
            db.session.add_all(added)
            db.session.flush()
            audit.record(
                "recognition.calendar_added",
                actor=actor,
                count=len(added),
                keys=[o.key for o in added],
            )
    return added


def parse_milestones(text: str) -> tuple[int, ...]:
    """ "1, 3, 5, 10" (commas, spaces or semicolons between) as (1, 3, 5, 10), sorted, each
    once.

    Raises:
        ValidationFailed: a part is not a whole number of years from 1 to 60, or there are
            more than 20.
    """
    parts = [part for part in text.replace(";", ",").replace(" ", ",").split(",") if part]
    years: set[int] = set()
    for part in parts:
        if not (part.isascii() and part.isdigit()) or not 1 <= int(part) <= MAX_MILESTONE_YEARS:
            raise ValidationFailed(
                str(
                    _l(
                        "“%(part)s” is not a number of years from 1 to %(most)d.",
                        part=part,
                        most=MAX_MILESTONE_YEARS,
                    )
                ),
                field="anniversary_milestones",
            )
        years.add(int(part))
    if len(years) > MAX_MILESTONES:
        raise ValidationFailed(
            str(_l("At most %(count)d milestones.", count=MAX_MILESTONES)),
            field="anniversary_milestones",
        )
    return tuple(sorted(years))


def _settings_described(settings: Settings) -> dict[str, object]:
    return {
        "founded_on": settings.founded_on.isoformat() if settings.founded_on else None,
        "anniversary_milestones": list(settings.anniversary_milestones),
    }


def shown_settings_fingerprint(settings: Settings) -> str:
    """The fingerprint (``perks.fingerprints``) of what the occasion settings page shows of
    ``settings``: the founding day and the milestones (not the points settings, kept in the
    same row). The form sends it back, and ``update_settings`` refuses a save when it no
    longer matches. Raises nothing."""
    return fingerprint(_settings_described(settings))


def update_settings(
    founded_on: date | None,
    milestones: Sequence[int],
    *,
    today: date,
    actor: User,
    shown: str | None = None,
) -> Settings:
    """Save the founding day and the anniversary milestones
    (``recognition.settings_changed``, with the old and new values); the gift programmes for
    the founding day or work anniversaries keep a version of their rules
    (``follow_occasion_changes``).

    ``shown`` is the ``shown_settings_fingerprint`` of the settings as the page showed them:
    a page opened before another HR person saved them must not overwrite their change
    unseen. ``None`` checks nothing. Saves take turns (the row is locked).

    Raises:
        ValidationFailed: the founding day is after ``today``, or a milestone is out of
            range (``parse_milestones``' rules).
        ChangedMeanwhile: the settings are no longer what the page showed; nothing is saved.
        Conflict: someone else saved the settings for the first time at the same moment.
    """
    if founded_on is not None and founded_on > today:
        raise ValidationFailed(
            str(_l("The founding day cannot be in the future.")), field="founded_on"
        )
    chosen = parse_milestones(",".join(str(year) for year in milestones))
    try:
        return _save_settings(founded_on, chosen, actor=actor, shown=shown)
    except IntegrityError as error:
        raise Conflict(
            _l("Someone else saved the settings just now: look at them and try again.")
        ) from error


def _save_settings(
    founded_on: date | None, chosen: Sequence[int], *, actor: User, shown: str | None
) -> Settings:
    with transaction():
        row = locked(RecognitionSettings, SETTINGS_ROW_ID)
        before = current_settings()
        if shown is not None and shown != shown_settings_fingerprint(before):
            if row is None:
                raise ChangedMeanwhile()
            raise audit.changed_meanwhile(row, "recognition.settings_")
        with _follower[0](None):
            if row is None:
                row = RecognitionSettings(id=SETTINGS_ROW_ID)
                db.session.add(row)
            row.founded_on = founded_on
            row.anniversary_milestones = list(chosen)
            row.updated_by_id = actor.id
            db.session.flush()
        after = Settings(founded_on, tuple(chosen))
        changes = audit.changes(_settings_described(before), _settings_described(after))
        db.session.flush()
        if changes:
            audit.record("recognition.settings_changed", actor=actor, target=row, changes=changes)
    return current_settings()
