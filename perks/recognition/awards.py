"""Achievements: HR's awards (``create_award``, ``update_award``), managers' nominations of
people of their team (``nominate``, ``withdraw``) and HR's answers (``approve``,
``decline``), each one transaction, audited.

A nomination moves through one state machine, written once in ``TRANSITIONS`` and changed
only by ``move``: pending → approved | declined, or withdrawn by its nominator while pending.
Approving grants the award's gift (``perks.catalog.claims.grant_gift``, as gift programmes
do) and records the award's points on the nomination, in the same transaction; the
nomination's row is locked first (PostgreSQL) and its state checked, so two HR people
approving at once grant once. ``credit_award_points`` is the one place points are credited.
The nominee and the nominator are told by e-mail through the outbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from perks import audit, sent_once
from perks.catalog.claims import grant_gift
from perks.db import locked, transaction, utcnow
from perks.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from perks.extensions import db
from perks.fingerprints import fingerprint
from perks.folding import alphabetical
from perks.i18n import company_today, format_number
from perks.notifications import both, link, notify
from perks.people.models import Role, User
from perks.recognition import points
from perks.recognition.gifts import check_gift_perk
from perks.recognition.models import Award, Nomination, NominationState
from perks.recognition.points_models import PointsEntryKind
from perks.recognition.services import both_languages
from perks.text import trim
from perks.urls import absolute_url

N = NominationState

#: for each state, the states a nomination may come from
TRANSITIONS: dict[NominationState, frozenset[NominationState]] = {
    N.PENDING: frozenset(),
    N.APPROVED: frozenset({N.PENDING}),
    N.DECLINED: frozenset({N.PENDING}),
    N.WITHDRAWN: frozenset({N.PENDING}),
}

#: the longest reason a nominator or HR may give
MAX_REASON = 2000


class NominationRefused(Conflict):
    """A nomination was asked to move to a state it cannot reach from where it is."""

    default_message = _l("This nomination cannot change that way.")

    def __init__(self, nomination: Nomination, target: NominationState) -> None:
        super().__init__(
            _(
                "A nomination that is %(source)s cannot become %(target)s.",
                source=nomination.state.label,
                target=target.label,
            ),
            nomination_id=nomination.id,
            source=nomination.state.value,
            target=target.value,
        )


def can_move(nomination: Nomination, target: NominationState) -> bool:
    """True when ``nomination`` may go from its state to ``target``."""
    return nomination.state in TRANSITIONS[target]


def move(nomination: Nomination, target: NominationState) -> None:
    """Change the state, or raise ``NominationRefused`` (the one place states change)."""
    if not can_move(nomination, target):
        raise NominationRefused(nomination, target)
    nomination.state = target


@dataclass(frozen=True)
class AwardData:
    """What HR sets on an award."""

    name_vi: str
    name_en: str
    description_vi: str
    description_en: str
    perk_id: int | None
    points: int
    active: bool = True


# --- reading --------------------------------------------------------------------------------


def awards(*, active_only: bool = False) -> list[Award]:
    """Awards, active ones first, by Vietnamese name. Raises nothing."""
    statement = select(Award).order_by(Award.active.desc(), *alphabetical(Award.name_vi), Award.id)
    if active_only:
        statement = statement.where(Award.active.is_(True))
    return list(db.session.scalars(statement))


def get_award(award_id: int) -> Award:
    """Raises NotFound: no such award."""
    award = db.session.get(Award, award_id)
    if award is None:
        raise NotFound()
    return award


def team(manager: User) -> list[User]:
    """The active people whose manager ``manager`` is, who have started (their hire date has
    come) and whose leaving date has not come, by name: whom they may nominate. Raises
    nothing."""
    today = company_today()
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.manager_id == manager.id,
                User.active.is_(True),
                # nor anyone whose leaving date has come (active until the leavers' task
                # runs, and for good as the last administrator)
                or_(User.leaving_date.is_(None), User.leaving_date > today),
                # nor anyone imported ahead of their first day: with the company from their
                # hire date, as kudos, gifts and surveys count them
                or_(User.hire_date.is_(None), User.hire_date <= today),
            )
            .order_by(*alphabetical(User.name), User.id)
        )
    )


def pending(viewer: User) -> list[Nomination]:
    """Nominations waiting for HR, oldest first, but for those of ``viewer`` (an HR person
    nominated by their manager never reads their own nomination: a nominee may not know of
    it, and is never told of a decline). Raises nothing."""
    return list(
        db.session.scalars(
            select(Nomination)
            .where(Nomination.state == N.PENDING, Nomination.nominee_id != viewer.id)
            .order_by(Nomination.created_at, Nomination.id)
        )
    )


def already_received(nominations: Sequence[Nomination]) -> dict[int, date]:
    """For each of ``nominations`` whose nominee already received its award (an approved
    nomination for the same award), the day they last received it, by nomination id: HR
    sees it before approving the same award again. Raises nothing."""
    pairs = {(n.award_id, n.nominee_id) for n in nominations}
    if not pairs:
        return {}
    rows = db.session.execute(
        select(Nomination.award_id, Nomination.nominee_id, func.max(Nomination.decided_on))
        .where(
            Nomination.state == N.APPROVED,
            Nomination.nominee_id.in_({nominee for _, nominee in pairs}),
            Nomination.award_id.in_({award for award, _ in pairs}),
        )
        .group_by(Nomination.award_id, Nomination.nominee_id)
    )
    last = {(award, nominee): day for award, nominee, day in rows if day is not None}
    return {
        n.id: last[(n.award_id, n.nominee_id)]
        for n in nominations
        if (n.award_id, n.nominee_id) in last
    }


def decided(viewer: User, limit: int = 20) -> list[Nomination]:
    """The latest nominations HR or their nominator settled, newest first, but for those of
    ``viewer`` (as ``pending``). Raises nothing."""
    return list(
        db.session.scalars(
            select(Nomination)
            .where(Nomination.state != N.PENDING, Nomination.nominee_id != viewer.id)
            .order_by(Nomination.decided_at.desc(), Nomination.id.desc())
            .limit(limit)
        )
    )


def nominations_by(nominator: User) -> list[Nomination]:
    """The nominations ``nominator`` made, newest first. Raises nothing."""
    return list(
        db.session.scalars(
            select(Nomination)
            .where(Nomination.nominator_id == nominator.id)
            .order_by(Nomination.created_at.desc(), Nomination.id.desc())
        )
    )


def awards_of(person: User) -> list[Nomination]:
    """The person's approved nominations (their awards), newest first. Raises nothing."""
    return list(
        db.session.scalars(
            select(Nomination)
            .where(Nomination.nominee_id == person.id, Nomination.state == N.APPROVED)
            .order_by(Nomination.decided_at.desc(), Nomination.id.desc())
        )
    )


