"""The public storefront: home, category and product pages. No account needed.

Customers arrive here from employees' referral links; signed-in people of the company also
see staff prices. The cart and checkout come later: the product page marks where.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from perks.shop import queries

bp = Blueprint("shop", __name__, url_prefix="/shop")


@bp.get("/")
def index() -> str:
    products = queries.active_products()
    return render_template(
        "shop/index.html",
        categories=queries.storefront_categories(),
        shelves=queries.shelves(products),
        staff_prices=queries.sees_staff_prices(current_user),
    )


@bp.get("/c/<slug>")
def category(slug: str) -> str:
    shown = queries.category_by_slug(slug)
    return render_template(
        "shop/category.html",
        category=shown,
        categories=queries.storefront_categories(),
        products=queries.active_products(shown.id),
        staff_prices=queries.sees_staff_prices(current_user),
    )


@bp.get("/p/<slug>")
def product(slug: str) -> str:
    return render_template(
        "shop/product.html",
        product=queries.product_by_slug(slug),
        staff_prices=queries.sees_staff_prices(current_user),
    )
