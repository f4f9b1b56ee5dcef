"""Gift programmes: HR's changes (``create_programme``, ``update_programme``,
``set_programme_active``, each one transaction, audited), who receives what
(``in_audience``, ``preview``), the daily granting (``grant_due_gifts``) and the greeting
cards of the day (``greetings``).

Granting:

* a programme's occasion falls on ``on`` (``perks.recognition.services``' dates: solar,
  lunar, founding day, each person's birthday or work anniversary at the milestones); its
  gift is due from ``on - days_ahead`` and, for a job that missed days, until
  ``CATCH_UP_DAYS`` after ``on``: every run grants everything due, so a missed day is caught
  up by the next run;
* a gift is granted once per (programme, person, occasion year): the ``gift`` table's unique
  constraint says so, and a run that loses the race to another host skips the person. The
  occasion year of a lunar occasion is its lunar year (``Due.year``): a day of the 11th lunar
  month falls twice in some solar years (15/11: 3 January and 23 December 2026);
* each grant is one transaction that locks the programme's row (PostgreSQL), counts what the
  programme and the person's department have spent in the occasion year, and grants only
  when the gift fits both budgets: two hosts granting at once never exceed one;
* when a budget cannot cover everyone, the gifts go in the order of ``dues``: by the
  occasion's date, then by name as people alphabetise Vietnamese (``name_order``: "Đức" among
  the Ds, not after "Yến"), then by who joined Perks first; the programmes page says so and
  the preview marks who a budget would stop;
* the grant is a claim of the gift perk (``perks.catalog.claims.grant_gift``: a code from
  the pool, the shared code or a voucher number), and an e-mail in the outbox, sent after
  the commit.

A programme's gift is a perk or a number of points. Points are granted through the points
ledger (``perks.recognition.points``: a ``gift`` entry in the person's received points, in the
same transaction as the ``gift`` row) under the same once-per-year constraint and budgets: one
gift of points costs its points at the company's point value (``point_value``, VND per point,
a recognition setting), worked out when HR saves the programme and kept as its ``unit_cost``.
Amounts paid with wages are not gifts yet.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from perks import audit, rule_history, sent_once
from perks.catalog import eligibility
from perks.catalog.claims import grant_gift
from perks.catalog.models import Claim, CodeMode, Perk, PerkCode, PerkKind, PerkStatus
from perks.db import locked, paginate, transaction, utcnow
from perks.errors import ChangedMeanwhile, NotEligible, NotFound, SoldOut, ValidationFailed
from perks.extensions import db
from perks.folding import alphabetical, name_order, names_in_order
from perks.i18n import LOCALES, day_start, format_day, format_number
from perks.money import Money, format_money
from perks.notifications import audience, both, link, notify
from perks.people.models import (
    Department,
    EmploymentType,
    Gender,
    Role,
    User,
    roles_if_asked,
)
from perks.people.services import people_with_role
from perks.recognition import lunar, points, services
from perks.recognition.models import (
    Gift,
    GiftDepartmentBudget,
    GiftProgramme,
    GiftsStoppedBy,
    Occasion,
    OccasionKind,
)
from perks.recognition.points_models import PointsEntryKind
from perks.urls import absolute_url

log = logging.getLogger(__name__)

#: how many days after its occasion a gift a run missed is still granted
CATCH_UP_DAYS = 7
#: the most days ahead of its occasion a gift may be granted
MAX_DAYS_AHEAD = 60
#: the most points one gift may give
MAX_GIFT_POINTS = 100_000
#: how far ahead HR's preview looks
PREVIEW_DAYS = 30
#: the audit action of HR told of gifts not given (once a day per programme and reason)
STOPPED_ACTION = "recognition.gifts_stopped"


@dataclass(frozen=True)
class ProgrammeData:
    """What HR sets on a programme. Amounts are in the programme's currency."""

    name_vi: str
    name_en: str
    occasion_id: int
    #: the gift: a perk of kind gift, or (``perk_id`` None) ``points``
    perk_id: int | None
    days_ahead: int
    message_vi: str
    message_en: str
    unit_cost: Money
    budget: Money | None
    department_ids: tuple[int, ...] = ()
    locations: tuple[str, ...] = ()
    employment_types: tuple[str, ...] = ()
    min_tenure_days: int = 0
    gender: Gender | None = None
    requires_children: bool = False
    #: department id -> the most its gifts of one occasion year may cost
    department_budgets: dict[int, Money] = field(default_factory=dict)
    points: int | None = None


@dataclass(frozen=True)
class Due:
    """A gift a programme owes a person for the occasion on ``on``."""

    programme: GiftProgramme
    person: User
    on: date

    @property
    def grant_on(self) -> date:
        return self.on - timedelta(days=self.programme.days_ahead)

    @property
    def year(self) -> int:
        """The occasion year the gift counts in (once per person, and the budgets): the
        lunar year of a lunar occasion, the solar year of ``on`` otherwise. They differ only
        for the 11th and 12th lunar months in January and February, so Tết, Giỗ Tổ and Trung
        thu count in their solar year."""
        if self.programme.occasion.kind is OccasionKind.LUNAR:
            return lunar.to_lunar(self.on).year
        return self.on.year


