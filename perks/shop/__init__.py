"""Storefront products, orders, checkout, order redemption, and what Stripe's events do to
orders (``payment_events.py``, registered with ``perks.payments.webhooks``).

Below the referral links: the shop asks its attribution policy (``attribution.py``) who an
order earns for and records the answer; it never imports ``perks.referrals``.
"""
