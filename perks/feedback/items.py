"""Sending feedback, following it up, and answering it: the services of the feedback box.

Every public function is one unit of work except :func:`open_item`, which joins the caller's
(flush only) so another capability's service (a low rating) can open an item with its own
change. The state machine is written once, in ``TRANSITIONS``; :func:`_move` is the only
place an item's status changes.

Who sees what: a sender their own named items (by id) and an anonymous item only through its
follow-up secret; an owner the items addressed to them (items without an owner are HR's).
Anyone else gets NotFound, never a hint that the item exists.

An anonymous item is never tied to its sender: nothing about them is stored or audited, no
notification is made as it arrives (the scheduled job tells the owner the next day), and its
sender is told of each step only on their follow-up page. Nor is it placed among the named
items around it: every item's id is drawn at random (:func:`open_item`), lists are in
``LIST_ORDER``, by day and subject, never by id or moment, and on PostgreSQL every sending
writes the day's items again in a random order (:func:`_write_the_days_items_again`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, bindparam, func, or_, select, update

from perks import audit
from perks.catalog.claims import company_today
from perks.db import locked, take_turns, transaction
from perks.errors import ChangedMeanwhile, Conflict, NotFound, NotPermitted, ValidationFailed
from perks.extensions import db
from perks.feedback.models import (
    DEFAULT_ACKNOWLEDGE_DAYS,
    DEFAULT_ANSWER_DAYS,
    ITEM_IDS,
    MAX_SUBJECT,
    MAX_TEXT,
    MESSAGE_IDS,
    OPEN_STATES,
    Author,
    FeedbackDesk,
    FeedbackItem,
    FeedbackMessage,
    FeedbackStatus,
    Topic,
)
from perks.fingerprints import fingerprint
from perks.folding import alphabetical
from perks.notifications import audience, link, notify
from perks.people.models import Department, Role, User, roles_if_asked
from perks.people.services import people_with_role
from perks.text import trim

S = FeedbackStatus
_shuffle = random.SystemRandom().shuffle

#: each step of the state machine: the states it starts from and the state it leads to
TRANSITIONS: dict[str, tuple[frozenset[FeedbackStatus], FeedbackStatus]] = {
    "acknowledge": (frozenset({S.NEW}), S.ACKNOWLEDGED),
    "start": (frozenset({S.ACKNOWLEDGED}), S.IN_PROGRESS),
    # from answered too: the owner answers the sender's reply to their answer
    "answer": (frozenset({S.ACKNOWLEDGED, S.IN_PROGRESS, S.ANSWERED}), S.ANSWERED),
    "close": (frozenset({S.ANSWERED}), S.CLOSED),
    "decline": (frozenset({S.NEW, S.ACKNOWLEDGED, S.IN_PROGRESS}), S.DECLINED),
}


#: how every list orders items: newest day first, then by subject as people alphabetise it
#: ("Ăn trưa" among the As, ``perks.folding.alphabetical``). A day is all an item says of when
#: it came; ordering by id or by moment would put an anonymous item between the named items
#: sent just before and after it, which would point to its sender.
LIST_ORDER = (
    FeedbackItem.received_on.desc(),
    *alphabetical(FeedbackItem.subject),
    FeedbackItem.id,
)

#: what the audit log calls each of the owner's steps
AUDIT_ACTIONS = {step: f"feedback.{step}" for step in TRANSITIONS}


@dataclass(frozen=True)
class OpenedItem:
    """An item just sent; ``follow_up_secret`` only for an anonymous one (shown once)."""

    item: FeedbackItem
    follow_up_secret: str | None = None
    #: the same form was sent before: ``item`` is the one it opened then
    again: bool = False


def _unused_id(model: type[FeedbackItem] | type[FeedbackMessage], ids: range) -> int:
    """A random id of ``ids`` no row of ``model`` has: an item's id (in its URL, the audit
    log) or a message's tells nothing of those written before or after it."""
    while True:
        candidate = ids[secrets.randbelow(len(ids))]
        if db.session.get(model, candidate) is None:
            return candidate


