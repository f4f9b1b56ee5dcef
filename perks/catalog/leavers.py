"""A leaver's perks: from their leaving date (the first day they no longer work here) their
unused claims end, and a draw seat they won passes to the first on the draw's waiting list.

The counter refuses a leaver's code from that day on (``claims.why_not_usable``), even
before :func:`end_leavers_claims` (``flask perks tick`` and Celery beat) has run. A claim
ends as cancelled, its slot freed and its unit of counted stock given back for someone else
(a pool code stays with it: its holder has seen it). Used, expired and cancelled claims stay
as they are; a claim past its last day is the expiry run's.

Safe from several hosts at once: each claim is ended in its own transaction under the lock
of its draw (as declining a seat takes it) and then of the claim itself, read again under
them: a second run finds it no longer claimed and does nothing.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select

from perks import audit
from perks.catalog import draws
from perks.catalog.models import Claim, ClaimStatus, DrawEntry, EntryOutcome, PassedOver
from perks.db import locked, transaction, utcnow
from perks.extensions import db
from perks.i18n import company_today
from perks.people.models import User


def end_leavers_claims(today: date | None = None) -> int:
    """End the unused claims of everyone whose leaving date has come by ``today``, passing
    each draw seat among them to the next on its waiting list; returns how many claims this
    call ended. Idempotent; safe on several hosts at once. Raises nothing of its own."""
    today = today or company_today()
    due = db.session.scalars(
        select(Claim.id)
        .join(User, User.id == Claim.user_id)
        .where(
            Claim.status == ClaimStatus.CLAIMED,
            or_(Claim.expires_on.is_(None), Claim.expires_on >= today),
            User.leaving_date.is_not(None),
            User.leaving_date <= today,
        )
        .order_by(Claim.id)
    ).all()
    return sum(_end(claim_id, today) for claim_id in due)


def _end(claim_id: int, today: date) -> bool:
    """End one leaver's claim, if still unused and theirs to end; True if this call did."""
    with transaction():
        entry = db.session.scalar(select(DrawEntry).where(DrawEntry.claim_id == claim_id))
        # the draw first, then the claim: the order declining a seat takes them in
        draw = draws.lock_draw(entry.draw_id) if entry is not None else None
        claim = locked(Claim, claim_id)
        if claim is None or claim.status is not ClaimStatus.CLAIMED:
            return False  # used, or ended by another host a moment ago
        holder = claim.user
        if not holder.has_left(today) or (claim.expires_on and claim.expires_on < today):
            return False  # back at work (HR moved the date), or the expiry run's
        draws.release_claim(claim)
        if draw is not None and entry is not None:
            db.session.refresh(entry)
            if entry.outcome is EntryOutcome.WON:
                entry.outcome = EntryOutcome.LAPSED
                entry.passed_over = PassedOver.LEFT
                draws.offer_to_waiting_list(draw, utcnow())
        assert holder.leaving_date is not None
        audit.record(
            "catalog.leaver_claim_ended",
            actor=None,
            target=claim,
            leaving_date=holder.leaving_date.isoformat(),
            reference=claim.reference,
        )
        return True
