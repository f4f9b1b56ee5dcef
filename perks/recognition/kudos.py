"""Kudos and rewards: a colleague gives points from their monthly allowance
(``give_kudos``), a person spends the points they received on a perk priced in points
(``spend_points``); HR sets the company's values and the points settings
(``create_value``, ``update_value``, ``update_points_settings``, each audited). Each public
function is one transaction; the points move through ``perks.recognition.points`` alone.

Rules of a kudos: not to oneself; to an active colleague; one active company value; a
message of 1 to ``MAX_KUDOS_MESSAGE`` characters; at least one point, never more than the
giver's allowance left this month, and no more than ``pair_monthly_limit`` points from one
person to one colleague in a month (so two people cannot trade points back and forth). The
giver's row is locked while the allowance is counted: simultaneous kudos never overdraw it.

A reward is claimed through the catalog (``perks.catalog.claims.grant_claim``: window,
audience, per-person limit and stock all apply) and paid in the same transaction; when the
catalog refuses, nothing is paid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from perks import audit
from perks.catalog.claims import grant_claim
from perks.catalog.models import Allocation, Claim, Perk, PerkStatus
from perks.catalog.queries import PerkCard, perk_cards
from perks.db import MAX_ID, locked, transaction, utcnow
from perks.errors import (
    ChangedMeanwhile,
    Conflict,
    LimitReached,
    NotEligible,
    NotFound,
    ValidationFailed,
)
from perks.extensions import db
from perks.fingerprints import fingerprint
from perks.folding import alphabetical, name_order
from perks.i18n import format_day, format_number
from perks.notifications import both, link, notify
from perks.people.models import Role, User
from perks.people.services import person_is, person_matches
from perks.recognition import points, services
from perks.recognition.models import (
    SETTINGS_ROW_ID,
    Award,
    Gift,
    GiftProgramme,
    Nomination,
    RecognitionSettings,
)
from perks.recognition.points_models import (
    MAX_KUDOS_MESSAGE,
    CompanyValue,
    Kudos,
    PointsEntry,
    PointsEntryKind,
)
from perks.text import trim
from perks.urls import absolute_url

#: the most points a setting may name (an allowance, a pair limit)
MAX_POINTS_SETTING = 100_000
#: the longest name of a company value
MAX_VALUE_NAME = 80


# --- company values (HR) --------------------------------------------------------------------


@dataclass(frozen=True)
class ValueData:
    name_vi: str
    name_en: str
    active: bool = True


def values(*, active_only: bool = False) -> list[CompanyValue]:
    """The company's values, active first, by Vietnamese name. Raises nothing."""
    query = select(CompanyValue)
    if active_only:
        query = query.where(CompanyValue.active.is_(True))
    return sorted(
        db.session.scalars(query).all(), key=lambda v: (not v.active, name_order(v.name_vi))
    )


def get_value(value_id: int) -> CompanyValue:
    """Raises NotFound: no such value."""
    value = db.session.get(CompanyValue, value_id)
    if value is None:
        raise NotFound()
    return value


def _check_value(data: ValueData) -> ValueData:
    name_vi, name_en = trim(data.name_vi), trim(data.name_en)
    if not name_vi or not name_en:
        raise ValidationFailed(
            str(_l("Give the name in both languages.")),
            field="name_vi" if not name_vi else "name_en",
        )
    if len(name_vi) > MAX_VALUE_NAME or len(name_en) > MAX_VALUE_NAME:
        raise ValidationFailed(
            str(_l("Keep the name under %(count)d characters.", count=MAX_VALUE_NAME)),
            field="name_vi" if len(name_vi) > MAX_VALUE_NAME else "name_en",
        )
    return ValueData(name_vi, name_en, data.active)


def _refuse_a_second(data: ValueData, *, value_id: int | None = None) -> None:
    """Raise ValidationFailed when another value has either name, whatever the case (the
    values are few: compared in Python, which folds Vietnamese letters as SQLite cannot)."""
    for other in db.session.scalars(select(CompanyValue).where(CompanyValue.id != (value_id or 0))):
        for name, field in ((data.name_vi, "name_vi"), (data.name_en, "name_en")):
            if name.casefold() in (other.name_vi.casefold(), other.name_en.casefold()):
                raise ValidationFailed(
                    str(_l("The company already has the value “%(name)s”.", name=name)),
                    field=field,
                )