@dataclass(frozen=True)
class PreviewLine:
    """One gift the preview expects: granted on ``grant_on`` unless ``over_budget``, or
    ``no_gift`` says why the gift perk cannot give it (not published, ended, no codes or
    stock left)."""

    due: Due
    over_budget: bool
    no_gift: str = ""


@dataclass(frozen=True)
class Preview:
    lines: list[PreviewLine]
    #: what the gifts that fit their budgets will cost, per currency
    totals: dict[str, Money]


# --- reading --------------------------------------------------------------------------------


def programmes() -> list[GiftProgramme]:
    """Every programme, active ones first, by name. Raises nothing."""
    found = db.session.scalars(select(GiftProgramme)).all()
    return sorted(found, key=lambda p: (not p.active, name_order(p.name_vi)))


def get_programme(programme_id: int) -> GiftProgramme:
    """Raises NotFound: no such programme."""
    programme = db.session.get(GiftProgramme, programme_id)
    if programme is None:
        raise NotFound()
    return programme


def _locked_programme(programme_id: int) -> GiftProgramme:
    """The programme, locked until the transaction ends (changes of one programme take turns,
    and with the gifts it grants) and read again under the lock rather than from what the
    session loaded before. Raises NotFound: no such programme."""
    programme = locked(GiftProgramme, programme_id)
    if programme is None:
        raise NotFound()
    return programme


def gift_perks() -> list[Perk]:
    """The perks a programme may give: published perks of kind gift. Raises nothing."""
    return list(
        db.session.scalars(
            select(Perk)
            .where(Perk.kind == PerkKind.GIFT, Perk.status == PerkStatus.PUBLISHED)
            .order_by(*alphabetical(Perk.title_vi), Perk.id)
        )
    )


def in_audience(programme: GiftProgramme, person: User, on: date) -> bool:
    """Whether ``person`` is in the programme's audience for its occasion on ``on``: with
    the company that day (hired on or before it, not left by it), the perk eligibility rules
    (departments, locations, employment types, tenure on ``on``), and the gender or children
    HR recorded when the programme asks for them. Raises nothing."""
    if not person.active:
        return False
    if person.hire_date is not None and person.hire_date > on:
        return False  # not yet with the company (a catch-up run, someone imported ahead)
    if person.leaving_date is not None and person.leaving_date <= on:
        return False  # gone by then (a gift granted days ahead)
    if eligibility.audience_reasons(programme, person, on):
        return False
    if programme.gender is not None and person.gender is not programme.gender:
        return False
    return not programme.requires_children or bool(person.children_under_15)


def _dates(first_from: Callable[[date], date | None], start: date, end: date) -> list[date]:
    """Every date from ``start`` to ``end`` that ``first_from`` (the first on or after a
    day) finds."""
    found: list[date] = []
    day = start
    while day <= end:
        on = first_from(day)
        if on is None or on > end:
            break
        found.append(on)
        day = on + timedelta(days=1)
    return found


def _occasion_dates(
    occasion: Occasion, person: User, start: date, end: date, settings: services.Settings
) -> list[date]:
    """The dates of ``occasion`` for ``person`` from ``start`` to ``end``."""
    if occasion.kind is OccasionKind.BIRTHDAY:
        return _dates(lambda day: services.next_birthday(person, day), start, end)
    if occasion.kind is OccasionKind.WORK_ANNIVERSARY:
        milestones = set(settings.anniversary_milestones)

        def anniversary(day: date) -> date | None:
            found = services.next_work_anniversary(person, day)
            return found[0] if found else None

        return [
            on
            for on in _dates(anniversary, start, end)
            if not milestones
            or (person.hire_date and on.year - person.hire_date.year in milestones)
        ]
    return _dates(lambda day: services.next_date(occasion, day, settings).on, start, end)


def _people() -> Sequence[User]:
    return db.session.scalars(
        select(User).where(User.active.is_(True)).order_by(User.id).options(roles_if_asked())
    ).all()


def dues(
    programme: GiftProgramme, start: date, end: date, people: Iterable[User] | None = None
) -> list[Due]:
    """The gifts ``programme`` owes for its occasion's dates from ``start`` to ``end``, to
    the people in its audience (``people``: every active person), granted or not. Nothing
    for a paused programme or an inactive occasion. In the order a budget that cannot cover
    everyone grants them: by date, then by name alphabetically, then by person. Raises
    nothing."""
    if not programme.active or not programme.occasion.active:
        return []
    settings = services.current_settings()
    occasion = programme.occasion
    everyone = list(people) if people is not None else _people()
    found: list[Due] = []
    if occasion.kind.personal:
        for person in everyone:
            for on in _occasion_dates(occasion, person, start, end, settings):
                if in_audience(programme, person, on):
                    found.append(Due(programme, person, on))
    else:
        for on in _occasion_dates(occasion, everyone[0], start, end, settings) if everyone else []:
            found.extend(
                Due(programme, person, on)
                for person in everyone
                if in_audience(programme, person, on)
            )
    return sorted(found, key=lambda d: (d.on, name_order(d.person.name), d.person.id))


