"""Product administration: the back office (HR and finance) running the storefront's
shelves: products, their images, the categories that group them; and which stored images
are products' (served by ``image_views.py``).

Prices are ``Money`` in the product's currency (VND by default, USD too); the staff price is
either a fixed price in the same currency or a discount in basis points, never both. Every
change is audited in the same transaction, with the old and new values of what changed, so a
price change can always be traced to the person who made it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from perks import audit, images, sent_once
from perks.db import locked, transaction
from perks.errors import ChangedMeanwhile, NotFound, ValidationFailed
from perks.extensions import db
from perks.folding import name_order
from perks.i18n import format_number
from perks.money import Money
from perks.people.models import User
from perks.shop.models import Product, ProductCategory, RedemptionMode
from perks.text import trim

#: the currencies products may be priced in (Stripe and ``Money`` agree on their decimals)
PRODUCT_CURRENCIES = ("VND", "USD")
MAX_SLUG_LENGTH = 80
#: lower-case words of letters and digits joined by single hyphens: "tour-ha-long-2-ngay"
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
#: far more than anyone buys at once, and far less than the database's integer
MAX_QUANTITY_PER_ORDER = 1000
FULL_DISCOUNT_BPS = 10_000
#: the stored names of product images: random, so they can be cached forever and not guessed
IMAGE_NAME_PATTERN = images.NAME_PATTERN


@dataclass(frozen=True)
class ProductData:
    """What may be set on a product (an allow-list: the image name and ids are not here).

    ``slug`` empty: made from the name. ``staff_price`` and ``staff_discount_bps`` are
    alternatives: at most one of them.
    """

    name_vi: str
    name_en: str
    price: Money
    description_vi: str = ""
    description_en: str = ""
    category_id: int | None = None
    slug: str = ""
    staff_price: Money | None = None
    staff_discount_bps: int = 0
    redemption_mode: RedemptionMode = RedemptionMode.COUNTER
    max_quantity_per_order: int = 10
    active: bool = True


@dataclass(frozen=True)
class CategoryData:
    """What may be set on a category; ``slug`` empty: made from the name."""

    name_vi: str
    name_en: str
    slug: str = ""


# --- slugs ----------------------------------------------------------------------------------


def slugify(text: str) -> str:
    """A URL slug from a name in any language: "Đà Nẵng 3 ngày" → "da-nang-3-ngay"."""
    folded = text.casefold().replace("đ", "d")
    ascii_text = "".join(
        c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c)
    )
    words = re.findall(r"[a-z0-9]+", ascii_text)
    slug = "-".join(words)[:MAX_SLUG_LENGTH].strip("-")
    return slug


def _unique_slug(
    wanted: str, names: tuple[str, str], taken: Callable[[str], bool], what: str
) -> str:
    """``wanted`` if it is free (or the refusal), else a free slug made from ``names``.

    Raises:
        ValidationFailed: a typed slug that is malformed or already used (``field="slug"``).
    """
    if wanted:
        if len(wanted) > MAX_SLUG_LENGTH or not SLUG_PATTERN.fullmatch(wanted):
            raise ValidationFailed(
                _(
                    "Use lower-case letters, digits and single hyphens in the web address, "
                    "as in %(example)s.",
                    example="tour-ha-long-2-ngay",
                ),
                field="slug",
            )
        if taken(wanted):
            raise ValidationFailed(
                _("Another %(what)s already has the web address %(slug)s.", what=what, slug=wanted),
                field="slug",
            )
        return wanted
    base = slugify(names[1] or names[0]) or slugify(names[0]) or "item"
    base = base[: MAX_SLUG_LENGTH - 4].strip("-")
    candidate, n = base, 1
    while taken(candidate):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _slug_taken(model: type[Product] | type[ProductCategory], own_id: int | None) -> Any:
    def taken(slug: str) -> bool:
        query = select(model.id).where(model.slug == slug)
        if own_id is not None:
            query = query.where(model.id != own_id)
        return db.session.scalar(query.limit(1)) is not None

    return taken


def _require_a_name(name_vi: str, name_en: str) -> None:
    if not trim(name_vi) and not trim(name_en):
        raise ValidationFailed(
            _("Give the name in Vietnamese, in English, or both."), field="name_vi"
        )


# --- products -------------------------------------------------------------------------------


def get_product(product_id: int) -> Product:
    """Raises:
    NotFound: no such product."""
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound()
    return product


def _locked_product(product_id: int) -> Product:
    """The product, locked until the transaction ends (changes of one product take turns)
    and read again under the lock rather than from what the session loaded before.

    Raises:
        NotFound: no such product.
    """
    product = locked(Product, product_id)
    if product is None:
        raise NotFound()
    return product


def _changed_meanwhile(product: Product) -> str:
    """Who last changed ``product``, as the audit log keeps it, in the refusal's message."""
    editor = audit.last_actor(product, "shop.product_")
    if editor is None:
        return str(
            _(
                "Someone changed this product after you opened it, so your changes were not "
                "saved. The form now shows the product as it is: check it and make your "
                "changes again."
            )
        )
    return str(
        _(
            "%(name)s changed this product after you opened it, so your changes were not "
            "saved. The form now shows the product as it is: check it and make your changes "
            "again.",
            name=editor.name,
        )
    )


