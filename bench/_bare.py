"""The baseline of ``bench.redirect``: a bare Flask app answering ``/r/<code>`` the way the real
redirect does for a counted click (a 302 to the storefront and the same signed cookie, of the
same size), with nothing else: no database, no settings, no extensions.

    gunicorn --workers 2 bench._bare:app     (``bench.redirect`` starts it)

The cookie is signed with ``BENCH_SECRET_KEY`` by the same serializer and salt as
``perks.referrals.attribution``, over the same shape of content: ``[link id, None, time]``.
"""

from __future__ import annotations

import os
import time

from flask import Flask, redirect
from itsdangerous import URLSafeSerializer
from werkzeug.wrappers import Response

#: as in perks.referrals.attribution (not imported: the baseline loads nothing of the app)
COOKIE = "perks_ref"
SALT = "perks.referrals.attribution-cookie"
WINDOW_SECONDS = 30 * 24 * 3600
#: the link id the real app's seeded link has, so the cookie is the same size
LINK_ID = int(os.environ.get("BENCH_LINK_ID", "1"))
LOCATION = os.environ.get("BENCH_LOCATION", "/shop/")

app = Flask(__name__)
app.secret_key = os.environ.get(
    "BENCH_SECRET_KEY", "bench-secret-key-that-is-long-enough-0123456789"
)
signer = URLSafeSerializer(app.secret_key, salt=SALT)


@app.get("/r/<path:code>")
def follow(code: str) -> Response:
    response = redirect(LOCATION, code=302)
    response.set_cookie(
        COOKIE,
        str(signer.dumps([LINK_ID, None, int(time.time())])),
        max_age=WINDOW_SECONDS,
        secure=False,
        httponly=True,
        samesite="Lax",
    )
    return response


@app.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}
