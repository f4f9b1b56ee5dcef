"""Perks: the application factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask

from perks.config import load_settings, validate_settings
from perks.observability import init_observability
from perks.urls import RowIdConverter

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment, with ``config`` overriding any setting.

    ``config``'s ``PERKS_ENV``, when given, also decides the defaults that depend on the
    environment's name, and its ``REDIS_URL`` or ``SESSION_COOKIE_SECURE`` the settings
    that follow them (``perks.config.load_settings``), as the process's would.

    Raises:
        perks.config.ConfigurationError: the settings are unsafe (see ``validate_settings``).
    """
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_relative_config=True,
    )
    app.url_map.converters["int"] = RowIdConverter  # before any route is added
    app.config.update(load_settings(given=config))
    validate_settings(app.config)
    if app.config["PERKS_ENV"] == "testing":
        app.config["TESTING"] = True
    os.makedirs(app.instance_path, exist_ok=True)

    init_observability(app)  # logs with request ids, /metrics, Sentry (perks.observability)
    register_extensions(app)
    register_models()
    register_receivers()
    register_tasks()
    register_blueprints(app)
    register_request_hooks(app)
    register_template_helpers(app)
    register_error_handlers(app)
    register_cli(app)
    register_middleware(app)
    return app


def register_extensions(app: Flask) -> None:
    from perks.auth.session import init_login
    from perks.database import (
        engine_options,
        sqlite_engine_options,
        time_out_web_statements,
        wait_for_writers_on_savepoints,
    )
    from perks.extensions import babel, bootstrap, csrf, db, limiter, migrate
    from perks.folding import register_on_sqlite
    from perks.i18n import select_locale, select_timezone
    from perks.jobs import celery_init_app

    postgresql = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    if postgresql:
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    elif app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = sqlite_engine_options(app.config)
    db.init_app(app)
    with app.app_context():
        if postgresql:
            time_out_web_statements(db.engine, app.config["DATABASE_STATEMENT_TIMEOUT_MS"])
        wait_for_writers_on_savepoints(db.engine)
        register_on_sqlite(db.engine)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    bootstrap.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    init_login(app)
    celery_init_app(app)


def register_models() -> None:
    """Import every model module so the metadata is complete (migrations, relationships)."""
    import perks.api.models
    import perks.audit
    import perks.auth.models
    import perks.background
    import perks.branding.models
    import perks.catalog.models
    import perks.commissions.models
    import perks.commissions.summaries
    import perks.commissions.tax_models
    import perks.feedback.models
    import perks.feedback.ratings_models
    import perks.feedback.surveys_models
    import perks.finance.mapping_models
    import perks.finance.models
    import perks.images
    import perks.mail
    import perks.notifications.models
    import perks.payments.models
    import perks.people.models
    import perks.recognition.models
    import perks.recognition.points_models
    import perks.referrals.models
    import perks.referrals.snapshots
    import perks.rule_history
    import perks.sent_once
    import perks.shop.models  # noqa: F401  every model module, for the metadata


def register_receivers() -> None:
    """Connect every signal to its receivers, here and nowhere else.

    A signal is how a lower capability tells a higher one (ARCHITECTURE.md: nothing imports
    upward): the sender knows nobody, this table knows everybody. The same goes for the
    policies a lower capability asks a higher one for (the shop's attribution; whether a tax
    profile may change, which finance's payout batches decide), and for the redeemer's
    counters, which recognise each other's codes (``perks.counters``). Receivers
    run in the sender's transaction and only flush, except ``link_changed``, sent after its
    commit.
    Connecting twice (a second app in the same process) changes nothing.
    """
    from perks import counters
    from perks.catalog.events import claim_used
    from perks.catalog.views import COUNTER as CLAIM_COUNTER
    from perks.commissions import receivers as commissions
    from perks.commissions import tax
    from perks.feedback import ratings
    from perks.finance import payouts
    from perks.payments import webhooks
    from perks.people import events as people_events
    from perks.people.events import people_activated
    from perks.recognition import gifts
    from perks.recognition import services as occasions
    from perks.referrals import clicks
    from perks.referrals import services as referrals
    from perks.referrals.attribution import POLICY as REFERRAL_POLICY
    from perks.referrals.events import link_changed
    from perks.shop import attribution, payment_events
    from perks.shop import events as shop
    from perks.shop.notifications import send_order_confirmation, send_refund_notice
    from perks.shop.redeem_views import COUNTER as ORDER_COUNTER

    shop.order_paid.connect(commissions.on_order_paid)
    shop.order_paid.connect(send_order_confirmation)
    shop.order_redeemed.connect(commissions.on_order_redeemed)
    shop.order_redeemed.connect(ratings.on_order_redeemed)  # the invitation to rate
    claim_used.connect(ratings.on_claim_used)
    shop.order_refunded.connect(commissions.on_order_refunded)
    shop.order_refunded.connect(send_refund_notice)
    shop.order_dispute_opened.connect(commissions.on_dispute_opened)
    shop.order_dispute_closed.connect(commissions.on_dispute_closed)
    people_activated.connect(referrals.on_people_activated)
    link_changed.connect(clicks.forget_link)
    attribution.use_policy(REFERRAL_POLICY)  # who an order earns for: the referral links
    tax.guard_profile_changes(payouts.payee_profile_changing)  # a batch that pays them
    people_events.guard_changes(payouts.payee_details_changed)  # HR's: a draft that pays them
    webhooks.handle_events(payment_events.APPLIERS)  # what Stripe's events do to orders
    counters.register(CLAIM_COUNTER)  # the redeemer's counters know each other's codes
    counters.register(ORDER_COUNTER)
    occasions.follow_occasion_changes(gifts.versions_follow)  # programmes' rules history


