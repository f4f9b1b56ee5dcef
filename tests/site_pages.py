"""Every HTML page of the app a browser can GET, who sees it, and its URL for a given person.

The pages are the app's GET endpoints that answer with an HTML page; every other GET endpoint
(files, images, JSON, redirects, health checks) is in ``NOT_PAGES`` with the reason. A new
endpoint must go into one of the two: ``tests/functional/test_site_pages.py`` fails otherwise.

API (no browser here: plain functions over the app and its database, so the browser test of
every page and a test-client test of every page can share it):

- ``PAGES: dict[str, Page]``, keyed by endpoint. ``Page.roles`` is who gets the page (a
  200): ``ANONYMOUS`` and ``Role`` values, as in the route table (``tests/routes.py``) unless
  the page shows the viewer's own object. ``Page.url(user)`` builds its URL from what is in
  the database for ``user`` (``None`` for an anonymous visitor): their own claim, their own
  link, their own upload; a perk, a product, an order of the company otherwise. It returns
  ``None`` when the database has nothing to show on that page for that person (a person
  with no claim has no claim page). Call it inside an app context; it may write what the
  person's own page needs and the demo lacks (a people file dry run for HR), never anything
  else. ``Page.needs_cart``: the page shows its content only with something in the cart (the
  cart, checkout); put a product in first (``POST /shop/cart/add`` with ``product`` set to
  ``any_product_slug()``).
- ``NOT_PAGES: dict[str, str]``: GET endpoints that are not HTML pages, with the reason.
- ``pages_for(role)``: the pages a role sees, in a stable order.
- ``ROLES``: ``ANONYMOUS`` and every ``Role`` value.

The URLs suit any company's data (the demo company's first: ``perks.demo.seed_demo``); they
never depend on exact names or counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select

from perks.auth import tokens
from perks.background import BackgroundJob
from perks.catalog.models import Claim, CodeMode, Draw, Perk, PerkStatus
from perks.commissions.models import CommissionGroup, CommissionRule
from perks.extensions import db
from perks.feedback import items as feedback_items
from perks.feedback import ratings_queries, surveys
from perks.feedback.models import Topic
from perks.feedback.surveys_models import Survey, SurveyState
from perks.finance.models import PayoutBatch
from perks.mail import OutboxMessage
from perks.payments.models import StripeEvent
from perks.people import imports
from perks.people.models import Department, PeopleImport, Role, User
from perks.recognition.models import Award, GiftProgramme, Occasion
from perks.recognition.points_models import CompanyValue
from perks.referrals.models import ReferralLink
from perks.shop.models import Order, OrderStatus, Product, ProductCategory
from tests.routes import ANONYMOUS, ROLES, ROUTES

__all__ = ["ANONYMOUS", "NOT_PAGES", "PAGES", "ROLES", "Page", "any_product_slug", "pages_for"]

SIGNED_IN = frozenset(ROLES) - {ANONYMOUS}

#: an upload's dry run that finds nothing wrong and changes nobody once seen
_SAMPLE_PEOPLE_CSV = b"email,name\npages-sample@example.com,Sample Person\n"


@dataclass(frozen=True)
class Page:
    """One HTML page: its URL for a person (or ``None``: nothing to show them) and who sees
    it."""

    endpoint: str
    url: Callable[[User | None], str | None]
    roles: frozenset[str]
    needs_cart: bool = False


def _first(statement: Select[Any]) -> Any:
    return db.session.scalars(statement.limit(1)).first()


def _path(template: str, value: object) -> str | None:
    return None if value is None else template.format(value)


def _seen_by(endpoint: str) -> frozenset[str]:
    """The roles the route table says get a 200 from ``endpoint``."""
    return frozenset(role for role, status in ROUTES[endpoint].expected.items() if status == 200)


def _fixed(path: str) -> Callable[[User | None], str | None]:
    return lambda user: path


def _published_perk(code_mode: CodeMode | None = None) -> Perk | None:
    statement = select(Perk).where(Perk.status == PerkStatus.PUBLISHED).order_by(Perk.id)
    if code_mode is not None:
        statement = statement.where(Perk.code_mode == code_mode)
    return _first(statement)


def _perk(user: User | None) -> str | None:
    perk = _published_perk()
    return _path("/perks/{}", perk and perk.id)


def _perk_edit(user: User | None) -> str | None:
    return _path("/admin/perks/{}/edit", _first(select(Perk.id).order_by(Perk.id)))


def _pool_codes(user: User | None) -> str | None:
    perk = _first(select(Perk.id).where(Perk.code_mode == CodeMode.POOL).order_by(Perk.id))
    return _path("/admin/perks/{}/codes", perk)


def _draw(user: User | None) -> str | None:
    return _path("/draws/{}", _first(select(Draw.id).order_by(Draw.id.desc())))


def _draw_admin(user: User | None) -> str | None:
    return _path("/admin/perks/{}/draw", _first(select(Draw.perk_id).order_by(Draw.id.desc())))


def _own_claim(user: User | None) -> str | None:
    if user is None:
        return None
    claim = _first(select(Claim.id).where(Claim.user_id == user.id).order_by(Claim.id.desc()))
    return _path("/my-perks/{}", claim)


def _own_link(template: str) -> Callable[[User | None], str | None]:
    def url(user: User | None) -> str | None:
        if user is None:
            return None
        statement = select(ReferralLink.id).where(ReferralLink.user_id == user.id)
        return _path(template, _first(statement.order_by(ReferralLink.id)))

    return url


def _person(template: str) -> Callable[[User | None], str | None]:
    def url(user: User | None) -> str | None:
        return _path(template, _first(select(User.id).order_by(User.id.desc())))

    return url


def _token(purpose: str, template: str) -> Callable[[User | None], str | None]:
    """A valid invitation or reset link, for a person without a password if there is one."""

    def url(user: User | None) -> str | None:
        person = _first(
            select(User).where(User.active.is_(True)).order_by(User.password_hash.is_(None).desc())
        )
        return _path(template, person and tokens.make_token(person, purpose))

    return url


def _own_upload(user: User | None) -> PeopleImport | None:
    """The person's newest people file; one is stored (its dry run started) if they have
    none and may upload."""
    if user is None or not user.has_role(Role.HR):
        return None
    upload = _first(
        select(PeopleImport)
        .where(PeopleImport.uploaded_by_id == user.id)
        .order_by(PeopleImport.id.desc())
    )
    if upload is None:
        upload = imports.store_upload(_SAMPLE_PEOPLE_CSV, filename="people.csv", actor=user)
    return upload


def _upload_review(user: User | None) -> str | None:
    upload = _own_upload(user)
    return _path("/people/import/{}", upload and upload.id)


def _own_job(user: User | None) -> str | None:
    if user is None:
        return None
    _own_upload(user)
    statement = select(BackgroundJob.token).order_by(BackgroundJob.id.desc())
    if not user.has_role(Role.ADMIN):
        statement = statement.where(BackgroundJob.created_by_id == user.id)
    return _path("/jobs/{}", _first(statement))


def _outbox_message(user: User | None) -> str | None:
    return _path("/dev/outbox/{}", _first(select(OutboxMessage.id).order_by(OutboxMessage.id)))


def any_product_slug() -> str | None:
    """An active product's slug (for the cart, or its page)."""
    return _first(select(Product.slug).where(Product.active.is_(True)).order_by(Product.id))


