"""Fair draws for scarce perks: anyone can check that nobody chose the winners.

1. When entries open, a random secret seed is made and its SHA-256 (the *commitment*) is
   published on the draw page. The seed itself stays secret.
2. Eligible people enter (one entry each); each entry gets a random public key.
3. At the draw the seed is revealed. Entries are ordered by SHA-256("<seed>:<key>") as hex,
   ascending; if the draw says so, people who won this perk in its last N draws come after
   everyone else. The first ``seats`` entries win; the rest form the waiting list, in order.
4. Anyone can check that SHA-256(seed) equals the commitment published before the draw, and
   recompute the order from the seed and the list of keys: in the browser on the draw page,
   or with ``flask perks verify-draw ID``.

Because the seed was fixed (and committed to) before anyone entered, and entry keys are random,
nobody, not even an administrator, could steer the outcome without the commitment failing.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from perks import audit
from perks.catalog import eligibility
from perks.catalog.claims import company_today, grant_claim
from perks.catalog.models import (
    REFERENCE_ALPHABET,
    Allocation,
    Claim,
    ClaimStatus,
    Draw,
    DrawEntry,
    DrawStatus,
    EntryOutcome,
    Perk,
    PerkStatus,
)
from perks.db import transaction, utcnow
from perks.errors import Conflict, LimitReached, NotEligible, NotFound, SoldOut, ValidationFailed
from perks.extensions import db
from perks.notifications import both, link, notify
from perks.people.models import User

#: the method, exactly, in the reader's language (the code below is what it says)
METHOD = _l(
    "order = entries sorted by (won recently?, SHA-256(seed + ':' + key) as hex); "
    "winners = the first <seats>; waiting list = the rest, in order"
)


def commitment_of(seed: str) -> str:
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def entry_score(seed: str, key: str) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def draw_order(seed: str, keys: Iterable[str], deprioritised: Iterable[str] = ()) -> list[str]:
    """The draw's result: entry keys in order (winners first). Pure and deterministic."""
    later = set(deprioritised)
    return sorted(set(keys), key=lambda key: (key in later, entry_score(seed, key)))


def new_entry_key() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(10))


def get_draw(draw_id: int) -> Draw:
    """Raises NotFound."""
    draw = db.session.get(Draw, draw_id)
    if draw is None:
        raise NotFound()
    return draw


def current_draw(perk_id: int) -> Draw | None:
    """The perk's latest draw (open, or the last one drawn)."""
    return db.session.scalar(
        select(Draw).where(Draw.perk_id == perk_id).order_by(Draw.id.desc()).limit(1)
    )


def draw_entries(draw_id: int) -> list[DrawEntry]:
    return list(
        db.session.scalars(
            select(DrawEntry)
            .where(DrawEntry.draw_id == draw_id)
            .order_by(DrawEntry.position.is_(None), DrawEntry.position, DrawEntry.key)
        )
    )


def open_draw(
    perk_id: int,
    *,
    entries_close_at: datetime,
    decline_days: int = 7,
    recent_winner_draws: int = 0,
    show_names: bool = False,
    actor: User,
    now: datetime | None = None,
) -> Draw:
    """Open entries for a draw perk, committing to a fresh secret seed.

    Raises:
        NotFound: no such perk.
        Conflict: not a published draw perk, or a draw is already open.
        ValidationFailed: the closing time is in the past, or negative settings.
    """
    now = now or utcnow()
    if entries_close_at <= now:
        raise ValidationFailed(_("Entries must close in the future."))
    if decline_days < 0 or recent_winner_draws < 0:
        raise ValidationFailed(_("Use zero or more days and draws."))
    with transaction():
        perk = db.session.get(Perk, perk_id)
        if perk is None:
            raise NotFound()
        if perk.allocation is not Allocation.DRAW or perk.status is not PerkStatus.PUBLISHED:
            raise Conflict(_("Only a published perk allocated by draw can open a draw."))
        if not perk.remaining_stock:
            raise Conflict(_("No seats are left: raise the stock before opening a draw."))
        latest = current_draw(perk.id)
        if latest is not None and latest.status is DrawStatus.OPEN:
            raise Conflict(_("A draw is already open for this perk."))
        seed = secrets.token_hex(32)
        draw = Draw(
            perk_id=perk.id,
            seats=perk.remaining_stock or 0,
            entries_close_at=entries_close_at,
            decline_days=decline_days,
            recent_winner_draws=recent_winner_draws,
            show_names=show_names,
            seed=seed,
            commitment=commitment_of(seed),
            status=DrawStatus.OPEN,
        )
        db.session.add(draw)
        db.session.flush()
        audit.record("catalog.draw_opened", actor=actor, target=draw, commitment=draw.commitment)
        return draw