def _described_value(value: CompanyValue) -> dict[str, object]:
    return {"name_vi": value.name_vi, "name_en": value.name_en, "active": value.active}


def create_value(data: ValueData, *, actor: User) -> CompanyValue:
    """Add a company value (``recognition.value_created``).

    Raises:
        ValidationFailed: a name missing or too long, or another value's (any case).
    """
    data = _check_value(data)
    with transaction():
        _refuse_a_second(data)
        value = CompanyValue(name_vi=data.name_vi, name_en=data.name_en, active=data.active)
        db.session.add(value)
        db.session.flush()
        audit.record(
            "recognition.value_created", actor=actor, target=value, **_described_value(value)
        )
    return value


def shown_value_fingerprint(value: CompanyValue) -> str:
    """The fingerprint (``perks.fingerprints``) of what a value's edit page shows of it: its
    names and whether it is active. The form sends it back, and ``update_value`` refuses a
    save when it no longer matches. Raises nothing."""
    return fingerprint(_described_value(value))


def update_value(
    value_id: int, data: ValueData, *, actor: User, shown: str | None = None
) -> CompanyValue:
    """Rename a value or (de)activate it (``recognition.value_changed``, old and new
    values). Kudos given keep pointing at it.

    ``shown`` is the ``shown_value_fingerprint`` of the value as the page showed it: a page
    opened before another HR person saved the value must not overwrite their change unseen.
    ``None`` checks nothing. Saves take turns (the row is locked).

    Raises:
        NotFound: no such value.
        ValidationFailed: as ``create_value``.
        ChangedMeanwhile: the value is no longer what the page showed; nothing is saved.
    """
    data = _check_value(data)
    with transaction():
        value = locked(CompanyValue, value_id)
        if value is None:
            raise NotFound()
        if shown is not None and shown != shown_value_fingerprint(value):
            raise audit.changed_meanwhile(value, "recognition.value_")
        _refuse_a_second(data, value_id=value.id)
        before = _described_value(value)
        value.name_vi, value.name_en, value.active = data.name_vi, data.name_en, data.active
        changes = audit.changes(before, _described_value(value))
        if changes:
            audit.record("recognition.value_changed", actor=actor, target=value, changes=changes)
    return value


# --- points settings (HR) -------------------------------------------------------------------


@dataclass(frozen=True)
class PointsSettingsData:
    monthly_allowance: int
    #: role value -> its monthly allowance; a role left out gets the company's
    role_allowances: Mapping[str, int]
    pair_monthly_limit: int
    point_value: int


def _points_described(settings: services.Settings) -> dict[str, object]:
    return {
        "monthly_allowance": settings.monthly_allowance,
        "role_allowances": dict(sorted(settings.role_allowances.items())),
        "pair_monthly_limit": settings.pair_monthly_limit,
        "point_value": settings.point_value,
    }


def shown_points_fingerprint(settings: services.Settings) -> str:
    """The fingerprint (``perks.fingerprints``) of what the points settings page's form shows
    of ``settings``: the allowances, the per-pair limit and a point's worth (not the
    occasions' settings, kept in the same row). The form sends it back, and
    ``update_points_settings`` refuses a save when it no longer matches. Raises nothing."""
    return fingerprint(_points_described(settings))


