"""What happens to claims, announced for the capabilities above the catalog (feedback).

The catalog does not know who listens: it sends these signals (blinker) inside the
transaction that changed the claim; receivers only ``flush()``, never commit, so a claim's
change and its consequences are written together or not at all. The sender is the ``Claim``.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: the claim was used (at a counter, or marked by its owner), once. kwargs: ``used_by`` (User)
claim_used = _signals.signal("claim-used")
