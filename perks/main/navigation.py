"""The navigation bar: each person's own pages, then the work their roles allow.

It names pages of every capability, so it lives here, at the top, and reaches templates
through the main blueprint's context processor (``register_navigation``).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, g
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_login import current_user
from werkzeug.local import LocalProxy

from perks.notifications import queries as notifications
from perks.people.models import Role, User


@dataclass(frozen=True)
class NavItem:
    label: object
    endpoint: str
    roles: tuple[Role, ...] = ()  # empty: every signed-in person


@dataclass(frozen=True)
class NavSection:
    """A menu of the navigation bar: a link when it holds one item, else a dropdown."""

    label: object
    items: tuple[NavItem, ...]

    @property
    def endpoints(self) -> frozenset[str]:
        return frozenset(item.endpoint for item in self.items)


#: everyone's recognition pages, one menu for every person (``Ghi nhận``)
RECOGNITION = NavSection(
    lazy_pgettext("navigation", "Recognition"),
    (
        NavItem(_l("Recognition wall"), "recognition.wall"),
        NavItem(_l("Give kudos"), "points.give"),
        NavItem(_l("My points"), "points.mine"),
        NavItem(_l("Rewards"), "points.rewards"),
        NavItem(_l("Awards"), "recognition.award_list"),
        NavItem(_l("Calendar"), "recognition.calendar"),
    ),
)

#: a person's referral links, their statistics and their earnings
REFERRALS = NavSection(
    _l("Referrals"),
    (
        NavItem(_l("My links"), "referrals.my_links"),
        NavItem(_l("Referral stats"), "referral_stats.my_links"),
        NavItem(_l("My earnings"), "commissions.my_earnings"),
    ),
)

#: a person's feedback to the company, the surveys waiting for them, everyone's answer times
FEEDBACK = NavSection(
    _l("Feedback"),
    (
        NavItem(_l("My feedback"), "feedback.mine"),
        NavItem(_l("Surveys"), "surveys.mine"),
        NavItem(_l("Answer times"), "feedback.answer_times"),
    ),
)

#: what every signed-in person sees, in order: the perks as links, recognition and referrals
#: as menus (in Vietnamese the referrals' three links and the recognition menu would not fit
#: on one line of a laptop's screen beside the language buttons)
PERSONAL = (
    NavItem(_l("Home"), "main.home"),
    NavItem(lazy_pgettext("navigation", "Perks"), "catalog.index"),
    NavItem(_l("My perks"), "catalog.my_perks"),
    NavItem(_l("Rules"), "catalog.rules"),
    RECOGNITION,
    REFERRALS,
    FEEDBACK,
)

#: the same pages as three menus, for people who also have work menus: in Vietnamese the
#: links and five menus of an administrator would not fit on one line of a laptop's screen
PERSONAL_MENUS = (
    NavItem(_l("Home"), "main.home"),
    NavSection(
        # the menu of perks (phúc lợi), not the product's name (Perks)
        lazy_pgettext("navigation", "Perks"),
        (
            NavItem(_l("Browse perks"), "catalog.index"),
            NavItem(_l("My perks"), "catalog.my_perks"),
            NavItem(_l("Rules"), "catalog.rules"),
        ),
    ),
    RECOGNITION,
    REFERRALS,
    FEEDBACK,
)

#: the work of each role, one menu per kind of work; each person sees the items their
#: roles allow, so someone with many roles gets a few menus rather than twenty links
WORK = (
    NavSection(
        _l("Counter"),
        (
            NavItem(_l("Redeem"), "catalog.redeem", (Role.REDEEMER,)),
            NavItem(_l("Redeem order"), "order_redeem.redeem", (Role.REDEEMER,)),
        ),
    ),
    NavSection(
        _l("HR"),
        (
            NavItem(_l("People"), "people.directory", (Role.HR,)),
            NavItem(_l("Manage perks"), "catalog_admin.index", (Role.HR,)),
            NavItem(_l("Occasions"), "recognition.manage", (Role.HR,)),
            NavItem(_l("Gift programmes"), "recognition.programmes", (Role.HR,)),
            NavItem(_l("Awards"), "recognition.manage_awards", (Role.HR,)),
            NavItem(_l("Nominations"), "recognition.nominations", (Role.HR,)),
            NavItem(_l("Fairness report"), "recognition.fairness_report", (Role.HR,)),
            NavItem(_l("Surveys"), "surveys.manage", (Role.HR,)),
            NavItem(_l("Points and values"), "points.settings", (Role.HR,)),
            NavItem(_l("Feedback owners"), "feedback.desks", (Role.HR,)),
            NavItem(_l("Comments on perks"), "ratings.perk_comments", (Role.HR,)),
            NavItem(_l("Company brand"), "brand_admin.edit", (Role.HR,)),
        ),
    ),
    NavSection(
        _l("Shop"),
        (
            NavItem(_l("Products"), "shop_admin.products", (Role.HR, Role.FINANCE)),
            # HR reaches it from the comments on perks (its shop work stays one link)
            NavItem(_l("Comments on products"), "ratings.product_comments", (Role.FINANCE,)),
            NavItem(_l("Orders"), "shop_admin.orders", (Role.FINANCE,)),
            NavItem(_l("Stripe events"), "payments.events", (Role.FINANCE,)),
        ),
    ),
    NavSection(
        _l("Finance"),
        (
            NavItem(_l("Commissions"), "commissions_finance.index", (Role.FINANCE,)),
            NavItem(_l("Finance reports"), "finance.reports_page", (Role.FINANCE,)),
            NavItem(_l("Payouts"), "finance.payouts_page", (Role.FINANCE,)),
            NavItem(_l("Fraud signals"), "referral_stats.fraud", (Role.FINANCE,)),
        ),
    ),
    NavSection(
        _l("Administration"),
        (
            NavItem(_l("Audit log"), "admin.audit_log", (Role.ADMIN,)),
            NavItem(_l("API tokens"), "api_tokens.service_tokens", (Role.ADMIN,)),
            NavItem(_l("Outgoing messages"), "admin.messages", (Role.ADMIN,)),
            NavItem(_l("Outbox"), "admin.outbox", (Role.ADMIN,)),
        ),
    ),
)


def _allowed(user: User, item: NavItem, *, show_outbox: bool) -> bool:
    if item.endpoint == "admin.outbox" and not show_outbox:
        return False
    return not item.roles or user.has_role(*item.roles)


#: up to this many work pages are shown as links; more are grouped into menus
FLAT_WORK_ITEMS = 3


def navigation_for(user: object, *, show_outbox: bool = True) -> list[NavItem | NavSection]:
    """What ``user`` sees in the navigation bar: their own pages, then the work their roles
    allow: as plain links when it is a few pages, else one menu per kind of work (a menu
    with one item is that item). Everyone has the recognition menu; someone with any work
    has their own pages in three menus (``PERSONAL_MENUS``), so the bar stays one line on a
    laptop in either language."""
    if not getattr(user, "is_authenticated", False) or not isinstance(user, User):
        return []
    sections = [
        (section, tuple(i for i in section.items if _allowed(user, i, show_outbox=show_outbox)))
        for section in WORK
    ]
    work_items = sum(len(items) for _section, items in sections)
    entries: list[NavItem | NavSection] = list(PERSONAL_MENUS if work_items else PERSONAL)
    if work_items <= FLAT_WORK_ITEMS:
        return entries + [item for _section, items in sections for item in items]
    for section, items in sections:
        if len(items) == 1:
            entries.append(items[0])
        elif items:
            entries.append(NavSection(section.label, items))
    return entries


def register_navigation(bp: Blueprint) -> None:
    """Give every template ``navigation`` (what the signed-in person sees), ``Role`` and
    ``unread_notifications`` (the bell's count, read when first shown)."""

    @bp.app_context_processor
    def inject_navigation() -> dict[str, object]:
        show_outbox = current_app.config["PERKS_ENV"] != "production"
        return {
            "navigation": navigation_for(current_user, show_outbox=show_outbox),
            "Role": Role,
            "unread_notifications": LocalProxy(_unread_notifications),
        }


def _unread_notifications() -> int:
    """The bell's count: read once per request, and only when a template shows it."""
    if "unread_notifications" not in g:
        user = current_user
        signed_in = getattr(user, "is_authenticated", False) and isinstance(user, User)
        g.unread_notifications = notifications.unread_count(user.id) if signed_in else 0
    count: int = g.unread_notifications
    return count
