"""Claiming perks, using claims at a counter, reminding holders before they end, and
expiring them.

Stock can never go below zero or be handed out twice, even with many simultaneous claims:
counted stock falls by a conditional UPDATE, pooled codes are taken with a row lock that
skips rows other transactions hold (PostgreSQL), and a person's claims in a period each take
a numbered slot under a unique constraint, so a second simultaneous claim over the limit fails
at the database.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from perks import audit
from perks.catalog import eligibility
from perks.catalog.events import claim_used
from perks.catalog.models import (
    REFERENCE_LENGTH,
    Allocation,
    Claim,
    ClaimStatus,
    CodeMode,
    LimitPeriod,
    Perk,
    PerkCode,
    PerkKind,
    PerkStatus,
)
from perks.db import affected_rows, among, transaction, utcnow
from perks.errors import Conflict, LimitReached, NotEligible, NotFound, SoldOut
from perks.extensions import db
from perks.i18n import company_today, day_start, format_day, format_moment
from perks.notifications import both, link, notify
from perks.people.models import User
from perks.text import trim

#: a holder is told this many days before a claim's last day that it ends (a claim made
#: that same day waits for the next)
REMINDER_DAYS = 7

#: claims that count against a person's limit
LIVE_STATUSES = (ClaimStatus.CLAIMED, ClaimStatus.USED, ClaimStatus.EXPIRED)


def claims_in_period(perk: Perk, user_id: int, key: str) -> int:
    return (
        db.session.scalar(
            select(func.count()).where(
                Claim.perk_id == perk.id,
                Claim.user_id == user_id,
                Claim.period_key == key,
                Claim.slot.is_not(None),
            )
        )
        or 0
    )


def available_codes(perk_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count()).where(PerkCode.perk_id == perk_id, PerkCode.claim_id.is_(None))
        )
        or 0
    )


def claim_perk(perk_id: int, user: User, *, today: date | None = None) -> Claim:
    """Claim a first-come perk for ``user`` and hand out its code.

    Raises:
        NotFound: no such published perk.
        NotEligible: the person or the day does not meet the rules (reasons in details), or
            the perk is a reward, bought with points (``perks.recognition.kudos.spend_points``).
        LimitReached: the person's limit for this period is used up.
        SoldOut: no stock or codes left.
    """
    today = today or company_today()
    with transaction():
        perk = db.session.get(Perk, perk_id)
        if perk is None or perk.status is not PerkStatus.PUBLISHED:
            raise NotFound()
        if perk.allocation is Allocation.DRAW:
            raise NotEligible(_("This perk is allocated by a draw: enter the draw instead."))
        if perk.points_price is not None:
            raise NotEligible(
                _("This perk is a reward: spend your points on it on the Rewards page.")
            )
        return grant_claim(perk, user, today=today, source="claim")


def grant_claim(perk: Perk, user: User, *, today: date, source: str) -> Claim:
    """Check the rules, take stock and a code, and add the claim (flush only).

    Raises:
        NotEligible, LimitReached, SoldOut: as ``claim_perk``.
    """
    reasons = eligibility.window_reasons(perk, today) + eligibility.audience_reasons(
        perk, user, today
    )
    if reasons:
        raise NotEligible(reasons[0].message, reasons=[r.code for r in reasons])
    return _grant_within_limit(perk, user, today=today, source=source)


def grant_seat(perk: Perk, user: User, *, today: date) -> Claim:
    """Give a draw's winner their seat (``source="draw"``): the stock and the per-person limit
    apply; the perk's window and audience do not, since who may win was settled when they
    entered (and neither changes while a draw is under way). Flushes only.

    Raises:
        LimitReached: the person has as many of the perk as its limit allows.
        SoldOut: no stock (or code) left.
    """
    return _grant_within_limit(perk, user, today=today, source="draw")


def _grant_within_limit(perk: Perk, user: User, *, today: date, source: str) -> Claim:
    """The claim, if the person's limit allows: stock, slot and code. Raises LimitReached,
    SoldOut."""
    key = eligibility.period_key(perk.limit_period, today)
    limit = eligibility.limit_reason(perk, len(_live_slots(perk.id, user.id, key)), today)
    if limit is not None:
        raise LimitReached(limit.message)
    code_row = _take_stock(perk)
    claim = _take_slot(perk, user, key=key, today=today, source=source)
    _hand_out(perk, claim, code_row)
    return claim


def grant_gift(perk: Perk, user: User, *, today: date) -> Claim:
    """Give ``user`` the gift perk ``perk`` (``source="gift"``) and hand out its code: a
    code from the pool, the shared code or the claim's reference as a voucher number.

    Gifts are given, not claimed: the perk's start, audience and per-person limit do not
    apply (the gift programme chose the person); its stock and its end do (a claim lasts
    until the perk's ``ends_on``: given after it, the code would be no longer valid on the
    day it comes). Flushes only.

    Raises:
        NotEligible: the perk is not a published gift, or it ended before ``today``.
        SoldOut: no code or stock left.
    """
    if perk.kind is not PerkKind.GIFT or perk.status is not PerkStatus.PUBLISHED:
        raise NotEligible(_("Only a published perk of kind gift can be given."))
    if perk.ends_on is not None and perk.ends_on < today:
        raise NotEligible(
            _(
                "This gift ended on %(date)s: extend it or choose another gift.",
                date=format_day(perk.ends_on),
            )
        )
    key = eligibility.period_key(LimitPeriod.YEAR, today)
    code_row = _take_stock(perk)
    claim = _take_slot(perk, user, key=key, today=today, source="gift", limited=False)
    _hand_out(perk, claim, code_row)
    return claim


def _hand_out(perk: Perk, claim: Claim, code_row: PerkCode | None) -> None:
    """Give the claim its code: the pool's, the shared one or its own reference (flush)."""
    if code_row is not None:
        code_row.claim_id = claim.id
        claim.code = code_row.code
    elif perk.code_mode is CodeMode.SHARED:
        claim.code = perk.shared_code
    else:
        claim.code = claim.reference
    db.session.flush()


