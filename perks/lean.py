"""Lean views: views that skip the app's request hooks, for the few public hot paths.

The app's ``before_request`` and ``after_request`` hooks (CSRF, Flask-Limiter, the NUL-byte
check, Flask-Login's remember cookie, the security headers, and whatever comes later) cost
about 40 µs a request even when they have nothing to do. That is most of the difference
between the referral redirect and a bare Flask redirect (PERFORMANCE.md, P1), so a view
marked ``@lean`` runs without them and does itself what it needs of them:

- it answers with the security headers already set (``perks.security.security_headers``);
  any other answer (an error page, an exception) still gets them here, in
  ``PerksFlask.process_response``;
- it checks its own rate limit, if it has one;
- it reads nothing from a form or the query string (the CSRF and NUL-byte checks guard
  those) and never modifies the session; the session is still saved if something did.

Teardown functions (the database session's, the limiter's) and ``after_this_request``
callbacks still run. A new app-wide hook does not apply to lean views: add what they need
of it to them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response
from flask.globals import request_ctx

from perks.security import set_security_headers

LEAN = "perks_lean"
F = TypeVar("F", bound=Callable[..., Any])


def lean(view: F) -> F:
    """Mark ``view`` lean: the app's request hooks do not run for it (module docstring)."""
    setattr(view, LEAN, True)
    return view


class PerksFlask(Flask):
    """Flask, with lean views (``@lean``) that skip the app's request hooks."""

    def _is_lean(self) -> bool:
        rule = request_ctx.request.url_rule
        if rule is None:  # no route matched: a 404 or 405 page, with every hook
            return False
        return getattr(self.view_functions.get(rule.endpoint), LEAN, False)

    def preprocess_request(self) -> Any:
        if self._is_lean():
            return None
        return super().preprocess_request()

    def process_response(self, response: Response) -> Response:
        if not self._is_lean():
            return super().process_response(response)
        # The context itself, looked up once (this is the hot path): Flask types its proxies
        # as the objects they stand for, so mypy does not know the proxy's own method.
        ctx = request_ctx._get_current_object()  # type: ignore[attr-defined]
        for callback in ctx._after_request_functions:
            response = self.ensure_sync(callback)(response)
        if "Content-Security-Policy" not in response.headers:
            response = set_security_headers(response)  # not the view's own answer
        # ``_session``, as Flask does: ``ctx.session`` would mark it read ("Vary: Cookie")
        if not self.session_interface.is_null_session(ctx._session):
            self.session_interface.save_session(self, ctx._session, response)
        return response
