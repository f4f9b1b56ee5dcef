"""Fair draws for scarce perks: anyone can check that nobody chose the winners.

Method 2 (every draw opened since entries are frozen; nobody can rig it):

1. When entries open, a random secret seed is made and its SHA-256 (the *commitment*) is
   published on the draw page, with the source and the date of a *public value* (say the
   special prize of the northern Vietnamese lottery, XSMB) of a day after entries close.
2. Eligible people enter (one entry each). Entry number n gets the key made of the first ten
   characters of SHA-256("<commitment>:<n>"), upper case: the server cannot choose it.
3. When entries close they are frozen: the sorted list of keys (each marked if the person
   won recently) is hashed and the hash published. Nothing can be added or removed after.
4. Once the public value is published, HR types it in; only then can the draw be made. The
   seed is revealed and entries are ordered by SHA-256("<seed>:<entries hash>:<public
   value>:<key>") as hex (recent winners after everyone else, if the draw says so). The first
   ``seats`` entries win; the rest form the waiting list, in order.

Whoever runs the server knows the seed, but when entries close nobody knows the public value,
so nobody can tell which entry will win; once the value is known, the entries are frozen.

Method 1 (draws opened before method 2): entries got random keys and were ordered by
SHA-256("<seed>:<key>"). Those draws keep verifying by that rule.

Anyone can recompute a made draw in the browser on its page, or with
``flask perks verify-draw ID``.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defaultload, selectinload

from perks import audit, background
from perks.background import BackgroundJob, JobRun
from perks.catalog import eligibility
from perks.catalog.claims import claims_in_period, grant_seat, status_now, why_not_usable
from perks.catalog.models import (
    REFERENCE_ALPHABET,
    Allocation,
    Claim,
    ClaimStatus,
    Draw,
    DrawEntry,
    DrawStatus,
    EntryOutcome,
    PassedOver,
    Perk,
    PerkKind,
    PerkStatus,
)
from perks.db import locked, paginate, transaction, utcnow
from perks.errors import Conflict, LimitReached, NotEligible, NotFound, SoldOut, ValidationFailed
from perks.extensions import db
from perks.i18n import company_date, company_today, format_day, format_moment
from perks.notifications import both, link, notify, notify_each
from perks.people.models import Role, User

#: what a background job reports as it goes: (done, total)
Progress = Callable[[int, int], None]

#: the method of every draw opened now
CURRENT_METHOD = 2

#: method 1, exactly, in the reader's language (the code below is what it says)
METHOD = _l(
    "order = entries sorted by (won recently?, SHA-256(seed + ':' + key) as hex); "
    "winners = the first <seats>; waiting list = the rest, in order"
)
#: method 2, exactly
METHOD_2 = _l(
    "key of entry n = first 10 characters of SHA-256(commitment + ':' + n), upper case; "
    "entries hash = SHA-256(the keys in alphabetical order, one per line, each followed by "
    "' 1' if won recently else ' 0'); order = entries sorted by (won recently?, "
    "SHA-256(seed + ':' + entries hash + ':' + public value + ':' + key) as hex); "
    "winners = the first <seats>; waiting list = the rest, in order"
)

#: what the open-draw form proposes as the public value's source
DEFAULT_PUBLIC_VALUE_SOURCE = "Giải đặc biệt XSMB (Xổ số Miền Bắc), xosomienbac.vn"
#: and the time it is published, company time: XSMB is drawn from 18:15, its results are
#: complete by about 18:35
DEFAULT_PUBLIC_VALUE_TIME = time(18, 40)


def method_text(method: int) -> str:
    """The exact rule of a draw's method, in the reader's language."""
    return str(METHOD_2 if method >= 2 else METHOD)


def commitment_of(seed: str) -> str:
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def entry_score(seed: str, key: str) -> str:
    """Method 1: an entry's score."""
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def draw_order(seed: str, keys: Iterable[str], deprioritised: Iterable[str] = ()) -> list[str]:
    """Method 1: the draw's result, entry keys in order (winners first). Pure, deterministic."""
    later = set(deprioritised)
    return sorted(set(keys), key=lambda key: (key in later, entry_score(seed, key)))


def new_entry_key() -> str:
    """Method 1: a random entry key (kept for the factories of old draws)."""
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(10))


def entry_key(commitment: str, number: int) -> str:
    """Method 2: the key of entry ``number`` (1, 2, ...), fixed by the commitment."""
    return hashlib.sha256(f"{commitment}:{number}".encode()).hexdigest()[:10].upper()


def entries_text(keys: Iterable[str], deprioritised: Iterable[str] = ()) -> str:
    """Method 2: the frozen list of entries, as the text whose SHA-256 is published."""
    later = set(deprioritised)
    return "".join(f"{key} {1 if key in later else 0}\n" for key in sorted(set(keys)))