def _product(user: User | None) -> str | None:
    return _path("/shop/p/{}", any_product_slug())


def _category(user: User | None) -> str | None:
    return _path("/shop/c/{}", _first(select(ProductCategory.slug).order_by(ProductCategory.id)))


def _order_token(*statuses: OrderStatus) -> str | None:
    statement = select(Order.token).where(Order.status.in_(statuses)).order_by(Order.id.desc())
    return _first(statement)


def _paid_order(user: User | None) -> str | None:
    token = _order_token(OrderStatus.PAID, OrderStatus.REDEEMED)
    return _path("/shop/orders/{}", token)


def _unpaid_order(user: User | None) -> str | None:
    token = _order_token(OrderStatus.PENDING, OrderStatus.EXPIRED, OrderStatus.CANCELLED)
    return _path("/shop/orders/{}/cancelled", token)


def _manage_product(user: User | None) -> str | None:
    return _path("/manage/products/{}/edit", _first(select(Product.id).order_by(Product.id)))


def _manage_category(user: User | None) -> str | None:
    category = _first(select(ProductCategory.id).order_by(ProductCategory.id))
    return _path("/manage/categories/{}/edit", category)


def _manage_order(user: User | None) -> str | None:
    return _path("/manage/orders/{}", _first(select(Order.id).order_by(Order.id.desc())))


