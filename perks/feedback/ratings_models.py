"""A rating: 1 to 5 stars and an optional comment on a used claim or a redeemed staff order."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, Text, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from perks.db import Base, TimestampMixin

if TYPE_CHECKING:
    from perks.catalog.models import Perk
    from perks.people.models import User
    from perks.shop.models import Product

#: the stars a rating may give
STARS = (1, 2, 3, 4, 5)
#: the ids a rating may be given (``perks.feedback.ratings`` draws one at random, as for
#: feedback items): a rating with the name hidden, and the anonymous feedback item a low one
#: opens with the same comment, must not be placed between the same rater's named ratings
RATING_IDS = range(1_000_000, 2**31)


class Rating(TimestampMixin, Base):
    """One person's rating of one claim (a perk) or one staff order (a product): at most one
    each, by the unique columns, so a second rating of the same claim fails at the database.

    The rater is kept (only they may rate, once); ``show_name`` false means no page shows who
    wrote it. Comments stay private until the owner (HR for perks, the shop's keepers for
    products) publishes them."""

    __tablename__ = "rating"
    __table_args__ = (
        CheckConstraint("stars >= 1 AND stars <= 5", name="stars"),
        # a claim (with its perk) or an order (with its product), never both
        CheckConstraint(
            "(claim_id IS NOT NULL AND perk_id IS NOT NULL AND order_id IS NULL "
            "AND product_id IS NULL) OR (claim_id IS NULL AND perk_id IS NULL "
            "AND order_id IS NOT NULL AND product_id IS NOT NULL)",
            name="subject",
        ),
    )

    #: drawn at random from ``RATING_IDS``: carries no order
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id"), unique=True)
    #: the claim's perk, copied so a perk's page reads its ratings without the claims
    perk_id: Mapped[int | None] = mapped_column(ForeignKey("perk.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("shop_order.id"), unique=True)
    #: the order's product (its first line's: a staff order rates one purchase)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"), index=True)
    stars: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    #: false: pages say "a colleague" instead of the rater's name
    show_name: Mapped[bool] = mapped_column(default=True, server_default=true())
    #: the owner chose to show the comment on the perk's or product's page
    published: Mapped[bool] = mapped_column(default=False, server_default=false())
    moderated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    moderated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    perk: Mapped[Perk | None] = relationship()
    product: Mapped[Product | None] = relationship()
