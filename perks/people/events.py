"""What happens to people, announced for the capabilities above people (referral links).

People knows nothing of referral links: it sends these signals (blinker, through Flask's
``Namespace``, like ``perks.shop.events``) inside the transaction that changed the people;
receivers only ``flush()``, never commit, so a person and what follows from them (their
default referral link) are written together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

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


class ChangeGuard(Protocol):
    """What is asked when HR changes stored people (the person page, the people import, the
    API): called in the saving transaction, after the rows are written (flushed), only for
    people whose stored columns really changed, with ``changed``: the names of the columns
    that changed (``User``'s attributes: ``name``, ``employee_number``...), by person id, and
    who changed them (``None``: an import from the command line). Finance's payout batches
    set it (``register_receivers``): people cannot import them. It may write what the change
    means to them (a draft batch's row version moves on), and lock rows to do so; it raises
    a domain error only to refuse the whole change."""

    def __call__(self, changed: Mapping[int, Sequence[str]], *, actor: User | None) -> None: ...


def _no_guard(changed: Mapping[int, Sequence[str]], *, actor: User | None) -> None:
    return None


_change_guard: list[ChangeGuard] = [_no_guard]


def guard_changes(guard: ChangeGuard) -> None:
    """Ask ``guard`` after every change to stored people from now on (``register_receivers``)."""
    _change_guard[0] = guard


def people_changed(changed: Mapping[int, Sequence[str]], *, actor: User | None) -> None:
    """Tell the guard of :func:`guard_changes` that the people of ``changed`` (their columns
    that changed, by person id; those without any are left out) changed; nothing if nobody
    did. Call it inside the transaction that changed them, after the flush."""
    really = {user_id: list(columns) for user_id, columns in changed.items() if columns}
    if really:
        _change_guard[0](really, actor=actor)
