"""Template filters and the navigation each role sees."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask_babel import format_date, format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from perks.auth.models import Role


@dataclass(frozen=True)
class NavItem:
    label: object
    endpoint: str
    roles: tuple[Role, ...] = ()  # empty: every signed-in person


#: the navigation, in order; each person sees the items their roles allow
NAVIGATION = (
    NavItem(_l("Home"), "main.home"),
    NavItem(_l("Perks"), "catalog.index"),
    NavItem(_l("My perks"), "catalog.my_perks"),
    NavItem(_l("Rules"), "catalog.rules"),
    NavItem(_l("My links"), "referrals.my_links"),
    NavItem(_l("Referral stats"), "referral_stats.my_links"),
    NavItem(_l("My earnings"), "commissions.my_earnings"),
    NavItem(_l("Redeem"), "catalog.redeem", (Role.REDEEMER,)),
    NavItem(_l("Redeem order"), "order_redeem.redeem", (Role.REDEEMER,)),
    NavItem(_l("People"), "people.directory", (Role.HR,)),
    NavItem(_l("Manage perks"), "catalog_admin.index", (Role.HR,)),
    NavItem(_l("Products"), "shop_admin.products", (Role.HR, Role.FINANCE)),
    NavItem(_l("Orders"), "shop_admin.orders", (Role.FINANCE,)),
    NavItem(_l("Fraud signals"), "referral_stats.fraud", (Role.FINANCE,)),
    NavItem(_l("Commissions"), "commissions_finance.index", (Role.FINANCE,)),
    NavItem(_l("Finance reports"), "finance.reports_page", (Role.FINANCE,)),
    NavItem(_l("Payouts"), "finance.payouts_page", (Role.FINANCE,)),
    NavItem(_l("Stripe events"), "payments.events", (Role.FINANCE,)),
    NavItem(_l("Audit log"), "admin.audit_log", (Role.ADMIN,)),
    NavItem(_l("Outbox"), "admin.outbox", (Role.ADMIN,)),
)


def navigation_for(user: object) -> list[NavItem]:
    if not getattr(user, "is_authenticated", False):
        return []
    return [
        item
        for item in NAVIGATION
        if not item.roles or user.has_role(*item.roles)  # type: ignore[attr-defined]
    ]


def money_filter(value: object, locale: str | None = None) -> str:
    from perks.money import Money, format_money

    if not isinstance(value, Money):
        raise TypeError("the money filter takes a Money")
    return format_money(value, locale)


def init_templating(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["money"] = money_filter
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["datetime"] = format_datetime

    @app.context_processor
    def inject_layout() -> dict[str, object]:
        show_outbox = app.config["PERKS_ENV"] != "production"
        return {
            "navigation": [
                item
                for item in navigation_for(current_user)
                if show_outbox or item.endpoint != "admin.outbox"
            ],
            "current_locale": str(get_locale() or "vi"),
            "Role": Role,
        }