def entries_hash_of(keys: Iterable[str], deprioritised: Iterable[str] = ()) -> str:
    return hashlib.sha256(entries_text(keys, deprioritised).encode()).hexdigest()


def final_score(seed: str, entries_hash: str, public_value: str, key: str) -> str:
    """Method 2: an entry's score."""
    return hashlib.sha256(f"{seed}:{entries_hash}:{public_value}:{key}".encode()).hexdigest()


def final_order(
    seed: str,
    entries_hash: str,
    public_value: str,
    keys: Iterable[str],
    deprioritised: Iterable[str] = (),
) -> list[str]:
    """Method 2: the draw's result, entry keys in order (winners first). Pure, deterministic:
    a function of the seed, the frozen entries and the public value only."""
    later = set(deprioritised)
    return sorted(
        set(keys),
        key=lambda key: (key in later, final_score(seed, entries_hash, public_value, key)),
    )


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
    return list(db.session.scalars(_entries_query(draw_id)))


def _entries_query(draw_id: int) -> Select[DrawEntry]:
    return (
        select(DrawEntry)
        .where(DrawEntry.draw_id == draw_id)
        .order_by(DrawEntry.position.is_(None), DrawEntry.position, DrawEntry.key)
        # each entrant's name, without their roles
        .options(defaultload(DrawEntry.user).lazyload(User.role_rows))
    )


def entry_count(draw_id: int) -> int:
    """How many entries the draw has: one statement."""
    return (
        db.session.scalar(
            select(func.count()).select_from(DrawEntry).where(DrawEntry.draw_id == draw_id)
        )
        or 0
    )


def entries_page(draw_id: int, page: int, per_page: int) -> Pagination:
    """A page of the draw's entries in ``draw_entries``' order (a popular draw has thousands:
    its pages list them a page at a time)."""
    # each page's people in one more statement, rather than every entry joined to its person
    # before the sort picks the page's hundred
    query = _entries_query(draw_id).options(selectinload(DrawEntry.user).lazyload(User.role_rows))
    return paginate(query, page, per_page)


def entry_of(draw_id: int, user_id: int) -> DrawEntry | None:
    """The person's entry in the draw, if they entered."""
    return db.session.scalar(
        select(DrawEntry).where(DrawEntry.draw_id == draw_id, DrawEntry.user_id == user_id)
    )


def verification_data(draw: Draw) -> dict[str, Any]:
    """Everything a made draw publishes for anyone to check it on their own (the browser's
    check, ``static/js/draw-verify.js``, reads exactly this): the seed, the commitment, the
    entries' keys, those who won recently, the order, the seats, each entry's place and
    outcome as the pages show them (checked against the order as ``verify_draw`` does), and
    for method 2 the facts of its public value. Read as columns, not entries (thousands).

    Raises:
        Conflict: the draw is not made yet (its seed is secret).
    """
    seed = public_seed(draw)
    if seed is None:
        raise Conflict(_("This draw has not been made yet."))
    rows = db.session.execute(
        select(DrawEntry.key, DrawEntry.position, DrawEntry.outcome, DrawEntry.deprioritised)
        .where(DrawEntry.draw_id == draw.id)
        .order_by(DrawEntry.key)
    ).all()
    data: dict[str, Any] = {
        "method": draw.method,
        "seed": seed,
        "commitment": draw.commitment,
        "keys": [row.key for row in rows],
        "deprioritised": [row.key for row in rows if row.deprioritised],
        "order": list(draw.result),
        "seats": draw.seats,
        "outcomes": [
            {"key": row.key, "place": row.position, "outcome": row.outcome.value} for row in rows
        ],
    }
    if draw.method >= 2:
        data |= public_value_facts(draw)
    return data


