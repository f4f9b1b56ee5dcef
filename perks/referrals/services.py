"""Employees' referral links: the default one, more to products and categories, pausing.

Where a link goes is stored on the server (a destination kind and a product or category id)
and turned into a storefront URL only with ``url_for`` on the shop's endpoints: nothing a
visitor sends ever becomes a redirect target.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    bindparam,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from perks.db import (
    PROBE_LIMIT,
    among,
    joined_keys,
    keys_array,
    keys_parameter,
    probing,
    transaction,
    utcnow,
)
from perks.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from perks.extensions import db
from perks.i18n import company_zone
from perks.people.models import User
from perks.referrals.events import link_changed
from perks.referrals.models import (
    Click,
    ClickDay,
    ClickRollup,
    Destination,
    ReferralLink,
    new_link_code,
    new_link_codes,
)
from perks.referrals.rollup import STATE_ID
from perks.shop.models import Product, ProductCategory
from perks.text import trim

#: what a code may look like in a URL or typed at checkout (more than today's alphabet, so
#: codes of another length or alphabet later still resolve); anything else is unknown
CODE_PATTERN = re.compile(r"[a-z0-9]{1,16}")
#: what people put inside a code they copy out by hand
_CODE_SEPARATORS = re.compile(r"[\s\-]")
#: a person can hardly share more links than this; it stops runaway scripts
MAX_LINKS_PER_PERSON = 200
LABEL_MAX_LENGTH = 80
#: how often a fresh code is tried when one is taken (31^7 codes: a clash is very rare)
CODE_ATTEMPTS = 8

STOREFRONT_ENDPOINT = "shop.index"


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """A storefront page: a shop endpoint and its arguments, for ``url_for``."""

    endpoint: str
    #: the page's arguments (strings), typed as ``url_for`` takes them
    values: dict[str, Any] = field(default_factory=dict)


STOREFRONT = LinkTarget(STOREFRONT_ENDPOINT)


@dataclass(frozen=True, slots=True)
class LinkRow:
    """One line of a person's links page."""

    link: ReferralLink
    #: human clicks (bots are not counted)
    clicks: int
    #: the product's or category's name; None for the storefront
    destination_name: str | None


def normalize_code(text: str | None) -> str | None:
    """The code in what was typed or followed, or None when it cannot be a code.

    Accepts the code in any case, with spaces or dashes in it as people copy it out in
    groups ("AB3K-9MQ", "ab3 k9mq": a code has neither), or a whole link pasted at checkout
    (``https://perks.example/r/ab3k9mq``). Invisible format characters that come along
    when a code is copied out of a chat (zero-width space, byte order mark, word joiner: a
    code has none) are left out wherever they are.
    """
    value = text or ""
    if not value.isascii():
        value = "".join(ch for ch in value if unicodedata.category(ch) != "Cf")
    value = value.strip().lower()
    if "/r/" in value:
        value = value.rsplit("/r/", 1)[1].split("?", 1)[0].split("#", 1)[0].strip("/")
    else:
        value = _CODE_SEPARATORS.sub("", value)
    return value if CODE_PATTERN.fullmatch(value) else None


def link_target(
    destination: Destination, product_slug: str | None, category_slug: str | None
) -> LinkTarget:
    """The page a link leads to: its product (if on sale) or category, else the storefront."""
    if destination is Destination.PRODUCT and product_slug:
        return LinkTarget("shop.product", {"slug": product_slug})
    if destination is Destination.CATEGORY and category_slug:
        return LinkTarget("shop.category", {"slug": category_slug})
    return STOREFRONT


# --- reading --------------------------------------------------------------------------------


def own_link(link_id: int, user: User) -> ReferralLink:
    """The person's own link. Raises NotFound for anyone else's (no existence leak)."""
    link = db.session.get(ReferralLink, link_id)
    if link is None or link.user_id != user.id:
        raise NotFound()
    return link


def link_by_code(code: str | None) -> ReferralLink | None:
    """The link with this code (typed or followed), whatever its state; None if none."""
    normalized = normalize_code(code)
    if normalized is None:
        return None
    return db.session.scalar(select(ReferralLink).where(ReferralLink.code == normalized))


def _destinations(
    links: list[ReferralLink],
) -> tuple[dict[int, Product], dict[int, ProductCategory]]:
    """The products and categories ``links`` point at, in two statements at most."""
    product_ids = {
        link.destination_id
        for link in links
        if link.destination is Destination.PRODUCT and link.destination_id is not None
    }
    category_ids = {
        link.destination_id
        for link in links
        if link.destination is Destination.CATEGORY and link.destination_id is not None
    }
    products = (
        {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(product_ids)))}
        if product_ids
        else {}
    )
    categories = (
        {
            c.id: c
            for c in db.session.scalars(
                select(ProductCategory).where(ProductCategory.id.in_(category_ids))
            )
        }
        if category_ids
        else {}
    )
    return products, categories