def _commission_group(user: User | None) -> str | None:
    group = _first(select(CommissionGroup.id).order_by(CommissionGroup.id))
    return _path("/finance/commission-groups/{}", group)


def _tax_profile(user: User | None) -> str | None:
    """The first person with an employee number: their tax profile's page."""
    person = _first(select(User.id).where(User.employee_number.is_not(None)).order_by(User.id))
    return _path("/finance/tax/people/{}", person)


def _rule(user: User | None) -> str | None:
    rule = _first(select(CommissionRule.id).order_by(CommissionRule.id.desc()))
    return _path("/finance/commission-rules/{}/revise", rule)


def _batch(user: User | None) -> str | None:
    return _path("/finance/payouts/{}", _first(select(PayoutBatch.id).order_by(PayoutBatch.id)))


def _own_occasion(user: User | None) -> str | None:
    """One of the company's own occasions (the calendar's are not edited)."""
    occasion = _first(select(Occasion.id).where(Occasion.key.is_(None)).order_by(Occasion.id))
    return _path("/manage/occasions/{}/edit", occasion)


def _programme(user: User | None) -> str | None:
    programme = _first(select(GiftProgramme.id).order_by(GiftProgramme.id))
    return _path("/manage/gifts/{}/edit", programme)


def _programme_granted(user: User | None) -> str | None:
    programme = _first(select(GiftProgramme.id).order_by(GiftProgramme.id))
    return _path("/manage/gifts/{}/granted", programme)


def _award(user: User | None) -> str | None:
    return _path("/manage/awards/{}/edit", _first(select(Award.id).order_by(Award.id)))


def _survey(template: str, *states: SurveyState) -> Callable[[User | None], str | None]:
    def url(user: User | None) -> str | None:
        found = _first(select(Survey.id).where(Survey.state.in_(states)).order_by(Survey.id))
        return _path(template, found)

    return url


def _survey_to_answer(user: User | None) -> str | None:
    """An open survey the person is in the audience of."""
    if user is None:
        return None
    mine = surveys.open_surveys_for(user)
    return _path("/surveys/{}", mine[0][0].id if mine else None)


def _value(user: User | None) -> str | None:
    value = _first(select(CompanyValue.id).order_by(CompanyValue.id))
    return _path("/manage/points/values/{}/edit", value)


def _own_feedback(user: User | None) -> str | None:
    """The person's newest named feedback; one is sent (through the box) if they have none."""
    if user is None:
        return None
    sent = feedback_items.sent_by(user)
    if sent:
        return f"/feedback/{sent[0].id}"
    opened = feedback_items.send_feedback(user, None, Topic.TOOL, "Wi-Fi", "It drops at noon.")
    return f"/feedback/{opened.item.id}"


def _follow_up(user: User | None) -> str | None:
    """An anonymous item's follow-up page: the person sends one (its secret is shown once)."""
    if user is None:
        return None
    opened = feedback_items.send_feedback(
        user, None, Topic.POLICY, "Leave", "The rule is unclear.", anonymous=True
    )
    return f"/feedback/follow-up/{opened.follow_up_secret}"


def _addressed_feedback(user: User | None) -> str | None:
    """An item addressed to the person (HR's, for HR), or None: they own no feedback."""
    if user is None:
        return None
    found = feedback_items.inbox(user)
    return _path("/feedback/inbox/{}", found[0].id if found else None)


def _feedback_desk(user: User | None) -> str | None:
    return _path("/manage/feedback/{}", _first(select(Department.id).order_by(Department.id)))


def _claim_to_rate(user: User | None) -> str | None:
    """The person's own used claim they have not rated yet, if any."""
    if user is None:
        return None
    claims = ratings_queries.claims_to_rate(user.id)
    return _path("/my-perks/{}/rate", claims[0].id if claims else None)


