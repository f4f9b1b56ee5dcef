"""The OpenAPI 3.1 document, made by flask-smorest from the API's views and schemas."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api


class PerksApi(Api):
    """flask-smorest's ``Api`` without its app-wide error handler: the pages keep their own
    error pages, and the API blueprint answers problem+json (``perks.api.problems``)."""

    def _register_error_handlers(self) -> None:
        return None


def init_api(app: Flask) -> PerksApi:
    """Register ``/api/v1`` and its document at ``/api/v1/openapi.json``."""
    from perks.api.problems import answer_unrouted_requests
    from perks.api.views import API_VERSION, bp

    app.config.setdefault("API_TITLE", "Perks API")
    app.config.setdefault("API_VERSION", API_VERSION)
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    spec: dict[str, Any] = {
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token made on /admin/api-tokens (service) or on "
                    "/account/api-tokens (personal). Each token has its own rate limit; "
                    "failed authentications (401) are also counted per address, whatever "
                    "token was sent, and beyond their limit that address answers 429.",
                }
            }
        },
    }
    api = PerksApi(app, spec_kwargs=spec)
    api.register_blueprint(bp)
    answer_unrouted_requests(app, bp.url_prefix or "/api/v1")
    return api
