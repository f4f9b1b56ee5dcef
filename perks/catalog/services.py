"""Running the catalog (HR): perks, their code pools and images, publishing."""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field, fields
from datetime import date
from typing import cast

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import case, false, func, select, update

from perks import audit, images, rule_history, sent_once
from perks.catalog import eligibility
from perks.catalog.models import (
    Allocation,
    Claim,
    ClaimStatus,
    CodeMode,
    Draw,
    DrawStatus,
    LimitPeriod,
    Perk,
    PerkCategory,
    PerkCode,
    PerkKind,
    PerkStatus,
)
from perks.db import locked, transaction, utcnow
from perks.errors import ChangedMeanwhile, Conflict, NotFound, ValidationFailed
from perks.extensions import db
from perks.fingerprints import fingerprint
from perks.folding import alphabetical, names_in_order
from perks.i18n import company_date, company_today, format_day, format_number
from perks.people.models import Department, EmploymentType, User
from perks.text import trim

MAX_CODE_LENGTH = 64
MAX_CODES_PER_IMPORT = 50_000
#: the image rules (``perks.images``), named here for the forms
MAX_IMAGE_BYTES = images.MAX_IMAGE_BYTES
IMAGE_SIGNATURES = images.IMAGE_SIGNATURES
#: characters no code contains: C0 controls (NUL, TAB...), DEL and C1 controls
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _unreadable(code: str) -> bool:
    """Whether ``code`` holds a character nobody at a counter could type: a control
    character, or an invisible format character (Unicode category Cf: zero-width space, word
    joiner, byte order mark...) that text copied from a web page or a chat brings."""
    return bool(CONTROL_CHARACTERS.search(code)) or any(
        unicodedata.category(character) == "Cf" for character in code
    )


@dataclass(frozen=True)
class PerkData:
    """What HR may set on a perk (an allow-list: stock counters and status are not here)."""

    title_vi: str
    title_en: str
    kind: PerkKind = PerkKind.DISCOUNT_CODE
    category: PerkCategory = PerkCategory.OTHER
    description_vi: str = ""
    description_en: str = ""
    partner_name: str = ""
    value_vi: str = ""
    value_en: str = ""
    terms_vi: str = ""
    terms_en: str = ""
    starts_on: date | None = None
    ends_on: date | None = None
    code_mode: CodeMode = CodeMode.VOUCHER
    shared_code: str = ""
    total_stock: int | None = None
    per_person_limit: int | None = 1
    limit_period: LimitPeriod = LimitPeriod.EVER
    allocation: Allocation = Allocation.FIRST_COME
    department_ids: frozenset[int] = field(default_factory=frozenset)
    locations: tuple[str, ...] = ()
    employment_types: frozenset[EmploymentType] = field(default_factory=frozenset)
    min_tenure_days: int = 0
    #: a reward's price in points (``perks.recognition.kudos.spend_points``); None: not one
    points_price: int | None = None


@dataclass(frozen=True)
class CodeError:
    line: int
    message: str


def get_perk(perk_id: int) -> Perk:
    """Raises NotFound."""
    perk = db.session.get(Perk, perk_id)
    if perk is None:
        raise NotFound()
    return perk


#: the order of HR's perk list: what people see now, then what is being written, then the past
ADMIN_LIST_ORDER = (PerkStatus.PUBLISHED, PerkStatus.DRAFT, PerkStatus.ARCHIVED)


def list_perks_for_admin(status: PerkStatus | None = None) -> list[Perk]:
    """HR's perks (of ``status``): published, then drafts, then archived, each by the title
    the list shows. Raises nothing."""
    rank = case({state: place for place, state in enumerate(ADMIN_LIST_ORDER)}, value=Perk.status)
    # the title the list shows: the Vietnamese one, or the English one when there is none
    shown_title = func.coalesce(func.nullif(Perk.title_vi, ""), Perk.title_en)
    query = select(Perk).order_by(rank, *alphabetical(shown_title), Perk.id)
    if status is not None:
        query = query.where(Perk.status == status)
    return list(db.session.scalars(query))


def claimed_counts(perk_ids: list[int]) -> dict[int, int]:
    """Live claims per perk, in one query."""
    if not perk_ids:
        return {}
    rows = db.session.execute(
        select(Claim.perk_id, func.count())
        .where(Claim.perk_id.in_(perk_ids), Claim.slot.is_not(None))
        .group_by(Claim.perk_id)
    )
    return dict(rows.all())


