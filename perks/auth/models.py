"""Sign-in sessions: one row per browser, checked on every request. What a person signs
in with (the password hash, the credential stamp) is stored on ``perks.people.models.User``.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from perks.db import Base


def new_session_key() -> str:
    """The random id of a new sign-in, for the session cookie (only its hash is stored)."""
    return secrets.token_urlsafe(32)


def hash_session_key(key: str) -> str:
    """What the database keeps of a session's id: a stolen copy of the table signs no one in."""
    return hashlib.sha256(key.encode()).hexdigest()


class UserSession(Base):
    """One sign-in of one person on one browser, checked on every request.

    The session cookie (and the remember-me cookie) hold a random key; this row holds its
    hash. Signing out revokes the row, so a copy of the cookie is refused afterwards, on
    every host. A session also ends when the person's ``session_token`` no longer matches
    the stamp it started with (password changed, "sign out everywhere", deactivated), and
    when it expires: after ``PERMANENT_SESSION_LIFETIME`` without a request, or, for "keep
    me signed in", ``REMEMBER_COOKIE_DURATION`` after its last request.
    """

    __tablename__ = "user_session"
    __table_args__ = (Index("ix_user_session_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: SHA-256 of the key in the cookie (``hash_session_key``); the key itself is never stored
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    #: ``User.session_token`` when the session began: a rotated token ends the session
    user_stamp: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: the last request, written at most every few minutes (``perks.auth.session.TOUCH_EVERY``)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: refused from this moment on; pushed forward as the session is used
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: set when the person signed out (or out everywhere); never cleared
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: the browser's User-Agent as it signed in (shortened), to tell sessions apart
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    #: the "keep me signed in" box: the session outlives the browser's session cookie
    remember: Mapped[bool] = mapped_column(Boolean, default=False)

    def __repr__(self) -> str:
        return f"<UserSession {self.id} of user {self.user_id}>"
