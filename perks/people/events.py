"""What happens to people, announced for the capabilities above people (referral links).

People knows nothing of referral links: it sends these signals (blinker, through Flask's
``Namespace``, like ``perks.shop.events``) inside the transaction that changed the people;
receivers only ``flush()``, never commit, so a person and what follows from them (their
default referral link) are written together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from blinker import Namespace

if TYPE_CHECKING:
    from perks.people.models import User

_signals = Namespace()

#: people became active members of the company: added as active (by HR, the CSV import or
#: the first-admin command) or active again (re-activated by HR or by an import). The sender
#: is the list of their ids (flushed rows; ids rather than objects, so that an import of a
#: hundred thousand people loads none of them); keyword ``new``: the set of those ids just
#: added (nothing can refer to them yet: a receiver need not look for what they have).
people_activated = _signals.signal("people-activated")


def announce_activated(people: Iterable[User]) -> None:
    """Send ``people_activated`` for the active ones among ``people`` (nothing if none).

    Call it after a flush, inside the transaction that added or re-activated them.
    """
    announce_activated_ids([person.id for person in people if person.active])


def announce_activated_ids(user_ids: Sequence[int], *, new: Iterable[int] = ()) -> None:
    """Send ``people_activated`` for ``user_ids``, people who are active (nothing if none);
    ``new`` are those of them added in this transaction (the others were re-activated).

    Call it after the rows are written, inside the transaction that added or re-activated
    them.
    """
    if user_ids:
        people_activated.send(list(user_ids), new=frozenset(new))
