"""What happens to referral links, for whoever keeps something about them.

``link_changed`` is sent, after the commit, when a link is paused or resumed; the sender is
its code. The redirect's cache of links (``perks.referrals.clicks``) drops the code, so the
next click reads the link again. Connected by ``perks.register_receivers``.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: a link was paused or resumed (committed); the sender is its code
link_changed = _signals.signal("link-changed")
