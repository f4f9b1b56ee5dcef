"""Employee pages: the catalog, claiming, my perks, draws, rules; the redeemer's counter."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("catalog", __name__)
