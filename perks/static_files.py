"""Static files under addresses that name their content, kept by browsers for a year.

``url_for("static", filename="css/app.css")`` (and any blueprint's static files: Bootstrap-
Flask's ``bootstrap.static``) gains ``v=<digest>``, the file's content digest. A request whose
``v`` is the file's digest now is answered ``public, max-age=31536000, immutable``: a phone
loads the style sheets and scripts once, not again on every page (without this, Flask's
``no-cache`` made each page ask again for five of them, a 304 each).
Changing a file changes its address, so nobody keeps an old copy; an address without ``v``,
or with an old one, is served as before (``no-cache``: asked again each time).

Digests are read once per file and again when its modification time changes (one ``stat`` per
address built).

Flask-Static-Digest does the same by writing digested copies of the static folder at build
time (``flask digest compile``, a step for every deploy and every checkout), and only for the
app's own folder, not Bootstrap-Flask's; Flask's ``url_defaults`` hook does it at run time for
both.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, TypeGuard

from flask import Flask, current_app, request
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

#: a year, the longest ``max-age`` caches honour
MAX_AGE_SECONDS = 365 * 24 * 3600
#: the query parameter that names a file's content
VERSION = "v"

#: path -> (its modification time, its digest)
_digests: dict[str, tuple[int, str]] = {}


def _is_static(endpoint: str | None) -> TypeGuard[str]:
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))


def _folder(endpoint: str) -> str | None:
    if endpoint == "static":
        return current_app.static_folder
    blueprint = current_app.blueprints.get(endpoint.rpartition(".")[0])
    return blueprint.static_folder if blueprint is not None else None


def digest_of(folder: str, filename: str) -> str | None:
    """The digest of ``filename`` in ``folder`` (12 hexadecimal digits of BLAKE2b); None for
    a file that is not there, or a name that leaves the folder."""
    path = safe_join(folder, filename)
    if path is None:
        return None
    try:
        modified = os.stat(path).st_mtime_ns
    except OSError:
        return None
    known = _digests.get(path)
    if known is not None and known[0] == modified:
        return known[1]
    try:
        with open(path, "rb") as file:
            digest = hashlib.file_digest(file, lambda: hashlib.blake2b(digest_size=6)).hexdigest()
    except OSError:
        return None
    _digests[path] = (modified, digest)
    return digest


def _current_digest(endpoint: str, filename: object) -> str | None:
    folder = _folder(endpoint)
    if folder is None or not isinstance(filename, str):
        return None
    return digest_of(folder, filename)


def name_the_content(endpoint: str | None, values: dict[str, Any]) -> None:
    """``url_defaults``: a static file's address gains ``v``, its digest."""
    if not _is_static(endpoint) or VERSION in values:
        return
    digest = _current_digest(endpoint, values.get("filename"))
    if digest is not None:
        values[VERSION] = digest


def keep_named_content(response: Response) -> Response:
    """``after_request``: a static file asked for by its current digest is cacheable for a
    year, unchanging."""
    version, endpoint = request.args.get(VERSION), request.endpoint
    if (
        version
        and response.status_code in (200, 304)
        and _is_static(endpoint)
        and request.view_args is not None
        and version == _current_digest(endpoint, request.view_args.get("filename"))
    ):
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = MAX_AGE_SECONDS
        response.cache_control.immutable = True
    return response


def init_static_files(app: Flask) -> None:
    app.url_defaults(name_the_content)
    app.after_request(keep_named_content)
