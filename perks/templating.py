"""Template filters: money, dates, in the person's language; the company's brand."""

from __future__ import annotations

from flask import Flask
from flask_babel import get_locale
from werkzeug.local import LocalProxy

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


def init_templating(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["money"] = money_filter
    app.jinja_env.filters["date"] = format_day
    app.jinja_env.filters["datetime"] = format_moment
    app.jinja_env.filters["month"] = format_month
    app.jinja_env.filters["language_name"] = language_name
    app.jinja_env.filters["decimalformat"] = format_number  # Flask-Babel's, remembered
    app.jinja_env.filters["bps_percent"] = format_bps

    @app.context_processor
    def inject_layout() -> dict[str, object]:
        # ``brand`` is read from the database only when a template uses it, once per request.
        return {
            "current_locale": str(get_locale() or "vi"),
            "brand": LocalProxy(current_brand),
            "glossary": glossary,
        }
