"""Payments: the Stripe gateway (the only module that imports ``stripe``), webhooks, sandbox."""
