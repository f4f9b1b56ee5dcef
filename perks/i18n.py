"""Which language and time zone a request is served in."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_login import current_user

#: the languages of the product: pages, e-mails, every label (the first is the default)
LOCALES = ("vi", "en")


def select_locale() -> str:
    """The signed-in person's preference, else the switcher's choice, else the browser's."""
    if not has_request_context():  # the command line, e-mails sent from a job
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    return (
        request.accept_languages.best_match(LOCALES) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]