def products_for_admin(
    *,
    category_id: int | None = None,
    uncategorised: bool = False,
    active: bool | None = None,
    currency: str = "",
) -> list[Product]:
    """Every product matching the filters with its category, by shelf then name (one query)."""
    query = select(Product)
    if uncategorised:
        query = query.where(Product.category_id.is_(None))
    elif category_id is not None:
        query = query.where(Product.category_id == category_id)
    if active is not None:
        query = query.where(Product.active.is_(active))
    if currency:
        query = query.where(Product.currency == currency)
    products = db.session.scalars(query).unique().all()

    def order(product: Product) -> tuple[object, ...]:
        shelf = product.category
        place = (1, 0, 0) if shelf is None else (0, shelf.position, shelf.id)
        return (*place, name_order(product.name), product.id)

    return sorted(products, key=order)


def _check_product(data: ProductData) -> None:
    """Raises:
    ValidationFailed: the first problem, with the form field it is about (``field``)."""
    _require_a_name(data.name_vi, data.name_en)
    price = data.price
    if price.currency not in PRODUCT_CURRENCIES:
        raise ValidationFailed(_("Choose VND or USD."), field="currency")
    if price.amount < 0:
        raise ValidationFailed(_("Enter an amount that is not negative."), field="price")
    if data.staff_price is not None and data.staff_discount_bps:
        raise ValidationFailed(
            _("Give a staff price or a staff discount, not both."), field="staff_price"
        )
    if data.staff_price is not None:
        if data.staff_price.currency != price.currency:
            raise ValidationFailed(
                _("The staff price is in the product's currency."), field="staff_price"
            )
        if data.staff_price.amount < 0:
            raise ValidationFailed(_("Enter an amount that is not negative."), field="staff_price")
        if data.staff_price.amount > price.amount:
            raise ValidationFailed(
                _("The staff price cannot be more than the price."), field="staff_price"
            )
    if not 0 <= data.staff_discount_bps <= FULL_DISCOUNT_BPS:
        raise ValidationFailed(_("A discount is from 0 to 100%."), field="staff_discount")
    if not 1 <= data.max_quantity_per_order <= MAX_QUANTITY_PER_ORDER:
        raise ValidationFailed(
            _(
                "Allow between 1 and %(max)s per order.",
                max=format_number(MAX_QUANTITY_PER_ORDER),
            ),
            field="max_quantity_per_order",
        )
    if data.category_id is not None and db.session.get(ProductCategory, data.category_id) is None:
        raise ValidationFailed(_("Choose a category from the list."), field="category_id")


def _category_names(category_id: int | None) -> dict[str, str] | None:
    """A category as the audit log names it: in both languages (the reader sees theirs)."""
    category = db.session.get(ProductCategory, category_id) if category_id is not None else None
    return None if category is None else {"vi": category.name_vi, "en": category.name_en}


def _product_values(product: Product) -> dict[str, Any]:
    """What the audit log keeps of a product (plain JSON values)."""
    return {
        "name_vi": product.name_vi,
        "name_en": product.name_en,
        "description_vi": product.description_vi,
        "description_en": product.description_en,
        "category": _category_names(product.category_id),
        "slug": product.slug,
        "price_amount": product.price_amount,
        "currency": product.currency,
        "staff_price_amount": product.staff_price_amount,
        "staff_discount_bps": product.staff_discount_bps,
        "redemption_mode": product.redemption_mode.value,
        "max_quantity_per_order": product.max_quantity_per_order,
        "active": product.active,
    }


def product_data_of(product: Product) -> ProductData:
    """``product`` as it is, as the data a save would set (to compare a refused save with)."""
    return ProductData(
        name_vi=product.name_vi,
        name_en=product.name_en,
        price=product.price,
        description_vi=product.description_vi,
        description_en=product.description_en,
        category_id=product.category_id,
        slug=product.slug,
        staff_price=(
            Money(product.staff_price_amount, product.currency)
            if product.staff_price_amount is not None
            else None
        ),
        staff_discount_bps=product.staff_discount_bps,
        redemption_mode=product.redemption_mode,
        max_quantity_per_order=product.max_quantity_per_order,
        active=product.active,
    )


