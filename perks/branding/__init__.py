"""The company's brand: its name, logo, colours, storefront tagline, contact and legal footer.

HR and admins edit it in the app (``/settings/brand``, ``perks.admin.brand_views``); the
storefront, the sign-in page, the navigation bar and every e-mail read it. It is a core
package: it imports no capability, so the shop, the main pages and ``perks.mail`` may all
read it.

* ``colours``: ``#rrggbb`` colours and the text that stays readable on them (WCAG AA);
* ``models``: the one row of ``brand_settings``;
* ``services``: ``current_brand`` (read once per request) and ``update_brand`` (audited);
* ``views``: the brand's stylesheet (its colours as CSS custom properties) and its logo.
"""
