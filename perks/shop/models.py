"""What the company sells: product categories and products, priced in minor units."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from perks.db import Base, BilingualMixin, TimestampMixin
from perks.folding import given_name
from perks.i18n import LabelledEnum
from perks.money import Money, money_column, optional_money_column

if TYPE_CHECKING:
    from perks.people.models import User
    from perks.referrals.models import ReferralLink


class RedemptionMode(LabelledEnum):
    # a redeemer scans the customer's code at the counter
    COUNTER = "counter", _l("Redeemed at the counter")
    # redeemed as soon as it is paid (e.g. a gift card sent by e-mail)
    ON_PAYMENT = "on_payment", _l("Redeemed on payment")


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
        CheckConstraint(
            "staff_discount_bps >= 0 AND staff_discount_bps <= 10000", name="staff_discount"
        ),
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
    #: or a staff discount in basis points off the price (used when there is no staff price)
    staff_discount_bps: Mapped[int] = mapped_column(Integer, default=0)
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
    #: the name of its image in ``perks.images`` (the database); served by the app
    image_filename: Mapped[str | None] = mapped_column(String(80))
    #: 1 when written, one more at each change of this row (SQLAlchemy's ``version_id_col``):
    #: the edit form sends back the one it showed, and a save from an older one is refused
    #: (``perks.shop.product_admin.update_product``), so two people changing the same product
    #: (its prices) cannot overwrite each other unseen
    row_version: Mapped[int] = mapped_column(Integer)

    category: Mapped[ProductCategory | None] = relationship(lazy="joined")

    price = money_column("price_amount")
    _fixed_staff_price = optional_money_column("staff_price_amount")

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012 (SQLAlchemy reads it once)

    @property
    def staff_price(self) -> Money | None:
        """What a person of the company pays: the staff price, else the staff discount."""
        if self._fixed_staff_price is not None:
            return self._fixed_staff_price
        if self.staff_discount_bps:
            return self.price - self.price.percent(self.staff_discount_bps)
        return None

    @property
    def description(self) -> str:
        return self.localized("description")


# --- orders ---------------------------------------------------------------------------------

#: no 0/O/1/I/L: redemption codes are read aloud at the counter and typed from phones
REDEMPTION_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REDEMPTION_CODE_LENGTH = 10


def new_redemption_code() -> str:
    """A random code the customer shows at the counter (31^10 ≈ 8·10^14; not guessable)."""
    return "".join(secrets.choice(REDEMPTION_CODE_ALPHABET) for _ in range(REDEMPTION_CODE_LENGTH))


def new_order_token() -> str:
    """The unguessable key of an order's public pages (success, status): 256 random bits."""
    return secrets.token_urlsafe(32)


#: "PK" and the 8 characters of an order's number, without its dash
ORDER_NUMBER_LENGTH = 10


def new_order_number() -> str:
    """The number people quote ("PK-7Q3M9X2A"): random, so it reveals no sales volume."""
    return "PK-" + "".join(
        secrets.choice(REDEMPTION_CODE_ALPHABET) for _ in range(ORDER_NUMBER_LENGTH - 2)
    )


class OrderStatus(LabelledEnum):
    """Where an order stands; derived from its facts by ``Order.refresh_status``.

    ``pending`` (Checkout Session created) → ``paid`` (webhook confirmed, amount and currency
    match) → ``redeemed``; side states ``expired`` and ``cancelled`` (never paid),
    ``partially_refunded``, ``refunded``, ``disputed`` (open dispute, or one lost).
    """

    PENDING = "pending", _l("Awaiting payment")
    PAID = "paid", _l("Paid")
    REDEEMED = "redeemed", _l("Redeemed")
    EXPIRED = "expired", _l("Expired")
    CANCELLED = "cancelled", _l("Cancelled")
    PARTIALLY_REFUNDED = "partially_refunded", _l("Partially refunded")
    REFUNDED = "refunded", _l("Refunded")
    DISPUTED = "disputed", _l("Disputed")