def _add_message(item: FeedbackItem, author: Author, text: str, day: date) -> FeedbackMessage:
    """Add a message at the end of ``item``'s conversation, with a random id. The item is
    locked first (a reply and an answer at once take turns for the next number)."""
    locked(FeedbackItem, item.id)
    last = db.session.scalar(
        select(func.max(FeedbackMessage.number)).where(FeedbackMessage.item_id == item.id)
    )
    message = FeedbackMessage(
        id=_unused_id(FeedbackMessage, MESSAGE_IDS),
        item=item,
        number=(last or 0) + 1,
        author=author,
        text=text,
        written_on=day,
    )
    db.session.add(message)
    return message


def _says_again(item: FeedbackItem, author: Author, text: str) -> bool:
    """Whether ``text`` is what ``author`` said last in ``item``'s conversation, with nothing
    said since: a double tap on 'Answer' or 'Send', or a request retried on a slow connection,
    which adds nothing and tells nobody again. The item is locked (``_locked``)."""
    last = db.session.scalars(
        select(FeedbackMessage)
        .where(FeedbackMessage.item_id == item.id)
        .order_by(FeedbackMessage.number.desc())
        .limit(1)
    ).first()
    return last is not None and last.author is author and last.text == text


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def desk_of(department_id: int | None) -> FeedbackDesk | None:
    if department_id is None:
        return None
    return db.session.get(FeedbackDesk, department_id)


def _clean(text: str, field: str, limit: int) -> str:
    cleaned = trim(text or "")
    if not cleaned:
        raise ValidationFailed(_("Write something here."), field=field)
    if len(cleaned) > limit:
        raise ValidationFailed(_("This is too long."), field=field)
    return cleaned


def open_item(
    department_id: int | None,
    subject: str,
    text: str,
    *,
    sender: User,
    topic: Topic = Topic.OTHER,
    about_perk_id: int | None = None,
    anonymous: bool = False,
    sending: str | None = None,
) -> OpenedItem:
    """Open a feedback item to ``department_id``'s owner (HR when the department has none,
    or when ``department_id`` is None) inside the caller's transaction (flush only).

    This is the feedback box's entry for other capabilities: a rating of 1 or 2 calls
    ``open_item(None, title, comment, sender=person, topic=Topic.PERK, about_perk_id=perk.id,
    anonymous=not named)``. For an anonymous item nothing of ``sender`` is kept; the
    returned ``follow_up_secret`` is the sender's only way back to it (show it once).
    ``sending`` is the token of the form that sent it (``send_feedback``): kept hashed, and
    an anonymous item's secret is drawn from it, so the same form sent again shows it again.

    Raises:
        ValidationFailed: empty or too long subject or text; no such department.
    """
    subject = _clean(subject, "subject", MAX_SUBJECT)
    text = _clean(text, "text", MAX_TEXT)
    if department_id is not None and db.session.get(Department, department_id) is None:
        raise ValidationFailed(_("Choose a department."), field="department")
    desk = desk_of(department_id)
    if not anonymous:
        secret = None
    elif sending:
        secret = _secret_of_sending(sending)
    else:
        secret = secrets.token_urlsafe(24)
    item = FeedbackItem(
        id=_unused_id(FeedbackItem, ITEM_IDS),
        department_id=department_id,
        topic=topic,
        about_perk_id=about_perk_id,
        subject=subject,
        text=text,
        anonymous=anonymous,
        sender_id=None if anonymous else sender.id,
        follow_up_hash=hash_secret(secret) if secret else None,
        sending_hash=hash_secret(sending) if sending else None,
        # a desk whose owner has left answers through HR until HR names another owner
        owner_id=desk.owner_id if desk and desk.owner is not None and desk.owner.active else None,
        status=S.NEW,
        acknowledge_days=desk.acknowledge_days if desk else DEFAULT_ACKNOWLEDGE_DAYS,
        answer_days=desk.answer_days if desk else DEFAULT_ANSWER_DAYS,
        received_on=company_today(),
    )
    db.session.add(item)
    db.session.flush()
    _write_the_days_items_again(item.received_on)
    return OpenedItem(item, secret)