def open_draw(
    perk_id: int,
    *,
    entries_close_at: datetime,
    decline_days: int = 7,
    recent_winner_draws: int = 0,
    show_names: bool = False,
    public_value_source: str = DEFAULT_PUBLIC_VALUE_SOURCE,
    public_value_date: date | None = None,
    public_value_time: time | None = None,
    actor: User,
    now: datetime | None = None,
) -> Draw:
    """Open entries for a draw perk, committing to a fresh secret seed and to the source,
    date (by default the company day after entries close) and, if given, time of day
    (company time) of the public value: it cannot be typed in before.

    Raises:
        NotFound: no such perk.
        Conflict: not a published draw perk, or a draw is already open.
        ValidationFailed: the closing time is in the past, negative settings, no source, a
            public value dated on or before the day entries close, or the perk ending before
            the public value's day (the draw could give nobody a seat).
    """
    now = now or utcnow()
    if entries_close_at <= now:
        raise ValidationFailed(_("Entries must close in the future."))
    if decline_days < 1:
        # the winner's notice says "decline it by ...": a moment already passed at 0 days
        raise ValidationFailed(_("A winner needs at least one day to decline the seat."))
    if recent_winner_draws < 0:
        raise ValidationFailed(_("Use zero or more days and draws."))
    public_value_source = " ".join(public_value_source.split())
    if not public_value_source or len(public_value_source) > 120:
        raise ValidationFailed(_("Name the public value's source (at most 120 characters)."))
    close_day = company_date(entries_close_at)
    public_value_date = public_value_date or close_day + timedelta(days=1)
    if public_value_date <= close_day:
        raise ValidationFailed(
            _(
                "The public value must be of a day after the day entries close: "
                "nobody may know it when they close."
            )
        )
    with transaction():
        # The perk's lock, as a save or archiving of it takes: either sees the other done, and
        # a draw never opens on a perk just made first come, given other stock or archived.
        perk = locked(Perk, perk_id)
        if perk is None:
            raise NotFound()
        if (
            perk.allocation is not Allocation.DRAW
            or perk.status is not PerkStatus.PUBLISHED
            or perk.kind is PerkKind.GIFT  # made before gifts were refused a draw
        ):
            raise Conflict(_("Only a published perk allocated by draw can open a draw."))
        if not perk.remaining_stock:
            raise Conflict(_("No seats are left: raise the stock before opening a draw."))
        if perk.ends_on is not None and perk.ends_on < public_value_date:
            # Made after the perk's last day, the draw would pass over every winner.
            raise ValidationFailed(
                _(
                    "The perk ends on %(end)s, before the draw can be made (the public value "
                    "is of %(day)s): move its last day later or close entries earlier.",
                    end=format_day(perk.ends_on),
                    day=format_day(public_value_date),
                )
            )
        latest = current_draw(perk.id)
        if latest is not None and latest.status is not DrawStatus.DRAWN:
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
            method=CURRENT_METHOD,
            public_value_source=public_value_source,
            public_value_date=public_value_date,
            public_value_time=public_value_time,
        )
        db.session.add(draw)
        db.session.flush()
        audit.record(
            "catalog.draw_opened",
            actor=actor,
            target=draw,
            commitment=draw.commitment,
            public_value_source=public_value_source,
            public_value_date=public_value_date.isoformat(),
            public_value_time=public_value_time.isoformat("minutes") if public_value_time else None,
        )
        return draw


def enter_draw(perk_id: int, user: User, *, now: datetime | None = None) -> DrawEntry:
    """Enter the perk's open draw, once.

    Raises:
        NotFound: no such perk, or no open draw.
        NotEligible: the person does not meet the perk's rules.
        LimitReached: the person's limit for this period is used up (a Conflict).
        Conflict: entries have closed, or the person already entered.
    """
    now = now or utcnow()
    today = company_today()
    with transaction():
        perk = db.session.get(Perk, perk_id)
        draw = current_draw(perk_id) if perk else None
        if perk is None or draw is None or draw.status is DrawStatus.DRAWN:
            raise NotFound(_("There is no open draw for this perk."))
        if draw.status is not DrawStatus.OPEN or now >= _aware(draw.entries_close_at):
            raise Conflict(_("Entries for this draw have closed."))
        reasons = eligibility.window_reasons(perk, today) + eligibility.audience_reasons(
            perk, user, today
        )
        if reasons:
            raise NotEligible(reasons[0].message, reasons=[r.code for r in reasons])
        # A winner over the limit is passed over at the draw: refuse the entry now, as the
        # perk's page does, rather than wish them luck.
        key = eligibility.period_key(perk.limit_period, today)
        limit = eligibility.limit_reason(perk, claims_in_period(perk, user.id, key), today)
        if limit is not None:
            raise LimitReached(limit.message)
        if draw.method >= 2:
            entry = _numbered_entry(draw.id, user.id, now)
        else:
            entry = DrawEntry(draw_id=draw.id, user_id=user.id, key=new_entry_key(), entered_at=now)
        try:
            with db.session.begin_nested():
                db.session.add(entry)
                db.session.flush()
        except IntegrityError as error:
            raise Conflict(_("You have already entered this draw.")) from error
        if draw.method >= 2:
            # A receipt outside the server (by e-mail, unless they turned it off): the
            # commitment and the key, which its page must still show when the draw is made.
            notify(
                user,
                "draw_entered",
                {"perk": both(perk, "title"), "key": entry.key, "commitment": draw.commitment},
                url=link("catalog.draw", draw_id=draw.id),
            )
        return entry


