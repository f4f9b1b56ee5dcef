"""Referral links, the redirect and its clicks, order attribution, link stats and fraud signals.

Above the shop: links point at its products and categories, the stats count its orders, and
the attribution rules are the shop's policy (``attribution.POLICY``, given to
``perks.shop.attribution`` by ``perks.register_receivers()``). The shop only records who an
order earns for. ``/r/<code>`` is a WSGI app of its own in front of Flask
(``redirect_app.py``).
"""
