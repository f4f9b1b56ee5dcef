"""The feedback box: items sent to a department, their messages, and each department's owner
and service targets.

An anonymous item holds nothing that leads back to its sender: no user id, no precise
moment (every date here is a company day, never a time), no session or address; only the
SHA-256 of the follow-up secret its sender was shown once. An item's id is drawn at random
(``ITEM_IDS``), never taken from a sequence, and lists order items by day, then subject: so
neither an id (in a URL, the audit log) nor a place in a list says whether an item came just
before or after another, which would point from an anonymous item to the named ones around it.
A message's id is drawn likewise (``MESSAGE_IDS``); a conversation is read by its messages'
``number``.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from perks.db import Base, TimestampMixin
from perks.i18n import LabelledEnum

if TYPE_CHECKING:
    from perks.people.models import Department, User

#: the longest subject and text of an item or a message
MAX_SUBJECT = 120
MAX_TEXT = 4000
#: the ids an item may be given (``perks.feedback.items.open_item`` draws one at random):
#: above those a sequence gave the items sent before ids were drawn, within a 32-bit integer
ITEM_IDS = range(1_000_000, 2**31)
#: the ids a message may be given, drawn at random likewise (``perks.feedback.items``)
MESSAGE_IDS = ITEM_IDS
#: the default service targets, in Vietnamese working days
DEFAULT_ACKNOWLEDGE_DAYS = 2
DEFAULT_ANSWER_DAYS = 10


class Topic(LabelledEnum):
    """What an item is about."""

    PROCESS = "process", _l("A process")
    POLICY = "policy", _l("A policy")
    PERK = "perk", _l("A perk")
    TOOL = "tool", _l("A tool")
    SERVICE = "service", _l("A colleague's service")
    OTHER = "other", _l("Something else")


class FeedbackStatus(LabelledEnum):
    """Where an item is (``perks.feedback.items.TRANSITIONS`` says how it moves)."""

    NEW = "new", _l("New")
    ACKNOWLEDGED = "acknowledged", _l("Acknowledged")
    IN_PROGRESS = "in_progress", _l("In progress")
    ANSWERED = "answered", _l("Answered")
    CLOSED = "closed", _l("Closed")
    DECLINED = "declined", _l("Declined")


#: the states in which an item still waits for its owner
OPEN_STATES = (FeedbackStatus.NEW, FeedbackStatus.ACKNOWLEDGED, FeedbackStatus.IN_PROGRESS)


class Author(LabelledEnum):
    SENDER = "sender", _l("Sender")
    OWNER = "owner", _l("Owner")


def _enum(kind: type[LabelledEnum], length: int) -> Enum:
    return Enum(
        kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class FeedbackDesk(TimestampMixin, Base):
    """A department's feedback owner and service targets, set by HR. A department without a
    desk, or a desk without an owner, sends its items to HR with the default targets."""

    __tablename__ = "feedback_desk"
    __table_args__ = (
        CheckConstraint("acknowledge_days BETWEEN 1 AND 60", name="acknowledge_days_range"),
        CheckConstraint("answer_days BETWEEN 1 AND 120", name="answer_days_range"),
    )

    department_id: Mapped[int] = mapped_column(
        ForeignKey("department.id", ondelete="CASCADE"), primary_key=True
    )
    #: who answers the department's items; None: HR
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    #: acknowledge within this many working days
    acknowledge_days: Mapped[int] = mapped_column(SmallInteger, default=DEFAULT_ACKNOWLEDGE_DAYS)
    #: answer within this many working days
    answer_days: Mapped[int] = mapped_column(SmallInteger, default=DEFAULT_ANSWER_DAYS)

    owner: Mapped[User | None] = relationship(lazy="joined")


class FeedbackItem(Base):
    """One piece of feedback and where it stands. Dates only, in the company's time zone."""

    __tablename__ = "feedback_item"
    __table_args__ = (
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_range"),
        CheckConstraint(
            "(anonymous AND sender_id IS NULL AND follow_up_hash IS NOT NULL)"
            " OR (NOT anonymous AND sender_id IS NOT NULL AND follow_up_hash IS NULL)",
            name="anonymous_has_no_sender",
        ),
    )

    #: drawn at random from ``ITEM_IDS`` when it is sent: carries no order
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL"), index=True
    )
    topic: Mapped[Topic] = mapped_column(_enum(Topic, 12))
    #: the perk it is about, when it is about one (a rating of 1 or 2 opens such an item)
    about_perk_id: Mapped[int | None] = mapped_column(ForeignKey("perk.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(MAX_SUBJECT))
    text: Mapped[str] = mapped_column(Text)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the sender of a named item; None for an anonymous one
    sender_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    #: SHA-256 of an anonymous item's follow-up secret (the secret itself is never stored)
    follow_up_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: SHA-256 of the token of the form that sent it (one per form drawn): the same form
    #: sent again is this item (``items.send_feedback``); None for an item sent otherwise
    sending_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: who answers it, fixed when it arrives; None: HR
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[FeedbackStatus] = mapped_column(
        _enum(FeedbackStatus, 12), default=FeedbackStatus.NEW, index=True
    )
    #: the targets when it arrived, in working days
    acknowledge_days: Mapped[int] = mapped_column(SmallInteger)
    answer_days: Mapped[int] = mapped_column(SmallInteger)
    received_on: Mapped[date] = mapped_column(Date, index=True)
    acknowledged_on: Mapped[date | None] = mapped_column(Date)
    answered_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    #: the owner lets the public answer times page show it (without names)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the sender's rating of the answer, 1 to 5
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    #: the owner has been told it arrived (the scheduled job tells them, a day late for an
    #: anonymous item, so no notification's moment dates it)
    owner_told: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the owner's manager has been told it is overdue, to acknowledge / to answer
    acknowledge_escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    answer_escalated: Mapped[bool] = mapped_column(Boolean, default=False)

    department: Mapped[Department | None] = relationship(lazy="joined")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id], lazy="joined")
    #: who sent a named item (the owner sees their name); None for an anonymous one
    sender: Mapped[User | None] = relationship(foreign_keys=[sender_id])
    messages: Mapped[list[FeedbackMessage]] = relationship(
        back_populates="item", order_by="FeedbackMessage.number", lazy="selectin"
    )

    def __repr__(self) -> str:
        return f"<FeedbackItem {self.id} {self.status.value}>"


class FeedbackMessage(Base):
    """A message on an item: the sender's reply or the owner's answer. Who wrote it is a
    side (sender or owner), never a person: the item says who the owner is."""

    __tablename__ = "feedback_message"
    __table_args__ = (UniqueConstraint("item_id", "number"),)

    #: drawn at random from ``MESSAGE_IDS`` when it is written: carries no order
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("feedback_item.id", ondelete="CASCADE"), index=True
    )
    #: its place in the item's conversation: 1, 2, ...
    number: Mapped[int] = mapped_column(Integer)
    author: Mapped[Author] = mapped_column(_enum(Author, 8))
    text: Mapped[str] = mapped_column(Text)
    written_on: Mapped[date] = mapped_column(Date)

    item: Mapped[FeedbackItem] = relationship(back_populates="messages")