def update_points_settings(
    data: PointsSettingsData, *, actor: User, shown: str | None = None
) -> services.Settings:
    """Save the allowances, the per-pair limit and a point's worth
    (``recognition.points_settings_changed``, old and new values). An allowance already
    credited this month stays as it was; the next month's follows the new settings.

    ``shown`` is the ``shown_points_fingerprint`` of the settings as the page showed them: a
    page opened before another HR person saved them must not overwrite their change unseen.
    ``None`` checks nothing. Saves take turns (the row is locked).

    Raises:
        ValidationFailed: a number out of range (naming the field), or an unknown role.
        ChangedMeanwhile: the settings are no longer what the page showed; nothing is saved.
        Conflict: someone else saved the settings for the first time at the same moment.
    """
    checks = [
        ("monthly_allowance", data.monthly_allowance, 0),
        ("pair_monthly_limit", data.pair_monthly_limit, 1),
        ("point_value", data.point_value, 0),
    ]
    for role, allowance in data.role_allowances.items():
        if role not in {r.value for r in Role}:
            raise ValidationFailed(str(_l("No such role.")), field="role_allowances")
        checks.append((f"role_{role}", allowance, 0))
    for name, number, least in checks:
        most = 10**9 if name == "point_value" else MAX_POINTS_SETTING
        if not least <= number <= most:
            raise ValidationFailed(
                str(
                    _l(
                        "From %(least)s to %(most)s.",
                        least=format_number(least),
                        most=format_number(most),
                    )
                ),
                field=name,
            )
    try:
        return _save_points_settings(data, actor=actor, shown=shown)
    except IntegrityError as error:
        raise Conflict(
            _l("Someone else saved the settings just now: look at them and try again.")
        ) from error


def _save_points_settings(
    data: PointsSettingsData, *, actor: User, shown: str | None
) -> services.Settings:
    with transaction():
        row = locked(RecognitionSettings, SETTINGS_ROW_ID)
        before = services.current_settings()
        if shown is not None and shown != shown_points_fingerprint(before):
            if row is None:
                raise ChangedMeanwhile()
            raise audit.changed_meanwhile(row, "recognition.points_settings_")
        if row is None:
            row = RecognitionSettings(
                id=SETTINGS_ROW_ID, anniversary_milestones=list(services.DEFAULT_MILESTONES)
            )
            db.session.add(row)
        row.monthly_allowance = data.monthly_allowance
        row.role_allowances = dict(sorted(data.role_allowances.items()))
        row.pair_monthly_limit = data.pair_monthly_limit
        row.point_value_amount = data.point_value
        row.updated_by_id = actor.id
        db.session.flush()
        after = services.current_settings()
        changes = audit.changes(_points_described(before), _points_described(after))
        if changes:
            audit.record(
                "recognition.points_settings_changed", actor=actor, target=row, changes=changes
            )
    return after


# --- kudos ----------------------------------------------------------------------------------


#: how many colleagues the kudos form lists when a search matches several
COLLEAGUES_SHOWN = 8


def find_colleague(giver: User, text: str, chosen_id: int | None = None) -> User:
    """The active colleague of ``giver`` (not ``giver``) the kudos form names: ``chosen_id``
    when it is one of the colleagues ``text`` matches (or ``text`` is empty: that person,
    whom ``give_kudos`` checks), else the one
    colleague whose e-mail or employee number is ``text`` exactly, or "Name <e-mail>" as the
    form shows a colleague back, or the only one whose name, e-mail or employee number
    contains ``text``, accents and case aside. At most three statements, whatever the size
    of the company.

    Raises:
        ValidationFailed (field ``colleague``): nothing typed nor chosen; nobody matches; or
            several colleagues match (``details["candidates"]``: the first
            ``COLLEAGUES_SHOWN`` of them by name, department loaded; ``details["more"]``:
            whether more matched).
    """
    text = " ".join(text.split())
    if not text:
        known = chosen_id is not None and 0 < chosen_id <= MAX_ID
        chosen = db.session.get(User, chosen_id) if known else None
        if chosen is not None:
            return chosen  # ``give_kudos`` refuses oneself and leavers with its reasons
        raise ValidationFailed(
            str(_l("Choose a colleague: type part of their name, then pick them.")),
            field="colleague",
        )
    colleague = (User.active.is_(True), User.id != giver.id)
    exact = db.session.scalars(select(User).where(*colleague, person_is(text)).limit(2)).all()
    if len(exact) == 1:
        return exact[0]
    matches = db.session.scalars(
        select(User)
        .where(*colleague, person_matches(text))
        .order_by(*alphabetical(User.name), User.id)  # "Đặng" among the Ds
        .limit(COLLEAGUES_SHOWN + 1)
    ).all()
    for match in matches:
        if match.id == chosen_id:
            return match
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ValidationFailed(
            str(
                _l(
                    "None of your colleagues matches “%(text)s”: type part of a name, an e-mail "
                    "or an employee number.",
                    text=text,
                )
            ),
            field="colleague",
        )
    raise ValidationFailed(
        str(_l("Several colleagues match “%(text)s”: choose one below.", text=text)),
        field="colleague",
        candidates=list(matches[:COLLEAGUES_SHOWN]),
        more=len(matches) > COLLEAGUES_SHOWN,
    )


