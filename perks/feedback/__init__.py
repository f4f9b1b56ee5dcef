"""The feedback loop: the feedback box with service targets and the public answer times.

Anyone with an account sends feedback to a department (or to HR), optionally anonymously;
the department's owner (set by HR, HR by default) acknowledges, works on and answers it or
declines it with a reason; the sender is told at each step and rates the answer. Targets are
counted in Vietnamese working days; overdue items escalate to the owner's manager.

Public API for other capabilities:

* ``open_item(department_id, subject, text, *, sender, topic=Topic.OTHER,
  about_perk_id=None, anonymous=False) -> OpenedItem`` (``perks.feedback.items``): opens an
  item inside the caller's transaction (flush only). ``department_id=None`` addresses HR.
  For ``anonymous=True`` nothing of ``sender`` is stored and ``OpenedItem.follow_up_secret``
  is the sender's only way back (``url_for("feedback.follow_up", secret=...)``), to be shown
  once. Raises ValidationFailed (empty or too long subject or text, unknown department).
  A caller opening an anonymous item must itself keep nothing that joins it to the sender
  (no item id on a row that names the person, no moment beside it), or the anonymity is
  lost there. Ratings call it for a rating of 1 or 2: ``open_item(None, perk title, comment,
  sender=person, topic=Topic.PERK, about_perk_id=perk.id, anonymous=not named)``.

Modules: ``models``, ``working_days`` (Vietnamese working days and public holidays),
``items`` (sending, the state machine, the sender's and the owner's services, HR's owners
and targets), ``targets`` (due dates, the scheduled sweep that tells owners and escalates,
the answer times), ``tasks`` (Celery beat), ``forms``, ``views``. It sits above ``shop`` and
``catalog`` and below ``referrals`` (ARCHITECTURE.md).
"""

from perks.feedback.items import OpenedItem, open_item
from perks.feedback.models import Topic

__all__ = ["OpenedItem", "Topic", "open_item"]
