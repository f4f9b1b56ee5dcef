"""A person's notifications and their e-mail choices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from perks.db import Base, utcnow


class Notification(Base):
    """Something that happened to one person, said in their language when they read it."""

    __tablename__ = "notification"
    #: the bell's count (a person's unread) and the list (a person's, newest first)
    __table_args__ = (
        Index("ix_notification_user_read", "user_id", "read_at"),
        Index("ix_notification_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: who is told
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    #: a name in ``perks.notifications.kinds.KINDS``
    kind: Mapped[str] = mapped_column(String(40))
    #: what fills the kind's texts, as data (money, dates, both languages of a name), never
    #: text translated in advance
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: where it leads: an endpoint of this site and its arguments (never a URL from outside)
    endpoint: Mapped[str] = mapped_column(String(80))
    url_values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: when the person opened it, or marked everything read
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class NotificationPreference(Base):
    """A person's choice for one kind, where it differs from the kind's default or was made."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: send this kind by e-mail too
    email: Mapped[bool] = mapped_column(Boolean)