def unused_code_counts(perk_ids: list[int]) -> dict[int, int]:
    """Unused pool codes per perk, in one query."""
    if not perk_ids:
        return {}
    rows = db.session.execute(
        select(PerkCode.perk_id, func.count())
        .where(PerkCode.perk_id.in_(perk_ids), PerkCode.claim_id.is_(None))
        .group_by(PerkCode.perk_id)
    )
    return dict(rows.all())


def rule_terms(perk: Perk) -> dict[str, object]:
    """The perk's rules as the rules history keeps them: who may have it, when, how many."""
    return {
        "name": {"vi": perk.title_vi, "en": perk.title_en},
        "kind": perk.kind.value,
        "status": perk.status.value,
        "starts_on": perk.starts_on.isoformat() if perk.starts_on else None,
        "ends_on": perk.ends_on.isoformat() if perk.ends_on else None,
        "total_stock": perk.total_stock,
        "per_person_limit": perk.per_person_limit,
        "limit_period": perk.limit_period.value,
        "allocation": perk.allocation.value,
        "departments": sorted(d.name for d in perk.departments),
        "locations": list(perk.locations),
        "employment_types": list(perk.employment_types),
        "min_tenure_days": perk.min_tenure_days,
        # what it gives, on what terms, at what price in points
        "value": {"vi": perk.value_vi, "en": perk.value_en},
        "terms": {"vi": perk.terms_vi, "en": perk.terms_en},
        "points_price": perk.points_price,
    }


def _audited_terms(perk: Perk) -> dict[str, object]:
    """What the audit log compares of a perk before and after a change: its rules
    (``rule_terms``) and what else HR's page sets, which the rules history does not keep:
    the code everyone gets, how codes are given, the partner, the category and the
    descriptions. Raises nothing."""
    return {
        **rule_terms(perk),
        "code_mode": perk.code_mode.value,
        "shared_code": perk.shared_code,
        "partner_name": perk.partner_name,
        "category": perk.category.value,
        "description_vi": perk.description_vi,
        "description_en": perk.description_en,
    }


def _record_version(perk: Perk, before: dict[str, object] | None) -> None:
    rule_history.record_change(
        rule_history.PERK, perk.id, before, rule_terms(perk), since=perk.created_at
    )


def create_perk(data: PerkData, *, actor: User, sending: str | None = None) -> Perk:
    """Add a draft perk.

    Raises:
        ValidationFailed: missing titles, dates in the wrong order, bad stock or limits
            (``details["field"]`` names the form field it is about).
    """
    with transaction():
        if (earlier := sent_once.made_before(Perk, sending, actor)) is not None:
            return earlier
        perk = Perk(status=PerkStatus.DRAFT, created_by_id=actor.id)
        _apply(perk, data, claimed=0)
        db.session.add(perk)
        db.session.flush()
        sent_once.remember(sending, perk, actor)
        audit.record("catalog.perk_created", actor=actor, target=perk, title=perk.title_vi)
        _record_version(perk, None)
        return perk


#: what the edit page shows of a perk: ``PerkData``'s fields, stored under the same names
#: (but the departments, a relationship)
SHOWN_COLUMNS = tuple(f.name for f in fields(PerkData) if f.name != "department_ids")


def perk_data_of(perk: Perk) -> PerkData:
    """What HR's form would send back for ``perk`` unchanged. Raises nothing."""
    values: dict[str, object] = {name: getattr(perk, name) for name in SHOWN_COLUMNS}
    values["locations"] = tuple(perk.locations)
    values["employment_types"] = frozenset(EmploymentType(t) for t in perk.employment_types)
    return PerkData(
        **values,  # type: ignore[arg-type]
        department_ids=frozenset(d.id for d in perk.departments),
    )


def shown_fingerprint(perk: Perk) -> str:
    """The fingerprint (``perks.fingerprints``) of what HR's edit page shows of ``perk``: its
    form sends it back, and ``update_perk`` refuses a save when it no longer matches. Stock
    taken by claims, the status and the image are not in it: they change without making
    what the page shows out of date. Raises nothing."""
    shown: dict[str, object] = {name: getattr(perk, name) for name in SHOWN_COLUMNS}
    shown["department_ids"] = {d.id for d in perk.departments}
    return fingerprint(shown)


