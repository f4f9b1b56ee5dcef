"""The OpenAPI 3.1 document, made by flask-smorest from the API's views and schemas."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from flask_smorest import Api


class PerksApi(Api):
    """flask-smorest's ``Api`` without its app-wide error handler (the pages keep their own
    error pages, and the API blueprint answers problem+json: ``perks.api.problems``), and
    with its document written when it is first read rather than when the app is made.

    flask-smorest writes every operation into the OpenAPI document as the blueprint is
    registered: about a third of what ``create_app`` costs, paid by every web and Celery worker
    as it starts, every ``flask`` command (``flask perks tick`` from cron) and every app a
    test makes, though few ever serve the document. Here the blueprint is registered at once
    and documented on the first read of ``spec`` (the ``openapi.json`` page, ``flask openapi
    print``), once, under a lock.
    """

    def __init__(self, app: Flask | None = None, **options: Any) -> None:
        self._undocumented: list[tuple[Any, str, Any]] = []
        self._documenting = threading.Lock()
        #: the thread writing the document, which reads ``spec`` as it writes
        self._documenter: int | None = None
        super().__init__(app, **options)

    @property
    def spec(self) -> Any:
        if self._undocumented and self._documenter != threading.get_ident():
            self._document_blueprints()
        return self._spec

    @spec.setter
    def spec(self, value: Any) -> None:
        self._spec = value

    def register_blueprint(self, blp: Any, *, parameters: Any = None, **options: Any) -> None:
        """``Api.register_blueprint``, with the documenting left for the first read."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def _document_blueprints(self) -> None:
        """Write what is left into the document. A blueprint leaves the list only once it is
        written, so a second thread reading ``spec`` meanwhile waits for the whole document
        rather than taking a half-written one."""
        with self._documenting:
            self._documenter = threading.get_ident()
            try:
                while self._undocumented:
                    blp, name, parameters = self._undocumented[0]
                    blp.register_views_in_doc(
                        self, self._app, self._spec, name=name, parameters=parameters
                    )
                    self._spec.tag({"name": name, "description": blp.description})
                    self._undocumented.pop(0)
            finally:
                self._documenter = None

    def _register_error_handlers(self) -> None:
        return None

    def _register_responses(self) -> None:
        """The ``default`` answer of every operation (a status it does not name: a 503
        while the database is down, a 500) as the API answers it, a problem document
        (``perks.api.problems``), where flask-smorest's would document its own error shape
        (``application/json``: ``code``, ``status`` as text, ``message``), never sent."""
        from perks.api.problems import PROBLEM_JSON
        from perks.api.schemas import Problem

        self.spec.components.response(
            self.DEFAULT_ERROR_RESPONSE_NAME,
            {
                "description": "Any other error, as a problem document (RFC 9457)",
                "content": {PROBLEM_JSON: {"schema": Problem}},
            },
            lazy=True,
        )


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