def enter_draw(perk_id: int, user: User, *, now: datetime | None = None) -> DrawEntry:
    """Enter the perk's open draw, once.

    Raises:
        NotFound: no such perk, or no open draw.
        NotEligible: the person does not meet the perk's rules.
        Conflict: entries have closed, or the person already entered.
    """
    now = now or utcnow()
    today = company_today()
    with transaction():
        perk = db.session.get(Perk, perk_id)
        draw = current_draw(perk_id) if perk else None
        if perk is None or draw is None or draw.status is not DrawStatus.OPEN:
            raise NotFound(_("There is no open draw for this perk."))
        if now >= _aware(draw.entries_close_at):
            raise Conflict(_("Entries for this draw have closed."))
        reasons = eligibility.window_reasons(perk, today) + eligibility.audience_reasons(
            perk, user, today
        )
        if reasons:
            raise NotEligible(reasons[0].message, reasons=[r.code for r in reasons])
        entry = DrawEntry(draw_id=draw.id, user_id=user.id, key=new_entry_key(), entered_at=now)
        try:
            with db.session.begin_nested():
                db.session.add(entry)
                db.session.flush()
        except IntegrityError as error:
            raise Conflict(_("You have already entered this draw.")) from error
        return entry


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes; every stored time is UTC.
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def recent_winners(draw: Draw) -> set[int]:
    """People who won this perk in its last ``recent_winner_draws`` draws."""
    if not draw.recent_winner_draws:
        return set()
    previous = (
        select(Draw.id)
        .where(Draw.perk_id == draw.perk_id, Draw.status == DrawStatus.DRAWN, Draw.id != draw.id)
        .order_by(Draw.id.desc())
        .limit(draw.recent_winner_draws)
    )
    return set(
        db.session.scalars(
            select(DrawEntry.user_id).where(
                DrawEntry.draw_id.in_(previous.scalar_subquery()),
                DrawEntry.outcome.in_([EntryOutcome.WON, EntryOutcome.DECLINED]),
            )
        )
    )


def run_draw(draw_id: int, *, actor: User | None, now: datetime | None = None) -> Draw:
    """Reveal the seed, order the entries, give winners their claims.

    A winner who can no longer take the seat (deactivated, no longer eligible, over the
    limit) is passed over and the next entry gets it.

    Raises:
        NotFound: no such draw.
        Conflict: already drawn, or entries are still open.
    """
    now = now or utcnow()
    with transaction():
        # OF draw: the joined perk is on the nullable side of an outer join, which
        # PostgreSQL refuses to lock ("FOR UPDATE cannot be applied to the nullable side").
        # populate_existing: a Draw already in the session (read before the lock was taken)
        # must show the state the lock protects, or a second host would draw it again.
        draw = db.session.scalar(
            select(Draw)
            .where(Draw.id == draw_id)
            .with_for_update(of=Draw)
            .execution_options(populate_existing=True)
        )
        if draw is None:
            raise NotFound()
        if draw.status is not DrawStatus.OPEN:
            raise Conflict(_("This draw has already been made."))
        if now < _aware(draw.entries_close_at):
            raise Conflict(_("Entries are still open."))
        entries = draw_entries(draw.id)
        later = recent_winners(draw)
        for entry in entries:
            entry.deprioritised = entry.user_id in later
        order = draw_order(
            draw.seed, [e.key for e in entries], [e.key for e in entries if e.deprioritised]
        )
        by_key = {entry.key: entry for entry in entries}
        draw.result = order
        draw.status = DrawStatus.DRAWN
        draw.drawn_at = now
        seats_left = draw.seats
        for position, key in enumerate(order, start=1):
            entry = by_key[key]
            entry.position = position
            if seats_left > 0 and _award(draw, entry, now):
                seats_left -= 1
            elif seats_left > 0:
                entry.outcome = EntryOutcome.LAPSED
            else:
                entry.outcome = EntryOutcome.WAITING
        audit.record(
            "catalog.draw_made", actor=actor, target=draw, entries=len(order), seats=draw.seats
        )
        return draw


