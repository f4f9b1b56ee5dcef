"""Template filters: money, dates, in the person's language; the company's brand."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale
from werkzeug.local import LocalProxy
from wtforms import Field

from perks import glossary
from perks.branding.services import current_brand
from perks.i18n import (
    format_bps,
    format_day,
    format_moment,
    format_month,
    format_number,
    language_name,
)


def money_filter(value: object, locale: str | None = None) -> str:
    from perks.money import Money, format_money

    if not isinstance(value, Money):
        raise TypeError("the money filter takes a Money")
    return format_money(value, locale)


def field_aria(field: Field) -> dict[str, str]:
    """The ARIA attributes of a form field written by hand, or of each choice of a list of
    radios or checkboxes (``field`` is then the list): described by its help text (``<id>-help``,
    when it has a description) and by its errors (``<id>-error-<n>``, as the ``field_errors``
    macro writes them), and marked invalid when the form refused it, so that a screen reader
    says why as the field takes the focus.
    """
    ids = [f"{field.id}-help"] if field.description else []
    ids += [f"{field.id}-error-{number}" for number in range(1, len(field.errors) + 1)]
    aria = {"aria-describedby": " ".join(ids)} if ids else {}
    if field.errors:
        aria["aria-invalid"] = "true"
    return aria


def init_templating(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["money"] = money_filter
    app.jinja_env.filters["date"] = format_day
    app.jinja_env.filters["datetime"] = format_moment
    app.jinja_env.filters["month"] = format_month
    app.jinja_env.filters["language_name"] = language_name
    app.jinja_env.filters["decimalformat"] = format_number  # Flask-Babel's, remembered
    app.jinja_env.filters["bps_percent"] = format_bps
    app.jinja_env.globals["field_aria"] = field_aria

    @app.context_processor
    def inject_layout() -> dict[str, object]:
        # ``brand`` is read from the database only when a template uses it, once per request.
        return {
            "current_locale": str(get_locale() or "vi"),
            "brand": LocalProxy(current_brand),
            "glossary": glossary,
        }
