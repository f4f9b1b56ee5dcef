"""The brand's one row: what HR and admins set (``perks.branding.services``)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from perks.db import Base, TimestampMixin

#: the id of the one row
BRAND_ROW_ID = 1


class BrandSettings(TimestampMixin, Base):
    """The company's brand as HR or an admin last saved it. There is one row, or none yet
    (then ``perks.branding.services.DEFAULT`` applies)."""

    __tablename__ = "brand_settings"
    __table_args__ = (CheckConstraint(f"id = {BRAND_ROW_ID}", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    company_name: Mapped[str] = mapped_column(String(120))
    #: a stored image's name (``perks.images``), or None for no logo
    logo_image: Mapped[str | None] = mapped_column(String(80))
    #: ``#rrggbb``: the navigation bar, the e-mails' header
    primary_colour: Mapped[str] = mapped_column(String(7))
    #: ``#rrggbb`` of the main buttons, or None for the default blue
    accent_colour: Mapped[str | None] = mapped_column(String(7))
    #: what the storefront says under the company's name
    tagline_vi: Mapped[str] = mapped_column(String(200), default="")
    tagline_en: Mapped[str] = mapped_column(String(200), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    contact_address: Mapped[str] = mapped_column(String(300), default="")
    #: the storefront's and the e-mails' small print (registered name, tax code, licence...)
    legal_footer_vi: Mapped[str] = mapped_column(Text, default="")
    legal_footer_en: Mapped[str] = mapped_column(Text, default="")
    #: who saved it last
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