# --- HR's awards ----------------------------------------------------------------------------


def _check(data: AwardData) -> AwardData:
    """Raises ValidationFailed naming the field at fault."""
    name_vi, name_en = both_languages(data.name_vi, data.name_en, "name")
    description_vi, description_en = both_languages(
        data.description_vi,
        data.description_en,
        "description",
        _l("Describe the award in both languages."),
    )
    if data.perk_id is not None:
        check_gift_perk(data.perk_id)
    if data.points < 0:
        raise ValidationFailed(str(_l("Points cannot be negative.")), field="points")
    return AwardData(
        name_vi=name_vi,
        name_en=name_en,
        description_vi=description_vi,
        description_en=description_en,
        perk_id=data.perk_id,
        points=data.points,
        active=data.active,
    )


def _described(award: Award) -> dict[str, object]:
    return {
        "name_vi": award.name_vi,
        "name_en": award.name_en,
        "description_vi": award.description_vi,
        "description_en": award.description_en,
        "perk_id": award.perk_id,
        "points": award.points,
        "active": award.active,
    }


def _apply(award: Award, data: AwardData) -> None:
    award.name_vi, award.name_en = data.name_vi, data.name_en
    award.description_vi, award.description_en = data.description_vi, data.description_en
    award.perk_id, award.points, award.active = data.perk_id, data.points, data.active