def _granted(programme_id: int) -> set[tuple[int, int]]:
    """(person, occasion year) of every gift the programme granted."""
    rows = db.session.execute(
        select(Gift.user_id, Gift.occasion_year).where(Gift.programme_id == programme_id)
    )
    return {(user_id, year) for user_id, year in rows}


def _spent(programme_id: int, year: int) -> tuple[int, dict[int | None, int]]:
    """What the programme's gifts of the occasion year cost: in all, and per department."""
    rows = db.session.execute(
        select(Gift.department_id, func.sum(Gift.cost_amount))
        .where(Gift.programme_id == programme_id, Gift.occasion_year == year)
        .group_by(Gift.department_id)
    )
    per_department = {department_id: int(total or 0) for department_id, total in rows}
    return sum(per_department.values()), per_department


def _fits(
    programme: GiftProgramme,
    department_id: int | None,
    spent: int,
    per_department: dict[int | None, int],
) -> bool:
    """Whether one more gift keeps the programme and the department within budget."""
    cost = programme.unit_cost_amount
    if programme.budget_amount is not None and spent + cost > programme.budget_amount:
        return False
    limits = {b.department_id: b.amount for b in programme.department_budgets}
    if department_id in limits:
        return per_department.get(department_id, 0) + cost <= limits[department_id]
    return True


def _units_left(perk: Perk) -> int | None:
    """How many more times ``perk`` can be given: its free pool codes, or its counted stock
    (None: no end)."""
    if perk.code_mode is CodeMode.POOL:
        return db.session.scalar(
            select(func.count())
            .select_from(PerkCode)
            .where(PerkCode.perk_id == perk.id, PerkCode.claim_id.is_(None))
        )
    return perk.remaining_stock


def _cannot_give(perk: Perk | None, on: date, left: dict[int, int | None]) -> str:
    """Why ``perk`` cannot give one more gift on ``on`` (as ``grant_gift`` would refuse it),
    or "" when it can, taking the unit from ``left`` (units left per perk, filled as
    needed). A gift of points always can."""
    if perk is None:
        return ""
    if perk.status is not PerkStatus.PUBLISHED:
        return _("The gift perk is not published: not granted")
    if perk.ends_on is not None and perk.ends_on < on:
        return _("The gift perk ended on %(date)s: not granted", date=format_day(perk.ends_on))
    if perk.id not in left:
        left[perk.id] = _units_left(perk)
    units = left[perk.id]
    if units is None:
        return ""
    if units <= 0:
        return _("No codes or stock left: not granted")
    left[perk.id] = units - 1
    return ""


def preview(today: date, days: int = PREVIEW_DAYS) -> Preview:
    """Who will receive what in the ``days`` days from ``today`` (and what is overdue and
    still in its catch-up window), and what it costs: gifts not granted yet, in the order
    the job would grant them; those a budget would stop, or the gift perk could not give
    (not published, ended, its codes or stock used up by the gifts before), are marked and
    cost nothing. Raises nothing."""
    people = _people()
    waiting: list[Due] = []
    for programme in programmes():
        start = today - timedelta(days=CATCH_UP_DAYS)
        end = today + timedelta(days=days - 1 + programme.days_ahead)
        granted = _granted(programme.id)
        waiting.extend(
            due
            for due in dues(programme, start, end, people)
            if (due.person.id, due.year) not in granted
        )
    # the job's order: each run grants what has come due (what a run missed, at the next),
    # programme by programme, each in the order of ``dues``; a pool of codes or a stock
    # shared by two programmes goes to the first
    waiting.sort(
        key=lambda due: (
            max(due.grant_on, today),
            due.programme.id,
            due.on,
            name_order(due.person.name),
            due.person.id,
        )
    )
    lines: list[PreviewLine] = []
    totals: dict[str, Money] = {}
    spent: dict[tuple[int, int], tuple[int, dict[int | None, int]]] = {}
    left: dict[int, int | None] = {}
    for due in waiting:
        programme = due.programme
        key = (programme.id, due.year)
        if key not in spent:
            spent[key] = _spent(programme.id, due.year)
        total, per_department = spent[key]
        department_id = due.person.department_id
        fits = _fits(programme, department_id, total, per_department)
        no_gift = _cannot_give(programme.perk, max(due.grant_on, today), left) if fits else ""
        if fits and not no_gift:
            cost = programme.unit_cost_amount
            per_department[department_id] = per_department.get(department_id, 0) + cost
            spent[key] = (total + cost, per_department)
            previous = totals.get(programme.currency, Money.zero(programme.currency))
            totals[programme.currency] = previous + programme.unit_cost
        lines.append(PreviewLine(due, over_budget=not fits, no_gift=no_gift))
    lines.sort(
        key=lambda line: (
            line.due.grant_on,
            line.due.on,
            name_order(line.due.person.name),
            line.due.person.id,
        )
    )
    return Preview(lines, totals)


