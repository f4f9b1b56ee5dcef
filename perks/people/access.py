"""Role-based access, in one decorator."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import abort
from flask_login import current_user

from perks.extensions import login_manager
from perks.people.models import Role

P = ParamSpec("P")
R = TypeVar("R")


def roles_required(*roles: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Let a view through for signed-in people holding any of ``roles`` (admins always).

    With no roles, any signed-in person passes. Anonymous people are sent to sign in;
    people without the role get 403.
    """

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()  # a response, where the view's would be
            if roles and not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        # A function takes attributes; its type does not say so.
        guarded.allowed_roles = roles  # type: ignore[attr-defined]
        return guarded

    return decorator


login_required = roles_required()