def create_award(data: AwardData, *, actor: User, sending: str | None = None) -> Award:
    """Add an award (``recognition.award_created``).

    Raises:
        ValidationFailed: a name or description missing, not a published gift perk,
            negative points.
    """
    data = _check(data)
    with transaction():
        if (earlier := sent_once.made_before(Award, sending, actor)) is not None:
            return earlier
        award = Award(created_by_id=actor.id)
        _apply(award, data)
        db.session.add(award)
        db.session.flush()
        sent_once.remember(sending, award, actor)
        audit.record("recognition.award_created", actor=actor, target=award, **_described(award))
    return award


def shown_fingerprint(award: Award) -> str:
    """The fingerprint (``perks.fingerprints``) of what the award's edit page shows of it:
    every value of its form. The form sends it back, and ``update_award`` refuses a save
    when it no longer matches. Raises nothing."""
    return fingerprint(_described(award))


def update_award(award_id: int, data: AwardData, *, actor: User, shown: str | None = None) -> Award:
    """Change an award (``recognition.award_changed``, old and new values). Nominations
    already approved keep what they brought; pending ones bring the award as it is when
    approved.

    ``shown`` is the ``shown_fingerprint`` of the award as the page showed it: a page opened
    before another HR person saved the award must not overwrite their change unseen. ``None``
    checks nothing. Saves take turns (the row is locked), so of two saves from the same page
    the second sees the first.

    Raises:
        NotFound: no such award.
        ValidationFailed: as ``create_award``.
        ChangedMeanwhile: the award is no longer what the page showed; nothing is saved.
    """
    data = _check(data)
    with transaction():
        award = locked(Award, award_id)
        if award is None:
            raise NotFound()
        if shown is not None and shown != shown_fingerprint(award):
            raise audit.changed_meanwhile(award, "recognition.award_")
        before = _described(award)
        _apply(award, data)
        db.session.flush()
        changes = audit.changes(before, _described(award))
        if changes:
            audit.record("recognition.award_changed", actor=actor, target=award, changes=changes)
    return award


# --- nominations ----------------------------------------------------------------------------


def _reason(text: str, field: str, message: object) -> str:
    reason = trim(text)
    if not reason:
        raise ValidationFailed(str(message), field=field)
    if len(reason) > MAX_REASON:
        raise ValidationFailed(
            str(_l("At most %(count)s characters.", count=format_number(MAX_REASON))),
            field=field,
        )
    return reason


def nominate(award_id: int, nominee_id: int, reason: str, *, actor: User) -> Nomination:
    """``actor`` nominates a person of their team for an award
    (``recognition.nomination_made``). HR is not told by e-mail: the queue shows it.

    Raises:
        ValidationFailed: no reason given (``field="reason"``), the award is not active
            (``field="award_id"``), or the person is already nominated for it and HR has
            not decided yet (``field="nominee_id"``): a second would be approved twice.
        NotPermitted: ``actor`` is not a manager, or the nominee is not an active person of
            their team who has started and not left (nobody nominates themselves).
        NotFound: no such award.
    """
    reason = _reason(reason, "reason", _l("Say why this person deserves the award."))
    if not actor.has_role(Role.MANAGER):
        raise NotPermitted()
    with transaction():
        award = get_award(award_id)
        if not award.active:
            raise ValidationFailed(
                str(_l("This award takes no nominations now.")), field="award_id"
            )
        # the nominee's row locked: two submissions at once see each other's nomination
        nominee = points.lock_person(nominee_id)
        today = company_today()
        if (
            nominee is None
            or nominee.manager_id != actor.id
            or not nominee.active
            or nominee.has_left(today)
            or (nominee.hire_date is not None and today < nominee.hire_date)
        ):
            raise NotPermitted(_("You can nominate only active people of your team."))
        pending = db.session.scalar(
            select(Nomination.id).where(
                Nomination.award_id == award.id,
                Nomination.nominee_id == nominee.id,
                Nomination.state == N.PENDING,
            )
        )
        if pending is not None:
            raise ValidationFailed(
                str(
                    _l(
                        "%(name)s is already nominated for this award: HR has not decided yet.",
                        name=nominee.name,
                    )
                ),
                field="nominee_id",
            )
        nomination = Nomination(
            award_id=award.id,
            nominee_id=nominee.id,
            nominator_id=actor.id,
            reason=reason,
            state=N.PENDING,
        )
        db.session.add(nomination)
        db.session.flush()
        audit.record(
            "recognition.nomination_made",
            actor=actor,
            target=nomination,
            award_id=award.id,
            nominee_id=nominee.id,
        )
    return nomination


