"""What happens to orders, announced for the capabilities above the shop (commissions).

The shop does not know about commissions: it sends these signals (blinker, through Flask's
``Namespace``) inside the transaction that changed the order; receivers only ``flush()``,
never commit, so an order's change and its consequences are written together or not at all.
Each signal's sender is the ``Order``; keyword arguments are listed per signal.

Signals are sent once per real change: a webhook delivered twice sends nothing the second
time, because the event is stored and recognised (perks.payments.webhooks).
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: the order is paid, and Stripe's amount and currency match it. kwargs: none
order_paid = _signals.signal("order-paid")

#: the customer used the order (a redeemer marked it, or it is redeemed on payment).
#: Turns pending commissions into earned ones. kwargs: ``redeemed_by`` (User or None)
order_redeemed = _signals.signal("order-redeemed")

#: Stripe's running total of refunds grew. kwargs: ``refunded_total`` and ``previous_total``
#: (Money, cumulative; the new part is their difference)
order_refunded = _signals.signal("order-refunded")

#: a dispute was opened on the order's charge. kwargs: none
order_dispute_opened = _signals.signal("order-dispute-opened")

#: a dispute was closed. kwargs: ``won`` (bool)
order_dispute_closed = _signals.signal("order-dispute-closed")