def _numbered_entry(draw_id: int, user_id: int, now: datetime) -> DrawEntry:
    """Method 2: the next entry of the draw, numbered under the draw's lock (no gaps, no
    two alike), its key made from the commitment and that number."""
    draw = locked(Draw, draw_id)
    assert draw is not None  # read a moment ago in the same transaction
    if draw.status is not DrawStatus.OPEN or now >= _aware(draw.entries_close_at):
        raise Conflict(_("Entries for this draw have closed."))
    last = db.session.scalar(select(func.max(DrawEntry.number)).where(DrawEntry.draw_id == draw_id))
    number = (last or 0) + 1
    return DrawEntry(
        draw_id=draw_id,
        user_id=user_id,
        number=number,
        key=entry_key(draw.commitment, number),
        entered_at=now,
    )


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def recent_winners(draw: Draw) -> set[int]:
    """People who won this perk in its last ``recent_winner_draws`` draws (and kept the seat:
    one who declined it gave it to the next in line and had nothing)."""
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
                DrawEntry.outcome == EntryOutcome.WON,
            )
        )
    )


def lock_draw(draw_id: int) -> Draw:
    """The draw, locked for this transaction and read again under the lock. Raises
    NotFound."""
    draw = locked(Draw, draw_id)
    if draw is None:
        raise NotFound()
    return draw


def close_entries(draw_id: int, *, actor: User | None, now: datetime | None = None) -> Draw:
    """Method 2: freeze a draw's entries once they have closed and publish their hash.

    Who won recently is decided here, with the entries, so nothing about them changes later.
    Each entrant still active is told the hash (``draw_entries_frozen``, by e-mail unless
    turned off); one who has left could not sign in to the draw's page.
    Frozen on or after the public value's day, the draw uses the value of the day after the
    freeze instead (a rule, so nobody picks the day).

    Raises:
        NotFound: no such draw.
        Conflict: not an open method 2 draw, or entries are still open.
    """
    now = now or utcnow()
    with transaction():
        return _freeze(draw_id, actor=actor, now=now)


def _freeze(
    draw_id: int, *, actor: User | None, now: datetime, progress: Progress | None = None
) -> Draw:
    """``close_entries``'s work, flush only (the caller's transaction holds the lock)."""
    draw = lock_draw(draw_id)
    if draw.method < 2 or draw.status is not DrawStatus.OPEN:
        raise Conflict(_("The entries of this draw are already frozen."))
    if now < _aware(draw.entries_close_at):
        raise Conflict(_("Entries are still open."))
    entries = draw_entries(draw.id)
    later = recent_winners(draw)
    for entry in entries:
        entry.deprioritised = entry.user_id in later
    draw.entries_hash = _frozen_hash(entries)
    draw.entries_frozen_at = now
    draw.status = DrawStatus.CLOSED
    if progress is not None:
        progress(0, len(entries))
    assert draw.public_value_date is not None  # set when a method 2 draw opens
    if draw.public_value_date <= company_date(now):
        # Frozen late (the scheduled run was down): the stated value may be known by now,
        # so, by rule and chosen by nobody, the value of the day after the freeze is used.
        draw.public_value_date = company_date(now) + timedelta(days=1)
    # The entries hash outside the server too, before anyone knows the public value: to
    # each entrant still here (one who has left, deactivated or past their leaving date,
    # is passed over at the draw; the leavers' task runs after this one in the tick), all
    # at once (thousands enter a popular draw).
    notify_each(
        [
            entry.user
            for entry in entries
            if entry.user.active and not entry.user.has_left(company_date(now))
        ],
        "draw_entries_frozen",
        {
            "perk": both(draw.perk, "title"),
            "entries_hash": draw.entries_hash,
            "day": draw.public_value_date,
        },
        url=link("catalog.draw", draw_id=draw.id),
    )
    if progress is not None:
        progress(len(entries), len(entries))
    audit.record(
        "catalog.draw_entries_closed",
        actor=actor,
        target=draw,
        entries=len(entries),
        entries_hash=draw.entries_hash,
        public_value_date=draw.public_value_date.isoformat(),
    )
    return draw