def _live_slots(perk_id: int, user_id: int, key: str) -> set[int]:
    """The slots the person's live claims of the perk take in the period ``key``."""
    return set(
        db.session.scalars(
            select(Claim.slot).where(
                Claim.perk_id == perk_id,
                Claim.user_id == user_id,
                Claim.period_key == key,
                Claim.slot.is_not(None),
            )
        )
    )


def _take_slot(
    perk: Perk, user: User, *, key: str, today: date, source: str, limited: bool = True
) -> Claim:
    """Add the claim in the person's lowest free slot of the period (flush only).

    A cancelled claim leaves a gap (slot 1 free while slot 2 is live), so the slot is the
    lowest free number, not the count plus one. The unique (perk, person, period, slot)
    constraint settles simultaneous claims by one person: the one that loses a slot takes
    the next free one while the limit allows (always, when not ``limited``: a gift).

    Raises:
        LimitReached: every slot the limit allows is taken.
    """
    tried: set[int] = set()
    last_error: IntegrityError | None = None
    while True:
        taken = _live_slots(perk.id, user.id, key)
        slot = next(n for n in itertools.count(1) if n not in taken)
        if limited and perk.per_person_limit is not None and slot > perk.per_person_limit:
            reason = eligibility.limit_reason(perk, len(taken), today)
            raise LimitReached(reason.message if reason else None)
        if slot in tried and last_error is not None:
            # The slot is still free, so the last insert failed for another reason.
            raise last_error
        tried.add(slot)
        claim = Claim(
            perk_id=perk.id,
            user_id=user.id,
            period_key=key,
            slot=slot,
            claimed_at=utcnow(),
            expires_on=perk.ends_on,
            source=source,
            code="",
        )
        try:
            with db.session.begin_nested():
                db.session.add(claim)
                db.session.flush()
        except IntegrityError as error:
            last_error = error  # most likely a simultaneous claim took this slot first
            continue
        return claim


