"""The brand: read once per request (``current_brand``), changed by HR or an admin
(``update_brand``, audited in the same transaction).

Until someone saves it, the brand is ``COMPANY_NAME`` (a setting) in the product's green, with
no logo, tagline, contact or legal footer.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING

from flask import current_app, g
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from perks import audit, images
from perks.branding.colours import LIGHT_TEXT, parse_colour, text_colour_on
from perks.branding.models import BRAND_ROW_ID, BrandSettings
from perks.db import transaction
from perks.errors import ChangedMeanwhile, Conflict, ValidationFailed
from perks.extensions import db
from perks.fingerprints import fingerprint
from perks.text import trim

if TYPE_CHECKING:
    from perks.people.models import User

log = logging.getLogger(__name__)

#: the product's green, until the company chooses its own
DEFAULT_PRIMARY_COLOUR = "#0b6e4f"
#: a logo travels inside every e-mail: keep it small
MAX_LOGO_BYTES = 512 * 1024


@dataclass(frozen=True)
class BrandData:
    """What HR or an admin may set (an allow-list: the logo comes apart, as bytes)."""

    company_name: str
    primary_colour: str
    accent_colour: str = ""
    tagline_vi: str = ""
    tagline_en: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    contact_address: str = ""
    legal_footer_vi: str = ""
    legal_footer_en: str = ""


@dataclass(frozen=True)
class Brand:
    """The brand as pages and e-mails read it."""

    company_name: str
    primary_colour: str = DEFAULT_PRIMARY_COLOUR
    accent_colour: str | None = None
    logo_image: str | None = None
    tagline_vi: str = ""
    tagline_en: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    contact_address: str = ""
    legal_footer_vi: str = ""
    legal_footer_en: str = ""
    #: when it was last saved (None: never)
    updated_at: datetime | None = None

    @property
    def primary_text_colour(self) -> str:
        """White or dark: whichever reads better on the primary colour."""
        return text_colour_on(self.primary_colour)

    @property
    def primary_is_dark(self) -> bool:
        """True when text on the primary colour is white (a dark navigation bar)."""
        return self.primary_text_colour == LIGHT_TEXT

    @property
    def accent_text_colour(self) -> str | None:
        return text_colour_on(self.accent_colour) if self.accent_colour else None

    @property
    def version(self) -> str:
        """Changes whenever the colours do: the stylesheet's URL carries it, so browsers may
        keep the stylesheet for a year."""
        key = f"{self.primary_colour}{self.accent_colour}"
        return hashlib.sha256(key.encode()).hexdigest()[:12]

    def tagline(self, locale: str) -> str:
        """The storefront's tagline in ``locale``, else in the other language ("" if none)."""
        return _in(locale, self.tagline_vi, self.tagline_en)

    def legal_footer(self, locale: str) -> str:
        """The legal footer in ``locale``, else in the other language ("" if none)."""
        return _in(locale, self.legal_footer_vi, self.legal_footer_en)

    @property
    def has_contact(self) -> bool:
        return bool(self.contact_email or self.contact_phone or self.contact_address)


def _in(locale: str, vi: str, en: str) -> str:
    return (en or vi) if locale == "en" else (vi or en)


def current_brand() -> Brand:
    """The brand, read from the database once per request (or task) and kept in ``g``.

    A database that cannot answer (the error page of a failed transaction) gives the default
    brand for this page rather than a second error: the brand never takes a page down.
    """
    brand = g.get("brand")
    if brand is None:
        try:
            row = db.session.get(BrandSettings, BRAND_ROW_ID)
        except SQLAlchemyError as error:
            log.warning("brand unavailable, default shown: %s", type(error).__name__)
            return default_brand()
        brand = g.brand = _brand_of(row) if row is not None else default_brand()
    assert isinstance(brand, Brand)
    return brand


def default_brand() -> Brand:
    """The brand before anyone saves one: ``COMPANY_NAME`` in the product's green."""
    return Brand(company_name=current_app.config["COMPANY_NAME"])


def _brand_of(row: BrandSettings) -> Brand:
    return Brand(
        company_name=row.company_name,
        primary_colour=row.primary_colour,
        accent_colour=row.accent_colour,
        logo_image=row.logo_image,
        tagline_vi=row.tagline_vi,
        tagline_en=row.tagline_en,
        contact_email=row.contact_email,
        contact_phone=row.contact_phone,
        contact_address=row.contact_address,
        legal_footer_vi=row.legal_footer_vi,
        legal_footer_en=row.legal_footer_en,
        updated_at=row.updated_at,
    )