def _locked(nomination_id: int) -> Nomination:
    """The nomination, its row locked until the transaction ends (PostgreSQL) and read
    afresh, so two decisions at once see each other's.

    Raises:
        NotFound: no such nomination.
    """
    nomination = db.session.scalar(
        select(Nomination)
        .where(Nomination.id == nomination_id)
        .with_for_update(of=Nomination)
        .execution_options(populate_existing=True)
    )
    if nomination is None:
        raise NotFound()
    return nomination


def _settle(nomination: Nomination, target: NominationState, actor: User, reason: str) -> None:
    move(nomination, target)
    nomination.decided_by_id = actor.id
    nomination.decided_at = utcnow()
    nomination.decided_on = company_today()
    nomination.decision_reason = reason


def withdraw(nomination_id: int, *, actor: User) -> Nomination:
    """The nominator takes back their pending nomination (``recognition.nomination_withdrawn``).

    Raises:
        NotFound: no such nomination, or not ``actor``'s.
        NominationRefused: it is no longer pending.
    """
    with transaction():
        nomination = _locked(nomination_id)
        if nomination.nominator_id != actor.id:
            raise NotFound()
        _settle(nomination, N.WITHDRAWN, actor, "")
        audit.record("recognition.nomination_withdrawn", actor=actor, target=nomination)
    return nomination


def _may_decide(nomination: Nomination, actor: User) -> None:
    """Raises NotPermitted: not HR, or HR deciding on their own nomination or award."""
    if not actor.has_role(Role.HR):
        raise NotPermitted()
    if actor.id in (nomination.nominator_id, nomination.nominee_id):
        raise NotPermitted(_("Another HR person decides on a nomination you are part of."))


def credit_award_points(nomination: Nomination) -> None:
    """Credit the award's points to the nominee for ``nomination`` (just approved): recorded
    on the nomination and, when there are any, an ``award`` entry of the points ledger the
    nominee may spend on rewards (unique per nomination). Flushes only."""
    nomination.points = nomination.award.points
    if nomination.points > 0:
        points.append_entry(
            user_id=nomination.nominee_id,
            kind=PointsEntryKind.AWARD,
            points=nomination.points,
            nomination_id=nomination.id,
        )
    db.session.flush()


def offered_fingerprint(award: Award) -> str:
    """The fingerprint (``perks.fingerprints``) of what the queue's Approve button offers of
    ``award``: its gift and its points. The button sends it back, and ``approve`` refuses an
    approval when it no longer matches. Raises nothing."""
    return fingerprint({"perk_id": award.perk_id, "points": award.points})


def approve(
    nomination_id: int, *, actor: User, today: date | None = None, offered: str | None = None
) -> Nomination:
    """HR approves a pending nomination (``recognition.nomination_approved``): the nominee
    receives the award's gift (a claim of its perk, with its code) and its points, and the
    nominee and nominator are told. Two approvals at once grant once: the second finds the
    nomination approved and is refused.

    ``offered`` is the ``offered_fingerprint`` of the award as the queue showed it (the gift
    and the points its confirmation named): an award another HR person changed since is not
    granted until the approver has seen it as it is. ``None`` checks nothing. The award's row
    is locked: an approval and a save of the award take turns.

    Raises:
        NotFound: no such nomination.
        NotPermitted: not HR, or HR is the nominator or the nominee.
        NominationRefused: it is no longer pending.
        Conflict: the nominee has left the company (deactivated, or their leaving date has
            come by ``today``; decline it instead: nothing is approved); or the award's gift
            or points are no longer what ``offered`` says (nothing is approved).
        SoldOut: the gift perk has no code or stock left (nothing is approved).
        NotEligible: the gift perk is no longer a published gift, or it has ended (nothing
            is approved).
    """
    today = today or company_today()
    with transaction():
        nomination = _locked(nomination_id)
        _may_decide(nomination, actor)
        if not nomination.nominee.active or nomination.nominee.has_left(today):
            raise Conflict(
                str(
                    _l(
                        "%(name)s has left the company: an award cannot be given to them. "
                        "Decline the nomination, with the reason.",
                        name=nomination.nominee.name,
                    )
                )
            )
        award = locked(Award, nomination.award_id)
        assert award is not None  # a nomination's award is never deleted
        if offered is not None and offered != offered_fingerprint(award):
            raise Conflict(
                str(
                    _l(
                        "“%(award)s” changed after this page showed it (its gift or its "
                        "points): nothing is approved. Check what it brings now and approve "
                        "again.",
                        award=award.name,
                    )
                )
            )
        _settle(nomination, N.APPROVED, actor, "")
        code = ""
        if award.perk is not None:
            claim = grant_gift(award.perk, nomination.nominee, today=today)
            nomination.claim_id = claim.id
            code = claim.code
        credit_award_points(nomination)
        audit.record(
            "recognition.nomination_approved",
            actor=actor,
            target=nomination,
            award_id=award.id,
            nominee_id=nomination.nominee_id,
            points=nomination.points,
            claim_id=nomination.claim_id,
        )
        _tell(nomination, "award_approved", today=today, code=code)
    return nomination