def given_to(giver_id: int, recipient_id: int, month: str) -> int:
    """The points ``giver_id`` gave ``recipient_id`` in ``month``."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(Kudos.points), 0)).where(
            Kudos.giver_id == giver_id, Kudos.recipient_id == recipient_id, Kudos.month == month
        )
    )
    return int(total or 0)


#: the same kudos (same colleague, value, points and message) given again within this time
#: is the first sent twice (a double tap, a request retried, two tabs): it is not given again
SAME_KUDOS_AGAIN = timedelta(minutes=2)


def _same_kudos_just_given(
    giver_id: int, recipient_id: int, value_id: int, points_given: int, message: str, month: str
) -> Kudos | None:
    """The kudos ``giver_id`` gave with these very terms, from ``month``'s allowance, in the
    last ``SAME_KUDOS_AGAIN``."""
    return db.session.scalars(
        select(Kudos)
        .where(
            Kudos.giver_id == giver_id,
            Kudos.recipient_id == recipient_id,
            Kudos.value_id == value_id,
            Kudos.points == points_given,
            Kudos.message == message,
            Kudos.month == month,
            Kudos.given_at >= utcnow() - SAME_KUDOS_AGAIN,
        )
        .order_by(Kudos.id.desc())
        .limit(1)
    ).first()


def give_kudos(
    giver: User,
    recipient_id: int,
    points_given: int,
    value_id: int,
    message: str,
    *,
    today: date,
) -> Kudos:
    """``giver`` gives ``points_given`` points of their allowance of ``today``'s month to a
    colleague, naming a company value, with a message; the colleague is e-mailed. The same
    kudos given again within ``SAME_KUDOS_AGAIN`` (a double tap) gives nothing more: the first
    is returned.

    Raises:
        ValidationFailed: no message or one too long, fewer than one point, no such active
            value, to oneself, or no such active colleague, or one whose leaving date has
            come by ``today`` (naming the field).
        LimitReached: more than the allowance left this month, or than the month's limit
            of points to this colleague, or the giver's first day (hire date) is after
            ``today``: their allowance starts then; or the giver's leaving date has come.
    """
    message = trim(message or "")
    if not message:
        raise ValidationFailed(str(_l("Say what they did.")), field="message")
    if len(message) > MAX_KUDOS_MESSAGE:
        raise ValidationFailed(
            str(_l("Keep the message under %(count)d characters.", count=MAX_KUDOS_MESSAGE)),
            field="message",
        )
    if points_given < 1:
        raise ValidationFailed(str(_l("Give at least one point.")), field="points")
    if recipient_id == giver.id:
        raise ValidationFailed(
            str(_l("Kudos go to a colleague, not to yourself.")), field="recipient"
        )
    month = points.month_of(today)
    with transaction():
        value = db.session.get(CompanyValue, value_id)
        if value is None or not value.active:
            raise ValidationFailed(str(_l("Choose one of the company's values.")), field="value")
        recipient = db.session.get(User, recipient_id)
        if recipient is None or not recipient.active:
            raise ValidationFailed(str(_l("Choose a colleague.")), field="recipient")
        if recipient.has_left(today):
            # still active until the daily task deactivates them (for good as the last
            # administrator): points they can no longer spend, and the e-mail
            raise ValidationFailed(
                str(
                    _l(
                        "%(name)s has left the company: kudos go to colleagues still with it.",
                        name=recipient.name,
                    )
                ),
                field="recipient",
            )
        if recipient.hire_date is not None and today < recipient.hire_date:
            # imported ahead of their start: with the company from their first day, as claims,
            # gifts and surveys count them
            raise ValidationFailed(
                str(
                    _l(
                        "%(name)s starts on %(date)s: kudos go to colleagues already with the "
                        "company.",
                        name=recipient.name,
                        date=format_day(recipient.hire_date),
                    )
                ),
                field="recipient",
            )
        me = points.lock_person(giver.id)
        if me is None or not me.active:
            raise NotFound()
        if me.hire_date is not None and today < me.hire_date:
            raise LimitReached(
                str(
                    _l(
                        "Your points to give start on your first day, %(date)s.",
                        date=format_day(me.hire_date),
                    )
                )
            )
        if me.has_left(today):
            # active until the leavers' task runs (for good as the last administrator):
            # the monthly credit leaves them out, and their kudos must not credit it instead
            raise LimitReached(
                str(_l("You have left the company: you have no more points to give."))
            )
        # under the giver's lock: a double tap's second request finds the first's kudos
        repeat = _same_kudos_just_given(me.id, recipient.id, value.id, points_given, message, month)
        if repeat is not None:
            return repeat
        points.credit_allowance(me, month)
        left = points.allowance_left(me.id, month)
        if points_given > left:
            raise LimitReached(
                ngettext(
                    "You have %(left)s point left to give this month.",
                    "You have %(left)s points left to give this month.",
                    left,
                    left=format_number(left),
                )
            )
        limit = services.current_settings().pair_monthly_limit
        already = given_to(me.id, recipient.id, month)
        if already + points_given > limit:
            raise LimitReached(
                ngettext(
                    "At most %(limit)s point a month to one colleague: you can give "
                    "%(name)s %(left)s more this month.",
                    "At most %(limit)s points a month to one colleague: you can give "
                    "%(name)s %(left)s more this month.",
                    limit,
                    limit=format_number(limit),
                    name=recipient.name,
                    left=format_number(max(limit - already, 0)),
                )
            )
        kudos = Kudos(
            giver_id=me.id,
            recipient_id=recipient.id,
            value_id=value.id,
            points=points_given,
            message=message,
            month=month,
            given_at=utcnow(),
        )
        db.session.add(kudos)
        db.session.flush()
        points.append_entry(
            user_id=me.id,
            kind=PointsEntryKind.GIVEN,
            points=-points_given,
            month=month,
            kudos_id=kudos.id,
        )
        points.append_entry(
            user_id=recipient.id,
            kind=PointsEntryKind.RECEIVED,
            points=points_given,
            kudos_id=kudos.id,
        )
        tell_recipient(kudos)
    return kudos


def tell_recipient(kudos: Kudos) -> None:
    """Tell the recipient of their kudos through the notification centre (the e-mail too,
    unless they turned it off), in their language (flush only)."""
    recipient = kudos.recipient
    notify(
        recipient,
        "kudos_received",
        {
            "giver": kudos.giver.name,
            "points": kudos.points,
            "value": both(kudos.value, "name"),
            "message": kudos.message,
        },
        url=link("points.mine"),
        email={
            "giver_name": kudos.giver.name,
            "points": kudos.points,
            "value_name": kudos.value.localized("name", recipient.locale),
            "message": kudos.message,
            "points_url": absolute_url("points.mine"),
        },
    )


def kudos_of(user_id: int, kudos_ids: list[int]) -> dict[int, Kudos]:
    """The kudos named by a person's history (one query)."""
    if not kudos_ids:
        return {}
    found = db.session.scalars(select(Kudos).where(Kudos.id.in_(kudos_ids)))
    return {k.id: k for k in found if user_id in (k.giver_id, k.recipient_id)}