def _order_to_rate(user: User | None) -> str | None:
    """The person's own redeemed staff purchase they have not rated yet, if any."""
    if user is None:
        return None
    orders = ratings_queries.orders_to_rate(user.id)
    return _path("/my-orders/{}/rate", orders[0].id if orders else None)


def _stripe_event(user: User | None) -> str | None:
    event = _first(select(StripeEvent.id).order_by(StripeEvent.id.desc()))
    return _path("/admin/stripe-events/{}", event)


def _page(
    endpoint: str,
    url: Callable[[User | None], str | None] | str,
    roles: frozenset[str] | None = None,
    *,
    needs_cart: bool = False,
) -> tuple[str, Page]:
    build = _fixed(url) if isinstance(url, str) else url
    seen_by = _seen_by(endpoint) if roles is None else roles
    return endpoint, Page(endpoint, build, seen_by, needs_cart)


PAGES: dict[str, Page] = dict(
    [
        _page("main.home", "/"),
        # signing in, and setting a password from an e-mail's link
        _page("auth.login", "/login"),
        _page("auth.account", "/account"),
        _page("notifications.index", "/notifications"),
        _page("notifications.preferences", "/notifications/preferences"),
        _page("auth.forgot_password", "/password/forgot"),
        _page(
            "auth.accept_invitation",
            _token(tokens.INVITATION, "/invitation/{}"),
            frozenset({ANONYMOUS}),
        ),
        _page(
            "auth.reset_password",
            _token(tokens.PASSWORD_RESET, "/password/reset/{}"),
            frozenset({ANONYMOUS}),
        ),
        # people (HR)
        _page("people.directory", "/people/"),
        _page("people.create", "/people/new"),
        _page("people.detail", _person("/people/{}")),
        _page("people.edit", _person("/people/{}/edit")),
        _page("people.departments", "/people/departments"),
        _page("people_import.upload", "/people/import/"),
        _page("people_import.review", _upload_review, frozenset({Role.HR.value, Role.ADMIN.value})),
        # background jobs: everyone's own
        _page("background.my_jobs", "/jobs/"),
        _page("background.job_page", _own_job, SIGNED_IN),
        # the perks catalog
        _page("catalog.index", "/perks"),
        _page("catalog.detail", _perk),
        _page("catalog.my_perks", "/my-perks"),
        _page("catalog.my_claim", _own_claim, SIGNED_IN),
        _page("catalog.redeem", "/redeem"),
        _page("catalog.draw", _draw),
        _page("catalog.rules", "/rules"),
        _page("catalog_admin.index", "/admin/perks/"),
        _page("catalog_admin.create", "/admin/perks/new"),
        _page("catalog_admin.edit", _perk_edit),
        _page("catalog_admin.codes", _pool_codes),
        _page("catalog_admin.draw", _draw_admin),
        _page("catalog_admin.draws_waiting", "/admin/perks/draws/waiting"),
        # administration
        _page("admin.audit_log", "/admin/audit"),
        _page("admin.outbox", "/dev/outbox"),
        _page("admin.messages", "/admin/messages"),
        _page("admin.outbox_message", _outbox_message),
        _page("brand_admin.edit", "/settings/brand"),
        # occasions: everyone's calendar, HR's pages
        _page("recognition.calendar", "/occasions"),
        _page("recognition.wall", "/wall"),
        _page("recognition.manage", "/manage/occasions"),
        _page("recognition.create", "/manage/occasions/new"),
        _page("recognition.edit", _own_occasion),
        _page("recognition.settings", "/manage/occasions/settings"),
        # gift programmes: HR's pages
        _page("recognition.programmes", "/manage/gifts"),
        _page("recognition.preview", "/manage/gifts/preview"),
        _page("recognition.create_programme", "/manage/gifts/new"),
        _page("recognition.edit_programme", _programme),
        _page("recognition.granted", _programme_granted),
        # surveys: HR's pages; everyone's open surveys
        _page("surveys.manage", "/manage/surveys"),
        _page("surveys.create", "/manage/surveys/new"),
        _page("surveys.edit", _survey("/manage/surveys/{}/edit", SurveyState.DRAFT)),
        _page("surveys.detail", _survey("/manage/surveys/{}", *SurveyState)),
        _page(
            "surveys.results",
            _survey("/manage/surveys/{}/results", SurveyState.CLOSED, SurveyState.OPEN),
        ),
        _page("surveys.mine", "/surveys"),
        _page("surveys.answer", _survey_to_answer),
        # awards: everyone's list, managers' nominations, HR's pages
        _page("recognition.award_list", "/awards"),
        _page("recognition.nominate", "/awards/nominate"),
        _page("recognition.my_nominations", "/awards/nominations"),
        _page("recognition.manage_awards", "/manage/awards"),
        _page("recognition.create_award", "/manage/awards/new"),
        _page("recognition.edit_award", _award),
        _page("recognition.nominations", "/manage/nominations"),
        _page("recognition.fairness_report", "/manage/fairness"),
        # kudos and points: everyone's own pages; HR's settings and values
        _page("points.mine", "/points"),
        _page("points.give", "/kudos/new"),
        _page("points.rewards", "/rewards"),
        _page("points.settings", "/manage/points"),
        _page("points.create_value", "/manage/points/values/new"),
        _page("points.edit_value", _value),
        # feedback: the sender's own items, a follow-up page, the owner's inbox, HR's owners
        _page("feedback.mine", "/feedback"),
        _page("feedback.send", "/feedback/new"),
        _page("feedback.mine_item", _own_feedback, SIGNED_IN),
        _page("feedback.follow_up", _follow_up),
        _page("feedback.inbox_page", "/feedback/inbox"),
        _page("feedback.inbox_item", _addressed_feedback),
        _page("feedback.answer_times", "/feedback/answer-times"),
        _page("feedback.desks", "/manage/feedback"),
        _page("feedback.edit_desk", _feedback_desk),
        # the storefront: public
        _page("shop.index", "/shop/"),
        _page("shop.category", _category),
        _page("shop.product", _product),
        _page("shop.cart_page", "/shop/cart", needs_cart=True),
        _page("shop.checkout_page", "/shop/checkout", frozenset(ROLES), needs_cart=True),
        _page("shop.order", _paid_order),
        _page("shop.order_cancelled", _unpaid_order),
        # referral links and their stats
        _page("referrals.my_links", "/links"),
        _page("referrals.new_link", "/links/new"),
        _page("referrals.share", _own_link("/links/{}"), SIGNED_IN),
        _page("referral_stats.my_links", "/stats/links"),
        _page("referral_stats.link", _own_link("/stats/links/{}"), SIGNED_IN),
        _page("referral_stats.team", "/stats/team"),
        _page("referral_stats.company", "/stats/company"),
        _page("referral_stats.fraud", "/finance/fraud"),
        # commissions
        _page("commissions.my_earnings", "/earnings"),
        _page("commissions.rules", "/earnings/rules"),
        _page("rules.history", "/rules/history"),
        _page("commissions_finance.index", "/finance/commissions"),
        _page("commissions_finance.flagged", "/finance/commissions/flagged"),
        _page("commissions_finance.adjustments", "/finance/commissions/adjustments"),
        _page("commissions_finance.rules", "/finance/commission-rules"),
        _page("commissions_finance.create_rule", "/finance/commission-rules/new"),
        _page("commissions_finance.revise_rule", _rule),
        _page("commissions_finance.groups_index", "/finance/commission-groups"),
        _page("commissions_finance.group", _commission_group),
        _page("commissions_finance.returning_customers", "/finance/returning-customers"),
        # leavers, personal income tax and the pay files
        _page("leavers.index", "/finance/leavers/"),
        _page("finance_tax.tax_profiles", "/finance/tax"),
        _page("finance_tax.tax_profile", _tax_profile),
        _page("finance_tax.withholding_rates", "/finance/tax/rates"),
        _page("finance_tax.mappings", "/finance/tax/mappings"),
        _page("finance_tax.mapping", "/finance/tax/mappings/new"),
        # the JSON API's token pages and its documentation page
        _page("api_tokens.service_tokens", "/admin/api-tokens"),
        _page("api_tokens.personal_tokens", "/account/api-tokens"),
        _page("api_tokens.docs", "/api/v1/docs"),
        # finance
        _page("finance.reports_page", "/finance/reports"),
        _page("finance.report_lines", "/finance/reports/lines"),
        _page("finance.exports_page", "/finance/exports"),
        _page("finance.payouts_page", "/finance/payouts"),
        _page("finance.batch_page", _batch),
        _page("finance.reconciliation_page", "/finance/reconciliation"),
        _page("payments.events", "/admin/stripe-events"),
        _page("payments.event", _stripe_event),
        # the shop's back office
        _page("shop_admin.products", "/manage/products"),
        _page("shop_admin.create_product", "/manage/products/new"),
        _page("shop_admin.edit_product", _manage_product),
        _page("shop_admin.categories", "/manage/categories"),
        _page("shop_admin.create_category", "/manage/categories/new"),
        _page("shop_admin.edit_category", _manage_category),
        _page("shop_admin.orders", "/manage/orders"),
        _page("shop_admin.order", _manage_order),
        # the order counter
        _page("order_redeem.redeem", "/redeem-order"),
        # ratings: everyone rates what they used; HR and the shop's keepers moderate
        _page("ratings.rate_claim", _claim_to_rate, SIGNED_IN),
        _page("ratings.rate_order", _order_to_rate, SIGNED_IN),
        _page("ratings.perk_comments", "/manage/ratings"),
        _page("ratings.product_comments", "/manage/ratings/products"),
    ]
)

