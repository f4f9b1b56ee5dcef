"""HR pages: perks, code pools, images, publishing, draws."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("catalog_admin", __name__, url_prefix="/admin/perks")
