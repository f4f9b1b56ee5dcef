"""Rating what one received: a used claim (a perk, a gift, an experience, a draw's seat) or a
redeemed staff purchase in the storefront, 1 to 5 stars with an optional comment, once.

Who may rate: the claim's owner once it is used (a gift once it is given), the order's
buyer once it is redeemed. The owner of the perk (HR) or of the product (the shop's keepers)
chooses which comments their page shows. The invitation to rate is a notification sent by
the receivers below, in the transaction that used the claim or redeemed the order
(connected by ``perks.register_receivers``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from perks import audit
from perks.catalog.models import Claim, ClaimStatus
from perks.db import transaction, utcnow
from perks.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from perks.extensions import db
from perks.feedback import items
from perks.feedback.models import MAX_SUBJECT, Topic
from perks.feedback.ratings_models import RATING_IDS, STARS, Rating
from perks.i18n import company_today, format_number
from perks.notifications.rendering import both
from perks.notifications.services import link, notify
from perks.people.models import Role, User
from perks.shop.models import Order, OrderStatus

#: the longest comment kept
COMMENT_LENGTH = 2000
#: a rating this low or lower tells the perk's owner (``_open_feedback_for_low_rating``)
LOW_STARS = 2
#: who chooses the comments a perk's page shows, and a product's
PERK_OWNERS = (Role.HR,)
PRODUCT_OWNERS = (Role.HR, Role.FINANCE)


def claim_is_rateable(claim: Claim) -> bool:
    """Used, or a gift that was given (a gift is received when it is granted)."""
    if claim.status is ClaimStatus.USED:
        return True
    return claim.source == "gift" and claim.status is ClaimStatus.CLAIMED


def order_is_rateable(order: Order) -> bool:
    """A staff purchase (a signed-in buyer) that was redeemed and is still standing."""
    return order.buyer_id is not None and order.status is OrderStatus.REDEEMED


def rateable_claim(claim_id: int, user: User) -> Claim:
    """The person's own claim, ready to be rated.

    Raises:
        NotFound: not their claim (no existence leak).
        Conflict: not used yet (or cancelled, expired), or already rated.
    """
    claim = db.session.get(Claim, claim_id)
    if claim is None or claim.user_id != user.id:
        raise NotFound()
    if not claim_is_rateable(claim):
        raise Conflict(_("You can rate a perk once you have used it."))
    _refuse_second("claim_id", claim.id)
    return claim


def rateable_order(order_id: int, user: User) -> Order:
    """The person's own staff purchase, ready to be rated.

    Raises:
        NotFound: not an order they bought while signed in.
        Conflict: not redeemed (or refunded, disputed), or already rated.
    """
    order = db.session.get(Order, order_id)
    if order is None or order.buyer_id != user.id or not order.lines:
        raise NotFound()
    if not order_is_rateable(order):
        raise Conflict(_("You can rate a purchase once it has been used."))
    _refuse_second("order_id", order.id)
    return order


#: told the private follow-up link's secret of the anonymous feedback item a low rating
#: opened: the rater's only way back to HR's answer, shown once
FollowUp = Callable[[str], None]


def rate_claim(
    claim_id: int,
    user: User,
    stars: int,
    comment: str,
    show_name: bool,
    *,
    follow_up: FollowUp | None = None,
) -> Rating:
    """``user`` rates their used claim, once.

    Raises:
        NotFound: not their claim.
        Conflict: not used yet, or already rated (also when two ratings race).
        ValidationFailed: stars outside 1–5, or a comment too long.
    """
    with transaction():
        claim = rateable_claim(claim_id, user)
        rating = Rating(claim_id=claim.id, perk_id=claim.perk_id)
        return _save(rating, user, stars, comment, show_name, follow_up)


def rate_order(
    order_id: int,
    user: User,
    stars: int,
    comment: str,
    show_name: bool,
    *,
    follow_up: FollowUp | None = None,
) -> Rating:
    """``user`` rates their redeemed staff purchase, once.

    Raises:
        NotFound: not their order.
        Conflict: not redeemed, or already rated (also when two ratings race).
        ValidationFailed: stars outside 1–5, or a comment too long.
    """
    with transaction():
        order = rateable_order(order_id, user)
        rating = Rating(order_id=order.id, product_id=order.lines[0].product_id)
        return _save(rating, user, stars, comment, show_name, follow_up)


def set_published(rating_id: int, published: bool, by: User) -> Rating:
    """The owner shows a rating's comment on its page, or hides it again. Audited.

    Raises:
        NotFound: no such rating, or it has no comment.
        NotPermitted: ``by`` does not own the perk's (HR) or the product's ratings.
    """
    with transaction():
        rating = db.session.get(Rating, rating_id)
        if rating is None or not rating.comment:
            raise NotFound()
        if not by.has_role(*(PERK_OWNERS if rating.perk_id is not None else PRODUCT_OWNERS)):
            raise NotPermitted()
        before = {"published": rating.published}
        rating.published = published
        rating.moderated_at = utcnow()
        rating.moderated_by_id = by.id
        audit.record(
            "feedback.rating_published" if published else "feedback.rating_hidden",
            actor=by,
            target=rating,
            **audit.changes(before, {"published": published}),
        )
        return rating


def _refuse_second(column: str, value: int) -> None:
    if db.session.scalar(select(Rating.id).where(getattr(Rating, column) == value)) is not None:
        raise Conflict(_("You have already rated it. Thank you!"))


def _unused_rating_id() -> int:
    """A random id no rating has: a rating's id (in the moderation page's links, the audit
    log) says nothing of the ratings given just before or after it."""
    while True:
        candidate = RATING_IDS[secrets.randbelow(len(RATING_IDS))]
        if db.session.get(Rating, candidate) is None:
            return candidate


def _save(
    rating: Rating,
    user: User,
    stars: int,
    comment: str,
    show_name: bool,
    follow_up: FollowUp | None,
) -> Rating:
    if stars not in STARS:
        raise ValidationFailed(_("Choose from 1 to 5 stars."))
    comment = comment.strip()
    if len(comment) > COMMENT_LENGTH:
        raise ValidationFailed(
            _("A comment has at most %(num)s characters.", num=format_number(COMMENT_LENGTH))
        )
    rating.id = _unused_rating_id()
    rating.user_id = user.id
    rating.stars = stars
    rating.comment = comment
    rating.show_name = show_name
    db.session.add(rating)
    try:
        db.session.flush()
    except IntegrityError as error:  # the same claim rated twice at the same time
        raise Conflict(_("You have already rated it. Thank you!")) from error
    if rating.stars <= LOW_STARS:
        opened = _open_feedback_for_low_rating(rating)
        if opened.follow_up_secret and follow_up is not None:
            follow_up(opened.follow_up_secret)
    return rating


def _open_feedback_for_low_rating(rating: Rating) -> items.OpenedItem:
    """A rating of 1 or 2 stars opens a feedback item to the owner of perks and products (HR,
    the feedback box's default owner), about the perk when it is one, in the rater's language:
    in their name when they let their name show, else anonymously, with a private follow-up
    link the rating page shows once (the item's answer reaches the rater only through it).
    Flushes only."""
    rater = rating.user
    if rating.perk is not None:
        title = rating.perk.localized("title", rater.locale)
    else:
        assert rating.product is not None  # a rating is of a perk or of a product
        title = rating.product.localized("name", rater.locale)
    with force_locale(rater.locale):  # the whole subject in one language, the rater's

        def subject_for(title: str) -> str:
            return ngettext(
                "%(num)d star for %(title)s",
                "%(num)d stars for %(title)s",
                rating.stars,
                title=title,
            )

        subject = subject_for(title)
        if len(subject) > MAX_SUBJECT:
            # a title may be longer than a subject (160 characters to 120): shortened, or
            # the item, and the rating with it, would be refused as too long
            cut = len(title) - (len(subject) - MAX_SUBJECT) - 1
            subject = subject_for(title[:cut].rstrip() + "…")
        no_comment = _("No comment.")
    return items.open_item(
        None,
        subject,
        rating.comment or no_comment,
        sender=rater,
        topic=Topic.PERK if rating.perk_id is not None else Topic.SERVICE,
        about_perk_id=rating.perk_id,
        anonymous=not rating.show_name,
    )


# --- the invitations (receivers of the catalog's and the shop's signals) --------------------


def _with_the_company(person: User) -> bool:
    """Active, and their leaving date has not come (on that day the daily task deactivates
    them, later: an invitation would lead them to a page they could no longer open)."""
    return person.active and not person.has_left(company_today())


def on_claim_used(claim: Claim, **_kwargs: Any) -> None:
    """Invite the claim's owner to rate the perk they used; nobody when they have left, or
    their leaving date has come (they could not sign in to rate). Flushes only."""
    if not _with_the_company(claim.user):
        return
    notify(
        claim.user,
        "rating_invited",
        {"perk": both(claim.perk, "title")},
        url=link("ratings.rate_claim", claim_id=claim.id),
    )


def on_order_redeemed(order: Order, **_kwargs: Any) -> None:
    """Invite a staff buyer to rate what they bought, once it is used; nobody when they have
    left, or their leaving date has come (they could not sign in to rate). Flushes only."""
    if order.buyer is None or not _with_the_company(order.buyer) or not order.lines:
        return
    notify(
        order.buyer,
        "rating_invited_order",
        {"product": both(order.lines[0].product, "name"), "number": order.number},
        url=link("ratings.rate_order", order_id=order.id),
    )