def update_perk(perk_id: int, data: PerkData, *, actor: User, shown: str | None = None) -> Perk:
    """Change a perk; stock already claimed stays claimed, and unused claims follow a later
    last day and a new shared code.

    ``shown`` is the ``shown_fingerprint`` of the perk as the page showed it: a page opened
    before another HR person saved the perk must not overwrite their change unseen. ``None``
    checks nothing (callers that showed no page: the demo, scripts). Changes of one perk take
    turns (its row is locked), so of two saves from the same page the second sees the first.

    Raises:
        NotFound: no such perk.
        ChangedMeanwhile: what the page showed is no longer what is saved; nothing is saved.
        ValidationFailed: as ``create_perk``, or a total stock below what is already claimed.
        Conflict: a draw of the perk is under way (open, or its entries frozen) and the change
            would move its allocation, its stock, its first day, its limit or who may have it,
            or end the perk before the draw can be made: what people entered for stays as it
            was until it is drawn.
    """
    with transaction():
        # Lock the row first: a claim taking stock meanwhile would otherwise be counted in
        # neither ``claimed`` nor the new remaining stock, and the perk could be oversold.
        # Read it again under the lock, not from what the session loaded before (the view's
        # ``get_perk``): what ``shown`` is compared with is what is saved now.
        perk = locked(Perk, perk_id)
        if perk is None:
            raise NotFound()
        if shown is not None and shown != shown_fingerprint(perk):
            raise ChangedMeanwhile(_changed_meanwhile(perk))
        drawn_on = _pending_draw_day(perk.id)
        if drawn_on is not None and data.ends_on is not None and data.ends_on < drawn_on:
            raise Conflict(
                _(
                    "A draw of this perk is made once the public value of %(day)s is known: "
                    "its last day cannot come before that.",
                    day=format_day(drawn_on),
                ),
                field="ends_on",
            )
        claimed = claimed_counts([perk.id]).get(perk.id, 0)
        before = rule_terms(perk)
        audited_before = _audited_terms(perk)
        period_before = perk.limit_period
        shared_before = perk.shared_code if perk.code_mode is CodeMode.SHARED else None
        _apply(perk, data, claimed=claimed)
        if _terms_a_draw_keeps(rule_terms(perk)) != _terms_a_draw_keeps(before) and (
            _draw_under_way(perk.id)
        ):
            raise Conflict(
                _(
                    "A draw of this perk is under way: who may have it, from when, how many "
                    "each, its allocation and its stock stay as they are until it is drawn."
                )
            )
        _extend_unused_claims(perk)
        if shared_before is not None:
            _share_new_code(perk, shared_before)
        if perk.limit_period is not period_before:
            _count_claims_in_new_periods(perk)
        db.session.flush()
        audit.record(
            "catalog.perk_updated",
            actor=actor,
            target=perk,
            changes=audit.changes(audited_before, _audited_terms(perk)),
        )
        _record_version(perk, before)
        return perk


def _changed_meanwhile(perk: Perk) -> str:
    """Who last changed ``perk``'s details, as the audit log keeps it, in the refusal's
    message (only ``update_perk`` changes what its page shows)."""
    editor = audit.last_actor(perk, "catalog.perk_updated")
    if editor is None:
        return str(
            _(
                "Someone changed this perk after you opened it, so your changes were not saved. "
                "The form now shows the perk as it is: check it and make your changes again."
            )
        )
    return str(
        _(
            "%(name)s changed this perk after you opened it, so your changes were not saved. "
            "The form now shows the perk as it is: check it and make your changes again.",
            name=editor.name,
        )
    )