def enter_public_value(
    draw_id: int, value: str, *, actor: User, now: datetime | None = None
) -> Draw:
    """Method 2: record the public value the draw committed to, once it is published.

    HR may correct a mistyped value until the draw is made (audited); anyone can compare it
    with the named source.

    Raises:
        NotFound: no such draw.
        Conflict: entries not frozen yet, or the draw already made.
        ValidationFailed: empty or too long, with a character other than Latin letters,
            digits and signs, or its date has not come yet.
    """
    value = public_value_as_typed(value)
    if not value or len(value) > 64:
        raise ValidationFailed(
            _("Type the public value exactly as published (at most 64 characters).")
        )
    if not (value.isascii() and value.isprintable()):
        # Invisible characters, or letters of other scripts that look like Latin ones, would
        # show the published value on the page while the draw hashed another: tried by the
        # thousand, one of them could put a chosen entry first.
        raise ValidationFailed(
            _(
                "Type the public value with Latin letters, digits and signs only, as "
                "published: other characters can look the same and hash differently."
            )
        )
    with transaction():
        draw = lock_draw(draw_id)
        if draw.status is DrawStatus.DRAWN:
            raise Conflict(_("This draw has already been made."))
        if draw.method < 2 or draw.status is not DrawStatus.CLOSED:
            raise Conflict(
                _("Entries must be closed and frozen before the public value is entered.")
            )
        assert draw.public_value_date is not None  # set when a method 2 draw opens
        now = now or utcnow()
        if company_date(now) < draw.public_value_date:
            raise ValidationFailed(
                _(
                    "The public value of %(day)s is not published yet.",
                    day=format_day(draw.public_value_date),
                )
            )
        published = draw.public_value_published_at
        assert published is not None  # a method 2 draw
        if now < published:
            # Typed in before its time, it could only be another day's value (yesterday's,
            # still on the source's page in the morning), known when entries closed.
            raise ValidationFailed(
                _(
                    "The public value is published %(when)s: it cannot be typed in before.",
                    when=format_moment(published, "short"),
                )
            )
        before = {"public_value": draw.public_value}
        draw.public_value = value
        draw.public_value_entered_at = now
        audit.record(
            "catalog.draw_public_value_entered",
            actor=actor,
            target=draw,
            source=draw.public_value_source,
            date=draw.public_value_date.isoformat(),
            **audit.changes(before, {"public_value": value}),
        )
        return draw


def public_value_as_typed(value: str) -> str:
    """The public value as the draw takes it: in its compatibility form (full-width digits
    as ASCII ones, as a phone's keyboard may type them), without spaces. Raises nothing."""
    return "".join(unicodedata.normalize("NFKC", value).split())


def _frozen_hash(entries: list[DrawEntry]) -> str:
    return entries_hash_of([e.key for e in entries], [e.key for e in entries if e.deprioritised])


def _order_of(draw: Draw, entries: list[DrawEntry]) -> list[str]:
    """The order the draw's method gives its entries (winners first)."""
    keys = [e.key for e in entries]
    later = [e.key for e in entries if e.deprioritised]
    if draw.method < 2:
        return draw_order(draw.seed, keys, later)
    assert draw.entries_hash is not None
    assert draw.public_value is not None
    return final_order(draw.seed, draw.entries_hash, draw.public_value, keys, later)


def run_draw(draw_id: int, *, actor: User | None, now: datetime | None = None) -> Draw:
    """Reveal the seed, order the entries, give winners their claims.

    A method 2 draw is made only once its entries are frozen and the public value entered.
    A winner who can no longer take the seat (left the company, over the limit) is passed
    over, with the reason, and the next entry gets it (``_award``).

    Raises:
        NotFound: no such draw.
        Conflict: already drawn, entries are still open, or (method 2) entries not frozen
            or no public value yet.
    """
    now = now or utcnow()
    with transaction():
        return _make(draw_id, actor=actor, now=now)


def _make(
    draw_id: int, *, actor: User | None, now: datetime, progress: Progress | None = None
) -> Draw:
    """``run_draw``'s work, flush only (the caller's transaction holds the lock)."""
    draw = lock_draw(draw_id)
    if draw.status is DrawStatus.DRAWN:
        raise Conflict(_("This draw has already been made."))
    if now < _aware(draw.entries_close_at):
        raise Conflict(_("Entries are still open."))
    entries = draw_entries(draw.id)
    if draw.method < 2:
        later = recent_winners(draw)
        for entry in entries:
            entry.deprioritised = entry.user_id in later
    elif draw.status is not DrawStatus.CLOSED:
        raise Conflict(_("Entries must be closed and frozen before the draw."))
    elif draw.public_value is None:
        raise Conflict(_("The draw waits for the public value."))
    elif _frozen_hash(entries) != draw.entries_hash:
        # Nothing in the app adds, removes or changes an entry after the freeze; a change
        # made around it (in the database) stops the draw instead of steering it.
        raise Conflict(_("The entries changed after they were frozen: the draw cannot be made."))
    order = _order_of(draw, entries)
    by_key = {entry.key: entry for entry in entries}
    draw.result = order
    draw.status = DrawStatus.DRAWN
    draw.drawn_at = now
    seats_left = draw.seats
    for position, key in enumerate(order, start=1):
        entry = by_key[key]
        entry.position = position
        if seats_left == 0:
            entry.outcome = EntryOutcome.WAITING
        elif _award(draw, entry, now):
            seats_left -= 1
        if progress is not None:
            progress(position, len(order))
    audit.record(
        "catalog.draw_made", actor=actor, target=draw, entries=len(order), seats=draw.seats
    )
    return draw