def _destination_name(
    link: ReferralLink, products: dict[int, Product], categories: dict[int, ProductCategory]
) -> str | None:
    if link.destination is Destination.PRODUCT:
        product = products.get(link.destination_id or 0)
        if product is not None and not product.active:
            # taken off the storefront: its visitors land on the storefront's home page
            off_sale: str = _("%(name)s (no longer on sale)", name=product.name)
            return off_sale
        return product.name if product else _("(no longer on sale)")
    if link.destination is Destination.CATEGORY:
        category = categories.get(link.destination_id or 0)
        return category.name if category else _("(no longer on sale)")
    return None


def my_links(user: User) -> list[LinkRow]:
    """The person's links, default first then newest, with their human clicks.

    A fixed number of statements however many links and clicks there are.
    """
    clicks = _all_time_clicks(ReferralLink.id)
    rows = db.session.execute(
        select(ReferralLink, clicks)
        .where(ReferralLink.user_id == user.id)
        .order_by(
            ReferralLink.is_default.desc(), ReferralLink.created_at.desc(), ReferralLink.id.desc()
        )
    ).all()
    links = [link for link, _count in rows]
    products, categories = _destinations(links)
    return [
        LinkRow(link, count or 0, _destination_name(link, products, categories))
        for link, count in rows
    ]


def link_details(link: ReferralLink) -> tuple[str | None, LinkTarget]:
    """The name of the page ``link`` leads to (None: the storefront) and the page itself."""
    products, categories = _destinations([link])
    product = products.get(link.destination_id or 0)
    category = categories.get(link.destination_id or 0)
    target = link_target(
        link.destination,
        product.slug if product is not None and product.active else None,
        category.slug if category is not None else None,
    )
    return _destination_name(link, products, categories), target


def _all_time_clicks(link_id: Any) -> ColumnElement[int]:
    """A link's human clicks since it was made (``link_id``: a number, or the link's id
    column to correlate with): the raw clicks kept, and the day summaries of the months whose
    raw clicks were dropped after their retention (``perks.referrals.partitions``), so the
    count never goes down. Reads where raw clicks begin (a statement)."""
    raw = select(func.count()).where(Click.link_id == link_id, Click.is_bot.is_(False))
    raw_from = db.session.scalar(select(ClickRollup.raw_from).where(ClickRollup.id == STATE_ID))
    if raw_from is None:
        return raw.scalar_subquery()
    dropped = select(func.coalesce(func.sum(ClickDay.clicks), 0)).where(
        ClickDay.link_id == link_id, ClickDay.day < raw_from
    )
    kept = raw.where(
        Click.clicked_at >= datetime.combine(raw_from, time.min, company_zone()).astimezone(UTC)
    )
    return kept.scalar_subquery() + dropped.scalar_subquery()


def human_clicks(link_id: int) -> int:
    """The link's human clicks since it was made (``_all_time_clicks``)."""
    return db.session.scalar(select(_all_time_clicks(link_id))) or 0


# --- writing --------------------------------------------------------------------------------


def _add_with_fresh_code(link: ReferralLink) -> ReferralLink:
    """Insert ``link`` under a new unique code, trying again if the code is taken (flush only).

    Raises:
        IntegrityError: the insert failed for another reason (a second default link).
    """
    for attempt in range(CODE_ATTEMPTS):
        link.code = new_link_code()
        try:
            with db.session.begin_nested():
                db.session.add(link)
                db.session.flush()
        except IntegrityError:
            # The savepoint's rollback took ``link`` out of the session: it is added again.
            taken = db.session.scalar(select(ReferralLink.id).where(ReferralLink.code == link.code))
            if taken is None or attempt == CODE_ATTEMPTS - 1:
                raise
            continue
        return link
    raise AssertionError("unreachable")  # pragma: no cover


def _default_link(user_id: int) -> ReferralLink | None:
    return db.session.scalar(
        select(ReferralLink).where(ReferralLink.user_id == user_id, ReferralLink.is_default)
    )


def default_link(user: User) -> ReferralLink | None:
    """The person's default link, if they have one (everyone active should: see below)."""
    return _default_link(user.id)


def _new_default_link(user_id: int) -> ReferralLink:
    return ReferralLink(
        user_id=user_id,
        label="",
        destination=Destination.STOREFRONT,
        destination_id=None,
        is_default=True,
    )