def decline(nomination_id: int, reason: str, *, actor: User) -> Nomination:
    """HR declines a pending nomination with a reason (``recognition.nomination_declined``);
    the nominator is told why unless they have left the company (the nominee, who may not
    know of it, is not).

    Raises:
        ValidationFailed: no reason (``field="reason"``).
        NotFound: no such nomination.
        NotPermitted: not HR, or HR is the nominator or the nominee.
        NominationRefused: it is no longer pending (but declined by ``actor`` with this
            very reason: the same decline sent again, returned as it is, nobody told again).
    """
    reason = _reason(reason, "reason", _l("Say why the nomination is declined."))
    with transaction():
        nomination = _locked(nomination_id)
        _may_decide(nomination, actor)
        if (
            nomination.state is N.DECLINED
            and nomination.decided_by_id == actor.id
            and nomination.decision_reason == reason
        ):
            return nomination  # the same decline sent again (a double tap): nothing more
        _settle(nomination, N.DECLINED, actor, reason)
        audit.record(
            "recognition.nomination_declined", actor=actor, target=nomination, reason=reason
        )
        _tell(nomination, "nomination_declined")
    return nomination


def _tell(
    nomination: Nomination, template: str, *, today: date | None = None, code: str = ""
) -> None:
    """Tell of the decision through the notification centre (flush only): an approval to
    the nominee (``award_received``) and the nominator (``nomination_approved``), a decline
    to the nominator (``nomination_declined``). Not a nominator who has left the company
    (deactivated, or their leaving date come by ``today``): they no longer sign in, and HR's
    reason is about someone still with it."""
    today = today or company_today()
    people = [nomination.nominator]
    if nomination.state is N.APPROVED:
        people.insert(0, nomination.nominee)
    for person in people:
        if not person.active or person.has_left(today):
            continue
        is_nominee = person.id == nomination.nominee_id
        if is_nominee:
            kind = "award_received"
            url = link("recognition.award_list")
        else:
            kind = "nomination_approved" if template == "award_approved" else "nomination_declined"
            url = link("recognition.my_nominations")
        notify(
            person,
            kind,
            {
                "award": both(nomination.award, "name"),
                "nominee": nomination.nominee.name,
                "nominator": nomination.nominator.name,
                "reason": nomination.decision_reason or "",
            },
            url=url,
            email={
                "nominee": nomination.nominee,
                "is_nominee": is_nominee,
                "award_name": nomination.award.localized("name", person.locale),
                "perk_title": (
                    nomination.award.perk.localized("title", person.locale)
                    if nomination.award.perk is not None
                    else ""
                ),
                "code": code if is_nominee else "",
                "points": nomination.points,
                "points_url": absolute_url("points.mine"),
                "reason": nomination.decision_reason,
                "claim_url": (
                    absolute_url("catalog.my_claim", claim_id=nomination.claim_id)
                    if nomination.claim_id
                    else ""
                ),
            },
        )
