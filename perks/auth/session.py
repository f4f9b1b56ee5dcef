"""Flask-Login wiring: users are loaded by their rotating alternative id."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from perks.auth.models import User
from perks.extensions import db, login_manager


def load_user(session_token: str) -> User | None:
    """The active person holding ``session_token``; a rotated or deactivated one gets None."""
    return db.session.scalar(
        select(User).where(User.session_token == session_token, User.active.is_(True))
    )


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = "strong"
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)