def _extend_unused_claims(perk: Perk) -> None:
    """Unused claims last as long as the perk: a later last day (or none) carries them with
    it, and gives back claims that expired at the old one while the perk is on again. An
    earlier one leaves them as they were: they were claimed on the old terms."""
    still_on = perk.ends_on is None or perk.ends_on >= company_today()
    unused = (Claim.status == ClaimStatus.CLAIMED) | (
        (Claim.status == ClaimStatus.EXPIRED) if still_on else false()
    )
    later = (
        Claim.expires_on.is_not(None) if perk.ends_on is None else Claim.expires_on < perk.ends_on
    )
    db.session.execute(
        update(Claim)
        .where(Claim.perk_id == perk.id, unused, later)
        # reminded_on cleared: the holder is told again before the new last day
        .values(
            status=ClaimStatus.CLAIMED,
            expires_on=perk.ends_on,
            reminded_on=None,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )


def _share_new_code(perk: Perk, old: str) -> None:
    """A shared code is everyone's: unused claims that show the ``old`` one (HR corrected
    it, or the partner changed it) show the new one, the one the partner takes now. Used
    claims keep the code they were used with."""
    if perk.code_mode is not CodeMode.SHARED or perk.shared_code == old:
        return
    db.session.execute(
        update(Claim)
        .where(
            Claim.perk_id == perk.id,
            Claim.status.in_((ClaimStatus.CLAIMED, ClaimStatus.EXPIRED)),
            Claim.code == old,
        )
        .values(code=perk.shared_code, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _count_claims_in_new_periods(perk: Perk) -> None:
    """File each claim that counts against the limit under the period its day falls in by
    the perk's new limit period, in numbered slots: a claim made this month counts against
    a new "once ever" limit, and the December claims against a new monthly one.

    Gifts keep theirs: they are given outside the limit (``claims.grant_gift``), and a claim
    filed under a gift's year (a gift perk made claimable) takes the next slot beside it.
    """
    live = list(
        db.session.scalars(
            select(Claim)
            .where(Claim.perk_id == perk.id, Claim.slot.is_not(None))
            .order_by(Claim.claimed_at, Claim.id)
        )
    )
    counted = [claim for claim in live if claim.source != "gift"]
    for claim in counted:  # free every slot first: the unique (perk, person, period, slot)
        claim.slot = None
    db.session.flush()
    taken: dict[tuple[int, str], set[int]] = {}
    for claim in live:
        if claim.source == "gift":
            taken.setdefault((claim.user_id, claim.period_key), set()).add(claim.slot or 0)
    for claim in counted:
        key = eligibility.period_key(perk.limit_period, company_date(claim.claimed_at))
        slots = taken.setdefault((claim.user_id, key), set())
        slot = next(n for n in itertools.count(1) if n not in slots)
        slots.add(slot)
        claim.period_key, claim.slot = key, slot
    db.session.flush()


#: what a draw under way keeps as it was when people entered (``rule_terms``' names): its
#: seats, and who may win them (a winner is passed over only for the reasons
#: ``PassedOver`` names)
_KEPT_BY_A_DRAW = (
    "allocation",
    "total_stock",
    "starts_on",
    "per_person_limit",
    "limit_period",
    "departments",
    "locations",
    "employment_types",
    "min_tenure_days",
)


def _terms_a_draw_keeps(terms: dict[str, object]) -> dict[str, object]:
    kept = {name: terms[name] for name in _KEPT_BY_A_DRAW}
    kept["locations"] = sorted(cast(list[str], terms["locations"]))
    # A gift is given, never entered (``eligibility.window_reasons``): made one for a while,
    # the perk would refuse everyone else's entry, and gift programmes could give its seats.
    kept["gift"] = terms["kind"] == PerkKind.GIFT.value
    return kept


def _pending_draw_day(perk_id: int) -> date | None:
    """The day of the public value a draw under way waits for (the earliest day it can be
    made), or None. Raises nothing."""
    return db.session.scalar(
        select(func.max(Draw.public_value_date)).where(
            Draw.perk_id == perk_id, Draw.status != DrawStatus.DRAWN
        )
    )


def _draw_under_way(perk_id: int) -> bool:
    """Whether a draw of the perk is open or waiting to be drawn. Raises nothing."""
    return (
        db.session.scalar(
            select(Draw.id).where(Draw.perk_id == perk_id, Draw.status != DrawStatus.DRAWN).limit(1)
        )
        is not None
    )


def _apply(perk: Perk, data: PerkData, *, claimed: int) -> None:
    if not (trim(data.title_vi) or trim(data.title_en)):
        raise ValidationFailed(_("Give the perk a title."), field="title_vi")
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        raise ValidationFailed(_("The end date is before the start date."), field="ends_on")
    if data.total_stock is not None and data.total_stock < 0:
        raise ValidationFailed(_("Stock cannot be negative."), field="total_stock")
    if data.per_person_limit is not None and data.per_person_limit < 1:
        raise ValidationFailed(
            _("The limit per person must be at least 1, or empty for none."),
            field="per_person_limit",
        )
    if data.min_tenure_days < 0:
        raise ValidationFailed(_("Tenure cannot be negative."), field="min_tenure_days")
    if data.points_price is not None and data.points_price < 1:
        raise ValidationFailed(
            _("A price in points is at least 1, or empty for none."), field="points_price"
        )
    if data.points_price is not None and data.allocation is Allocation.DRAW:
        raise ValidationFailed(
            _("A reward bought with points is first come, not a draw."), field="points_price"
        )
    if data.kind is PerkKind.GIFT and data.allocation is Allocation.DRAW:
        raise ValidationFailed(
            _("A gift is given by its programme or award, never entered: not a draw."),
            field="allocation",
        )
    if data.code_mode is CodeMode.SHARED and not trim(data.shared_code):
        raise ValidationFailed(_("Enter the shared code."), field="shared_code")
    if data.allocation is Allocation.DRAW and (
        data.total_stock is None or data.code_mode is CodeMode.POOL
    ):
        raise ValidationFailed(
            _("A draw needs a number of seats (the stock) and cannot use a code pool."),
            field="allocation",
        )
    departments = []
    if data.department_ids:
        departments = list(
            db.session.scalars(select(Department).where(Department.id.in_(data.department_ids)))
        )
        if len(departments) != len(data.department_ids):
            raise ValidationFailed(_("Unknown department."), field="department_ids")
    if data.code_mode is CodeMode.POOL:
        perk.total_stock = None
        perk.remaining_stock = None
    else:
        if data.total_stock is not None and data.total_stock < claimed:
            raise ValidationFailed(
                ngettext(
                    "%(count)s is already claimed: the stock cannot be lower.",
                    "%(count)s are already claimed: the stock cannot be lower.",
                    claimed,
                    count=format_number(claimed),
                ),
                field="total_stock",
            )
        perk.total_stock = data.total_stock
        perk.remaining_stock = None if data.total_stock is None else data.total_stock - claimed
    for name in (
        "title_vi", "title_en", "description_vi", "description_en", "partner_name",
        "value_vi", "value_en", "terms_vi", "terms_en",
    ):  # fmt: skip
        setattr(perk, name, trim(getattr(data, name)))
    perk.kind = data.kind
    perk.category = data.category
    perk.starts_on = data.starts_on
    perk.ends_on = data.ends_on
    perk.code_mode = data.code_mode
    perk.shared_code = trim(data.shared_code) if data.code_mode is CodeMode.SHARED else ""
    perk.per_person_limit = data.per_person_limit
    perk.limit_period = data.limit_period
    perk.allocation = data.allocation
    perk.departments = departments
    perk.locations = names_in_order(data.locations)
    perk.employment_types = sorted(t.value for t in data.employment_types)
    perk.min_tenure_days = data.min_tenure_days
    perk.points_price = data.points_price


def publish_perk(perk_id: int, *, actor: User) -> Perk:
    """Make a draft (or archived) perk visible to staff.

    Raises:
        NotFound: no such perk.
        Conflict: already published, or a code pool with no codes.
    """
    with transaction():
        perk = get_perk(perk_id)
        if perk.status is PerkStatus.PUBLISHED:
            raise Conflict(_("This perk is already published."))
        if perk.code_mode is CodeMode.POOL and not unused_code_counts([perk.id]):
            raise Conflict(_("Add codes to the pool before publishing."))
        before = rule_terms(perk)
        perk.status = PerkStatus.PUBLISHED
        audit.record("catalog.perk_published", actor=actor, target=perk)
        _record_version(perk, before)
        return perk


def archive_perk(perk_id: int, *, actor: User) -> Perk:
    """Hide a perk from staff; existing claims stay valid until they expire.

    Raises:
        NotFound: no such perk. Conflict: already archived, or a draw of it is under way
            (made after, it would give nobody a seat).
    """
    with transaction():
        # locked, as opening a draw takes it: a draw opened meanwhile is seen below
        perk = locked(Perk, perk_id)
        if perk is None:
            raise NotFound()
        if perk.status is PerkStatus.ARCHIVED:
            raise Conflict(_("This perk is already archived."))
        if _draw_under_way(perk.id):
            raise Conflict(
                _("A draw of this perk is under way: archive the perk once the draw is made.")
            )
        before = rule_terms(perk)
        perk.status = PerkStatus.ARCHIVED
        audit.record("catalog.perk_archived", actor=actor, target=perk)
        _record_version(perk, before)
        return perk


def check_codes(perk: Perk, text: str) -> tuple[list[str], list[CodeError]]:
    """Parse one code per line; report blanks, duplicates and codes already in the pool."""
    codes: list[str] = []
    errors: list[CodeError] = []
    seen: dict[str, int] = {}
    lines = text.splitlines()
    # Counters type codes in any case, and lookups ignore it: "abc" and "ABC" are one code.
    existing = {
        code.upper()
        for code in db.session.scalars(select(PerkCode.code).where(PerkCode.perk_id == perk.id))
    }
    for number, raw in enumerate(lines, start=1):
        code = trim(raw)  # spaces and invisible characters around it are not part of it
        if not code:
            errors.append(CodeError(number, _("This line is blank.")))
        elif len(code) > MAX_CODE_LENGTH:
            errors.append(CodeError(number, _("Longer than %(n)d characters.", n=MAX_CODE_LENGTH)))
        elif _unreadable(code):
            # NUL cannot even be stored in PostgreSQL; a tab means columns were pasted.
            errors.append(CodeError(number, _("Contains a tab or an invisible control character.")))
        elif code.upper() in seen:
            line = seen[code.upper()]
            errors.append(CodeError(number, _("Same code as line %(line)d.", line=line)))
        elif code.upper() in existing:
            errors.append(CodeError(number, _("Already in this perk's pool.")))
        else:
            seen[code.upper()] = number
            codes.append(code)
    if not lines:
        errors.append(CodeError(1, _("There are no codes.")))
    return codes, errors


def import_codes(perk_id: int, text: str, *, actor: User) -> int:
    """Add unique codes to a pooled perk: all of them, or none.

    Imports to one perk take turns (its row is locked): of two at once (a double-clicked
    button, two HR people pasting the partner's list) the second checks its codes against
    what the first added, and lists them as already in the pool, in any case; checked
    against the pool as it was, it would have added "abc" beside "ABC", or failed.

    Raises:
        NotFound: no such perk.
        Conflict: the perk does not use a code pool.
        ValidationFailed: any bad line (``details['errors']`` lists them with line numbers),
            or more lines than an import takes (``MAX_CODES_PER_IMPORT``).
    """
    with transaction():
        perk = locked(Perk, perk_id)
        if perk is None:
            raise NotFound()
        if perk.code_mode is not CodeMode.POOL:
            raise Conflict(_("This perk does not use a code pool."))
        lines = len(text.splitlines())
        if lines > MAX_CODES_PER_IMPORT:
            # the whole list, not one of its lines: the page lists no line to fix
            raise ValidationFailed(
                _(
                    "Nothing was imported: the list has %(lines)s lines, and an import takes "
                    "at most %(most)s codes. Split it and import each part.",
                    lines=format_number(lines),
                    most=format_number(MAX_CODES_PER_IMPORT),
                )
            )
        codes, errors = check_codes(perk, text)
        if errors:
            raise ValidationFailed(
                _("Nothing was imported: fix the lines listed below."), errors=errors
            )
        db.session.execute(
            PerkCode.__table__.insert(), [{"perk_id": perk.id, "code": c} for c in codes]
        )
        audit.record("catalog.codes_imported", actor=actor, target=perk, count=len(codes))
        return len(codes)


def set_perk_image(perk_id: int, data: bytes, *, actor: User) -> Perk:
    """Store a PNG or JPEG image for a perk (checked by its content, not its name) in the
    database (``perks.images``), replacing and deleting its old one in the same transaction.

    Raises:
        NotFound: no such perk.
        ValidationFailed: too large, or not a PNG or JPEG.
    """
    images.image_type(data)
    with transaction():
        perk = get_perk(perk_id)
        old = perk.image_filename
        perk.image_filename = images.save_image(data)
        images.delete_image(old)
        audit.record("catalog.image_set", actor=actor, target=perk)
    return perk