def greetings(person: User, today: date) -> list[Gift]:
    """The person's gifts whose occasion is ``today``: their home page's greeting cards.
    Raises nothing."""
    return list(
        db.session.scalars(
            select(Gift)
            .where(Gift.user_id == person.id, Gift.occasion_on == today)
            .order_by(Gift.id)
        )
    )


# --- granting -------------------------------------------------------------------------------


def grant_due_gifts(today: date) -> int:
    """Grant every gift due on ``today``: each programme's gifts whose grant day has come and
    whose occasion is at most ``CATCH_UP_DAYS`` behind, each person once per occasion year,
    within the budgets. Returns how many were granted.

    Idempotent and safe on several hosts at once (the programme's row lock and the unique
    constraint). A gift the budget or the perk's stock stops is left for a later run (HR
    may raise the budget or add codes) and logged; raises nothing else.
    """
    # Who is owed what is read once, before the first grant: each grant commits, which
    # expires everything the session holds, and reading people again after each would cost
    # a query per person.
    owed: list[Due] = []
    stopped: Counter[tuple[int, GiftsStoppedBy]] = Counter()
    people = _people()
    for programme in db.session.scalars(
        select(GiftProgramme).where(GiftProgramme.active.is_(True)).order_by(GiftProgramme.id)
    ).unique():
        start = today - timedelta(days=CATCH_UP_DAYS)
        end = today + timedelta(days=programme.days_ahead)
        done = _granted(programme.id)
        spent: dict[int, tuple[int, dict[int | None, int]]] = {}
        for due in dues(programme, start, end, people):
            if (due.person.id, due.year) in done:
                continue
            if due.year not in spent:
                spent[due.year] = _spent(programme.id, due.year)
            # what the budgets had already stopped is not tried again under the lock
            if _fits(programme, due.person.department_id, *spent[due.year]):
                owed.append(due)
            else:
                _log_stopped(programme.id, due)
                stopped[(programme.id, GiftsStoppedBy.BUDGET)] += 1
    granted = sum(1 for due in owed if _grant(due, today, stopped))
    _tell_hr_of_stopped(stopped, today)
    return granted


def _log_stopped(programme_id: int, due: Due) -> None:
    log.warning(
        "gift programme %s: the budget stops the gift of person %s for %s",
        programme_id,
        due.person.id,
        due.on,
    )


def _grant(
    due: Due, today: date, stopped: Counter[tuple[int, GiftsStoppedBy]] | None = None
) -> bool:
    """Grant one gift in a transaction of its own; False when it was not granted (counted in
    ``stopped``, if given, by why, when the budget or the perk stopped it)."""
    if stopped is None:
        stopped = Counter()
    year = due.year
    try:
        with transaction():
            programme = db.session.scalar(
                select(GiftProgramme)
                .where(GiftProgramme.id == due.programme.id)
                .with_for_update(of=GiftProgramme)
                .execution_options(populate_existing=True)
            )
            if programme is None or not programme.active:
                return False
            # the person as they are now: HR may have changed them since the run began
            person = db.session.get(User, due.person.id, populate_existing=True)
            if person is None or not in_audience(programme, person, due.on):
                return False
            exists = db.session.scalar(
                select(Gift.id).where(
                    Gift.programme_id == programme.id,
                    Gift.user_id == due.person.id,
                    Gift.occasion_year == year,
                )
            )
            if exists is not None:
                return False
            spent, per_department = _spent(programme.id, year)
            if not _fits(programme, due.person.department_id, spent, per_department):
                _log_stopped(programme.id, due)
                stopped[(programme.id, GiftsStoppedBy.BUDGET)] += 1
                return False
            with db.session.begin_nested():
                claim = (
                    grant_gift(programme.perk, due.person, today=today)
                    if programme.perk is not None
                    else None
                )
                gift = Gift(
                    programme_id=programme.id,
                    user_id=due.person.id,
                    occasion_year=year,
                    occasion_on=due.on,
                    department_id=due.person.department_id,
                    currency=programme.currency,
                    cost_amount=programme.unit_cost_amount,
                    claim_id=claim.id if claim is not None else None,
                    points=programme.points if claim is None else None,
                    granted_at=utcnow(),
                )
                db.session.add(gift)
                db.session.flush()
                if gift.points is not None:
                    points.append_entry(
                        user_id=due.person.id,
                        kind=PointsEntryKind.GIFT,
                        points=gift.points,
                        gift_id=gift.id,
                    )
            _tell(gift, claim, programme, due.person)
    except IntegrityError:
        return False  # another run granted it first
    except (SoldOut, NotEligible) as error:
        log.warning("gift programme %s cannot give its perk: %s", due.programme.id, error)
        why = GiftsStoppedBy.STOCK if isinstance(error, SoldOut) else GiftsStoppedBy.PERK
        stopped[(due.programme.id, why)] += 1
        return False
    return True


def _told_since(details: dict[str, object], why: GiftsStoppedBy, since: date) -> bool:
    day = details.get("day")
    return (
        details.get("stopped_by") == why.value
        and isinstance(day, str)
        and date.fromisoformat(day) >= since
    )