@dataclass(frozen=True)
class HistorySubjects:
    """What a person's points history names beside the kudos: the perk of each reward (by
    claim id), the award of each award (by nomination id) and the programme of each gift of
    points (by gift id)."""

    rewards: dict[int, Perk]
    awards: dict[int, Award]
    gifts: dict[int, GiftProgramme]


def history_subjects(user_id: int, entries: Sequence[PointsEntry]) -> HistorySubjects:
    """The rewards' perks, the awards and the gifts' programmes ``user_id``'s ``entries``
    name, theirs alone (one statement each, whatever the history's length). Raises
    nothing."""
    claim_ids = [e.claim_id for e in entries if e.claim_id]
    nomination_ids = [e.nomination_id for e in entries if e.nomination_id]
    gift_ids = [e.gift_id for e in entries if e.gift_id]
    rewards: dict[int, Perk] = {}
    if claim_ids:
        claims = db.session.scalars(
            select(Claim).where(Claim.id.in_(claim_ids), Claim.user_id == user_id)
        )
        rewards = {claim.id: claim.perk for claim in claims}
    awards: dict[int, Award] = {}
    if nomination_ids:
        nominations = db.session.scalars(
            select(Nomination).where(
                Nomination.id.in_(nomination_ids), Nomination.nominee_id == user_id
            )
        )
        awards = {nomination.id: nomination.award for nomination in nominations}
    programmes: dict[int, GiftProgramme] = {}
    if gift_ids:
        granted = db.session.scalars(
            select(Gift).where(Gift.id.in_(gift_ids), Gift.user_id == user_id)
        )
        programmes = {gift.id: gift.programme for gift in granted}
    return HistorySubjects(rewards, awards, programmes)


