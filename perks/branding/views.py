"""The brand's public files: its stylesheet (the colours as CSS custom properties) and its logo.

Pages allow no inline style (``perks.security``), so the colours reach them as a stylesheet
of this origin, ``/brand.css?v=<version>``: its URL changes with the colours, so browsers
keep it for a year. The logo is a stored image (``perks.images``), served under its random
name like product pictures.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from werkzeug.wrappers import Response

from perks.branding.services import current_brand
from perks.errors import NotFound
from perks.images import MAX_AGE_SECONDS, image_response

bp = Blueprint("branding", __name__)


@bp.get("/brand.css")
def stylesheet() -> Response:
    brand = current_brand()
    css = render_template("branding/brand.css", brand=brand)
    response = Response(css, mimetype="text/css")
    if request.args.get("v") == brand.version:
        response.headers["Cache-Control"] = f"public, max-age={MAX_AGE_SECONDS}, immutable"
    else:  # an old or missing version: never keep it
        response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/brand/logo/<name>")
def logo(name: str) -> Response:
    """The brand's logo; any other stored image is a 404 here.

    Raises:
        NotFound: ``name`` is not the current logo's.
    """
    if name != current_brand().logo_image:
        raise NotFound()
    return image_response(name)