def _write_the_days_items_again(day: date) -> None:
    """Write every item received on ``day`` again, in a random order, in this transaction.

    On PostgreSQL a table's rows lie in the order they were written (``ctid``, what a
    ``SELECT`` without ``ORDER BY`` or a dump shows) and carry the transaction that wrote them
    (``xmin``): an anonymous item would lie between the named items sent just before and just
    after it. Rewritten, the day's items share one writing transaction and lie in a random
    order, so a row tells no more than its day. Locked in id order first, so that two items
    sent at once queue instead of deadlocking. (Old row versions stay until vacuum: the
    residual risk the README states.) Raises nothing.
    """
    table = FeedbackItem.__table__
    ids = list(
        db.session.scalars(
            select(FeedbackItem.id)
            .where(FeedbackItem.received_on == day)
            .order_by(FeedbackItem.id)
            .with_for_update()
        )
    )
    _shuffle(ids)
    db.session.execute(
        update(table)
        .where(table.c.id == bindparam("item_id"))
        .values(received_on=table.c.received_on),
        [{"item_id": item_id} for item_id in ids],
    )


def _keyed(purpose: str, text: str) -> bytes:
    """A keyed hash (``SECRET_KEY``) of ``text`` for ``purpose``."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"{purpose}:{text}".encode(), hashlib.sha256).digest()


def new_sending(sender: User) -> str:
    """A token for a feedback form drawn now for ``sender``: 16 random hex digits, then 16
    that only this server makes for them, so nobody else can send it (and be shown the link
    of the anonymous item it opened). Nothing of it is stored. Raises nothing."""
    nonce = secrets.token_hex(8)
    return nonce + _keyed("feedback-sending", f"{sender.id}:{nonce}")[:8].hex()


def is_sending_of(sending: str, sender: User) -> bool:
    """Whether ``sending`` is a token ``new_sending`` made for ``sender``. Raises nothing."""
    if len(sending) != 32:
        return False
    nonce, mac = sending[:16], sending[16:]
    made = _keyed("feedback-sending", f"{sender.id}:{nonce}")[:8].hex()
    return hmac.compare_digest(mac, made)


def _secret_of_sending(sending: str) -> str:
    """The follow-up secret of the anonymous item the form with token ``sending`` opens: a
    keyed hash of it, so the same form sent again shows the same link, while the database,
    which keeps only the token's and the secret's hashes, cannot make it."""
    return base64.urlsafe_b64encode(_keyed("feedback-follow-up", sending)[:24]).decode()


def send_feedback(
    sender: User,
    department_id: int | None,
    topic: Topic,
    subject: str,
    text: str,
    *,
    anonymous: bool = False,
    sending: str | None = None,
) -> OpenedItem:
    """Send feedback from the box (one unit of work; see :func:`open_item`).

    ``sending`` is the token of the form (``new_sending``, one per form drawn): the same form
    sent again (a double tap, its answer reloaded, Back and send) is the item it opened,
    returned with ``again`` (an anonymous one with the same follow-up secret), whatever it
    says; two at once take turns. None (a page older than the token) opens an item each time.

    Raises:
        ValidationFailed: empty or too long subject or text; no such department; a token
            not made for ``sender`` (field ``sending``).
    """
    if sending and not is_sending_of(sending, sender):
        raise ValidationFailed(
            _("This page is out of date: open the feedback form again."), field="sending"
        )
    with transaction():
        if sending:
            take_turns(f"perks.feedback.sending:{sending}")
            earlier = db.session.scalar(
                select(FeedbackItem).where(FeedbackItem.sending_hash == hash_secret(sending))
            )
            if earlier is not None:
                secret = _secret_of_sending(sending) if earlier.anonymous else None
                if secret is not None and hash_secret(secret) != earlier.follow_up_hash:
                    secret = None  # made with another SECRET_KEY: the link was shown then
                return OpenedItem(earlier, secret, again=True)
        return open_item(
            department_id,
            subject,
            text,
            sender=sender,
            topic=topic,
            anonymous=anonymous,
            sending=sending,
        )


# --- who sees what --------------------------------------------------------------------------


def _owned_by(person: User) -> ColumnElement[bool]:
    """Items addressed to ``person``: theirs; for HR also HR's own (no owner) and those of an
    owner who has left (deactivated), which nobody else could answer."""
    if person.has_role(Role.HR):
        left = select(User.id).where(User.active.is_(False))
        return or_(
            FeedbackItem.owner_id == person.id,
            FeedbackItem.owner_id.is_(None),
            FeedbackItem.owner_id.in_(left),
        )
    return FeedbackItem.owner_id == person.id


def sent_by(person: User) -> list[FeedbackItem]:
    """The person's named items, newest day first (anonymous ones are nobody's). Raises
    nothing."""
    query = select(FeedbackItem).where(FeedbackItem.sender_id == person.id)
    return list(db.session.scalars(query.order_by(*LIST_ORDER)))


def inbox(person: User, *, open_only: bool = False) -> list[FeedbackItem]:
    """The items addressed to ``person``, newest day first, then by subject (``LIST_ORDER``:
    nothing says which came first in a day). Raises nothing."""
    query = select(FeedbackItem).where(_owned_by(person))
    if open_only:
        query = query.where(FeedbackItem.status.in_(OPEN_STATES))
    return list(db.session.scalars(query.order_by(*LIST_ORDER)))


def sender_wrote_last(item: FeedbackItem) -> bool:
    """Whether the sender's reply is the item's last message: it waits for the owner (an
    anonymous sender's reply tells nobody; only this says it came). Raises nothing."""
    return bool(item.messages) and item.messages[-1].author is Author.SENDER


@audience("feedback_answerers")
def owns_items(person: User) -> bool:
    """Whether ``person`` answers feedback (HR, or the owner of a department's)."""
    if person.has_role(Role.HR):
        return True
    owned = select(FeedbackDesk.department_id).where(FeedbackDesk.owner_id == person.id)
    mine = select(FeedbackItem.id).where(FeedbackItem.owner_id == person.id)
    return db.session.scalar(owned.union(mine).limit(1)) is not None


@audience("feedback_escalated_to")
def hears_of_overdue_feedback(person: User) -> bool:
    """Whether overdue feedback can be escalated to ``person`` (``targets.sweep``): an
    administrator, or the manager of someone who answers a department's or an item's."""
    if person.has_role(Role.ADMIN):
        return True
    reports = select(User.id).where(User.manager_id == person.id)
    desks = select(FeedbackDesk.owner_id).where(FeedbackDesk.owner_id.in_(reports))
    items = select(FeedbackItem.owner_id).where(FeedbackItem.owner_id.in_(reports))
    return db.session.scalar(desks.union(items).limit(1)) is not None


def own_item(item_id: int, sender: User) -> FeedbackItem:
    """One of the sender's named items. Raises NotFound: no such item, or not theirs."""
    item = db.session.get(FeedbackItem, item_id)
    if item is None or item.sender_id is None or item.sender_id != sender.id:
        raise NotFound()
    return item


def followed_item(secret: str) -> FeedbackItem:
    """The anonymous item of a follow-up secret. Raises NotFound: no item has it."""
    if not secret or len(secret) > 100:
        raise NotFound()
    found = db.session.scalar(
        select(FeedbackItem).where(FeedbackItem.follow_up_hash == hash_secret(secret))
    )
    if found is None:
        raise NotFound()
    return found


def addressed_item(item_id: int, owner: User) -> FeedbackItem:
    """An item addressed to ``owner``. Raises NotFound: no such item, or not theirs."""
    found = db.session.scalar(
        select(FeedbackItem).where(FeedbackItem.id == item_id, _owned_by(owner))
    )
    if found is None:
        raise NotFound()
    return found


# --- the state machine ----------------------------------------------------------------------


def _locked(item: FeedbackItem) -> FeedbackItem:
    """``item``, its row locked until the transaction ends and read again under the lock: two
    steps at once (an answer and a decline by two HR people, a double-tapped button, a reply
    while the owner declines) take turns, and the second sees the state the first left, so
    it is refused as it would be a moment later."""
    found = locked(FeedbackItem, item.id)
    assert found is item  # the same row, the same object of the session, now current
    return found


def _move(item: FeedbackItem, step: str) -> FeedbackStatus:
    sources, target = TRANSITIONS[step]
    if item.status not in sources:
        raise Conflict(
            _("This feedback is %(status)s: it cannot be moved that way.", status=item.status.label)
        )
    before = item.status
    item.status = target
    return before


def _tell_sender(item: FeedbackItem) -> None:
    """A named sender gets a notification; an anonymous one reads their follow-up page."""
    if item.sender_id is None:
        return
    sender = db.session.get(User, item.sender_id)
    if sender is not None and sender.active:
        notify(
            sender,
            "feedback_updated",
            {"subject": item.subject, "status": item.status.value},
            url=link("feedback.mine_item", item_id=item.id),
        )


def _owner_step(
    item_id: int,
    owner: User,
    step: str,
    *,
    text: str = "",
    publish: bool = False,
) -> FeedbackItem:
    with transaction():
        item = _locked(addressed_item(item_id, owner))
        if step == "answer" and _says_again(item, Author.OWNER, text):
            if publish and not item.published:  # the same answer, sent again to publish it
                item.published = True
                audit.record(AUDIT_ACTIONS[step], actor=owner, target=item, published=True)
            return item
        today = company_today()
        before = _move(item, step)
        details: dict[str, object] = {"status": [before.value, item.status.value]}
        if step == "acknowledge":
            item.acknowledged_on = today
        elif step == "answer":
            # the target is met (or missed) by the first answer; a later one answers a reply
            item.answered_on = item.answered_on or today
            item.published = publish or (item.published and before is S.ANSWERED)
            _add_message(item, Author.OWNER, text, today)
            details["published"] = publish
        elif step == "decline":
            item.decline_reason = text
            item.closed_on = today
        elif step == "close":
            item.closed_on = today
        if item.acknowledged_on is None and step != "close":
            item.acknowledged_on = today  # declining or answering at once acknowledges too
        audit.record(AUDIT_ACTIONS[step], actor=owner, target=item, **details)
        _tell_sender(item)
        db.session.flush()
        return item


def acknowledge(item_id: int, owner: User) -> FeedbackItem:
    """The owner has read it (new → acknowledged).

    Raises:
        NotFound: not an item addressed to ``owner``.
        Conflict: it is not new.
    """
    return _owner_step(item_id, owner, "acknowledge")


def start_work(item_id: int, owner: User) -> FeedbackItem:
    """The owner is working on it (acknowledged → in progress).

    Raises:
        NotFound: not an item addressed to ``owner``.
        Conflict: it is not acknowledged.
    """
    return _owner_step(item_id, owner, "start")


def answer(item_id: int, owner: User, text: str, *, publish: bool = False) -> FeedbackItem:
    """The owner answers (acknowledged or in progress → answered), or answers the sender's
    reply to an answer (answered, it stays so; the first answer's day stays its answer day);
    ``publish`` lets the public answer times page show the item and its answers, without
    names (a later answer never unpublishes). The answer the owner gave last, with nothing
    said since, is not added again (a double tap).

    Raises:
        NotFound: not an item addressed to ``owner``.
        ValidationFailed: an empty or too long answer.
        Conflict: it is not acknowledged, in progress or answered.
    """
    return _owner_step(
        item_id, owner, "answer", text=_clean(text, "text", MAX_TEXT), publish=publish
    )


def decline(item_id: int, owner: User, reason: str) -> FeedbackItem:
    """The owner declines it, saying why (new, acknowledged or in progress → declined).

    Raises:
        NotFound: not an item addressed to ``owner``.
        ValidationFailed: no reason, or too long.
        Conflict: it is answered, closed or declined already.
    """
    return _owner_step(item_id, owner, "decline", text=_clean(reason, "reason", MAX_TEXT))


def close_as_owner(item_id: int, owner: User) -> FeedbackItem:
    """The owner closes an answered item (answered → closed).

    Raises:
        NotFound: not an item addressed to ``owner``.
        Conflict: it is not answered.
    """
    return _owner_step(item_id, owner, "close")


# --- the sender's side ----------------------------------------------------------------------


def _sender_item(item_id: int | None, sender: User | None, secret: str | None) -> FeedbackItem:
    """The sender's item, locked (``_locked``)."""
    if secret is not None:
        return _locked(followed_item(secret))
    if item_id is None or sender is None:
        raise NotFound()
    return _locked(own_item(item_id, sender))


def _tell_owner_of_reply(item: FeedbackItem) -> None:
    if item.anonymous:
        return  # the owner sees it in their inbox; a notification's moment would date it
    # an HR person's own item to HR: the other HR people are told, never the sender
    owners = [owner for owner in _owners_of(item) if owner.id != item.sender_id]
    for owner in owners:
        notify(
            owner,
            "feedback_reply",
            {"subject": item.subject},
            url=link("feedback.inbox_item", item_id=item.id),
        )


def acting_owner(item: FeedbackItem) -> User | None:
    """Who answers ``item`` now: its owner while they are active; None: HR (an item without
    an owner, or one whose owner has left, which HR's inbox holds). Raises nothing."""
    if item.owner_id is None:
        return None
    owner = db.session.get(User, item.owner_id)
    return owner if owner is not None and owner.active else None


def _owners_of(item: FeedbackItem) -> Sequence[User]:
    owner = acting_owner(item)
    return [owner] if owner is not None else hr_people()


def hr_people() -> list[User]:
    return people_with_role(Role.HR)


def reply(
    text: str, *, item_id: int | None = None, sender: User | None = None, secret: str | None = None
) -> FeedbackItem:
    """The sender adds a message to an item still open or answered (by id for a named item,
    by ``secret`` for an anonymous one); the message they sent last, with nothing said since,
    is not added again (a double tap).

    Raises:
        NotFound: no such item for this sender or secret.
        ValidationFailed: an empty or too long message.
        Conflict: the item is closed or declined.
    """
    cleaned = _clean(text, "text", MAX_TEXT)
    with transaction():
        item = _sender_item(item_id, sender, secret)
        if item.status in (S.CLOSED, S.DECLINED):
            raise Conflict(_("This feedback is closed: send a new one instead."))
        if _says_again(item, Author.SENDER, cleaned):
            return item
        _add_message(item, Author.SENDER, cleaned, company_today())
        _tell_owner_of_reply(item)
        return item


def rate_answer(
    rating: int,
    *,
    item_id: int | None = None,
    sender: User | None = None,
    secret: str | None = None,
) -> FeedbackItem:
    """The sender rates the answer, 1 to 5, once, and so closes the item if it was answered.

    Raises:
        NotFound: no such item for this sender or secret.
        ValidationFailed: a rating outside 1 to 5.
        Conflict: not answered yet, or rated already.
    """
    if not 1 <= rating <= 5:
        raise ValidationFailed(_("Choose from 1 to 5 stars."), field="rating")
    with transaction():
        item = _sender_item(item_id, sender, secret)
        if item.status not in (S.ANSWERED, S.CLOSED) or item.answered_on is None:
            raise Conflict(_("You can rate the answer once there is one."))
        if item.rating is not None:
            raise Conflict(_("You have rated this answer already."))
        item.rating = rating
        if item.status is S.ANSWERED:
            _move(item, "close")
            item.closed_on = company_today()
        return item


def close_as_sender(
    *, item_id: int | None = None, sender: User | None = None, secret: str | None = None
) -> FeedbackItem:
    """The sender closes an answered item (answered → closed).

    Raises:
        NotFound: no such item for this sender or secret.
        Conflict: it is not answered.
    """
    with transaction():
        item = _sender_item(item_id, sender, secret)
        _move(item, "close")
        item.closed_on = company_today()
        return item


# --- departments' owners and targets (HR) ---------------------------------------------------


@dataclass(frozen=True)
class DeskData:
    owner_id: int | None
    acknowledge_days: int
    answer_days: int


def desks() -> list[tuple[Department, FeedbackDesk | None]]:
    """Every department with its desk (None: HR with the default targets). Raises nothing."""
    rows = db.session.execute(
        select(Department, FeedbackDesk)
        .outerjoin(FeedbackDesk, FeedbackDesk.department_id == Department.id)
        .order_by(*alphabetical(Department.name), Department.id)
    )
    return [(department, desk) for department, desk in rows]


def shown_desk_fingerprint(desk: FeedbackDesk | None) -> str:
    """The fingerprint (``perks.fingerprints``) of what a department's desk page shows of
    ``desk`` (None: HR with the default targets): its owner and targets. The form sends it
    back, and ``set_desk`` refuses a save when it no longer matches. Raises nothing."""
    return fingerprint(
        {
            "owner_id": desk.owner_id if desk else None,
            "acknowledge_days": desk.acknowledge_days if desk else DEFAULT_ACKNOWLEDGE_DAYS,
            "answer_days": desk.answer_days if desk else DEFAULT_ANSWER_DAYS,
        }
    )


def set_desk(
    department_id: int, data: DeskData, actor: User, *, shown: str | None = None
) -> FeedbackDesk:
    """HR sets a department's feedback owner and service targets (items already sent keep
    theirs). Audited.

    ``shown`` is the ``shown_desk_fingerprint`` of the desk as the page showed it: a page
    opened before another HR person saved the desk must not overwrite their change unseen.
    ``None`` checks nothing. Saves take turns (the department's row is locked).

    Raises:
        NotPermitted: ``actor`` is not HR.
        NotFound: no such department.
        ValidationFailed: targets out of range, an inactive or unknown owner.
        ChangedMeanwhile: the desk is no longer what the page showed; nothing is saved.
    """
    if not actor.has_role(Role.HR):
        raise NotPermitted()
    if not 1 <= data.acknowledge_days <= 60 or not 1 <= data.answer_days <= 120:
        raise ValidationFailed(
            _("A target is 1 to 60 working days to acknowledge, 1 to 120 to answer.")
        )
    if data.acknowledge_days > data.answer_days:
        raise ValidationFailed(
            _("Acknowledging cannot take longer than answering."), field="acknowledge_days"
        )
    with transaction():
        # the department's row locked: two HR people saving its desk at once, the first
        # time, take turns (the second changes the desk the first made, not a 500); a key
        # share lock, so people joining the department meanwhile do not wait for it
        department = db.session.scalar(
            select(Department.id)
            .where(Department.id == department_id)
            .with_for_update(key_share=True)
        )
        if department is None:
            raise NotFound()
        if data.owner_id is not None:
            owner = db.session.get(User, data.owner_id)
            if owner is None or not owner.active:
                raise ValidationFailed(_("Choose an active person."), field="owner")
        # read again under the lock: what another save just wrote
        desk = db.session.get(FeedbackDesk, department_id, populate_existing=True)
        if shown is not None and shown != shown_desk_fingerprint(desk):
            raise (
                ChangedMeanwhile()
                if desk is None
                else audit.changed_meanwhile(desk, "feedback.desk_")
            )
        if desk is None:
            desk = FeedbackDesk(
                department_id=department_id,
                acknowledge_days=DEFAULT_ACKNOWLEDGE_DAYS,
                answer_days=DEFAULT_ANSWER_DAYS,
            )
            db.session.add(desk)
        before = {
            "owner_id": desk.owner_id,
            "acknowledge_days": desk.acknowledge_days,
            "answer_days": desk.answer_days,
        }
        desk.owner_id = data.owner_id
        desk.acknowledge_days = data.acknowledge_days
        desk.answer_days = data.answer_days
        db.session.flush()
        after = {
            "owner_id": desk.owner_id,
            "acknowledge_days": desk.acknowledge_days,
            "answer_days": desk.answer_days,
        }
        audit.record(
            "feedback.desk_changed",
            actor=actor,
            target=desk,
            department_id=department_id,
            changes=audit.changes(before, after),
        )
        return desk


def possible_owners() -> list[User]:
    """Active people, by name: who may own a department's feedback. Raises nothing."""
    query = select(User).where(User.active.is_(True)).order_by(*alphabetical(User.name), User.id)
    return list(db.session.scalars(query.options(roles_if_asked())))


def departments() -> list[Department]:
    return list(
        db.session.scalars(
            select(Department).order_by(*alphabetical(Department.name), Department.id)
        )
    )


def received_on_or_after(day: date) -> list[FeedbackItem]:
    """Every item received on ``day`` or later, in ``LIST_ORDER``. Raises nothing."""
    query = select(FeedbackItem).where(FeedbackItem.received_on >= day)
    return list(db.session.scalars(query.order_by(*LIST_ORDER)))
