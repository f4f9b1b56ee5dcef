"""Role-based access, in one decorator."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

from perks.auth.models import Role
from perks.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Let a view through for signed-in people holding any of ``roles`` (admins always).

    With no roles, any signed-in person passes. Anonymous people are sent to sign in;
    people without the role get 403.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        guarded.allowed_roles = roles  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorator


login_required = roles_required()
