"""Absolute URLs, built from the configured ``BASE_URL`` and never from the request.

An e-mail link, a share link, a QR code or a Stripe return URL that followed the request's
``Host`` header would let anyone who can send a request with a forged host (when
``TRUSTED_HOSTS`` is empty, or behind a proxy that passes it on) make the app mail out links
to their own site. So every absolute URL comes from one setting, in every environment, and
is the same inside a request, in a Celery task and on the command line.
"""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from flask import current_app, request
from flask.globals import app_ctx
from werkzeug.routing import IntegerConverter, Map, RequestRedirect
from werkzeug.wrappers import Response

from perks.db import MAX_ID


class RowIdConverter(IntegerConverter):
    """Every route's ``<int:...>``: a number above ``MAX_ID`` matches nothing (a 404), where
    Werkzeug's own would pass it on to overflow the database driver (a 500)."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def base_url() -> str:
    """The site's configured base URL, without a trailing slash (``https://perks.example``)."""
    return str(current_app.config["BASE_URL"]).rstrip("/")


ResponseT = TypeVar("ResponseT", bound=Response)


def redirects_on_base_url(response: ResponseT) -> ResponseT:
    """Point the router's own redirects (``/shop`` to ``/shop/``, Werkzeug's
    ``RequestRedirect``, built from the request's host) at ``BASE_URL`` instead; an
    ``after_request`` hook. Other redirects are the views' own, built with ``url_for``."""
    if isinstance(request.routing_exception, RequestRedirect) and response.location:
        target = urlsplit(response.location)
        base = urlsplit(base_url())
        path = target.path.removeprefix(request.script_root)
        response.location = urlunsplit(
            (base.scheme, base.netloc, base.path.rstrip("/") + path, target.query, "")
        )
    return response


def absolute_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of ``endpoint`` on the configured ``BASE_URL``.

    Takes what ``url_for`` takes: a full endpoint name (``"shop.order"``, not ``".order"``),
    its arguments (unknown ones become the query string) and ``_anchor``. Works with or
    without a request; a request's host, scheme and script root are never used.

    Raises:
        werkzeug.routing.BuildError: no such endpoint, or missing arguments.
    """
    app = app_ctx.app  # the app itself, not the proxy: looked up once
    base = urlsplit(base_url())
    anchor = values.pop("_anchor", None)
    app.inject_url_defaults(endpoint, values)
    adapter = app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http"
    )
    url = adapter.build(endpoint, values, force_external=True)
    if anchor is not None:
        url += "#" + quote(str(anchor), safe="%!#$&'()*+,/:;=?@")
    return url