def _award(draw: Draw, entry: DrawEntry, now: datetime) -> bool:
    """Give ``entry`` a seat (a claim) and tell its person; True if they took it.

    Who may win was settled when they entered (and the perk's audience and window stay as
    they are while the draw is under way, ``services.update_perk``): the entry is passed
    over (``lapsed``, with its reason, which the draw page shows) only when its person has
    left the company (deactivated, or their leaving date has come), has reached the perk's
    limit, or no stock is left.
    """
    user = db.session.get(User, entry.user_id)
    if user is None or not user.active or user.has_left(company_today(now)):
        return _pass_over(entry, PassedOver.LEFT)
    try:
        with db.session.begin_nested():
            claim = grant_seat(draw.perk, user, today=company_today(now))
    except LimitReached:
        return _pass_over(entry, PassedOver.LIMIT)
    except SoldOut:
        return _pass_over(entry, PassedOver.NO_STOCK)
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


def _pass_over(entry: DrawEntry, reason: PassedOver) -> bool:
    """``entry`` could not take the seat offered, for ``reason``: False, as ``_award``."""
    entry.outcome = EntryOutcome.LAPSED
    entry.passed_over = reason
    return False


def decline_seat(entry_id: int, user: User, *, now: datetime | None = None) -> DrawEntry:
    """A winner gives up the seat before the deadline; the next on the waiting list gets it.

    Raises:
        NotFound: not the person's entry.
        Conflict: not a winning entry, the deadline has passed, or the seat is used or
            past its last day.
    """
    now = now or utcnow()
    with transaction():
        entry = db.session.get(DrawEntry, entry_id)
        if entry is None or entry.user_id != user.id:
            raise NotFound()
        # Lock the draw, then read the entry and its claim again: of two declines at once
        # (a double click), the second must find the seat already given up, not free another.
        draw = lock_draw(entry.draw_id)
        db.session.refresh(entry)
        if entry.outcome is not EntryOutcome.WON:
            raise Conflict(_("Only a winning entry can be declined."))
        if entry.decide_by is not None and now > _aware(entry.decide_by):
            raise Conflict(_("The deadline to decline has passed."))
        # Lock the seat's claim too: a counter marking it used at this moment must finish
        # first, so that a seat already used is not cancelled and given to someone else.
        claim = locked(Claim, entry.claim_id) if entry.claim_id is not None else None
        if claim is not None and claim.status is not ClaimStatus.CLAIMED:
            # A used seat cannot go to someone else as well.
            raise Conflict(_("This claim is %(status)s.", status=claim.status.label.lower()))
        if claim is not None and status_now(claim) is not ClaimStatus.CLAIMED:
            # Past its last day, though the expiry run has not marked it yet: the next in
            # line would be told "You won" of a seat already over.
            raise Conflict(why_not_usable(claim) or _("The deadline to decline has passed."))
        entry.outcome = EntryOutcome.DECLINED
        release_claim(claim)
        offer_to_waiting_list(draw, now)
        audit.record("catalog.draw_seat_declined", actor=user, target=draw, entry=entry.key)
        return entry


def offer_to_waiting_list(draw: Draw, now: datetime) -> None:
    """Offer a seat given up to the draw's waiting list, in order, until someone takes it
    (the caller holds the draw's lock). Flushes only; raises nothing.

    The first still waiting is read, one at a time: each offered leaves the list (won, or
    passed over), and thousands may wait."""
    while True:
        candidate = db.session.scalar(
            select(DrawEntry)
            .where(DrawEntry.draw_id == draw.id, DrawEntry.outcome == EntryOutcome.WAITING)
            .order_by(DrawEntry.position, DrawEntry.key)
            .limit(1)
        )
        if candidate is None or _award(draw, candidate, now):
            return
        db.session.flush()  # passed over: off the list before the next is read


def release_claim(claim: Claim | None) -> None:
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
    """Each check of a made draw; ``None``: the check is not part of the draw's method."""

    commitment_matches: bool
    order_matches: bool
    expected_order: list[str]
    #: the places and outcomes of the entries follow the published order
    outcomes_match: bool = True
    #: method 2: the keys are exactly those of entries 1 to n of this commitment
    keys_match: bool | None = None
    #: method 2: SHA-256 of the entries' list equals the hash published when they closed
    entries_hash_matches: bool | None = None
    #: method 2: the public value is of a day after entries closed and were frozen
    value_after_close: bool | None = None

    @property
    def ok(self) -> bool:
        checks = (
            self.commitment_matches,
            self.order_matches,
            self.outcomes_match,
            self.keys_match,
            self.entries_hash_matches,
            self.value_after_close,
        )
        return all(check is not False for check in checks)