# --- rewards --------------------------------------------------------------------------------


def rewards() -> list[Perk]:
    """The published perks priced in points, cheapest first. Raises nothing."""
    return list(
        db.session.scalars(
            select(Perk)
            .where(
                Perk.status == PerkStatus.PUBLISHED,
                Perk.points_price.is_not(None),
                Perk.allocation == Allocation.FIRST_COME,
            )
            .order_by(Perk.points_price, *alphabetical(Perk.title_vi), Perk.id)
            .options(selectinload(Perk.departments))
        )
    )


def reward_cards(person: User, today: date) -> list[PerkCard]:
    """The rewards as ``person`` sees them today, each with why they cannot buy it now (its
    window, audience, per-person limit or stock), so the page says so before they spend."""
    return perk_cards(rewards(), person, today)


def spend_points(
    perk_id: int, person: User, *, today: date, offered_price: int | None = None
) -> Claim:
    """``person`` buys the reward ``perk_id`` with the points they received: the catalog's
    claim and the ledger's debit in one transaction. ``offered_price`` is the price the page
    showed them: a reward whose price HR changed since is not bought until they have seen
    the new one (None checks nothing: callers that showed no price). Purchases of one reward
    take turns with each other and with HR's saves of it (its row is locked).

    Raises:
        NotFound: no such published perk priced in points.
        Conflict: its price is no longer ``offered_price``, or HR archived it (nothing is
            paid).
        LimitReached: not enough points, or the perk's per-person limit is used up.
        NotEligible, SoldOut: the catalog's refusals (nothing is paid).
    """
    with transaction():
        # locked, and read again under the lock: a price (or status) HR is saving at this
        # moment is the one checked and paid, never the one it replaces
        perk = locked(Perk, perk_id)
        if (
            perk is None
            or perk.status is not PerkStatus.PUBLISHED
            or perk.points_price is None
            or perk.allocation is not Allocation.FIRST_COME
        ):
            if perk is not None and perk.status is PerkStatus.ARCHIVED:
                # HR archived it after the person's page showed it
                raise Conflict(str(_l("This reward is no longer offered: nothing was spent.")))
            raise NotFound()
        price = perk.points_price
        if offered_price is not None and offered_price != price:
            raise Conflict(
                ngettext(
                    "This reward now costs %(price)s point, not %(offered)s: nothing was "
                    "spent. Check it and spend again.",
                    "This reward now costs %(price)s points, not %(offered)s: nothing was "
                    "spent. Check it and spend again.",
                    price,
                    price=format_number(price),
                    offered=format_number(offered_price),
                )
            )
        me = points.lock_person(person.id)
        if me is None or not me.active:
            raise NotEligible()
        have = points.received_balance(me.id)
        if have < price:
            raise LimitReached(
                ngettext(
                    "This reward costs %(price)s point; you have %(have)s.",
                    "This reward costs %(price)s points; you have %(have)s.",
                    price,
                    price=format_number(price),
                    have=format_number(have),
                )
            )
        claim = grant_claim(perk, me, today=today, source="points")
        points.append_entry(
            user_id=me.id, kind=PointsEntryKind.REWARD, points=-price, claim_id=claim.id
        )
    return claim
