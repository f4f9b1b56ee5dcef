"""Payments: the Stripe gateway (the only module that imports ``stripe``) and the webhooks.

Below the shop (ARCHITECTURE.md: capabilities depend downward only). The webhooks verify
each event, store it once and hand it to the applier registered for its type
(``webhooks.handle_events``); the shop registers its own (``perks.shop.payment_events``) in
``perks.register_receivers()``. The event log names orders through the table its foreign
key points at (``models.ORDERS``), never through the shop's modules.

The offline Stripe sandbox of development and tests is an application of its own
(``stripe_sandbox/``, its own process): the gateway reaches it only as it reaches Stripe.
"""
