"""Who an order earns for: the vocabulary the shop keeps on each order, and the policy that
decides it.

The shop only records the attribution (``Order.referral_link_id``, ``attribution_reason``,
``attribution_flagged``); the rules (the cookie, the typed code, self-referrals, staff
buyers) belong to the referral links, which sit above the shop (ARCHITECTURE.md: nothing
imports upward). So the shop asks its ``AttributionPolicy`` and the referrals capability
gives it one, wired in ``perks.register_receivers()`` like a signal's receiver. Without a
policy, nobody is ever referred.

The cookie's name is here, below both: the redirect writes it and the checkout reads it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from perks.i18n import LabelledEnum
from perks.people.models import User

if TYPE_CHECKING:
    from perks.referrals.models import ReferralLink

#: the signed cookie of the last referral click (set by the redirect, read at checkout)
REFERRAL_COOKIE = "perks_ref"


class AttributionReason(LabelledEnum):
    COOKIE = "cookie", _l("Referral link clicked")
    TYPED_CODE = "typed_code", _l("Referral code typed at checkout")
    NONE = "none", _l("No referral")
    EXPIRED = "expired", _l("Referral click too long ago")
    SELF_REFERRAL = "self_referral", _l("Self-referral")
    EMPLOYEE_BUYER = "employee_buyer", _l("Staff purchase")
    PAUSED = "paused", _l("Referral link paused")
    DEACTIVATED = "deactivated", _l("Referrer no longer with the company")
    UNKNOWN_CODE = "unknown_code", _l("Unknown referral code")
    RETURNING_CUSTOMER = "returning_customer", _l("Returning customer")


def reason_label(reason: str) -> str:
    """An order's attribution reason (``Order.attribution_reason``, kept as its code) as
    people read it, in their language; a code no member has, as it is. Raises nothing."""
    try:
        return AttributionReason(reason).label
    except ValueError:
        return reason


@dataclass(frozen=True, slots=True)
class Attribution:
    #: the link the order earns for; None when nobody earns
    link: ReferralLink | None
    reason: AttributionReason
    #: finance should look at it (self-referral, staff purchase)
    flagged: bool = False
    #: the click that brought the order, when the cookie knows it
    click_id: int | None = None


NO_REFERRAL = Attribution(None, AttributionReason.NONE)


#: decides an order's attribution: (cookie value, typed code, buyer's e-mail, signed-in
#: person, now) -> Attribution; reads only, never raises for bad input
Attribute = Callable[[str | None, str | None, str, User | None, datetime], Attribution]
#: why a code typed at checkout cannot be used, in the customer's language, or None
CheckTypedCode = Callable[[str | None], str | None]


@dataclass(frozen=True, slots=True)
class AttributionPolicy:
    attribute: Attribute
    typed_code_problem: CheckTypedCode


#: a shop without referral links: nobody is referred, no typed code is a problem
NO_REFERRALS = AttributionPolicy(lambda *_: NO_REFERRAL, lambda _: None)

_policy: list[AttributionPolicy] = [NO_REFERRALS]


def use_policy(policy: AttributionPolicy) -> None:
    """Decide every order's attribution with ``policy`` from now on (``register_receivers``)."""
    _policy[0] = policy


def attribute_order(
    cookie_value: str | None,
    typed_code: str | None,
    buyer_email: str,
    buyer_user: User | None,
    now: datetime,
) -> Attribution:
    """The attribution of an order placed ``now``, by the policy in use."""
    return _policy[0].attribute(cookie_value, typed_code, buyer_email, buyer_user, now)


def typed_code_problem(typed_code: str | None) -> str | None:
    """Why a referral code typed at checkout cannot be used (the policy in use), or None.

    Attribution would silently ignore a bad code; the customer is told instead, so a typo
    does not cost them the friends discount they were promised.
    """
    return _policy[0].typed_code_problem(typed_code)