def _apply_product(product: Product, data: ProductData) -> None:
    product.name_vi = trim(data.name_vi)
    product.name_en = trim(data.name_en)
    product.description_vi = trim(data.description_vi)
    product.description_en = trim(data.description_en)
    product.category_id = data.category_id
    product.price_amount = data.price.amount
    product.currency = data.price.currency
    product.staff_price_amount = data.staff_price.amount if data.staff_price else None
    product.staff_discount_bps = data.staff_discount_bps
    product.redemption_mode = data.redemption_mode
    product.max_quantity_per_order = data.max_quantity_per_order
    product.active = data.active


def image_extension(data: bytes) -> str:
    """The extension a product image is stored under, judged by its content.

    The same rules as every uploaded image (``perks.images``); images live in the database.

    Raises:
        ValidationFailed: larger than 2 MB, or not a PNG or JPEG (``field="image"``).
    """
    return images.image_type(data)[1]


def _saving_slug(unique: Callable[[], None]) -> None:
    """Flush, turning a slug taken a moment ago by someone else into a form error."""
    try:
        unique()
    except IntegrityError as error:
        raise ValidationFailed(
            _("That web address was just taken. Choose another one."), field="slug"
        ) from error


def create_product(
    data: ProductData, *, actor: User, image: bytes | None = None, sending: str | None = None
) -> Product:
    """Add a product to the storefront (active unless ``data.active`` is False).

    Raises:
        ValidationFailed: a rule of ``_check_product`` or of the slug or the image, with the
            form field it is about (``details["field"]``); nothing is written.
    """
    if image is not None:
        image_extension(image)
    with transaction():
        if (earlier := sent_once.made_before(Product, sending, actor)) is not None:
            return earlier
        _check_product(data)
        product = Product(
            slug=_unique_slug(
                data.slug,
                (data.name_vi, data.name_en),
                _slug_taken(Product, None),
                _("product"),
            )
        )
        _apply_product(product, data)
        if image is not None:
            product.image_filename = images.save_image(image)
        db.session.add(product)
        _saving_slug(db.session.flush)
        sent_once.remember(sending, product, actor)
        audit.record(
            "shop.product_created",
            actor=actor,
            target=product,
            values=_product_values(product),
            image=image is not None,
        )
    return product


def update_product(
    product_id: int,
    data: ProductData,
    *,
    actor: User,
    image: bytes | None = None,
    expected_row_version: int | None = None,
) -> Product:
    """Change a product; orders already placed keep the prices they were bought at.

    ``expected_row_version`` is the product's ``row_version`` the page showed: a page opened
    before someone else changed the product (its prices, or took it off sale) must not
    overwrite that change unseen. ``None`` checks nothing (callers that showed no page).
    Changes of one product take turns (its row is locked), so of two saves from the same
    page the second sees the first.

    Raises:
        NotFound: no such product.
        ValidationFailed: as for ``create_product``; nothing is written.
        ChangedMeanwhile: the product is no longer at ``expected_row_version``; nothing is
            saved.
    """
    if image is not None:
        image_extension(image)
    with transaction():
        product = _locked_product(product_id)
        _check_product(data)
        if expected_row_version is not None and expected_row_version != product.row_version:
            raise ChangedMeanwhile(_changed_meanwhile(product))
        before = _product_values(product)
        # stored first: storing it flushes, and the product's row is to change once a save
        new_image = images.save_image(image) if image is not None else None
        product.slug = _unique_slug(
            data.slug or product.slug,
            (data.name_vi, data.name_en),
            _slug_taken(Product, product.id),
            _("product"),
        )
        _apply_product(product, data)
        if new_image is not None:
            old_image, product.image_filename = product.image_filename, new_image
            images.delete_image(old_image)
        _saving_slug(db.session.flush)
        after = _product_values(product)
        changes = audit.changes(before, after)
        if changes or image is not None:
            audit.record(
                "shop.product_updated",
                actor=actor,
                target=product,
                # the currency of the prices changed (a change of currency says both)
                currency=product.currency,
                changes=changes,
                image=image is not None,
            )
    return product