#: GET endpoints that are not HTML pages, and why
NOT_PAGES: dict[str, str] = {
    "static": "static files (CSS, scripts, fonts, images)",
    "bootstrap.static": "Bootstrap's own static files",
    "main.health": "liveness probe: plain text",
    "main.ready": "readiness probe: JSON",
    "metrics.metrics": "Prometheus metrics: plain text",
    "branding.stylesheet": "the brand's colours as CSS",
    "branding.logo": "the company's logo",
    "people_import.example": "an example CSV file",
    "people_import.problems": "a dry run's problems as a CSV file",
    "background.job_status": "a job's progress as JSON, polled by its page",
    "catalog.perk_image": "a perk's picture",
    "catalog.draw_data": "a made draw's verification data (JSON), fetched by its page's check",
    "shop_images.product_image": "a product's picture",
    "shop.order_status": "an order's payment state as JSON, polled by its page",
    "shop.order_qr_png": "an order's QR code (PNG)",
    "shop.order_qr_svg": "an order's QR code (SVG)",
    "referrals.qr_png": "a link's QR code (PNG)",
    "referrals.qr_svg": "a link's QR code (SVG)",
    "referrals.redirect": "a referral link: records the click and redirects to the shop",
    "finance.export_file": "a ledger export (CSV or XLSX)",
    "finance.export_job_file": "a background export's file",
    "recognition.fairness_csv": "the fairness report's groups as a CSV file",
    "surveys.results_file": "a closed survey's results as a CSV or XLSX file",
    "finance.payroll_file": "a payout batch's payroll file (CSV or XLSX)",
    "finance_tax.pay_file": "a payout batch's payroll or bank transfer file (CSV or XLSX)",
    "finance_tax.withholding_summary": "the yearly withholding summary (CSV or XLSX)",
    "finance_tax.withholding_summary_form": "a redirect to the yearly summary's file",
    "api-docs.openapi_json": "the API's OpenAPI document (JSON)",
    **dict.fromkeys(
        (
            "api.health",
            "api.version",
            "api.list_people",
            "api.get_person",
            "api.catalog",
            "api.list_claims",
            "api.look_up_claim",
            "api.look_up_order",
            "api.list_commissions",
            "api.list_ledger",
            "api.list_payouts",
            "api.get_payout",
        ),
        "the JSON API (tests/functional/test_api.py)",
    ),
}


def pages_for(role: str) -> list[Page]:
    """The pages ``role`` (``ANONYMOUS`` or a ``Role`` value) sees, by endpoint."""
    return [page for endpoint, page in sorted(PAGES.items()) if role in page.roles]
