"""Read-side queries behind the employee pages: the catalog, my perks, the rules.

Each page runs a fixed number of SQL statements, however many perks, claims or entries there
are (PERFORMANCE.md, P4): the perks with their departments, then one grouped query each for
the person's claims, the unused codes and the draws, and the page is assembled in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from perks.catalog import eligibility
from perks.catalog.eligibility import Reason
from perks.catalog.models import (
    Allocation,
    Claim,
    ClaimStatus,
    CodeMode,
    Draw,
    DrawEntry,
    DrawStatus,
    EntryOutcome,
    LimitPeriod,
    Perk,
    PerkCategory,
    PerkCode,
    PerkKind,
    PerkStatus,
)
from perks.db import utcnow
from perks.errors import NotFound
from perks.extensions import db
from perks.folding import alphabetical, contains_folded
from perks.i18n import format_moment
from perks.people.models import Role, User


@dataclass(frozen=True)
class PerkCard:
    """A perk as one person sees it today: what is left, and why they cannot claim it."""

    perk: Perk
    #: units left: counted stock or unused pool codes; None is unlimited
    available: int | None
    #: the person's live claims of this perk in the current limit period
    claims_in_period: int
    #: why the person cannot claim (or enter the draw) now; empty when they can
    reasons: list[Reason] = field(default_factory=list)
    #: draw perks: the latest draw (open, or the last one made) and the person's entry in it
    draw: Draw | None = None
    entry: DrawEntry | None = None

    @property
    def is_draw(self) -> bool:
        return self.perk.allocation is Allocation.DRAW

    @property
    def is_reward(self) -> bool:
        """Bought with points on the Rewards page, not claimed here."""
        return self.perk.points_price is not None

    @property
    def draw_is_open(self) -> bool:
        """The latest draw is not made yet (taking entries, or frozen and waiting)."""
        return self.draw is not None and self.draw.status is not DrawStatus.DRAWN

    @property
    def taking_entries(self) -> bool:
        """The latest draw still takes entries: its closing time has not passed."""
        return self.draw is not None and self.draw.shown_status is DrawStatus.OPEN

    @property
    def can_claim(self) -> bool:
        """True when the person can act now: claim it, or enter its draw (once); a reward is
        bought with points instead (``is_reward``)."""
        return not self.reasons and not self.is_reward and (not self.is_draw or self.entry is None)


def localized_column(perk_field: str, locale: str) -> ColumnElement[str]:
    """SQL for ``Perk.localized(perk_field)``: the language's text, else the other one's."""
    first, second = ("en", "vi") if locale == "en" else ("vi", "en")
    return func.coalesce(
        func.nullif(getattr(Perk, f"{perk_field}_{first}"), ""),
        getattr(Perk, f"{perk_field}_{second}"),
    )


def _by_title(locale: str) -> tuple[ColumnElement[str], ColumnElement[str]]:
    """``ORDER BY`` terms: alphabetically by the title in ``locale`` (``perks.folding``)."""
    return alphabetical(localized_column("title", locale))


def _published_perks() -> Select[Perk]:
    return (
        select(Perk)
        .where(Perk.status == PerkStatus.PUBLISHED)
        .options(selectinload(Perk.departments))
    )


def catalog_cards(
    user: User,
    query: str,
    category: PerkCategory | None,
    claimable_only: bool,
    today: date,
    *,
    locale: str = "vi",
    now: datetime | None = None,
) -> list[PerkCard]:
    """The published, claimable kinds of perk matching the search, as ``user`` sees them.

    ``query`` is looked for in the title, partner and description in ``locale`` (falling back
    to the other language where a text is missing, as the page shows it), accents and case
    aside ("ca phe" finds "Cà phê").
    """
    statement = _published_perks().where(Perk.kind != PerkKind.GIFT)
    text = query.strip()
    if text:
        statement = statement.where(
            or_(
                contains_folded(localized_column("title", locale), text),
                contains_folded(localized_column("description", locale), text),
                contains_folded(Perk.partner_name, text),
            )
        )
    if category is not None:
        statement = statement.where(Perk.category == category)
    statement = statement.order_by(*_by_title(locale), Perk.id)
    cards = _cards(list(db.session.scalars(statement)), user, today, now or utcnow())
    if claimable_only:
        cards = [card for card in cards if card.can_claim]
    return cards


def perk_card(
    perk_id: int, user: User, today: date, *, now: datetime | None = None
) -> tuple[PerkCard, int]:
    """One perk as ``user`` sees it, and the number of entries in its latest draw.

    Drafts and archived perks are visible to HR only (a preview).

    Raises:
        NotFound: no such perk, or not published and the person is not HR.
    """
    perk = db.session.scalar(
        select(Perk).where(Perk.id == perk_id).options(selectinload(Perk.departments))
    )
    if perk is None or (perk.status is not PerkStatus.PUBLISHED and not user.has_role(Role.HR)):
        raise NotFound()
    (card,) = _cards([perk], user, today, now or utcnow())
    entries = 0
    if card.draw is not None:
        entries = (
            db.session.scalar(select(func.count()).where(DrawEntry.draw_id == card.draw.id)) or 0
        )
    return card, entries


def perk_cards(perks: Sequence[Perk], user: User, today: date) -> list[PerkCard]:
    """``perks`` as ``user`` sees them today: what is left and why they cannot claim each
    (a reward's window, audience, per-person limit and stock, as buying it checks them)."""
    return _cards(perks, user, today, utcnow())


def _cards(perks: Sequence[Perk], user: User, today: date, now: datetime) -> list[PerkCard]:
    if not perks:
        return []
    ids = [perk.id for perk in perks]
    counts = _claims_per_period(user, ids, today)
    codes = _unused_codes(ids)
    draws = _latest_draws(ids, user)
    cards = []
    for perk in perks:
        key = eligibility.period_key(perk.limit_period, today)
        claimed = counts.get((perk.id, key), 0)
        available = (
            codes.get(perk.id, 0) if perk.code_mode is CodeMode.POOL else perk.remaining_stock
        )
        draw, entry = draws.get(perk.id, (None, None))
        reasons = eligibility.window_reasons(perk, today) + eligibility.audience_reasons(
            perk, user, today
        )
        if perk.allocation is Allocation.DRAW:
            reasons += _draw_reasons(draw, now)
        limit = eligibility.limit_reason(perk, claimed, today)
        if limit is not None:
            reasons.append(limit)
        if perk.allocation is Allocation.FIRST_COME:
            sold_out = eligibility.stock_reason(perk, available)
            if sold_out is not None:
                reasons.append(sold_out)
        cards.append(PerkCard(perk, available, claimed, reasons, draw, entry))
    return cards


def _draw_reasons(draw: Draw | None, now: datetime) -> list[Reason]:
    if draw is None or draw.status is DrawStatus.DRAWN:
        return [Reason("no_draw", _("No draw is open for entries right now."))]
    if draw.status is DrawStatus.CLOSED or now >= _aware(draw.entries_close_at):
        return [
            Reason(
                "entries_closed",
                _(
                    "Entries closed on %(when)s; the draw is coming.",
                    when=format_moment(draw.entries_close_at, "short"),
                ),
            )
        ]
    return []


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _claims_per_period(user: User, perk_ids: list[int], today: date) -> dict[tuple[int, str], int]:
    """The person's live claims per (perk, limit period), for the periods ``today`` is in."""
    keys = {eligibility.period_key(period, today) for period in LimitPeriod}
    rows = db.session.execute(
        select(Claim.perk_id, Claim.period_key, func.count())
        .where(
            Claim.user_id == user.id,
            Claim.perk_id.in_(perk_ids),
            Claim.period_key.in_(keys),
            Claim.slot.is_not(None),
        )
        .group_by(Claim.perk_id, Claim.period_key)
    )
    return {(perk_id, key): count for perk_id, key, count in rows}


def _unused_codes(perk_ids: list[int]) -> dict[int, int]:
    rows = db.session.execute(
        select(PerkCode.perk_id, func.count())
        .where(PerkCode.perk_id.in_(perk_ids), PerkCode.claim_id.is_(None))
        .group_by(PerkCode.perk_id)
    )
    return dict(rows.all())


def _latest_draws(perk_ids: list[int], user: User) -> dict[int, tuple[Draw, DrawEntry | None]]:
    """Each perk's latest draw, with the person's entry in it (if any), in one query."""
    latest = select(func.max(Draw.id)).where(Draw.perk_id.in_(perk_ids)).group_by(Draw.perk_id)
    rows = db.session.execute(
        select(Draw, DrawEntry)
        .outerjoin(DrawEntry, and_(DrawEntry.draw_id == Draw.id, DrawEntry.user_id == user.id))
        .where(Draw.id.in_(latest.scalar_subquery()))
        # The perks are already loaded; the entry's person is the one asking.
        .options(lazyload(Draw.perk), lazyload(DrawEntry.user))
    )
    return {draw.perk_id: (draw, entry) for draw, entry in rows}


# --- my perks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MyEntry:
    entry: DrawEntry
    draw: Draw
    #: the status of the claim a won seat gave (None: no claim)
    claim_status: ClaimStatus | None = None

    def taking_entries(self, now: datetime) -> bool:
        """The draw still takes entries (it has not closed)."""
        return self.draw.status is DrawStatus.OPEN and now < _aware(self.draw.entries_close_at)

    def can_decline(self, now: datetime) -> bool:
        """A won seat, before its deadline, whose claim is not used (``draws.decline_seat``)."""
        return (
            self.entry.outcome is EntryOutcome.WON
            and self.claim_status in (None, ClaimStatus.CLAIMED)
            and (self.entry.decide_by is None or now <= _aware(self.entry.decide_by))
        )


def seat_of(claim: Claim) -> MyEntry | None:
    """The winning draw entry that gave ``claim`` (a seat its holder may still decline), with
    its draw; None for a claim no draw gave. Raises nothing."""
    row = db.session.execute(
        select(DrawEntry, Draw)
        .join(Draw, Draw.id == DrawEntry.draw_id)
        .where(DrawEntry.claim_id == claim.id, DrawEntry.user_id == claim.user_id)
    ).first()
    return MyEntry(row[0], row[1], claim.status) if row is not None else None


def my_claims(user: User) -> list[Claim]:
    """The person's claims, newest first, with who marked each used (one statement)."""
    return list(
        db.session.scalars(
            select(Claim)
            .where(Claim.user_id == user.id)
            .options(
                joinedload(Claim.perk).lazyload(Perk.departments),
                joinedload(Claim.used_by),
            )
            .order_by(Claim.claimed_at.desc(), Claim.id.desc())
        ).unique()
    )


def my_entries(user: User) -> list[MyEntry]:
    """The person's draw entries with their draws, newest first (one statement)."""
    rows = db.session.execute(
        select(DrawEntry, Draw, Claim.status)
        .join(Draw, Draw.id == DrawEntry.draw_id)
        .outerjoin(Claim, Claim.id == DrawEntry.claim_id)
        .where(DrawEntry.user_id == user.id)
        .options(lazyload(DrawEntry.user), joinedload(Draw.perk).lazyload(Perk.departments))
        .order_by(DrawEntry.entered_at.desc(), DrawEntry.id.desc())
    )
    return [MyEntry(entry, draw, status) for entry, draw, status in rows]


# --- the rules page -------------------------------------------------------------------------


@dataclass(frozen=True)
class PerkRule:
    """What the rules page says about one published perk."""

    perk: Perk
    available: int | None
    #: the perk's latest draw, for its fairness setting
    draw: Draw | None


def published_rules(locale: str = "vi") -> list[PerkRule]:
    """Every published perk with what its rules need: perks, departments, codes, draws; by
    category, then alphabetically by title in ``locale``."""
    perks = list(
        db.session.scalars(_published_perks().order_by(Perk.category, *_by_title(locale), Perk.id))
    )
    if not perks:
        return []
    ids = [perk.id for perk in perks]
    codes = _unused_codes(ids)
    latest = select(func.max(Draw.id)).where(Draw.perk_id.in_(ids)).group_by(Draw.perk_id)
    draws = {
        draw.perk_id: draw
        for draw in db.session.scalars(
            select(Draw).where(Draw.id.in_(latest.scalar_subquery())).options(lazyload(Draw.perk))
        )
    }
    return [
        PerkRule(
            perk,
            codes.get(perk.id, 0) if perk.code_mode is CodeMode.POOL else perk.remaining_stock,
            draws.get(perk.id),
        )
        for perk in perks
    ]


# --- the draw page --------------------------------------------------------------------------


def visible_draw(draw_id: int, user: User) -> Draw:
    """A draw whose page the person may see: not of a draft perk (HR may preview those).

    Raises:
        NotFound: no such draw, or its perk is a draft and the person is not HR.
    """
    draw = db.session.get(Draw, draw_id)
    if draw is None or (draw.perk.status is PerkStatus.DRAFT and not user.has_role(Role.HR)):
        raise NotFound()
    return draw


def visible_perk(perk_id: int, user: User) -> Perk:
    """A perk whose image the person may see: published, or any perk for HR.

    Raises:
        NotFound: no such perk, or not published and the person is not HR.
    """
    perk = db.session.get(Perk, perk_id)
    if perk is None or (perk.status is not PerkStatus.PUBLISHED and not user.has_role(Role.HR)):
        raise NotFound()
    return perk


def perks_used_by(user_ids: Sequence[int], start: datetime, end: datetime) -> dict[int, int]:
    """How many claims each of these people used from ``start`` to ``end`` (people who used
    none are left out). One statement."""
    if not user_ids:
        return {}
    rows = db.session.execute(
        select(Claim.user_id, func.count())
        .where(
            Claim.user_id.in_(user_ids),
            Claim.status == ClaimStatus.USED,
            Claim.used_at >= start,
            Claim.used_at < end,
        )
        .group_by(Claim.user_id)
    )
    return {user_id: int(count) for user_id, count in rows}
