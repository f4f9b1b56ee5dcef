"""Flask-Login wiring: every request's session is a ``UserSession`` row, checked each time.

The cookie holds the session's random key (``User.get_session_key``); the user loader finds
the person and the session in one query, and only for a session that is neither revoked nor
expired, of an active person whose credential stamp has not been rotated since. So signing
out on one host is honoured by every other host at the next request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, current_app, g
from flask import session as browser_session
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from perks.auth.models import UserSession, hash_session_key
from perks.db import utcnow
from perks.extensions import db, login_manager
from perks.people.models import User

log = logging.getLogger(__name__)

#: a session's ``last_seen_at`` (and expiry) is written at most this often, not every request
TOUCH_EVERY = timedelta(minutes=5)

_TOUCH = "perks_session_touch"
_UNSEEN = "perks_session_unseen"
#: in the browser's (signed) session: until when, a POSIX time, its requests leave the
#: session row unwritten after an anonymous request (``leave_unseen``)
_UNSEEN_UNTIL = "unseen_until"


def load_user(key: str) -> User | None:
    """The active person whose live session has ``key``; anyone else gets None.

    One statement (plus the roles, loaded as for any person): the person and the session,
    joined. A session due for a ``last_seen_at`` update is noted and written after the
    response is built (``_touch_session``), never inside the request's own transaction.
    """
    if not isinstance(key, str) or not key:
        return None
    now = utcnow()
    found = db.session.execute(
        select(User, UserSession)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.key_hash == hash_session_key(key),
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
            UserSession.user_stamp == User.session_token,
            User.active.is_(True),
        )
    ).one_or_none()
    if found is None:
        return None
    user, user_session = found
    user.attach_session(key)
    if now - _aware(user_session.last_seen_at) >= TOUCH_EVERY:
        g.setdefault(
            _TOUCH, (user_session.id, user_session.remember, _aware(user_session.expires_at))
        )
    return user


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def session_expiry(config: Mapping[str, Any], *, remember: bool, now: datetime) -> datetime:
    """When a session used at ``now`` ends if it is not used again: after the session
    cookie's lifetime, or the remember-me cookie's for "keep me signed in"."""
    idle: timedelta = config["PERMANENT_SESSION_LIFETIME"]
    if remember:
        idle = max(idle, config["REMEMBER_COOKIE_DURATION"])
    # The expiry is written at most every TOUCH_EVERY: keep that much slack.
    return now + idle + TOUCH_EVERY


def leave_unseen() -> None:
    """Write nothing about this request's session, nor about the next ones for
    ``TOUCH_EVERY``: for a request whose writes must not be told apart by a moment or a
    neighbour (an anonymous feedback, a survey answer). A session due for its
    ``last_seen_at`` would be written in the very next transaction, beside the anonymous rows
    (PostgreSQL's ``xmin``), at the moment they were sent; and so it would at the request
    that follows at once (the redirect after a reply, the follow-up link opened after
    sending). It is written at the person's first request once that time has passed (the
    browser's own session cookie keeps the time, the database nothing)."""
    g.setdefault(_UNSEEN, True)
    browser_session[_UNSEEN_UNTIL] = (utcnow() + TOUCH_EVERY).timestamp()


def _left_unseen(now: datetime, expires_at: datetime) -> bool:
    """Whether this request must leave its session unwritten (``leave_unseen``): it asked
    to, or it comes within ``TOUCH_EVERY`` of one that did, and the session lives past that
    time without being written (otherwise the person would be signed out while active)."""
    if g.get(_UNSEEN):
        return True
    until = browser_session.get(_UNSEEN_UNTIL)
    if not isinstance(until, int | float):
        return False
    if now.timestamp() < until and expires_at.timestamp() > until:
        return True
    browser_session.pop(_UNSEEN_UNTIL, None)
    return False


def _touch_session(response: Response) -> Response:
    """Write the session's ``last_seen_at`` and push its expiry, on a connection of its own
    so it never commits (or waits for) the request's work, unless the request is to be left
    unseen (``leave_unseen``). Best effort: a failure is logged."""
    due = g.pop(_TOUCH, None)
    if due is None:
        return response
    session_id, remember, expires_at = due
    now = utcnow()
    if _left_unseen(now, expires_at):
        return response
    try:
        with db.engine.begin() as connection:
            connection.execute(
                update(UserSession)
                .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
                .values(
                    last_seen_at=now,
                    expires_at=session_expiry(current_app.config, remember=remember, now=now),
                )
            )
    except SQLAlchemyError:
        log.warning("could not record the last request of session %s", session_id, exc_info=True)
    return response


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    # The cookie holds the session's key, not anything about the person.
    login_manager.id_attribute = "get_session_key"
    login_manager.user_loader(load_user)
    app.after_request(_touch_session)