class DiscountKind(LabelledEnum):
    """The one discount an order got; staff and friends discounts never stack."""

    NONE = "none", _l("No discount")
    # a referred customer's discount (FRIENDS_DISCOUNT_BPS)
    FRIENDS = "friends", _l("Friends discount")
    # a person of the company buying at staff price
    STAFF = "staff", _l("Staff price")


class DisputeStatus(enum.StrEnum):
    NONE = "none"
    OPEN = "open"
    WON = "won"
    LOST = "lost"


def _enum(cls: type[enum.Enum], length: int = 24) -> Enum:
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class Order(TimestampMixin, Base):
    """A customer's (or a staff member's) purchase, paid through Stripe Checkout.

    Money columns are in the minor unit of ``currency``; ``total_amount`` is what Stripe
    charges. Facts (``paid_at``, ``refunded_amount``, ``dispute_status``, ...) are set by the
    webhook handlers; ``status`` is derived from them, so events arriving out of order still
    end in the right state.
    """

    __tablename__ = "shop_order"  # "order" is an SQL keyword
    __table_args__ = (
        CheckConstraint("total_amount >= 0", name="total"),
        CheckConstraint("discount_amount >= 0", name="discount"),
        CheckConstraint(
            "refunded_amount >= 0 AND refunded_amount <= total_amount", name="refunded"
        ),
        Index("ix_shop_order_status_created", "status", "created_at"),
        # Referral stats read the period's paid, attributed orders; the fraud page the flagged
        # ones (migration 0008).
        Index(
            "ix_shop_order_referred_paid_at",
            "paid_at",
            postgresql_where=text("referral_link_id IS NOT NULL"),
            sqlite_where=text("referral_link_id IS NOT NULL"),
        ),
        Index(
            "ix_shop_order_flagged_created_at",
            "created_at",
            postgresql_where=text("attribution_flagged"),
            sqlite_where=text("attribution_flagged"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True, default=new_order_number)
    #: the key of the customer's pages (/shop/orders/<token>); never an id in a URL
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_order_token)
    #: shown at the counter and encoded in the QR code
    redemption_code: Mapped[str] = mapped_column(
        String(16), unique=True, default=new_redemption_code
    )
    status: Mapped[OrderStatus] = mapped_column(_enum(OrderStatus), default=OrderStatus.PENDING)

    customer_name: Mapped[str] = mapped_column(String(120))
    customer_email: Mapped[str] = mapped_column(String(254), index=True)
    customer_phone: Mapped[str] = mapped_column(String(32), default="")
    #: the language of the customer's pages and e-mails
    locale: Mapped[str] = mapped_column(String(8), default="vi")
    #: the signed-in person who bought (a staff purchase), if any
    buyer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)

    currency: Mapped[str] = mapped_column(String(3))
    subtotal_amount: Mapped[int] = mapped_column(BigInteger)  # at list prices
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    total_amount: Mapped[int] = mapped_column(BigInteger)  # subtotal - discount
    discount_kind: Mapped[DiscountKind] = mapped_column(
        _enum(DiscountKind), default=DiscountKind.NONE
    )

    # Attribution, fixed when the order is created (perks.referrals.attribution).
    referral_link_id: Mapped[int | None] = mapped_column(ForeignKey("referral_link.id"), index=True)
    referral_click_id: Mapped[int | None] = mapped_column(BigInteger)
    attribution_reason: Mapped[str] = mapped_column(String(24), default="none")
    #: finance should look: a self-referral attempt or a staff purchase
    attribution_flagged: Mapped[bool] = mapped_column(Boolean, default=False)

    # Stripe.
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(Text)
    checkout_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    charge_id: Mapped[str | None] = mapped_column(String(255), index=True)

    # Facts, set by webhooks and by redemption.
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: what Stripe reported as paid (equal to total_amount, or the order is a mismatch)
    paid_amount: Mapped[int | None] = mapped_column(BigInteger)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: why a never-paid order closed: "expired", "cancelled" or "payment_failed"
    closed_reason: Mapped[str] = mapped_column(String(24), default="")
    redeemed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    redeemed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: Stripe's running total (charge.amount_refunded)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    dispute_status: Mapped[DisputeStatus] = mapped_column(
        _enum(DisputeStatus), default=DisputeStatus.NONE
    )
    #: set when Stripe's amount or currency disagreed with the order; such an order never
    #: fulfils, and finance sees it
    mismatch: Mapped[str] = mapped_column(Text, default="")

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    buyer: Mapped[User | None] = relationship(foreign_keys=[buyer_id])
    redeemed_by: Mapped[User | None] = relationship(foreign_keys=[redeemed_by_id])
    referral_link: Mapped[ReferralLink | None] = relationship()
    #: the person whose link the order is attributed to (read only, through the link: the
    #: shop names the referral links' table, never their module, which sits above it)
    referrer: Mapped[User | None] = relationship(
        secondary="referral_link",
        primaryjoin="Order.referral_link_id == ReferralLink.id",
        secondaryjoin="ReferralLink.user_id == User.id",
        viewonly=True,
    )

    total = money_column("total_amount")
    subtotal = money_column("subtotal_amount")
    discount = money_column("discount_amount")
    refunded = money_column("refunded_amount")

    @property
    def customer_first_name(self) -> str:
        """What a redeemer or a referring employee may see of the customer."""
        # "Lê Thị Hoa" is Hoa in an English order too (``folding.given_name``)
        return given_name(self.customer_name, self.locale)

    @property
    def is_staff_purchase(self) -> bool:
        return self.discount_kind is DiscountKind.STAFF or self.buyer_id is not None

    @property
    def redeemable(self) -> bool:
        """Paid, not yet redeemed, not fully refunded, no open or lost dispute, no mismatch."""
        return (
            self.paid_at is not None
            and self.redeemed_at is None
            and not self.mismatch
            and self.refunded_amount < self.total_amount
            and self.dispute_status in (DisputeStatus.NONE, DisputeStatus.WON)
        )

    def refresh_status(self) -> OrderStatus:
        """Derive ``status`` from the facts, set it, and return it."""
        if self.paid_at is None:
            if self.closed_at is not None:
                status = (
                    OrderStatus.EXPIRED
                    if self.closed_reason == "expired"
                    else OrderStatus.CANCELLED
                )
            else:
                status = OrderStatus.PENDING
        elif self.dispute_status in (DisputeStatus.OPEN, DisputeStatus.LOST):
            status = OrderStatus.DISPUTED
        elif self.total_amount and self.refunded_amount >= self.total_amount:
            status = OrderStatus.REFUNDED
        elif self.refunded_amount > 0:
            status = OrderStatus.PARTIALLY_REFUNDED
        elif self.redeemed_at is not None:
            status = OrderStatus.REDEEMED
        else:
            status = OrderStatus.PAID
        self.status = status
        return status


class OrderLine(Base):
    """One product of an order, with the prices as they were when it was bought."""

    __tablename__ = "order_line"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity"),
        CheckConstraint("unit_amount >= 0 AND unit_amount <= unit_list_amount", name="unit"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("shop_order.id", ondelete="CASCADE"), index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    #: the product's name when bought (in the customer's language)
    product_name: Mapped[str] = mapped_column(String(160))
    quantity: Mapped[int] = mapped_column(Integer)
    #: the list price of one unit
    unit_list_amount: Mapped[int] = mapped_column(BigInteger)
    #: what one unit cost after the order's discount
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    #: unit_amount × quantity: the base of commissions and of refund proration
    line_total_amount: Mapped[int] = mapped_column(BigInteger)

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    line_total = money_column("line_total_amount", currency="order.currency")
    unit_price = money_column("unit_amount", currency="order.currency")
    unit_list_price = money_column("unit_list_amount", currency="order.currency")

    @property
    def list_total(self) -> Money:
        """The line at list prices: the lines' list totals add up to the order's subtotal,
        from which its discount is taken (what the customer's page and e-mail show)."""
        return self.unit_list_price * self.quantity