def _award(draw: Draw, entry: DrawEntry, now: datetime) -> bool:
    """Give ``entry`` a seat (a claim) and tell its person. False when they cannot take it."""
    user = db.session.get(User, entry.user_id)
    if user is None or not user.active:
        return False
    try:
        with db.session.begin_nested():
            claim = grant_claim(draw.perk, user, today=company_today(), source="draw")
    except (NotEligible, LimitReached, SoldOut):
        return False
    entry.outcome = EntryOutcome.WON
    entry.claim_id = claim.id
    entry.decide_by = now + timedelta(days=draw.decline_days)
    notify(
        user,
        "draw_won",
        {"perk": both(draw.perk, "title"), "decide_by": entry.decide_by},
        url=link("catalog.my_claim", claim_id=claim.id),
    )
    return True


def decline_seat(entry_id: int, user: User, *, now: datetime | None = None) -> DrawEntry:
    """A winner gives up the seat before the deadline; the next on the waiting list gets it.

    Raises:
        NotFound: not the person's entry.
        Conflict: not a winning entry, or the deadline has passed.
    """
    now = now or utcnow()
    with transaction():
        entry = db.session.get(DrawEntry, entry_id)
        if entry is None or entry.user_id != user.id:
            raise NotFound()
        # Lock the draw, then read the entry and its claim again: of two declines at once
        # (a double click), the second must find the seat already given up, not free another.
        draw = db.session.scalar(
            select(Draw)
            .where(Draw.id == entry.draw_id)
            .with_for_update(of=Draw)
            .execution_options(populate_existing=True)
        )
        assert draw is not None  # the entry's draw (a foreign key)
        db.session.refresh(entry)
        if entry.outcome is not EntryOutcome.WON:
            raise Conflict(_("Only a winning entry can be declined."))
        if entry.decide_by is not None and now > _aware(entry.decide_by):
            raise Conflict(_("The deadline to decline has passed."))
        claim = (
            db.session.get(Claim, entry.claim_id, populate_existing=True)
            if entry.claim_id is not None
            else None
        )
        if claim is not None and claim.status is not ClaimStatus.CLAIMED:
            # A used seat cannot go to someone else as well.
            raise Conflict(_("This claim is %(status)s.", status=claim.status.label.lower()))
        entry.outcome = EntryOutcome.DECLINED
        _release(claim)
        for candidate in draw_entries(draw.id):
            if candidate.outcome is EntryOutcome.WAITING:
                if _award(draw, candidate, now):
                    break
                candidate.outcome = EntryOutcome.LAPSED
        audit.record("catalog.draw_seat_declined", actor=user, target=draw, entry=entry.key)
        return entry


def _release(claim: Claim | None) -> None:
    """Cancel a claim and give its unit of stock back."""
    if claim is None:
        return
    claim.status = ClaimStatus.CANCELLED
    claim.slot = None
    db.session.execute(
        update(Perk)
        .where(Perk.id == claim.perk_id, Perk.remaining_stock.is_not(None))
        .values(remaining_stock=Perk.remaining_stock + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()


@dataclass(frozen=True)
class Verification:
    commitment_matches: bool
    order_matches: bool
    expected_order: list[str]

    @property
    def ok(self) -> bool:
        return self.commitment_matches and self.order_matches


def verify_draw(draw_id: int) -> Verification:
    """Recompute a made draw from its revealed seed and its entries.

    Raises:
        NotFound: no such draw. Conflict: not drawn yet (the seed is still secret).
    """
    draw = get_draw(draw_id)
    if draw.status is not DrawStatus.DRAWN:
        raise Conflict(_("This draw has not been made yet."))
    entries = draw_entries(draw.id)
    expected = draw_order(
        draw.seed, [e.key for e in entries], [e.key for e in entries if e.deprioritised]
    )
    return Verification(
        commitment_matches=commitment_of(draw.seed) == draw.commitment,
        order_matches=expected == list(draw.result),
        expected_order=expected,
    )


def public_seed(draw: Draw) -> str | None:
    """The seed, only once the draw is made: the one place pages and exports read it from."""
    return draw.seed if draw.status is DrawStatus.DRAWN else None


def draws_due(now: datetime | None = None) -> list[int]:
    """Open draws whose entries have closed (``flask perks tick`` makes them)."""
    now = now or utcnow()
    open_draws = db.session.scalars(select(Draw).where(Draw.status == DrawStatus.OPEN))
    return [draw.id for draw in open_draws if _aware(draw.entries_close_at) <= now]


def make_due_draws(now: datetime | None = None) -> int:
    """Make every open draw whose entries have closed; return how many this call made.

    Safe on several hosts at once: a draw another host made first raises ``Conflict`` here
    and is skipped.
    """
    made = 0
    for draw_id in draws_due(now):
        try:
            run_draw(draw_id, actor=None, now=now)
        except Conflict:
            continue
        made += 1
    return made
