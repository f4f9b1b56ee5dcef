"""Finance: commission reports, streamed exports, payout batches (four-eyes), reconciliation.

Builds on ``perks.commissions`` (rules, commissions, the append-only ledger) and never writes a
ledger entry itself except through ``perks.commissions.ledger``.
"""