@audience("gift_keepers")
def keeps_gifts(person: User) -> bool:
    """Who hears that a programme's gifts were not given: HR, who run the programmes."""
    return person.has_role(Role.HR)


def _tell_hr_of_stopped(stopped: Counter[tuple[int, GiftsStoppedBy]], today: date) -> None:
    """Tell HR of the gifts due that a programme could not give, and why (``stopped``: how
    many per programme and reason), at most once every ``CATCH_UP_DAYS`` days per programme
    and reason (audited, ``STOPPED_ACTION``: later runs and other hosts find it told): a gift
    more than ``CATCH_UP_DAYS`` late is never given, so each notice comes before any gift it
    speaks of is lost, and a budget spent for the rest of the year is said once a week, not
    at every run (pausing the programme ends it). Commits one transaction per programme and
    reason; raises nothing of its own."""
    day = today.isoformat()
    since = today - timedelta(days=CATCH_UP_DAYS - 1)
    for (programme_id, why), count in sorted(stopped.items()):
        with transaction():
            programme = locked(GiftProgramme, programme_id)  # one host tells, the next sees it
            if programme is None:
                continue
            told = db.session.scalars(
                select(audit.AuditEvent.details).where(
                    audit.AuditEvent.action == STOPPED_ACTION,
                    audit.AuditEvent.target_type == "GiftProgramme",
                    audit.AuditEvent.target_id == str(programme.id),
                    audit.AuditEvent.created_at >= day_start(since),
                )
            ).all()
            if any(_told_since(d, why, since) for d in told):
                continue
            audit.record(
                STOPPED_ACTION,
                actor=None,
                target=programme,
                day=day,
                stopped_by=why.value,
                count=count,
            )
            for reader in people_with_role(Role.HR):
                notify(
                    reader,
                    "gifts_stopped",
                    {
                        "programme": both(programme, "name"),
                        "count": count,
                        "stopped_by": why.value,
                        "days": CATCH_UP_DAYS,
                    },
                    url=link("recognition.edit_programme", programme_id=programme.id),
                )


def _tell(gift: Gift, claim: Claim | None, programme: GiftProgramme, person: User) -> None:
    """Tell the person about their gift: a notification, and the e-mail if they want it, in
    their language, with the code and its last day (flush only). A gift of points links to
    the person's points."""
    if gift.claim_id is None:
        kind, perk_title = "gift_points_granted", ""
        gift_shown: object = gift.points
        url, email_url = link("points.mine"), absolute_url("points.mine")
    else:
        assert programme.perk is not None  # a gift with a claim is a perk's
        kind, perk_title = "gift_granted", programme.perk.localized("title", person.locale)
        gift_shown = both(programme.perk, "title")
        url = link("catalog.my_claim", claim_id=gift.claim_id)
        email_url = absolute_url("catalog.my_claim", claim_id=gift.claim_id)
    notify(
        person,
        kind,
        {
            "programme": both(programme, "name"),
            "perk" if gift.claim_id is not None else "points": gift_shown,
            "date": gift.occasion_on,
        },
        url=url,
        email={
            "programme_name": programme.localized("name", person.locale),
            "message": programme.localized("message", person.locale),
            "perk_title": perk_title,
            "points": gift.points,
            "code": claim.code if claim is not None else "",
            "expires_on": claim.expires_on if claim is not None else None,
            "occasion_on": gift.occasion_on,
            "claim_url": email_url,
        },
    )


# --- HR's changes ---------------------------------------------------------------------------


def check_gift_perk(perk_id: int) -> None:
    """Raises ValidationFailed (``field="perk_id"``): not a published perk of kind gift."""
    perk = db.session.get(Perk, perk_id)
    if perk is None or perk.kind is not PerkKind.GIFT or perk.status is not PerkStatus.PUBLISHED:
        raise ValidationFailed(str(_l("Choose a published perk of kind gift.")), field="perk_id")


