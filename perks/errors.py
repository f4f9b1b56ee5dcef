"""One exception hierarchy for the domain, and its HTTP mapping in one place.

Services raise these; views turn them into form errors or flashes; anything uncaught
becomes an error page in the user's language with the status code given here.
"""

from __future__ import annotations

from typing import TypeVar

from flask_babel import lazy_gettext as _l

T = TypeVar("T")


class PerksError(Exception):
    """Base of every domain error. ``message`` is shown to the user, translated."""

    status_code: int = 400
    default_message = _l("The request could not be completed.")

    def __init__(self, message: str | None = None, **details: object) -> None:
        self.message = str(message) if message is not None else str(self.default_message)
        self.details = details
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def detail_items(self, key: str, kind: type[T]) -> list[T]:
        """The ``kind`` items of ``details[key]`` (a list or tuple, such as a file's bad lines);
        an empty list when there is no such detail."""
        value = self.details.get(key)
        if not isinstance(value, list | tuple):
            return []
        return [item for item in value if isinstance(item, kind)]


class ValidationFailed(PerksError):
    """Input that cannot be accepted (bad format, out of range)."""

    status_code = 400
    default_message = _l("Some of the information you entered is not valid.")


class NotPermitted(PerksError):
    """The acting user may not do this."""

    status_code = 403
    default_message = _l("You do not have permission to do this.")


class NotFound(PerksError):
    """The object does not exist, or the acting user may not know that it does."""

    status_code = 404
    default_message = _l("We could not find what you were looking for.")


class Conflict(PerksError):
    """The action clashes with the current state (already done, duplicate, wrong state)."""

    status_code = 409
    default_message = _l("This conflicts with the current state. Reload the page and try again.")


class ChangedMeanwhile(Conflict):
    """Someone else changed what the person edits after their page showed it: saving would
    overwrite that change unseen, so nothing is saved."""

    default_message = _l(
        "Someone changed this after you opened it, so your changes were not saved. Check what "
        "it is now and make your changes again."
    )


class InvalidToken(PerksError):
    """A signed link (invitation, password reset) is bad, expired or already used."""

    status_code = 400
    default_message = _l("This link is invalid, has expired, or has already been used.")


class NotEligible(PerksError):
    """The person does not meet a perk's eligibility rules (``details['reasons']``)."""

    status_code = 403
    default_message = _l("You cannot claim this perk.")


class LimitReached(Conflict):
    """The person already has as many claims of this perk as the period allows."""

    default_message = _l("Limit reached.")


class SoldOut(Conflict):
    """No stock or codes are left."""

    default_message = _l("Sold out.")