def set_product_active(product_id: int, active: bool, *, actor: User) -> Product:
    """Take a product off the storefront (``active=False``) or put it back.

    Carts holding it can no longer check it out; orders already paid are not touched.

    Raises:
        NotFound: no such product.
    """
    with transaction():
        product = _locked_product(product_id)
        if product.active != active:
            product.active = active
            audit.record(
                "shop.product_reactivated" if active else "shop.product_deactivated",
                actor=actor,
                target=product,
                slug=product.slug,
            )
    return product


# --- categories -----------------------------------------------------------------------------


def categories_for_admin() -> list[ProductCategory]:
    """Every category in shelf order, with how the storefront shows them (one query)."""
    categories = db.session.scalars(select(ProductCategory))
    return sorted(categories, key=lambda c: (c.position, name_order(c.name), c.id))


def product_counts() -> dict[int, int]:
    """How many products each category holds (one query)."""
    rows = db.session.execute(
        select(Product.category_id, func.count())
        .where(Product.category_id.is_not(None))
        .group_by(Product.category_id)
    )
    # ``is not None`` again, for the type checker: the WHERE already leaves those out
    return {category_id: int(count) for category_id, count in rows if category_id is not None}


def get_category(category_id: int) -> ProductCategory:
    """Raises:
    NotFound: no such category."""
    category = db.session.get(ProductCategory, category_id)
    if category is None:
        raise NotFound()
    return category


def _category_values(category: ProductCategory) -> dict[str, Any]:
    return {
        "name_vi": category.name_vi,
        "name_en": category.name_en,
        "slug": category.slug,
        "position": category.position,
    }


def create_category(
    data: CategoryData, *, actor: User, sending: str | None = None
) -> ProductCategory:
    """Add a shelf to the storefront, after the others. It shows once it holds a product.

    Raises:
        ValidationFailed: no name, or a malformed or taken slug (``details["field"]``).
    """
    with transaction():
        if (earlier := sent_once.made_before(ProductCategory, sending, actor)) is not None:
            return earlier
        _require_a_name(data.name_vi, data.name_en)
        last = db.session.scalar(select(func.max(ProductCategory.position)))
        category = ProductCategory(
            slug=_unique_slug(
                data.slug,
                (data.name_vi, data.name_en),
                _slug_taken(ProductCategory, None),
                _("category"),
            ),
            name_vi=trim(data.name_vi),
            name_en=trim(data.name_en),
            position=(last + 1) if last is not None else 0,
        )
        db.session.add(category)
        _saving_slug(db.session.flush)
        sent_once.remember(sending, category, actor)
        audit.record(
            "shop.category_created", actor=actor, target=category, values=_category_values(category)
        )
    return category


def update_category(category_id: int, data: CategoryData, *, actor: User) -> ProductCategory:
    """Rename a category or change its web address.

    Raises:
        NotFound: no such category.
        ValidationFailed: no name, or a malformed or taken slug; nothing is written.
    """
    with transaction():
        category = get_category(category_id)
        _require_a_name(data.name_vi, data.name_en)
        before = _category_values(category)
        category.slug = _unique_slug(
            data.slug or category.slug,
            (data.name_vi, data.name_en),
            _slug_taken(ProductCategory, category.id),
            _("category"),
        )
        category.name_vi = trim(data.name_vi)
        category.name_en = trim(data.name_en)
        _saving_slug(db.session.flush)
        after = _category_values(category)
        changes = audit.changes(before, after)
        if changes:
            audit.record("shop.category_updated", actor=actor, target=category, changes=changes)
    return category


def move_category(category_id: int, offset: int, *, actor: User) -> ProductCategory:
    """Move a category ``offset`` places (−1: one up, +1: one down) on the storefront.

    Positions are renumbered 0, 1, 2... in the order shown, so they stay distinct.

    Raises:
        NotFound: no such category.
    """
    with transaction():
        category = get_category(category_id)
        ordered = categories_for_admin()
        index = ordered.index(category)
        target = max(0, min(len(ordered) - 1, index + offset))
        if target != index:
            ordered.insert(target, ordered.pop(index))
            for position, shelf in enumerate(ordered):
                shelf.position = position
            audit.record(
                "shop.category_moved",
                actor=actor,
                target=category,
                order=[shelf.slug for shelf in ordered],
            )
    return category


# --- serving images -------------------------------------------------------------------------


def check_product_image(name: str) -> None:
    """Refuse a name no product holds (``Product.image_filename``): only the images of
    products are served here, even if another image is stored under that name.

    Raises:
        NotFound: a malformed name, or no product has this image.
    """
    if not IMAGE_NAME_PATTERN.fullmatch(name):
        raise NotFound()
    held = db.session.scalar(select(Product.id).where(Product.image_filename == name).limit(1))
    if held is None:
        raise NotFound()
