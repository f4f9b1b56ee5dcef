"""Commissions: rules, one commission per attributed order line, and the append-only ledger.

The receivers of the shop's order signals are connected when ``perks.commissions.receivers``
is imported (``perks.register_models`` does it).
"""