def register_tasks() -> None:
    """Import every module that defines Celery tasks, so the web app can publish them."""
    import importlib

    from perks.jobs import TASK_MODULES

    for name in TASK_MODULES:
        importlib.import_module(name)


def register_blueprints(app: Flask) -> None:
    from perks.admin.brand_views import bp as brand_admin_bp
    from perks.admin.rules_views import bp as rules_bp
    from perks.admin.views import bp as admin_bp
    from perks.api.openapi import init_api
    from perks.api.pages import bp as api_pages_bp
    from perks.auth.views import bp as auth_bp
    from perks.branding.views import bp as branding_bp
    from perks.catalog.admin_views import bp as catalog_admin_bp
    from perks.catalog.views import bp as catalog_bp
    from perks.commissions.finance_views import bp as commissions_finance_bp
    from perks.commissions.views import bp as commissions_bp
    from perks.feedback.ratings_views import bp as ratings_bp
    from perks.feedback.surveys_views import bp as surveys_bp
    from perks.feedback.views import bp as feedback_bp
    from perks.finance.leaver_views import bp as leavers_bp
    from perks.finance.tax_views import bp as finance_tax_bp
    from perks.finance.views import bp as finance_bp
    from perks.main.jobs_views import bp as background_bp
    from perks.main.views import bp as main_bp
    from perks.notifications.views import bp as notifications_bp
    from perks.payments.views import bp as payments_bp
    from perks.people.import_views import bp as people_import_bp
    from perks.people.views import bp as people_bp
    from perks.recognition.points_views import bp as points_bp
    from perks.recognition.views import bp as recognition_bp
    from perks.referrals.stats_views import bp as referral_stats_bp
    from perks.referrals.views import bp as referrals_bp
    from perks.shop.admin_views import bp as shop_admin_bp
    from perks.shop.image_views import bp as shop_images_bp
    from perks.shop.redeem_views import bp as order_redeem_bp
    from perks.shop.views import bp as shop_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(people_bp)
    app.register_blueprint(people_import_bp)
    app.register_blueprint(background_bp)
    app.register_blueprint(catalog_bp)
    app.register_blueprint(catalog_admin_bp)
    app.register_blueprint(commissions_bp)
    app.register_blueprint(commissions_finance_bp)
    app.register_blueprint(finance_bp)
    app.register_blueprint(leavers_bp)
    app.register_blueprint(finance_tax_bp)
    app.register_blueprint(referrals_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(brand_admin_bp)
    app.register_blueprint(rules_bp)
    app.register_blueprint(branding_bp)
    app.register_blueprint(referral_stats_bp)
    app.register_blueprint(shop_bp)
    app.register_blueprint(shop_images_bp)
    app.register_blueprint(shop_admin_bp)
    app.register_blueprint(order_redeem_bp)
    app.register_blueprint(payments_bp)
    app.register_blueprint(recognition_bp)
    app.register_blueprint(points_bp)
    app.register_blueprint(feedback_bp)
    app.register_blueprint(surveys_bp)
    app.register_blueprint(ratings_bp)
    app.register_blueprint(api_pages_bp)
    init_api(app)  # /api/v1 and its OpenAPI document (flask-smorest)


def register_request_hooks(app: Flask) -> None:
    from perks.security import refuse_nul_bytes, set_security_headers
    from perks.static_files import init_static_files
    from perks.urls import redirects_on_base_url

    app.before_request(refuse_nul_bytes)
    app.after_request(set_security_headers)
    app.after_request(redirects_on_base_url)
    init_static_files(app)


def register_template_helpers(app: Flask) -> None:
    from perks.templating import init_templating

    init_templating(app)


def register_error_handlers(app: Flask) -> None:
    from perks.error_pages import init_error_pages

    init_error_pages(app)


def register_middleware(app: Flask) -> None:
    """The WSGI apps in front of Flask: the proxy's headers read first (``PROXY_COUNT``),
    then the referral redirect (``perks.referrals.redirect_app``), then the probes' Host
    (``perks.probes``, with ``TRUSTED_HOSTS``), then Flask."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from perks.probes import ProbeHosts
    from perks.referrals.redirect_app import with_redirect

    wsgi_app: WSGIApplication = app.wsgi_app
    if trusted_hosts := app.config.get("TRUSTED_HOSTS"):
        wsgi_app = ProbeHosts(wsgi_app, trusted_hosts)
    wsgi_app = with_redirect(app, wsgi_app)
    if count := app.config["PROXY_COUNT"]:
        wsgi_app = ProxyFix(wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count)
    # Flask's documented way to add WSGI middleware; mypy refuses assigning to a method.
    app.wsgi_app = wsgi_app  # type: ignore[method-assign]


def register_cli(app: Flask) -> None:
    from perks.cli import perks_cli

    app.cli.add_command(perks_cli)