def _check(data: ProgrammeData) -> ProgrammeData:
    """Raises ValidationFailed naming the field at fault."""
    name_vi, name_en = services.both_languages(data.name_vi, data.name_en, "name")
    message_vi, message_en = services.both_languages(
        data.message_vi, data.message_en, "message", _l("Write the greeting in both languages.")
    )
    occasion = db.session.get(Occasion, data.occasion_id)
    if occasion is None:
        raise ValidationFailed(str(_l("Choose an occasion.")), field="occasion_id")
    unit_cost = data.unit_cost
    if data.perk_id is not None and data.points is not None:
        raise ValidationFailed(str(_l("Give a perk or points, not both.")), field="points")
    if data.perk_id is None:
        if data.points is None or not 1 <= data.points <= MAX_GIFT_POINTS:
            raise ValidationFailed(
                str(
                    _l(
                        "Choose a gift perk, or give from 1 to %(most)s points.",
                        most=format_number(MAX_GIFT_POINTS),
                    )
                ),
                field="points",
            )
        unit_cost = Money(data.points * services.current_settings().point_value, "VND")
    else:
        check_gift_perk(data.perk_id)
    if not 0 <= data.days_ahead <= MAX_DAYS_AHEAD:
        raise ValidationFailed(
            str(_l("From 0 to %(days)d days ahead.", days=MAX_DAYS_AHEAD)), field="days_ahead"
        )
    if unit_cost.amount < 0:
        raise ValidationFailed(str(_l("A cost cannot be negative.")), field="unit_cost")
    budgets = [data.budget, *data.department_budgets.values()]
    if not unit_cost.amount and any(budget is not None and budget.amount for budget in budgets):
        # a budget counts gifts at their cost: at nothing each, it would never stop one
        raise ValidationFailed(
            str(_l("Give the cost of one gift: a budget counts what the gifts cost.")),
            field="unit_cost",
        )
    currency = unit_cost.currency
    if data.budget is not None and (data.budget.currency != currency or data.budget.amount < 0):
        raise ValidationFailed(
            str(_l("The budget is an amount in %(currency)s.", currency=currency)), field="budget"
        )
    # A budget that cannot pay for one gift stops every gift (the preview shows everyone
    # over it): it is a typing mistake, not a way to pause a programme.
    if data.budget is not None and data.budget.amount < unit_cost.amount:
        raise ValidationFailed(
            str(
                _l(
                    "The budget per occasion year must cover at least one gift (%(cost)s); "
                    "leave it empty for no limit.",
                    cost=format_money(unit_cost),
                )
            ),
            field="budget",
        )
    for department_id, amount in data.department_budgets.items():
        department = db.session.get(Department, department_id)
        if department is None:
            raise ValidationFailed(str(_l("No such department.")), field="department_budgets")
        if amount.currency != currency or amount.amount < 0:
            raise ValidationFailed(
                str(_l("The budget is an amount in %(currency)s.", currency=currency)),
                field="department_budgets",
            )
        if amount.amount < unit_cost.amount:
            raise ValidationFailed(
                str(
                    _l(
                        "The budget of %(department)s must cover at least one gift "
                        "(%(cost)s); leave it empty for the programme's budget alone.",
                        department=department.name,
                        cost=format_money(unit_cost),
                    )
                ),
                field="department_budgets",
            )
    if any(t not in {e.value for e in EmploymentType} for t in data.employment_types):
        raise ValidationFailed(str(_l("Choose known employment types.")), field="employment_types")
    if data.min_tenure_days < 0:
        raise ValidationFailed(str(_l("Tenure cannot be negative.")), field="min_tenure_days")
    return ProgrammeData(
        name_vi=name_vi,
        name_en=name_en,
        occasion_id=data.occasion_id,
        perk_id=data.perk_id,
        days_ahead=data.days_ahead,
        message_vi=message_vi,
        message_en=message_en,
        unit_cost=unit_cost,
        budget=data.budget,
        department_ids=tuple(sorted(set(data.department_ids))),
        locations=tuple(names_in_order(data.locations)),
        employment_types=tuple(data.employment_types),
        min_tenure_days=data.min_tenure_days,
        gender=data.gender,
        requires_children=data.requires_children,
        department_budgets=dict(data.department_budgets),
        points=data.points,
    )


def _described(programme: GiftProgramme) -> dict[str, object]:
    return {
        "name_vi": programme.name_vi,
        "name_en": programme.name_en,
        "occasion_id": programme.occasion_id,
        "perk_id": programme.perk_id,
        "points": programme.points,
        "days_ahead": programme.days_ahead,
        "message_vi": programme.message_vi,
        "message_en": programme.message_en,
        "currency": programme.currency,
        "unit_cost": programme.unit_cost_amount,
        "budget": programme.budget_amount,
        "departments": [d.id for d in programme.departments],
        "locations": list(programme.locations),
        "employment_types": list(programme.employment_types),
        "min_tenure_days": programme.min_tenure_days,
        "gender": programme.gender.value if programme.gender else None,
        "requires_children": programme.requires_children,
        "department_budgets": {
            str(b.department_id): b.amount
            for b in sorted(programme.department_budgets, key=lambda b: b.department_id)
        },
    }


def _falls_on(occasion: Occasion, settings: services.Settings) -> str:
    """When ``occasion`` falls, in the current language."""
    if occasion.kind is OccasionKind.SOLAR:
        return _("%(day)d/%(month)d every year", day=occasion.day, month=occasion.month)
    if occasion.kind is OccasionKind.LUNAR:
        return _("%(day)d/%(month)d lunar calendar", day=occasion.day, month=occasion.month)
    if occasion.kind is OccasionKind.FOUNDING_DAY:
        if settings.founded_on is None:
            return _("The company's founding day, not set yet")
        return _("The company's founding day, %(day)s", day=format_day(settings.founded_on))
    if occasion.kind is OccasionKind.BIRTHDAY:
        return _("Each person's birthday")
    if not settings.anniversary_milestones:
        return _("Each person's hire date, every year")
    return _(
        "Each person's hire date, after %(years)s years",
        years=", ".join(str(years) for years in settings.anniversary_milestones),
    )