def brand_data(brand: Brand) -> BrandData:
    """What the brand form starts from: the brand as it is."""
    values = {f.name: getattr(brand, f.name) or "" for f in fields(BrandData)}
    return BrandData(**values)


def check_logo(data: bytes) -> None:
    """Refuse a logo that is no PNG or JPEG (judged by its content) or above 512 KB.

    Raises:
        ValidationFailed: with ``field="logo"``.
    """
    if len(data) > MAX_LOGO_BYTES:
        raise ValidationFailed(_l("The logo is larger than 512 KB."), field="logo")
    try:
        images.image_type(data)
    except ValidationFailed as error:
        raise ValidationFailed(error.message, field="logo") from error


def shown_fingerprint(brand: Brand) -> str:
    """The fingerprint (``perks.fingerprints``) of what the brand page shows of ``brand``:
    every value of its form and the logo. The form sends it back, and ``update_brand``
    refuses a save when it no longer matches. Raises nothing."""
    return fingerprint({**asdict(brand_data(brand)), "logo_image": brand.logo_image})


def update_brand(
    data: BrandData,
    *,
    actor: User,
    logo: bytes | None = None,
    remove_logo: bool = False,
    shown: str | None = None,
) -> Brand:
    """Save the brand: every page and e-mail from now on shows it. Audited with the old and
    new values (``brand.updated``).

    ``logo`` replaces the logo (the old image is deleted); ``remove_logo`` drops it.

    ``shown`` is the ``shown_fingerprint`` of the brand as the page showed it: a page opened
    before another HR person saved the brand must not overwrite their change (or remove the
    logo they uploaded) unseen. ``None`` checks nothing (callers that showed no page: the
    demo). Saves take turns (the row is locked), so of two saves from the same page the
    second sees the first.

    Raises:
        ValidationFailed: an empty company name, a colour that is not ``#rrggbb`` or on which
            text cannot be read (``perks.branding.colours.parse_colour``), a bad logo
            (``check_logo``); each with the form field it concerns. Nothing is written.
        ChangedMeanwhile: the brand is no longer what the page showed; nothing is saved.
        Conflict: someone else saved the brand for the first time at the same moment.
    """
    cleaned = _checked(data)
    if logo is not None:
        check_logo(logo)
    try:
        with transaction():
            row = db.session.get(
                BrandSettings, BRAND_ROW_ID, with_for_update=True, populate_existing=True
            )
            saved = _brand_of(row) if row is not None else default_brand()
            if shown is not None and shown != shown_fingerprint(saved):
                g.brand = saved  # the rest of the request shows the brand as it is now
                raise ChangedMeanwhile()
            before = asdict(brand_data(saved))
            if row is None:
                row = BrandSettings(id=BRAND_ROW_ID)
                db.session.add(row)
            for name, value in asdict(cleaned).items():
                setattr(row, name, value)
            row.accent_colour = cleaned.accent_colour or None
            row.updated_by_id = actor.id
            logo_change = None
            if logo is not None or (remove_logo and row.logo_image):
                old_logo = row.logo_image
                row.logo_image = images.save_image(logo) if logo is not None else None
                images.delete_image(old_logo)
                logo_change = "replaced" if logo is not None else "removed"
            db.session.flush()
            after = asdict(cleaned)
            changes = audit.changes(before, after)
            # the logo is named only when it changed: "Logo: none" read as removed
            logo_detail = {"logo": logo_change} if logo_change else {}
            audit.record("brand.updated", actor=actor, target=row, changes=changes, **logo_detail)
            brand = _brand_of(row)
    except IntegrityError as error:
        raise Conflict(
            _l("Someone else saved the brand just now: look at it and try again.")
        ) from error
    g.brand = brand
    return brand


def _checked(data: BrandData) -> BrandData:
    name = " ".join(trim(data.company_name).split())
    if not name:
        raise ValidationFailed(_l("Give the company's name."), field="company_name")
    accent = data.accent_colour.strip()
    return BrandData(
        company_name=name,
        primary_colour=parse_colour(data.primary_colour, field="primary_colour"),
        accent_colour=parse_colour(accent, field="accent_colour") if accent else "",
        tagline_vi=data.tagline_vi.strip(),
        tagline_en=data.tagline_en.strip(),
        contact_email=trim(data.contact_email),
        contact_phone=data.contact_phone.strip(),
        contact_address=data.contact_address.strip(),
        legal_footer_vi=data.legal_footer_vi.strip(),
        legal_footer_en=data.legal_footer_en.strip(),
    )


def logo_for_email() -> images.Image | None:
    """The brand's logo, bytes and all, to travel inside an e-mail (None without a logo)."""
    name = current_brand().logo_image
    return images.load_image(name) if name else None