def _take_stock(perk: Perk) -> PerkCode | None:
    """Take one unit: a free pool code, or one from the counted stock.

    Raises:
        SoldOut: nothing left.
    """
    if perk.code_mode is CodeMode.POOL:
        query = (
            select(PerkCode)
            .where(PerkCode.perk_id == perk.id, PerkCode.claim_id.is_(None))
            .order_by(PerkCode.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        code_row = db.session.scalar(query)
        if code_row is None:
            raise SoldOut()
        return code_row
    if perk.remaining_stock is not None:
        taken = db.session.execute(
            update(Perk)
            .where(Perk.id == perk.id, Perk.remaining_stock > 0)
            .values(remaining_stock=Perk.remaining_stock - 1)
            .execution_options(synchronize_session=False)
        )
        if affected_rows(taken) != 1:
            raise SoldOut()
        db.session.expire(perk, ["remaining_stock"])
    return None


def own_claim(claim_id: int, user: User) -> Claim:
    """The person's own claim. Raises NotFound for anyone else's (no existence leak)."""
    claim = db.session.get(Claim, claim_id)
    if claim is None or claim.user_id != user.id:
        raise NotFound()
    return claim


def my_claims(user: User) -> list[Claim]:
    return list(
        db.session.scalars(
            select(Claim).where(Claim.user_id == user.id).order_by(Claim.claimed_at.desc())
        )
    )


def _use(claim: Claim, by: User) -> None:
    """Mark the claim used by ``by``, once, even when two counters scan it at the same time.

    Raises:
        Conflict: already used (when and by whom), expired or cancelled, or its holder has
            left the company (deactivated, or their leaving date has come).
    """
    if claim.status is ClaimStatus.CLAIMED and why_not_usable(claim) is None:
        now = utcnow()
        # Conditional: of two simultaneous uses, the second finds the claim used and says so.
        taken = db.session.execute(
            update(Claim)
            .where(Claim.id == claim.id, Claim.status == ClaimStatus.CLAIMED)
            .values(status=ClaimStatus.USED, used_at=now, used_by_id=by.id, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.refresh(claim)
        if affected_rows(taken) == 1:
            claim_used.send(claim, used_by=by)
            return
    raise Conflict(why_not_usable(claim) or _("This claim is %(status)s.", status="?"))


def _past_last_day(claim: Claim) -> bool:
    """The claim's last day has passed, though the scheduled run has not marked it expired
    yet (it runs every few minutes, or was down)."""
    return claim.expires_on is not None and claim.expires_on < company_today()


def status_now(claim: Claim) -> ClaimStatus:
    """The claim's status as its holder should see it: expired once its last day has passed,
    though the scheduled run has not marked it yet (it can no longer be used)."""
    if claim.status is ClaimStatus.CLAIMED and _past_last_day(claim):
        return ClaimStatus.EXPIRED
    return claim.status


def why_not_usable(claim: Claim) -> str | None:
    """Why a redeemer cannot mark ``claim`` used now (already used: when and by whom, expired
    or past its last day, cancelled, its holder gone: deactivated, or their leaving date
    has come, though the leavers' task has not ended the claim yet), in the user's language;
    None when they can."""
    if claim.status is ClaimStatus.CLAIMED:
        if _past_last_day(claim):
            assert claim.expires_on is not None
            return _("This claim ended on %(date)s.", date=format_day(claim.expires_on))
        holder = claim.user
        if holder.has_left(company_today()):
            assert holder.leaving_date is not None
            return _(
                "%(name)s left the company on %(date)s: this claim can no longer be used.",
                name=holder.name,
                date=format_day(holder.leaving_date),
            )
        if not holder.active:
            return _(
                "%(name)s is no longer with the company: this claim can no longer be used.",
                name=holder.name,
            )
        return None
    if claim.status is ClaimStatus.USED:
        who = claim.used_by.name if claim.used_by else "?"
        return _(
            "Already used on %(when)s by %(name)s.",
            when=format_moment(claim.used_at, "short"),
            name=who,
        )
    return _("This claim is %(status)s.", status=claim.status.label.lower())


def mark_claim_used(claim_id: int, user: User) -> Claim:
    """The person marks their own claim used.

    Raises:
        NotFound: not their claim.
        Conflict: already used (says when and by whom), expired or cancelled.
    """
    with transaction():
        claim = own_claim(claim_id, user)
        _use(claim, user)
        return claim


def find_claim_by_code(code: str) -> Claim:
    """The claim a redeemer's scan or typed code points at: its reference, or a pool code.

    Raises:
        NotFound: nothing matches, or a perk's shared code (shared codes are not unique:
            they need the reference, and the message says so).
        Conflict: the code was handed out by several perks' pools (only the reference says
            which claim is meant).
    """
    code = trim(code)  # a code copied from a chat may bring invisible characters around it
    text = code.upper()
    if not text:
        raise NotFound(_("Enter or scan a code."))
    # Typed with spaces, without its dashes, in any case: "pk 7hx4 m2qd", "PK7HX4M2QD".
    compact = "".join(text.split()).replace("-", "")
    reference = (
        f"PK-{compact[2:6]}-{compact[6:]}"
        if len(compact) == REFERENCE_LENGTH and compact.startswith("PK")
        else text
    )
    claim = db.session.scalar(select(Claim).where(Claim.reference == reference))
    if claim is not None:
        return claim
    # Pool codes are unique within a perk only: two partners may use the same code. As
    # typed first; else spaces and dashes aside ("hl00031sv" for "HL-00031-SV").
    matches = _claims_with_pool_code(func.upper(PerkCode.code), text) or _claims_with_pool_code(
        func.upper(func.replace(func.replace(PerkCode.code, "-", ""), " ", "")), compact
    )
    if not matches:
        shared = _perk_sharing_code(text, compact)
        if shared is not None:
            # Everyone who claims the perk holds the same code: it cannot say whose claim.
            raise NotFound(
                _(
                    "%(code)s is the code everyone who claims %(perk)s gets: scan the QR "
                    "code or type the claim reference instead.",
                    code=code,
                    perk=shared.title,
                )
            )
        raise NotFound(_("No claim has the code %(code)s.", code=code))
    if len(matches) > 1:
        raise Conflict(
            _(
                "Several claims have the code %(code)s: scan the QR code or type the "
                "claim reference instead.",
                code=code,
            )
        )
    return matches[0]


def _perk_sharing_code(text: str, compact: str) -> Perk | None:
    """A perk whose shared code (the one code every claim of it shows) reads ``text``, as
    typed or with spaces and dashes aside; None when no perk shares such a code."""
    column = func.upper(Perk.shared_code)
    bare = func.replace(func.replace(column, "-", ""), " ", "")
    return db.session.scalar(
        select(Perk)
        .where(Perk.code_mode == CodeMode.SHARED, (column == text) | (bare == compact))
        .limit(1)
    )


def _claims_with_pool_code(column: Any, text: str) -> list[Claim]:
    """At most two claims handed a pool code that reads ``text`` as ``column`` reads it."""
    return list(
        db.session.scalars(
            select(Claim)
            .join(PerkCode, PerkCode.claim_id == Claim.id)
            .where(column == text)
            .limit(2)
        )
    )


def claim_code_of(code: str) -> str | None:
    """What the perk counter looks ``code`` up by when a claim has it: the claim's reference
    (the code itself when several perks' pools share it); None when no claim has it."""
    try:
        return find_claim_by_code(code).reference
    except NotFound:
        return None
    except Conflict:
        return trim(code).upper()


def redeem_claim(code: str, redeemer: User) -> Claim:
    """A redeemer marks a claim used at the counter.

    Raises:
        NotFound: no claim with this code.
        Conflict: already used (when and by whom), expired or cancelled.
    """
    with transaction():
        claim = find_claim_by_code(code)
        _use(claim, redeemer)
        audit.record(
            "catalog.claim_redeemed", actor=redeemer, target=claim, reference=claim.reference
        )
        return claim


def remind_expiring_claims(today: date | None = None) -> int:
    """Tell the holder of each unused claim whose last day is at most ``REMINDER_DAYS`` away
    that it ends then (notification ``claim_expiring``), once per claim; a claim made today
    waits for tomorrow, and a holder who has left (deactivated, or whose leaving date has
    come) is not told. Returns how many claims were
    picked.

    One conditional UPDATE stamps ``reminded_on`` on the claims it picks: idempotent, and
    safe from several hosts at once (a claim already stamped no longer matches). A missed
    run is caught up by the next while the claim has days left. Raises nothing.
    """
    today = today or company_today()
    with transaction():
        picked = db.session.scalars(
            update(Claim)
            .where(
                Claim.status == ClaimStatus.CLAIMED,
                Claim.reminded_on.is_(None),
                Claim.expires_on >= today,
                Claim.expires_on <= today + timedelta(days=REMINDER_DAYS),
                Claim.claimed_at < day_start(today),
            )
            .values(reminded_on=today)
            .returning(Claim.id)
            .execution_options(synchronize_session=False)
        ).all()
        for condition in among(Claim.id, picked):
            reminded = db.session.scalars(
                select(Claim).where(condition).options(selectinload(Claim.user)).order_by(Claim.id)
            )
            for claim in reminded:
                # on their leaving day the holder is still active until the leavers' task
                # runs (after this one in the tick), and the last administrator for good
                if claim.user.active and not claim.user.has_left(today):
                    notify(
                        claim.user,
                        "claim_expiring",
                        {"perk": both(claim.perk, "title"), "date": claim.expires_on},
                        url=link("catalog.my_claim", claim_id=claim.id),
                    )
        return len(picked)


def expire_claims(today: date | None = None) -> int:
    """Expire unused claims whose perk has ended. Idempotent; safe on several hosts at once."""
    today = today or company_today()
    with transaction():
        result = db.session.execute(
            update(Claim)
            .where(Claim.status == ClaimStatus.CLAIMED, Claim.expires_on < today)
            .values(status=ClaimStatus.EXPIRED, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return affected_rows(result)