def verify_draw(draw_id: int) -> Verification:
    """Recompute a made draw from public data only, by its own method: the revealed seed,
    the entries and (method 2) the entries hash and the public value.

    Raises:
        NotFound: no such draw. Conflict: not drawn yet (the seed is still secret).
    """
    draw = get_draw(draw_id)
    if draw.status is not DrawStatus.DRAWN:
        raise Conflict(_("This draw has not been made yet."))
    entries = draw_entries(draw.id)
    keys = [e.key for e in entries]
    later = [e.key for e in entries if e.deprioritised]
    result = list(draw.result)
    common = {
        "commitment_matches": commitment_of(draw.seed) == draw.commitment,
        "outcomes_match": _outcomes_follow(draw, entries, result),
    }
    if draw.method < 2:
        expected = draw_order(draw.seed, keys, later)
        return Verification(order_matches=expected == result, expected_order=expected, **common)
    expected = final_order(draw.seed, draw.entries_hash or "", draw.public_value or "", keys, later)
    return Verification(
        order_matches=expected == result,
        expected_order=expected,
        keys_match=sorted(keys)
        == sorted(entry_key(draw.commitment, n) for n in range(1, len(keys) + 1)),
        entries_hash_matches=entries_hash_of(keys, later) == draw.entries_hash,
        value_after_close=value_is_after_close(draw),
        **common,
    )


def value_is_after_close(draw: Draw) -> bool:
    """Method 2: the public value's day comes after the day entries closed and were frozen."""
    if draw.public_value_date is None or draw.entries_frozen_at is None:
        return False
    last_known = max(company_date(draw.entries_close_at), company_date(draw.entries_frozen_at))
    return draw.public_value_date > last_known


def public_value_facts(draw: Draw) -> dict[str, str]:
    """Method 2: what a made draw's page publishes for checking it, besides seed and entries:
    the entries hash, the public value, its day and the company days entries closed and
    were frozen (ISO dates, so the browser compares them as text)."""
    return {
        "entries_hash": draw.entries_hash or "",
        "public_value": draw.public_value or "",
        "public_value_date": draw.public_value_date.isoformat() if draw.public_value_date else "",
        "closed_on": company_date(draw.entries_close_at).isoformat(),
        "frozen_on": (
            company_date(draw.entries_frozen_at).isoformat() if draw.entries_frozen_at else ""
        ),
    }


def _outcomes_follow(draw: Draw, entries: list[DrawEntry], result: list[str]) -> bool:
    """Places follow the published order; seats went down the order: everyone before the last
    entry offered a seat was offered one (won, declined or passed over), everyone after waits;
    no more winners than seats."""
    place = {key: n for n, key in enumerate(result, start=1)}
    if any(entry.position != place.get(entry.key) for entry in entries):
        return False
    ranked = sorted(entries, key=lambda entry: entry.position or 0)
    waiting = [entry.outcome is EntryOutcome.WAITING for entry in ranked]
    offered = len(waiting) - sum(waiting)
    if any(waiting[:offered]) or any(e.outcome is EntryOutcome.PENDING for e in ranked):
        return False
    return sum(e.outcome is EntryOutcome.WON for e in ranked) <= draw.seats


def public_seed(draw: Draw) -> str | None:
    """The seed, only once the draw is made: the one place pages and exports read it from."""
    return draw.seed if draw.status is DrawStatus.DRAWN else None


def draws_due(now: datetime | None = None) -> list[int]:
    """Open draws whose entries have closed (``flask perks tick`` freezes the entries of a
    method 2 draw and makes a method 1 draw)."""
    now = now or utcnow()
    open_draws = db.session.scalars(select(Draw).where(Draw.status == DrawStatus.OPEN))
    return [draw.id for draw in open_draws if _aware(draw.entries_close_at) <= now]


def waiting_for_public_value() -> list[Draw]:
    """Method 2 draws whose entries are frozen and whose public value HR has not entered,
    oldest public value first."""
    return list(
        db.session.scalars(
            select(Draw)
            .where(Draw.status == DrawStatus.CLOSED, Draw.public_value.is_(None))
            .order_by(Draw.public_value_date, Draw.id)
        )
    )


def close_due_entries(now: datetime | None = None) -> int:
    """Freeze the entries of every open method 2 draw whose entries have closed; return how
    many this call froze (a draw another host froze first is skipped)."""
    return _done(draws_due(now), lambda draw_id: close_entries(draw_id, actor=None, now=now))


