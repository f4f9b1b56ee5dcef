"""What the company sells: product categories and products, priced in minor units."""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from perks.db import Base, BilingualMixin, TimestampMixin
from perks.money import Money


class RedemptionMode(enum.StrEnum):
    COUNTER = "counter"  # a redeemer scans the customer's code at the counter
    ON_PAYMENT = "on_payment"  # redeemed as soon as it is paid (e.g. a gift card sent by e-mail)

    @property
    def label(self) -> str:
        return str(
            {
                RedemptionMode.COUNTER: _l("Redeemed at the counter"),
                RedemptionMode.ON_PAYMENT: _l("Redeemed on payment"),
            }[self]
        )


class _Named(BilingualMixin):
    @property
    def name(self) -> str:
        return self.localized("name")


class ProductCategory(_Named, TimestampMixin, Base):
    """A shelf of the storefront ("Tours", "Hotel stays")."""

    __tablename__ = "product_category"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: used in storefront URLs: /shop/c/<slug>
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name_vi: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Product(_Named, TimestampMixin, Base):
    """A product or service customers buy (a tour, a hotel night, a voucher)."""

    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint("price_amount >= 0", name="price"),
        CheckConstraint("staff_price_amount IS NULL OR staff_price_amount >= 0", name="staff"),
        CheckConstraint("max_quantity_per_order >= 1", name="max_quantity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: used in storefront URLs: /shop/p/<slug>
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_category.id", ondelete="SET NULL"), index=True
    )
    name_vi: Mapped[str] = mapped_column(String(160))
    name_en: Mapped[str] = mapped_column(String(160))
    description_vi: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    #: in the currency's minor unit (VND: đồng; USD: cents)
    price_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="VND")
    #: what staff pay instead (same currency); None: no staff price
    staff_price_amount: Mapped[int | None] = mapped_column(BigInteger)
    redemption_mode: Mapped[RedemptionMode] = mapped_column(
        Enum(
            RedemptionMode,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=RedemptionMode.COUNTER,
    )
    max_quantity_per_order: Mapped[int] = mapped_column(Integer, default=10)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    image_filename: Mapped[str | None] = mapped_column(String(80))

    category: Mapped[ProductCategory | None] = relationship(lazy="joined")

    @property
    def price(self) -> Money:
        return Money(self.price_amount, self.currency)

    @property
    def staff_price(self) -> Money | None:
        if self.staff_price_amount is None:
            return None
        return Money(self.staff_price_amount, self.currency)

    @property
    def description(self) -> str:
        return self.localized("description")