def _selecting(column: Any, values: Sequence[Any], *conditions: Any) -> Iterator[Any]:
    """Statements reading ``column`` of the links whose ``column`` is one of ``values`` (and
    that meet ``conditions``): on PostgreSQL, up to ``PROBE_LIMIT`` values, one index look-up
    each (``perks.db.probing``: the same cost whatever the number of links); otherwise as
    ``perks.db.among``."""
    if values and len(values) <= PROBE_LIMIT and db.session.get_bind().dialect.name == "postgresql":
        yield probing([column], column, keys_array(values, column.type), *conditions)
        return
    for condition in among(column, values):
        yield select(column).where(condition, *conditions)


#: what every default link holds but its owner and code
_DEFAULT_LINK_VALUES = {
    "label": "",
    "destination": Destination.STOREFRONT,
    "destination_id": None,
    "is_default": True,
    "paused": False,
}


def _default_links_insert() -> Any:
    """``INSERT`` default links for the people ``:user_ids`` under the codes ``:codes``
    (``joined_keys``, in the same order), made at ``:now``, from ``unnest`` (PostgreSQL):
    two array parameters whatever the count. Built once."""
    table = ReferralLink.__table__
    pairs = (
        func.unnest(keys_parameter("user_ids", Integer()), keys_parameter("codes", String()))
        .table_valued("user_id", "code")
        .render_derived(name="pairs")
    )
    now = bindparam("now", type_=table.c.created_at.type)
    values = [
        pairs.c.user_id,
        pairs.c.code,
        *(literal(value, type_=table.c[name].type) for name, value in _DEFAULT_LINK_VALUES.items()),
        now,
        now,
    ]
    columns = ["user_id", "code", *_DEFAULT_LINK_VALUES, "created_at", "updated_at"]
    return postgresql.insert(table).from_select(columns, select(*values))


_DEFAULT_LINKS_INSERT = _default_links_insert()
#: the same, leaving out a row whose code is taken, and saying whose went in
_DEFAULT_LINKS_INSERT_SKIPPING_TAKEN = _DEFAULT_LINKS_INSERT.on_conflict_do_nothing(
    index_elements=["code"]
).returning(ReferralLink.__table__.c.user_id)


