"""The notification centre: what happened to a person, told in one place, by e-mail if they
wish.

A notification is a row for one person: its kind, its parameters kept as data (so it is
written in the reader's language when they read it), a link on this site, when it was made
and when it was read. Each person sees only their own: a bell in the navigation with the
unread count, a page of them newest first, and their e-mail choice per kind (from their
account page).

Public API (everything else is this package's own):

* ``notify(person, kind, params, url=link(endpoint, **values), email=...)``: called inside
  the caller's transaction (flush only); writes the notification and, if the person's choice
  for ``kind`` says so, the e-mail through the outbox (``perks.mail``). ``email`` is the
  extra context of a kind's own e-mail template. Someone who has left the company
  (deactivated, or their leaving date come) is told nothing, but of a kind declared
  ``to_leavers`` (their payouts, the tax withheld from them).
* ``notify_each(people, kind, params, url=...)``: the same notice to many people at once (a
  draw's entrants), in a few statements whatever their number.
* ``link(endpoint, **values)``: where a notification leads.
* ``both(obj, "title")``: a name the data keeps in both languages, as a parameter.
* ``KINDS`` (``perks.notifications.kinds``): the registry. Adding a kind is one ``Kind(...)``
  there: its name, its label on the preferences page, a title and body with ``%(name)s``
  placeholders (``lazy_gettext``), and optionally its e-mail template (default: the plain
  ``emails/notification.*`` that says the title and body with the link) and whether e-mail
  is on by default (yes), its ``audience`` when it is not for everyone, and ``to_leavers``
  when people who have left the company are told it too.
* ``@audience(name)``: registers the check saying who a kind with ``audience=name`` is for
  (the preferences page offers it to them, and to anyone who has had one).

Modules: ``kinds`` (the registry), ``models``, ``rendering`` (parameters as data, texts in the
reader's language), ``services`` (notify, open, mark all read, e-mail choices), ``queries``
(the bell's count, the page, the choices), ``views`` (the pages; the bell is in
``perks.main.navigation``). It sits above ``perks.auth`` and below ``perks.catalog``: every
capability that tells people something imports it; it imports none of them.
"""

from perks.notifications.kinds import audience
from perks.notifications.rendering import both
from perks.notifications.services import link, notify, notify_each

__all__ = ["audience", "both", "link", "notify", "notify_each"]
