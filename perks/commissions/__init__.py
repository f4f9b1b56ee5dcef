"""Commissions: rules, one commission per attributed order line, and the append-only ledger.

The receivers of the shop's order signals are in ``perks.commissions.receivers``, connected
by ``perks.register_receivers``.
"""
