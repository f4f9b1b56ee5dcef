"""Which employee's link an order is attributed to, decided once, when the order is created.

This is the shop's attribution policy (``POLICY``, given to ``perks.shop.attribution``
in ``perks.register_receivers()``): the storefront calls ``attribute_order`` with what it has
at that moment: the ``perks_ref``
cookie of the request, the code the customer typed at checkout (if any), the buyer's e-mail
and the signed-in person (if any). It reads the database and writes nothing.

Precedence, first that applies:

1. **Staff never earn on staff purchases.** A buyer whose e-mail (in any case, with or
   without a ``+tag`` after its local part) belongs to a
   person of the company, active or not, or a buyer who is signed in, is a staff purchase:
   no link, ``flagged``; the reason is ``SELF_REFERRAL`` when a link the buyer brought (the
   typed code's, or the cookie's within the window, paused or not) is their own, else
   ``EMPLOYEE_BUYER``.
2. **A returning customer stays with the person they bought through** (off by default;
   ``perks.referrals.returning``): when finance sets a window and the buyer's e-mail
   (normalised) paid an order that earned for a person within it, the order earns for that
   person again, with the reason ``RETURNING_CUSTOMER``, whatever link was clicked or code
   typed since, as long as that person's link can still earn (not paused, person active,
   their leaving date not come: until the daily task deactivates a leaver, or for good when
   they are the last administrator, they are still active but earn nothing).
   Outside the window, or with 0 days, the rules below decide, and the last click wins.
3. **A typed code beats the cookie.** The customer said so explicitly at checkout, after
   any click. A typed code that is unknown, paused or of a deactivated person (or one whose
   leaving date has come, as in 2.) does not count; the cookie is then used if it can be.
4. **The cookie**, if it is within ``ATTRIBUTION_WINDOW_DAYS`` of its click (inclusive), and
   its link is neither paused nor its owner deactivated (or with their leaving date come).
   Each human click overwrites the cookie, so the last click wins.
5. Otherwise no link, and the reason says why: the typed code's problem (``UNKNOWN_CODE``,
   ``PAUSED``, ``DEACTIVATED``) if a code was typed, else the cookie's (``EXPIRED``,
   ``PAUSED``, ``DEACTIVATED``), else ``NONE`` (no cookie, or one that is not ours).

The cookie is signed (itsdangerous, with its own salt) and carries the link id, the click id
(sync click writes only) and the click time in whole seconds; it is HttpOnly, SameSite=Lax and
lives as long as the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, Signer, URLSafeSerializer
from itsdangerous.encoding import want_bytes
from sqlalchemy import select

from perks.db import utcnow
from perks.extensions import db
from perks.i18n import company_date
from perks.people.models import User
from perks.referrals.models import ReferralLink
from perks.referrals.returning import returning_link
from perks.referrals.services import link_by_code
from perks.shop.attribution import (
    REFERRAL_COOKIE,
    Attribution,
    AttributionPolicy,
    AttributionReason,
)

__all__ = ["POLICY", "REFERRAL_COOKIE", "Attribution", "AttributionReason"]

COOKIE_SALT = "perks.referrals.attribution-cookie"
#: a cookie dated later than now by more than this is not believed (clock skew allowance)
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ReferralCookie:
    link_id: int
    click_id: int | None
    clicked_at: datetime


# --- the cookie -----------------------------------------------------------------------------


class CookieSerializer(URLSafeSerializer):
    """itsdangerous's URL-safe serializer, writing exactly what it writes, with one signer
    per serializer instead of a new one for every value (half the cost of signing a
    cookie, on the redirect's hot path)."""

    def make_signer(self, salt: str | bytes | None = None) -> Signer:
        if salt is not None and want_bytes(salt) != self.salt:
            return super().make_signer(salt)
        signer: Signer | None = self.__dict__.get("_signer")
        if signer is None:
            signer = self.__dict__["_signer"] = super().make_signer()
        return signer


def _serializer() -> URLSafeSerializer:
    return _serializer_for(current_app.secret_key)


@lru_cache(maxsize=8)
def _serializer_for(secret_key: str | bytes) -> URLSafeSerializer:
    # Made once per key: building one costs as much as signing (the redirect signs each click).
    return CookieSerializer(secret_key, salt=COOKIE_SALT)


def window() -> timedelta:
    return timedelta(days=int(current_app.config["ATTRIBUTION_WINDOW_DAYS"]))


def dump_referral_cookie(link_id: int, click_id: int | None, clicked_at: datetime) -> str:
    """The signed value of the ``perks_ref`` cookie."""
    return str(_serializer().dumps([link_id, click_id, int(clicked_at.timestamp())]))


def load_referral_cookie(value: str | None) -> ReferralCookie | None:
    """The cookie's content, or None if it is missing, altered, or not shaped like ours."""
    if not value:
        return None
    try:
        data: Any = _serializer().loads(value)
    except (BadSignature, ValueError, TypeError):
        return None
    if not (isinstance(data, list) and len(data) == 3):
        return None
    link_id, click_id, seconds = data
    if not _is_int(link_id) or not _is_int(seconds) or not (click_id is None or _is_int(click_id)):
        return None
    try:
        clicked_at = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return ReferralCookie(link_id, click_id, clicked_at)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- the decision ---------------------------------------------------------------------------


def _problem(link: ReferralLink, now: datetime) -> AttributionReason | None:
    """Why ``link`` cannot earn ``now``, or None if it can: paused, or its person deactivated
    or with their leaving date come (``DEACTIVATED`` too: until the daily task deactivates a
    leaver, or for good as the last administrator, they are active but earn nothing)."""
    if link.paused:
        return AttributionReason.PAUSED
    if not link.user.active or _has_left(link.user, now):
        return AttributionReason.DEACTIVATED
    return None


def _has_left(person: User, now: datetime) -> bool:
    """The person's leaving date has come by ``now`` (company day): they earn nothing."""
    return person.leaving_date is not None and person.leaving_date <= company_date(now)


def _mailbox_addresses(email: str) -> list[str]:
    """``email`` (trimmed, lower-case) and, when its local part has a ``+tag``, the address
    without it: mail servers (Gmail, Microsoft 365, Postfix) deliver both to one mailbox, so
    ``lan.tran+shop@`` is still Lan Tran's address."""
    email = (email or "").strip().lower()
    if not email:
        return []
    local, at, domain = email.rpartition("@")
    base = local.split("+", 1)[0]
    if at and base and base != local:
        return [email, f"{base}@{domain}"]
    return [email]


def _employee_ids(buyer_email: str, buyer_user: User | None) -> set[int]:
    """The people of the company the buyer is: by e-mail (any case, with or without a
    ``+tag``), and signed in."""
    ids: set[int] = set()
    if buyer_user is not None and getattr(buyer_user, "is_authenticated", False):
        ids.add(buyer_user.id)
    addresses = _mailbox_addresses(buyer_email)
    if addresses:
        ids.update(db.session.scalars(select(User.id).where(User.email.in_(addresses))))
    return ids


def attribute_order(
    cookie_value: str | None,
    typed_code: str | None,
    buyer_email: str,
    buyer_user: User | None,
    now: datetime,
) -> Attribution:
    """Decide the attribution of an order placed ``now`` (the rules: this module's docstring).

    Reads only; never raises for bad input (an altered cookie or a made-up code is simply
    no referral).
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)  # the app's naive times are UTC
    presented: list[ReferralLink] = []  # links the buyer brought, usable or not

    typed_link: ReferralLink | None = None
    typed_reason: AttributionReason | None = None
    if typed_code and typed_code.strip():
        typed_link = link_by_code(typed_code)
        if typed_link is None:
            typed_reason = AttributionReason.UNKNOWN_CODE
        else:
            presented.append(typed_link)
            typed_reason = _problem(typed_link, now)

    cookie_link: ReferralLink | None = None
    cookie_reason: AttributionReason | None = None
    cookie = load_referral_cookie(cookie_value)
    if cookie is not None:
        age = now - cookie.clicked_at
        if age > window():
            cookie_reason = AttributionReason.EXPIRED
        elif age < -FUTURE_TOLERANCE:
            cookie = None  # dated in the future: not a cookie we made
        else:
            cookie_link = db.session.get(ReferralLink, cookie.link_id)
            if cookie_link is None:
                cookie = None
            else:
                presented.append(cookie_link)
                cookie_reason = _problem(cookie_link, now)

    buyers = _employee_ids(buyer_email, buyer_user)
    if buyers:
        own = any(link.user_id in buyers for link in presented)
        reason = AttributionReason.SELF_REFERRAL if own else AttributionReason.EMPLOYEE_BUYER
        return Attribution(None, reason, flagged=True)

    kept = returning_link(buyer_email, now)
    if kept is not None and _problem(kept, now) is None:
        return Attribution(kept, AttributionReason.RETURNING_CUSTOMER)
    if typed_link is not None and typed_reason is None:
        return Attribution(typed_link, AttributionReason.TYPED_CODE)
    if cookie_link is not None and cookie_reason is None and cookie is not None:
        return Attribution(cookie_link, AttributionReason.COOKIE, click_id=cookie.click_id)
    return Attribution(None, typed_reason or cookie_reason or AttributionReason.NONE)


def typed_code_problem(typed_code: str | None) -> str | None:
    """Why a referral code typed at checkout cannot be used, in the customer's language.

    None when nothing was typed or the code is a live link's.
    """
    if not typed_code or not typed_code.strip():
        return None
    link = link_by_code(typed_code)
    if link is None:
        return _(
            "We do not know the referral code %(code)s. Check it, or leave it empty.",
            code=typed_code.strip(),
        )
    if _problem(link, utcnow()) is not None:
        return _(
            "The referral code %(code)s is no longer in use. Leave it empty to go on.",
            code=typed_code.strip(),
        )
    return None


#: the shop's attribution policy: the rules of this module
POLICY = AttributionPolicy(attribute_order, typed_code_problem)