def _insert_default_links(
    user_ids: Sequence[int], codes: Sequence[str], now: datetime, *, skip_taken: bool
) -> set[int]:
    """Insert default links to the storefront of ``user_ids`` under ``codes`` (no flush of
    objects: nothing goes through the session's identity map) and return whose went in. With
    ``skip_taken`` a row whose code some link already has (or an earlier row of the same
    insert) is left out (``ON CONFLICT (code) DO NOTHING``), not an error. On PostgreSQL one
    ``INSERT ... SELECT FROM unnest`` built once, elsewhere a multi-row insert.

    Raises:
        IntegrityError: a row breaks another constraint (a second default link), or, without
            ``skip_taken``, its code is taken.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        parameters = {
            "user_ids": joined_keys(user_ids),
            "codes": joined_keys(codes),
            "now": now,
        }
        if not skip_taken:
            db.session.execute(_DEFAULT_LINKS_INSERT, parameters)
            return set(user_ids)
        return set(db.session.scalars(_DEFAULT_LINKS_INSERT_SKIPPING_TAKEN, parameters))
    table = ReferralLink.__table__
    statement = sqlite.insert(table)
    if skip_taken:
        statement = statement.on_conflict_do_nothing(index_elements=["code"])
    rows = [
        {
            "user_id": user_id,
            "code": code,
            **_DEFAULT_LINK_VALUES,
            "created_at": now,
            "updated_at": now,
        }
        for user_id, code in zip(user_ids, codes, strict=True)
    ]
    return set(db.session.scalars(statement.returning(table.c.user_id), rows))


def give_default_links(user_ids: Sequence[int], *, new: Collection[int] = frozenset()) -> int:
    """A default link for each of the people ``user_ids`` who has none (flush only; the
    caller commits).

    Called in the transaction that added or re-activated them (``people_activated``), so
    nobody has to wait for a first visit. The links go in with one multi-row insert, their
    codes drawn in memory; a row whose code is taken (by a link, or by an earlier row of the
    insert) is left out by the database, and those rows alone are drawn again and inserted,
    ``CODE_ATTEMPTS`` times at most (31^7 codes: a clash is rare, two in a row rarer still).
    The codes are not looked up first: the insert's unique index is the check.

    ``new`` are those of ``user_ids`` added in this transaction: nothing can refer to them
    yet, so they are not looked for among the links (a batch of new people, one query less).

    Returns how many links were made.

    Raises:
        IntegrityError: the insert failed for another reason (a second default link), or a
            code clashed ``CODE_ATTEMPTS`` times.
    """
    ids = list(dict.fromkeys(user_ids))
    having: set[int] = set()
    known = [user_id for user_id in ids if user_id not in new]
    for statement in _selecting(ReferralLink.user_id, known, ReferralLink.is_default):
        having.update(db.session.scalars(statement))
    missing = [user_id for user_id in ids if user_id not in having]
    if not missing:
        return 0
    now = utcnow()
    waiting = missing
    for attempt in range(1, CODE_ATTEMPTS + 1):
        # The last attempt lets a clash raise rather than leave anyone without a link.
        made = _insert_default_links(
            waiting, new_link_codes(len(waiting)), now, skip_taken=attempt < CODE_ATTEMPTS
        )
        waiting = [user_id for user_id in waiting if user_id not in made]
        if not waiting:
            break
    return len(missing)


def on_people_activated(
    sender: Sequence[int], *, new: Collection[int] = frozenset(), **_: object
) -> None:
    """Receiver of ``people_activated``: their default links, as soon as they are added or
    re-activated (in that transaction)."""
    give_default_links(sender, new=new)


def ensure_default_link(user: User) -> ReferralLink:
    """The person's default link to the storefront, made now if they have none (people get
    one when they are added or re-activated: this is the "make my link" button's service, for
    people added before that, or by other means).

    Safe when two requests race: a unique index allows one default link per person, and
    the loser of the race reads the winner's link.

    Raises:
        NotPermitted: the person is deactivated (their links no longer earn anything).
    """
    with transaction():
        link = _default_link(user.id)
        if link is not None:
            return link
        if not user.active:
            raise NotPermitted()
        try:
            return _add_with_fresh_code(_new_default_link(user.id))
        except IntegrityError:
            link = _default_link(user.id)  # made by a simultaneous request
            if link is None:
                raise
            return link


def ensure_default_links() -> int:
    """Give every active person who has none a default link (the demo, a one-off backfill).

    Returns how many links were made.
    """
    with transaction():
        has_default = select(ReferralLink.user_id).where(ReferralLink.is_default)
        people = db.session.scalars(
            select(User.id)
            .where(User.active.is_(True), User.id.not_in(has_default))
            .order_by(User.id)
        )
        return give_default_links(list(people))


def create_link(
    user: User, *, label: str, destination: Destination, destination_id: int | None
) -> ReferralLink:
    """A new link of ``user`` to the storefront, a category or a product on sale.

    Raises:
        ValidationFailed: no label, a label too long (in characters as they read), or a
            product or category that does not exist (or a product no longer on sale).
        Conflict: the person already has ``MAX_LINKS_PER_PERSON`` links.
        NotPermitted: the person is deactivated.
    """
    # composed (NFC): Vietnamese typed decomposed is as long as it reads
    label = " ".join(unicodedata.normalize("NFC", trim(label)).split())
    if not label or len(label) > LABEL_MAX_LENGTH:
        raise ValidationFailed(
            _("Give the link a label of up to %(max)d characters.", max=LABEL_MAX_LENGTH)
        )
    with transaction():
        if not user.active:
            raise NotPermitted()
        if destination is Destination.STOREFRONT:
            destination_id = None
        elif destination is Destination.PRODUCT:
            product = db.session.get(Product, destination_id) if destination_id else None
            if product is None or not product.active:
                raise ValidationFailed(_("Choose a product that is on sale."))
        else:
            category = db.session.get(ProductCategory, destination_id) if destination_id else None
            if category is None:
                raise ValidationFailed(_("Choose one of the storefront's categories."))
        count = db.session.scalar(
            select(func.count()).select_from(ReferralLink).where(ReferralLink.user_id == user.id)
        )
        if (count or 0) >= MAX_LINKS_PER_PERSON:
            raise Conflict(
                _("You have %(count)d links, the most anyone can have.", count=MAX_LINKS_PER_PERSON)
            )
        return _add_with_fresh_code(
            ReferralLink(
                user_id=user.id,
                label=label,
                destination=destination,
                destination_id=destination_id,
                is_default=False,
            )
        )


def set_link_paused(link_id: int, user: User, *, paused: bool) -> ReferralLink:
    """Pause or resume one of the person's links. Doing it twice changes nothing.

    A paused link still takes visitors to the storefront, but counts no clicks and attributes
    no orders, including orders of customers who clicked it before the pause.

    Raises:
        NotFound: not the person's link.
    """
    with transaction():
        link = own_link(link_id, user)
        link.paused = paused
    link_changed.send(link.code)
    return link
