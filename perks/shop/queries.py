"""Read-side queries behind the public storefront, and the choices other forms offer.

Each storefront page runs a fixed number of SQL statements, however many products there are:
the categories in one, the products with their categories (joined) in another. Names are
sorted in Python, the same way on every database: SQL collations differ between SQLite and
PostgreSQL, and neither puts "Đêm" next to "Du thuyền" unless told how.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import get_locale
from sqlalchemy import Select, exists, select
from sqlalchemy.orm import contains_eager

from perks.errors import NotFound
from perks.extensions import db
from perks.folding import name_order
from perks.shop.models import Product, ProductCategory

Choices = list[tuple[int, str]]


def _locale(locale: str | None) -> str:
    return locale or str(get_locale() or "vi")


def _in_language(name_vi: str, name_en: str, locale: str) -> str:
    """Like the models' ``name``: the name in ``locale``, else the other one."""
    return (name_en or name_vi) if locale == "en" else (name_vi or name_en)


def _active_products() -> Select[Product]:
    return select(Product).where(Product.active.is_(True))


def sees_staff_prices(user: object) -> bool:
    """Whether ``user`` (``current_user``) is shown staff prices: a signed-in, active person.

    Every account is a person of the company (staff or its operating chain); customers never
    have one. Deactivated people cannot sign in, and the check is repeated here regardless.
    """
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_active", False))


def storefront_categories() -> list[ProductCategory]:
    """The categories with at least one active product, in shelf order (one statement)."""
    on_sale = exists().where(Product.category_id == ProductCategory.id, Product.active.is_(True))
    categories = db.session.scalars(select(ProductCategory).where(on_sale))
    return sorted(categories, key=lambda c: (c.position, name_order(c.name), c.id))


def active_products(category_id: int | None = None) -> list[Product]:
    """Active products with their categories, by shelf then name (one statement).

    With ``category_id``, only that category's products; otherwise every active product,
    those without a category last.
    """
    statement = (
        _active_products().outerjoin(Product.category).options(contains_eager(Product.category))
    )
    if category_id is not None:
        statement = statement.where(Product.category_id == category_id)

    def order(product: Product) -> tuple[object, ...]:
        shelf = product.category
        place = (1, 0, 0) if shelf is None else (0, shelf.position, shelf.id)
        return (*place, name_order(product.name), product.id)

    return sorted(db.session.scalars(statement), key=order)


def shelves(products: Iterable[Product]) -> list[tuple[ProductCategory | None, list[Product]]]:
    """``products``, as ``active_products`` orders them, grouped by category in that order."""
    grouped: list[tuple[ProductCategory | None, list[Product]]] = []
    for product in products:
        if grouped and grouped[-1][0] is product.category:
            grouped[-1][1].append(product)
        else:
            grouped.append((product.category, [product]))
    return grouped


def product_by_slug(slug: str) -> Product:
    """The active product at ``/shop/p/<slug>``, with its category.

    Raises:
        NotFound: no product has this slug, or it is not on sale (inactive).
    """
    product = db.session.scalar(_active_products().where(Product.slug == slug))
    if product is None:
        raise NotFound()
    return product


def category_by_slug(slug: str) -> ProductCategory:
    """The category at ``/shop/c/<slug>``, whether or not anything in it is on sale.

    Raises:
        NotFound: no category has this slug.
    """
    category = db.session.scalar(select(ProductCategory).where(ProductCategory.slug == slug))
    if category is None:
        raise NotFound()
    return category


def product_choices(*, locale: str | None = None) -> Choices:
    """``(id, name)`` of every active product, by name in ``locale`` (default: the page's)."""
    language = _locale(locale)
    rows = db.session.execute(
        select(Product.id, Product.name_vi, Product.name_en).where(Product.active.is_(True))
    )
    choices = [(id_, _in_language(vi, en, language)) for id_, vi, en in rows]
    return sorted(choices, key=lambda choice: (name_order(choice[1]), choice[0]))


def category_choices(*, locale: str | None = None) -> Choices:
    """``(id, name)`` of every category, in shelf order, named in ``locale``."""
    language = _locale(locale)
    rows = db.session.execute(
        select(
            ProductCategory.id,
            ProductCategory.position,
            ProductCategory.name_vi,
            ProductCategory.name_en,
        )
    )
    ordered = sorted(
        (position, name_order(name := _in_language(vi, en, language)), id_, name)
        for id_, position, vi, en in rows
    )
    return [(id_, name) for _position, _key, id_, name in ordered]