def _when(occasion: Occasion, settings: services.Settings) -> dict[str, str]:
    """When ``occasion`` falls, in both languages, as a version of the rules keeps it."""
    said = {}
    for language in LOCALES:
        with force_locale(language):
            said[language] = _falls_on(occasion, settings)
    return said


def rule_terms(
    programme: GiftProgramme, settings: services.Settings | None = None
) -> dict[str, object]:
    """The programme's rules as the rules history keeps them, with names rather than ids
    (a version reads the same after a rename), and when its occasion falls (the company's
    ``settings``: the founding day, the milestones)."""
    names = {d.id: d.name for d in programme.departments}
    budgets = sorted(programme.department_budgets, key=lambda b: b.department.name)
    occasion = programme.occasion
    return {
        "name": {"vi": programme.name_vi, "en": programme.name_en},
        "occasion": {"vi": occasion.name_vi, "en": occasion.name_en},
        "when": _when(occasion, settings or services.current_settings()),
        "occasion_active": occasion.active,
        "gift": (
            {"vi": programme.perk.title_vi, "en": programme.perk.title_en}
            if programme.perk is not None
            else None
        ),
        "points": programme.points,
        "days_ahead": programme.days_ahead,
        "currency": programme.currency,
        "unit_cost": programme.unit_cost_amount,
        "budget": programme.budget_amount,
        "department_budgets": {b.department.name: b.amount for b in budgets},
        "departments": sorted(names.values()),
        "locations": list(programme.locations),
        "employment_types": list(programme.employment_types),
        "min_tenure_days": programme.min_tenure_days,
        "gender": programme.gender.value if programme.gender else None,
        "requires_children": programme.requires_children,
        "active": programme.active,
    }


def _record_version(programme: GiftProgramme, before: dict[str, object] | None) -> None:
    db.session.flush()
    db.session.refresh(programme)  # the occasion, perk and budgets' departments as they now are
    rule_history.record_change(
        rule_history.GIFT_PROGRAMME,
        programme.id,
        before,
        rule_terms(programme),
        since=programme.created_at,
    )


@contextmanager
def versions_follow(occasion_ids: Sequence[int] | None) -> Iterator[None]:
    """Around a change of occasions (``occasion_ids``) or of the founding day and milestones
    (None): each gift programme for them keeps a version of its rules when they read
    differently after it (``services.follow_occasion_changes``). Flushes only; raises
    nothing."""
    query = select(GiftProgramme).order_by(GiftProgramme.id)
    if occasion_ids is not None:
        query = query.where(GiftProgramme.occasion_id.in_(occasion_ids))
    programmes = list(db.session.scalars(query))
    settings = services.current_settings()
    before = {programme.id: rule_terms(programme, settings) for programme in programmes}
    yield
    for programme in programmes:
        _record_version(programme, before[programme.id])


def _apply(programme: GiftProgramme, data: ProgrammeData) -> None:
    programme.name_vi, programme.name_en = data.name_vi, data.name_en
    programme.occasion_id, programme.perk_id = data.occasion_id, data.perk_id
    programme.points = data.points if data.perk_id is None else None
    programme.days_ahead = data.days_ahead
    programme.message_vi, programme.message_en = data.message_vi, data.message_en
    programme.currency = data.unit_cost.currency
    programme.unit_cost_amount = data.unit_cost.amount
    programme.budget_amount = data.budget.amount if data.budget is not None else None
    programme.departments = list(
        db.session.scalars(select(Department).where(Department.id.in_(data.department_ids)))
    )
    programme.locations = list(data.locations)
    programme.employment_types = list(data.employment_types)
    programme.min_tenure_days = data.min_tenure_days
    programme.gender = data.gender
    programme.requires_children = data.requires_children
    kept = {b.department_id: b for b in programme.department_budgets}
    budgets: list[GiftDepartmentBudget] = []
    for department_id, amount in sorted(data.department_budgets.items()):
        row = kept.get(department_id) or GiftDepartmentBudget(department_id=department_id)
        row.amount = amount.amount
        budgets.append(row)
    programme.department_budgets = budgets


def create_programme(
    data: ProgrammeData, *, actor: User, sending: str | None = None
) -> GiftProgramme:
    """Add a gift programme, active (``recognition.programme_created``).

    Raises:
        ValidationFailed: a name or greeting missing, no such occasion, not a published
            gift perk, days ahead out of range, a negative amount or one in another currency,
            a budget (the programme's or a department's) smaller than one gift.
    """
    data = _check(data)
    with transaction():
        if (earlier := sent_once.made_before(GiftProgramme, sending, actor)) is not None:
            return earlier
        programme = GiftProgramme(active=True, created_by_id=actor.id)
        _apply(programme, data)
        db.session.add(programme)
        db.session.flush()
        sent_once.remember(sending, programme, actor)
        audit.record(
            "recognition.programme_created",
            actor=actor,
            target=programme,
            **_described(programme),
        )
        _record_version(programme, None)
    return programme


