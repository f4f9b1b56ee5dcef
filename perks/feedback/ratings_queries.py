"""What pages read about ratings: a perk's or a product's summary, what a person has left to
rate, the owners' moderation list. Each a fixed number of statements, whatever the number of
ratings (PERFORMANCE.md, P4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from perks.catalog.models import Claim, ClaimStatus
from perks.db import paginate
from perks.extensions import db
from perks.feedback.ratings_models import STARS, Rating
from perks.folding import name_order
from perks.i18n import company_date
from perks.people.models import User
from perks.shop.models import Order, OrderLine, OrderStatus

#: published comments a perk's or a product's page shows, newest first
COMMENTS_SHOWN = 10
#: rows per page of the moderation list
PER_PAGE = 25
#: at most this many claims and orders in the "rate what you used" prompt
PROMPT_LIMIT = 5


@dataclass(frozen=True)
class PublishedComment:
    stars: int
    comment: str
    #: the rater's name, or None when they chose not to show it
    name: str | None
    created_at: datetime


@dataclass(frozen=True)
class RatingSummary:
    """The figures of one perk's or product's ratings."""

    count: int
    #: per star, 5 first: (stars, ratings with that many stars)
    distribution: tuple[tuple[int, int], ...]
    comments: tuple[PublishedComment, ...]

    @property
    def average(self) -> Fraction | None:
        """The exact mean of the stars (None without ratings)."""
        if not self.count:
            return None
        return Fraction(sum(stars * n for stars, n in self.distribution), self.count)

    @property
    def average_tenths(self) -> int | None:
        """The mean in tenths of a star, half up: 43 is 4.3 stars."""
        average = self.average
        if average is None:
            return None
        return int(average * 10 + Fraction(1, 2))

    @property
    def largest(self) -> int:
        """The largest count of one star value (the bars' scale)."""
        return max((n for _, n in self.distribution), default=0)


def perk_summary(perk_id: int) -> RatingSummary:
    """A perk's ratings: two statements."""
    return _summary(Rating.perk_id == perk_id)


def product_summary(product_id: int) -> RatingSummary:
    """A product's ratings: two statements."""
    return _summary(Rating.product_id == product_id)


def _summary(subject: Any) -> RatingSummary:
    counts: dict[int, int] = dict(
        db.session.execute(
            select(Rating.stars, func.count()).where(subject).group_by(Rating.stars)
        ).all()
    )
    rows = db.session.execute(
        select(
            Rating.stars, Rating.comment, Rating.show_name, User.name, Rating.created_at, Rating.id
        )
        .join(User, User.id == Rating.user_id)
        .where(subject, Rating.published.is_(True), Rating.comment != "")
        .order_by(Rating.created_at.desc(), Rating.id.desc())
        .limit(COMMENTS_SHOWN)
    )
    comments = tuple(
        PublishedComment(stars, comment, name if show_name else None, created_at)
        for stars, comment, show_name, name, created_at, _id in sorted(
            rows, key=lambda row: (-company_date(row.created_at).toordinal(), row.id)
        )
    )
    return RatingSummary(
        count=sum(counts.values()),
        distribution=tuple((stars, counts.get(stars, 0)) for stars in reversed(STARS)),
        comments=comments,
    )


def claims_to_rate(user_id: int) -> list[Claim]:
    """The person's used claims (and given gifts) they have not rated yet, newest first."""
    statement = (
        select(Claim)
        .outerjoin(Rating, Rating.claim_id == Claim.id)
        .where(
            Claim.user_id == user_id,
            Rating.id.is_(None),
            (Claim.status == ClaimStatus.USED)
            | ((Claim.source == "gift") & (Claim.status == ClaimStatus.CLAIMED)),
        )
        .order_by(Claim.claimed_at.desc(), Claim.id.desc())
        .limit(PROMPT_LIMIT)
    )
    return list(db.session.scalars(statement).unique())


def orders_to_rate(user_id: int) -> list[Order]:
    """The person's redeemed staff purchases they have not rated yet, newest first."""
    statement = (
        select(Order)
        .outerjoin(Rating, Rating.order_id == Order.id)
        .where(
            Order.buyer_id == user_id,
            Order.status == OrderStatus.REDEEMED,
            Rating.id.is_(None),
        )
        .options(selectinload(Order.lines).joinedload(OrderLine.product))
        .order_by(Order.redeemed_at.desc(), Order.id.desc())
        .limit(PROMPT_LIMIT)
    )
    return list(db.session.scalars(statement))


def rating_of_claim(claim_id: int) -> Rating | None:
    return db.session.scalar(select(Rating).where(Rating.claim_id == claim_id))


def moderation_page(products: bool, page: int) -> Pagination:
    """The ratings with a comment, of perks or of products, newest first, with their rater
    and their perk or product (loaded with them). A page lists its ratings by day, then by
    perk or product, then by (random) id, never by moment: a comment with the name hidden
    (and the anonymous feedback item a low rating opens with it) is not placed between the
    same rater's named ones."""
    subject = Rating.product_id.is_not(None) if products else Rating.perk_id.is_not(None)
    statement = (
        select(Rating)
        .where(subject, Rating.comment != "")
        .options(
            joinedload(Rating.user),
            joinedload(Rating.product if products else Rating.perk),
        )
        .order_by(Rating.created_at.desc(), Rating.id.desc())
    )
    found = paginate(statement, page, PER_PAGE)
    found.items = sorted(found.items, key=_by_day_and_subject)
    return found


def _by_day_and_subject(rating: Rating) -> tuple[int, tuple[str, str], int]:
    """Newest day first, then the perk's title or the product's name as the reader reads it,
    then the id (drawn at random): nothing of the moment within the day."""
    subject = rating.perk.title if rating.perk is not None else ""
    if rating.product is not None:
        subject = rating.product.name
    return (-company_date(rating.created_at).toordinal(), name_order(subject), rating.id)
