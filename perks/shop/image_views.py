"""Product images, served to everyone: the storefront is public.

Images are stored under the instance folder (``perks.shop.services.product_image_folder``)
with random names that change whenever an image is replaced, so a browser may keep each one
for a year.
"""

from __future__ import annotations

from flask import Blueprint, send_file
from werkzeug.wrappers import Response

from perks.shop import services

bp = Blueprint("shop_images", __name__)

#: a year: an image's name changes with its content
IMAGE_MAX_AGE = 365 * 24 * 3600


@bp.get("/shop/images/<name>")
def product_image(name: str) -> Response:
    path = services.product_image_path(name)
    response = send_file(path, max_age=IMAGE_MAX_AGE, conditional=True)
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response