def make_due_draws(now: datetime | None = None) -> int:
    """Make every draw that can be made; return how many this call made: a method 1 draw
    whose entries have closed, a method 2 draw whose entries are frozen and whose public
    value is entered (one still waiting for its value is left for a later run).

    Safe on several hosts at once: a draw another host made first raises ``Conflict`` here
    and is skipped.
    """
    method_1 = select(Draw.id).where(Draw.id.in_(draws_due(now)), Draw.method < 2)
    valued = select(Draw.id).where(Draw.status == DrawStatus.CLOSED, Draw.public_value.is_not(None))
    due = [*db.session.scalars(method_1), *db.session.scalars(valued)]
    return _done(due, lambda draw_id: run_draw(draw_id, actor=None, now=now))


def _done(draw_ids: list[int], step: Callable[[int], Draw]) -> int:
    """Take ``step`` on each draw; how many it was taken on (a draw that raises ``Conflict``,
    say because another host took the step first, is skipped)."""
    done = 0
    for draw_id in draw_ids:
        try:
            step(draw_id)
        except Conflict:
            continue
        done += 1
    return done


# --- HR's buttons, in the background --------------------------------------------------------------

#: the background jobs of HR's two buttons: freezing the entries, making the draw
FREEZE_JOB_KIND = "draw_freeze"
MAKE_JOB_KIND = "draw_make"


def _job_subject(draw_id: int) -> str:
    return f"draw:{draw_id}"


def draw_job(draw_id: int) -> BackgroundJob | None:
    """The job freezing the draw's entries or making it, while it waits or runs."""
    subject = _job_subject(draw_id)
    return background.active_job(FREEZE_JOB_KIND, subject) or background.active_job(
        MAKE_JOB_KIND, subject
    )


def start_next_step(draw_id: int, *, actor: User, now: datetime | None = None) -> BackgroundJob:
    """HR's button: start the draw's next step in the background, as a job whose page shows
    its progress: freezing the entries of an open method 2 draw whose entries have closed
    (``close_entries``), else making the draw (``run_draw``). Each is one transaction for
    every entry (ten thousand take a while): a web request waits for neither. Asking again
    while the job waits or runs gives the same job, as it stands after the commit (a worker
    quick enough, or one run at once, may have finished it already).

    Raises:
        NotFound: no such draw.
        Conflict: what the step itself would raise now (entries still open, already drawn,
            not frozen, no public value yet).
    """
    job = _start_next_step(draw_id, actor=actor, now=now or utcnow())
    db.session.refresh(job)
    return job


def _start_next_step(draw_id: int, *, actor: User, now: datetime) -> BackgroundJob:
    with transaction():
        # The draw's lock makes two presses at once start one job.
        draw = lock_draw(draw_id)
        running = draw_job(draw.id)
        if running is not None:
            return running
        if draw.status is DrawStatus.DRAWN:
            raise Conflict(_("This draw has already been made."))
        if now < _aware(draw.entries_close_at):
            raise Conflict(_("Entries are still open."))
        freeze = draw.method >= 2 and draw.status is DrawStatus.OPEN
        if not freeze and draw.method >= 2:
            if draw.status is not DrawStatus.CLOSED:
                raise Conflict(_("Entries must be closed and frozen before the draw."))
            if draw.public_value is None:
                raise Conflict(_("The draw waits for the public value."))
        entries = db.session.scalar(
            select(func.count()).select_from(DrawEntry).where(DrawEntry.draw_id == draw.id)
        )
        return background.start_job(
            FREEZE_JOB_KIND if freeze else MAKE_JOB_KIND,
            actor=actor,
            payload={"draw_id": draw.id, "perk_id": draw.perk_id},
            subject=_job_subject(draw.id),
            total=entries or 0,
        )


def _run_step(run: JobRun) -> None:
    """The job: the step and the job's outcome in one transaction, so a freeze or a draw and
    its "done" are never separated (a job taken up again after its worker died does it once:
    the first attempt's work rolled back with it)."""
    step = _freeze if run.kind == FREEZE_JOB_KIND else _make
    with transaction():
        draw = step(
            int(run.payload["draw_id"]),
            actor=run.actor,
            now=utcnow(),
            progress=lambda done, total: run.progress(done, total),
        )
        run.succeed({"draw_id": draw.id, "perk_id": draw.perk_id, "entries": _count(draw)})


def _count(draw: Draw) -> int:
    return (
        db.session.scalar(
            select(func.count()).select_from(DrawEntry).where(DrawEntry.draw_id == draw.id)
        )
        or 0
    )


def _hr(user: User) -> bool:
    return user.has_role(Role.HR)


background.register_kind(
    FREEZE_JOB_KIND,
    _run_step,
    title=_l("Freezing a draw's entries"),
    result_template="catalog/_draw_job.html",
    # every HR person sees the draw's page, so the progress of its step too
    shared_with=_hr,
    seen_by=_hr,
)
background.register_kind(
    MAKE_JOB_KIND,
    _run_step,
    title=_l("Making a draw"),
    result_template="catalog/_draw_job.html",
    shared_with=_hr,
    seen_by=_hr,
)
