"""Who may use the control page: whoever knows the sandbox's secret key.

The sandbox has no accounts. Its API takes the secret key (``sk_test_...``) as Stripe's does;
its control page, which refunds and disputes the product's orders, asks for the same key on
a sign-in page (``/signin``) and remembers it in the sandbox's own session cookie
(``stripe_sandbox_session``, signed with a key derived from the secret key, so changing the
secret key signs everyone out). The hosted checkout page stays open to anyone with its
link, like Stripe's ``checkout.stripe.com``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from stripe_sandbox.forms import SignInForm
from stripe_sandbox.service import current_settings
from stripe_sandbox.settings import DEFAULT_SECRET_KEY

bp = Blueprint("access", __name__)

P = ParamSpec("P")
R = TypeVar("R")

#: the session key that holds the fingerprint of the key a visitor signed in with
SESSION_KEY = "signed_in"


def session_secret(secret_key: str) -> str:
    """The key that signs the sandbox's session cookie, derived from its secret key."""
    return hmac.new(secret_key.encode(), b"stripe-sandbox session", hashlib.sha256).hexdigest()


def _fingerprint(secret_key: str) -> str:
    return hmac.new(secret_key.encode(), b"stripe-sandbox control page", hashlib.sha256).hexdigest()


def signed_in() -> bool:
    remembered = str(session.get(SESSION_KEY) or "")
    return hmac.compare_digest(remembered, _fingerprint(current_settings().secret_key))


def key_required(view: Callable[P, R]) -> Callable[P, R | Response]:
    """The view runs for a visitor who signed in with the secret key; anyone else is sent
    to the sign-in page (302), which brings them back here afterwards."""

    @wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R | Response:
        if not signed_in():
            back = request.full_path.rstrip("?") if request.method == "GET" else "/"
            return redirect(url_for("access.signin", next=back))
        return view(*args, **kwargs)

    return guarded


def _safe_next(target: str | None) -> str:
    """A path on this site to go back to; anything else (``//evil.example``) goes home."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return url_for("pages.control")


def _signin_page(form: SignInForm) -> str:
    # The default key is printed in the README: saying it here costs nothing and helps.
    default = current_settings().secret_key == DEFAULT_SECRET_KEY
    hint = DEFAULT_SECRET_KEY if default else None
    return render_template("signin.html", form=form, default_key=hint)


@bp.route("/signin", methods=["GET", "POST"])
def signin() -> Response | tuple[str, int] | str:
    form = SignInForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        return _signin_page(form)
    if not form.validate_on_submit():
        return _signin_page(form), 400
    key = str(form.key.data)
    if not hmac.compare_digest(key.encode(), current_settings().secret_key.encode()):
        flash(_("That is not the sandbox's secret key."), "error")
        return _signin_page(form), 401
    session.clear()
    session[SESSION_KEY] = _fingerprint(key)
    return redirect(_safe_next(form.next.data), 303)


@bp.post("/signout")
def signout() -> Response:
    session.pop(SESSION_KEY, None)
    return redirect(url_for("access.signin"), 303)