def update_programme(
    programme_id: int,
    data: ProgrammeData,
    *,
    actor: User,
    expected_row_version: int | None = None,
) -> GiftProgramme:
    """Change a programme (``recognition.programme_changed``, with the old and new values).
    Gifts granted stay as they are; a lower budget only stops the next ones.

    ``expected_row_version`` is the programme's ``row_version`` the page showed: a page
    opened before someone else changed the programme (its budgets, its audience) must not
    overwrite that change unseen. ``None`` checks nothing (callers that showed no page).
    Changes of one programme take turns (its row is locked), so of two saves from the same
    page the second sees the first.

    Raises:
        NotFound: no such programme.
        ValidationFailed: as ``create_programme``.
        ChangedMeanwhile: the programme is no longer at ``expected_row_version``; nothing is
            saved.
    """
    data = _check(data)
    with transaction():
        programme = _locked_programme(programme_id)
        if expected_row_version is not None and expected_row_version != programme.row_version:
            raise ChangedMeanwhile(_changed_meanwhile(programme))
        before = _described(programme)
        terms_before = rule_terms(programme)
        rows_before = _own_rows(programme)
        _apply(programme, data)
        if _own_rows(programme) != rows_before:
            # departments and department budgets are rows of their own: a change of them
            # alone is a change of the programme too, which a save from an older page must
            # not overwrite (the programme's row changes, and its row version moves on)
            programme.updated_at = utcnow()
        db.session.flush()
        after = _described(programme)
        changes = audit.changes(before, after)
        if changes:
            audit.record(
                "recognition.programme_changed", actor=actor, target=programme, changes=changes
            )
            _record_version(programme, terms_before)
    return programme


def _own_rows(programme: GiftProgramme) -> tuple[list[int], list[tuple[int, int]]]:
    """The programme's departments and department budgets, as compared."""
    return (
        sorted(d.id for d in programme.departments),
        sorted((b.department_id, b.amount) for b in programme.department_budgets),
    )


def _changed_meanwhile(programme: GiftProgramme) -> str:
    """Who last changed ``programme``, as the audit log keeps it, in the refusal's message."""
    editor = audit.last_actor(programme, "recognition.programme_")
    if editor is None:
        return str(
            _(
                "Someone changed this gift programme after you opened it, so your changes were "
                "not saved. The form now shows the programme as it is: check it and make your "
                "changes again."
            )
        )
    return str(
        _(
            "%(name)s changed this gift programme after you opened it, so your changes were "
            "not saved. The form now shows the programme as it is: check it and make your "
            "changes again.",
            name=editor.name,
        )
    )


def set_programme_active(programme_id: int, active: bool, *, actor: User) -> GiftProgramme:
    """Pause a programme (it grants nothing until resumed) or resume it
    (``recognition.programme_paused`` / ``_resumed``). A resumed programme catches up the
    gifts still in their window.

    Raises:
        NotFound: no such programme.
        Conflict: it already is.
    """
    with transaction():
        programme = _locked_programme(programme_id)
        before = rule_terms(programme)
        services.switch(
            programme,
            active,
            actor=actor,
            actions=("recognition.programme_resumed", "recognition.programme_paused"),
            already=(
                _l("This programme is already running."),
                _l("This programme is already paused."),
            ),
        )
        _record_version(programme, before)
    return programme


def spent_this_year(programme: GiftProgramme, year: int) -> Money:
    """What the programme's gifts of the occasion year ``year`` cost. Raises nothing."""
    return Money(_spent(programme.id, year)[0], programme.currency)


def spent_per_programme(programmes: Sequence[GiftProgramme], year: int) -> dict[int, Money]:
    """What each of ``programmes``' gifts of the occasion year ``year`` cost, by programme id,
    in one query (as ``spent_this_year`` of each). Raises nothing."""
    rows = db.session.execute(
        select(Gift.programme_id, func.sum(Gift.cost_amount))
        .where(Gift.occasion_year == year)
        .group_by(Gift.programme_id)
    )
    totals = {programme_id: int(total or 0) for programme_id, total in rows}
    return {p.id: Money(totals.get(p.id, 0), p.currency) for p in programmes}


def granted_counts(year: int) -> dict[int, int]:
    """How many gifts each programme granted for the occasion year ``year``."""
    rows = db.session.execute(
        select(Gift.programme_id, func.count())
        .where(Gift.occasion_year == year)
        .group_by(Gift.programme_id)
    )
    counts: dict[int, int] = defaultdict(int)
    for programme_id, count in rows:
        counts[programme_id] = count
    return dict(counts)


def granted_gifts(programme_id: int, year: int, page: int, *, per_page: int = 50) -> Pagination:
    """One page of the gifts ``programme_id`` granted for the occasion year ``year``, latest
    occasion first, then by the person's name (each with its person, their department and
    its claim): who received what, for HR to answer "where is my gift?". Raises nothing."""
    return paginate(
        select(Gift)
        .join(User, User.id == Gift.user_id)
        .where(Gift.programme_id == programme_id, Gift.occasion_year == year)
        .options(
            selectinload(Gift.user).joinedload(User.department),
            selectinload(Gift.claim),
        )
        .order_by(Gift.occasion_on.desc(), *alphabetical(User.name), Gift.id),
        page,
        per_page,
    )
