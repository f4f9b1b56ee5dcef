"""Extensions, created unbound and attached to the app in ``create_app``."""

from __future__ import annotations

from flask import request
from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from perks.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
bootstrap = Bootstrap5()
limiter = Limiter(key_func=get_remote_address)


def login_email_key() -> str:
    """Rate-limit key for one account: the e-mail typed into the login form."""
    return "login:" + (request.form.get("email") or "").strip().lower()
