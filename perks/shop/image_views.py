"""Product images, served to everyone: the storefront is public.

Images live in the database (``perks.images``), so every host serves every image, under
random names that change whenever an image is replaced: a browser or a shared cache may keep
each one for a year (``Cache-Control: public, max-age=31536000, immutable`` and an ``ETag``).
"""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response

from perks.images import image_response
from perks.shop import product_admin

bp = Blueprint("shop_images", __name__)


@bp.get("/shop/images/<name>")
def product_image(name: str) -> Response:
    product_admin.check_product_image(name)
    return image_response(name)
